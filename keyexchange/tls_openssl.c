/* NTS-KE TLS (tls.h) with OpenSSL 3. */
#include "config.h"

#include "keyexchange/tls.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct tls_cred {
	atomic_int refs;
	bool server;
	SSL_CTX *ctx;
};

struct tls_session {
	struct tls_cred *cred;
	SSL *ssl;
	X509 *peer; /* leaf seen by verify_cb, kept even when verification fails */
	bool server, done;
	char host[256];
	char alpn[256];
	char detail[128]; /* set by callbacks, folded into err on failure */
	char err[384];
};

/* ALPN wire form: a length byte, then the name (RFC 7301 §3.1). */
static const unsigned char alpn_wire[] = "\x07" TLS_ALPN_NTSKE;
static_assert(sizeof(alpn_wire) == 9, "ALPN length byte");

const char *tls_backend_name(void)
{
	return "openssl";
}

__attribute__((format(printf, 3, 4))) static void errf(char *err, size_t errlen, const char *fmt,
                                                       ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The most specific reason in OpenSSL's error queue, which is then cleared. */
static const char *ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : "unknown error";
}

/* Never prompt on a terminal for a key passphrase. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

/* fopen with the error text the caller asked for ("PATH: strerror"). */
static FILE *open_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (!f)
		errf(err, errlen, "%s: %s", path, strerror(errno));
	return f;
}

static bool is_ip_literal(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static bool alpn_is_ntske(const unsigned char *p, size_t len)
{
	return len == sizeof(alpn_wire) - 2 && memcmp(p, alpn_wire + 1, len) == 0;
}

/* True if a ClientHello supported_versions body (RFC 8446 §4.2.1: a length
 * byte, then two-byte versions) lists TLS 1.3. */
static bool offers_tls13(const unsigned char *p, size_t len)
{
	for (size_t i = 1; len > 0 && i + 1 < len && i <= p[0]; i += 2)
		if (p[i] == 3 && p[i + 1] == 4)
			return true;
	return false;
}

/* Checks the ClientHello before the handshake goes on.
 * - A client without TLS 1.3 gets protocol_version (RFC 8446 §4.2.1), also
 *   when it offers no ALPN either, the same answer as the GnuTLS backend.
 * - RFC 8915 §4: ALPN is required. A ClientHello without the extension
 *   never reaches alpn_select, so refuse it here with the alert RFC 7301
 *   §3.2 names. chrony's server refuses it too (after the handshake). */
static int client_hello_cb(SSL *ssl, int *al, void *arg)
{
	struct tls_session *s = SSL_get_app_data(ssl);
	const unsigned char *p;
	size_t len;

	(void)arg;
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &p, &len) != 1 ||
	    !offers_tls13(p, len)) {
		if (s)
			errf(s->detail, sizeof(s->detail), "client does not offer TLS 1.3");
		*al = SSL_AD_PROTOCOL_VERSION;
		return SSL_CLIENT_HELLO_ERROR;
	}
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
	                              &len) != 1) {
		if (s)
			errf(s->detail, sizeof(s->detail), "client offered no ALPN");
		*al = SSL_AD_NO_APPLICATION_PROTOCOL;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
	struct tls_session *s = SSL_get_app_data(ssl);

	(void)arg;
	for (unsigned int i = 0; i < inlen; i += 1u + in[i]) {
		if (in[i] > inlen - i - 1)
			break;
		if (alpn_is_ntske(in + i + 1, in[i])) {
			*out = in + i + 1;
			*outlen = in[i];
			return SSL_TLSEXT_ERR_OK;
		}
	}
	if (s)
		errf(s->detail, sizeof(s->detail), "client did not offer ALPN %s", TLS_ALPN_NTSKE);
	/* OpenSSL sends no_application_protocol for this. */
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* Keep the leaf for tls_session_peer_info: after a failed verification
 * OpenSSL does not store the peer certificate in the session. */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_session *s = ssl ? SSL_get_app_data(ssl) : NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);

	if (s && !s->peer && leaf && X509_up_ref(leaf))
		s->peer = leaf;
	return ok;
}

/* Settings shared by both sides: TLS 1.3 only (RFC 8915 §3), no session
 * tickets, no session cache, hence no resumption and no 0-RTT. */
static SSL_CTX *ctx_new(const SSL_METHOD *method, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (!ctx) {
		errf(err, errlen, "cannot create TLS context: %s", ossl_reason());
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)) {
		errf(err, errlen, "cannot restrict TLS to version 1.3: %s", ossl_reason());
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_default_passwd_cb(ctx, no_password);
	return ctx;
}

static struct tls_cred *cred_new(SSL_CTX *ctx, bool server)
{
	struct tls_cred *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	atomic_init(&c->refs, 1);
	c->server = server;
	c->ctx = ctx;
	return c;
}

static EVP_PKEY *read_key(const char *path, char *err, size_t errlen)
{
	FILE *f = open_file(path, err, errlen);
	EVP_PKEY *key;

	if (!f)
		return NULL;
	key = PEM_read_PrivateKey(f, NULL, no_password, NULL);
	fclose(f);
	if (!key)
		errf(err, errlen, "%s: no usable PEM private key (%s; encrypted keys are not supported)",
		     path, ossl_reason());
	return key;
}

struct tls_cred *tls_cred_load_server(const char *cert_chain_pem, const char *key_pem, char *err,
                                      size_t errlen)
{
	SSL_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	struct tls_cred *c = NULL;
	FILE *f;

	if (!(f = open_file(cert_chain_pem, err, errlen)))
		return NULL;
	fclose(f);
	if (!(ctx = ctx_new(TLS_server_method(), err, errlen)))
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_chain_pem) != 1) {
		errf(err, errlen, "%s: no usable PEM certificate chain (%s)", cert_chain_pem,
		     ossl_reason());
		goto out;
	}
	if (!(key = read_key(key_pem, err, errlen)))
		goto out;
	if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) != 1) {
		ERR_clear_error();
		errf(err, errlen, "%s: private key does not match the certificate in %s", key_pem,
		     cert_chain_pem);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		errf(err, errlen, "%s: cannot use private key (%s)", key_pem, ossl_reason());
		goto out;
	}
	/* Server-side tickets are sent after the handshake unless disabled. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	if (!(c = cred_new(ctx, true)))
		errf(err, errlen, "out of memory");
out:
	EVP_PKEY_free(key);
	if (!c)
		SSL_CTX_free(ctx);
	return c;
}

struct tls_cred *tls_cred_new_client(const char *ca_file, bool skip_time_check, char *err,
                                     size_t errlen)
{
	SSL_CTX *ctx;
	struct tls_cred *c;
	FILE *f;

	if (ca_file) {
		if (!(f = open_file(ca_file, err, errlen)))
			return NULL;
		fclose(f);
	}
	if (!(ctx = ctx_new(TLS_client_method(), err, errlen)))
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	if (ca_file && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		errf(err, errlen, "%s: no usable PEM CA certificates (%s)", ca_file, ossl_reason());
		goto fail;
	}
	if (!ca_file && SSL_CTX_set_default_verify_paths(ctx) != 1) {
		errf(err, errlen, "cannot load the system trust store: %s", ossl_reason());
		goto fail;
	}
	if (skip_time_check)
		X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
	/* Returns 0 on success, unlike the rest of the API. */
	if (SSL_CTX_set_alpn_protos(ctx, alpn_wire, sizeof(alpn_wire) - 1) != 0) {
		errf(err, errlen, "cannot set ALPN: %s", ossl_reason());
		goto fail;
	}
	if ((c = cred_new(ctx, false)))
		return c;
	errf(err, errlen, "out of memory");
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls_cred *tls_cred_new_client_noverify(char *err, size_t errlen)
{
	SSL_CTX *ctx;
	struct tls_cred *c;

	if (!(ctx = ctx_new(TLS_client_method(), err, errlen)))
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_set_alpn_protos(ctx, alpn_wire, sizeof(alpn_wire) - 1) != 0) {
		errf(err, errlen, "cannot set ALPN: %s", ossl_reason());
		SSL_CTX_free(ctx);
		return NULL;
	}
	if ((c = cred_new(ctx, false)))
		return c;
	errf(err, errlen, "out of memory");
	SSL_CTX_free(ctx);
	return NULL;
}

void tls_cred_free(struct tls_cred *cred)
{
	if (!cred || atomic_fetch_sub(&cred->refs, 1) != 1)
		return;
	SSL_CTX_free(cred->ctx);
	free(cred);
}

static bool set_peer_name(struct tls_session *s)
{
	if (is_ip_literal(s->host))
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), s->host) == 1;
	/* SNI only for DNS names (RFC 6066 §3). */
	SSL_set_hostflags(s->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(s->ssl, s->host) == 1 && SSL_set_tlsext_host_name(s->ssl, s->host) == 1;
}

static struct tls_session *session_new(struct tls_cred *cred, int fd, bool server,
                                       const char *hostname)
{
	struct tls_session *s;

	if (!cred || cred->server != server)
		return NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return NULL;
	s->server = server;
	if (hostname) {
		size_t n = strlen(hostname);
		if (n == 0 || n >= sizeof(s->host)) {
			free(s);
			return NULL;
		}
		memcpy(s->host, hostname, n + 1);
	}
	if (!(s->ssl = SSL_new(cred->ctx)) || !SSL_set_fd(s->ssl, fd) ||
	    !SSL_set_app_data(s->ssl, s) || (!server && !set_peer_name(s))) {
		ERR_clear_error();
		SSL_free(s->ssl);
		free(s);
		return NULL;
	}
	if (server)
		SSL_set_accept_state(s->ssl);
	else
		SSL_set_connect_state(s->ssl);
	atomic_fetch_add(&cred->refs, 1);
	s->cred = cred;
	return s;
}

struct tls_session *tls_session_new_server(struct tls_cred *cred, int fd)
{
	return session_new(cred, fd, true, NULL);
}

struct tls_session *tls_session_new_client(struct tls_cred *cred, int fd, const char *hostname)
{
	if (!hostname)
		return NULL;
	return session_new(cred, fd, false, hostname);
}

void tls_session_free(struct tls_session *s)
{
	if (!s)
		return;
	SSL_free(s->ssl);
	X509_free(s->peer);
	tls_cred_free(s->cred);
	free(s);
}

/* Maps a failed SSL_* call to a status, and records why in s->err. */
static enum tls_status fail(struct tls_session *s, int ret, const char *what)
{
	int saved = errno;
	int e = SSL_get_error(s->ssl, ret);
	unsigned long last = ERR_peek_last_error();
	long vr;
	char verify[160] = "";

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return TLS_AGAIN_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_AGAIN_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		errf(s->err, sizeof(s->err), "%s: peer sent close_notify", what);
		return TLS_CLOSED;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (saved == 0) {
			errf(s->err, sizeof(s->err), "%s: connection closed by peer", what);
			return TLS_CLOSED;
		}
		errf(s->err, sizeof(s->err), "%s: %s", what, strerror(saved));
		return TLS_FAILED;
	default:
		break;
	}
	if (ERR_GET_LIB(last) == ERR_LIB_SSL &&
	    ERR_GET_REASON(last) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		ERR_clear_error();
		errf(s->err, sizeof(s->err), "%s: connection closed by peer without close_notify",
		     what);
		return TLS_CLOSED;
	}
	if (!s->server && (vr = SSL_get_verify_result(s->ssl)) != X509_V_OK)
		snprintf(verify, sizeof(verify), " (certificate verification: %s)",
		         X509_verify_cert_error_string(vr));
	errf(s->err, sizeof(s->err), "%s: %s%s%s%s", what, ossl_reason(), verify,
	     s->detail[0] ? ": " : "", s->detail);
	return TLS_FAILED;
}

enum tls_status tls_handshake(struct tls_session *s)
{
	const unsigned char *p = NULL;
	unsigned int len = 0;
	int r;

	if (s->done)
		return TLS_OK;
	ERR_clear_error();
	errno = 0;
	s->err[0] = '\0';
	if ((r = SSL_do_handshake(s->ssl)) != 1)
		return fail(s, r, "TLS handshake");
	/* RFC 8915 §4: both sides must have negotiated ntske/1. OpenSSL already
	 * rejects a server choice we did not offer; this catches none at all. */
	SSL_get0_alpn_selected(s->ssl, &p, &len);
	if (!p || !alpn_is_ntske(p, len)) {
		errf(s->err, sizeof(s->err), "TLS handshake: peer did not negotiate ALPN %s",
		     TLS_ALPN_NTSKE);
		return TLS_FAILED;
	}
	memcpy(s->alpn, p, len);
	s->alpn[len] = '\0';
	s->done = true;
	return TLS_OK;
}

enum tls_status tls_read(struct tls_session *s, void *buf, size_t len, size_t *got)
{
	size_t n = 0;

	*got = 0;
	if (len == 0)
		return TLS_OK;
	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(s->ssl, buf, len, &n) != 1)
		return fail(s, 0, "TLS read");
	*got = n;
	return TLS_OK;
}

/* Without SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_write_ex writes everything or
 * nothing, a buffer up to 16 KiB as one record; a retry after WANT_* must
 * pass the same buffer, as tls.h asks of the caller. */
enum tls_status tls_write(struct tls_session *s, const void *buf, size_t len, size_t *put)
{
	size_t n = 0;

	*put = 0;
	if (len == 0)
		return TLS_OK;
	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(s->ssl, buf, len, &n) != 1)
		return fail(s, 0, "TLS write");
	*put = n;
	return TLS_OK;
}

enum tls_status tls_shutdown(struct tls_session *s)
{
	int r;

	ERR_clear_error();
	errno = 0;
	/* 0: our close_notify went out, the peer's has not arrived: enough. */
	if ((r = SSL_shutdown(s->ssl)) >= 0)
		return TLS_OK;
	return fail(s, r, "TLS shutdown");
}

const char *tls_session_error(const struct tls_session *s)
{
	return s->err;
}

const char *tls_session_alpn(const struct tls_session *s)
{
	return s->done ? s->alpn : NULL;
}

bool tls_export(struct tls_session *s, const uint8_t *ctx, size_t ctxlen, uint8_t *out,
                size_t outlen)
{
	static const uint8_t none[1];
	bool ok;

	if (!s->done || (!ctx && ctxlen) || !out || outlen == 0)
		return false;
	ERR_clear_error();
	ok = SSL_export_keying_material(s->ssl, out, outlen, TLS_EXPORTER_LABEL,
	                                strlen(TLS_EXPORTER_LABEL), ctx ? ctx : none, ctxlen,
	                                1) == 1;
	ERR_clear_error();
	return ok;
}

static bool asn1_to_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	*out = timegm(&tm);
	return true;
}

static void fmt_time(const ASN1_TIME *t, char *buf, size_t len)
{
	time_t tt;
	struct tm tm;

	if (!asn1_to_time(t, &tt) || !gmtime_r(&tt, &tm) ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
}

/* RFC 4514 form of name, into buf (truncated if need be). */
static void fmt_name(const X509_NAME *name, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n = -1;

	buf[0] = '\0';
	if (b && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		n = BIO_read(b, buf, (int)len - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(b);
	ERR_clear_error();
}

bool tls_session_peer_info(const struct tls_session *s, char *buf, size_t buflen)
{
	X509 *cert = s->peer ? s->peer : SSL_get0_peer_certificate(s->ssl);
	char subj[256], iss[256], nb[32], na[32];
	const char *verify = "not verified";

	if (buflen)
		buf[0] = '\0';
	if (!cert)
		return false;
	fmt_name(X509_get_subject_name(cert), subj, sizeof(subj));
	fmt_name(X509_get_issuer_name(cert), iss, sizeof(iss));
	fmt_time(X509_get0_notBefore(cert), nb, sizeof(nb));
	fmt_time(X509_get0_notAfter(cert), na, sizeof(na));
	if (!s->server)
		verify = X509_verify_cert_error_string(SSL_get_verify_result(s->ssl));
	snprintf(buf, buflen, "subject \"%s\" issuer \"%s\" valid %s to %s, verify: %s", subj, iss,
	         nb, na, verify);
	return true;
}

/* Copies an ASN.1 string for display; false if it holds a NUL byte. */
static bool copy_asn1(char *dst, size_t dstlen, const ASN1_STRING *str)
{
	const unsigned char *p = ASN1_STRING_get0_data(str);
	int n = ASN1_STRING_length(str);

	if (!p || n < 0 || memchr(p, '\0', (size_t)n))
		return false;
	snprintf(dst, dstlen, "%.*s", n, (const char *)p);
	return true;
}

static void get_cn(X509 *cert, struct tls_cert_info *out)
{
	const X509_NAME *name = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	int n;

	if (i < 0)
		return;
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n >= 0 && !memchr(utf8, '\0', (size_t)n))
		snprintf(out->subject_cn, sizeof(out->subject_cn), "%.*s", n, (const char *)utf8);
	OPENSSL_free(utf8);
}

static void get_sans(X509 *cert, struct tls_cert_info *out)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	int n = gens ? sk_GENERAL_NAME_num(gens) : 0;

	for (int i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_OCTET_STRING *ip = g->d.iPAddress;
		int len;

		if (g->type == GEN_DNS) {
			if (out->n_dns == TLS_CERT_MAX_NAMES)
				out->names_truncated = true;
			else if (copy_asn1(out->dns[out->n_dns], TLS_CERT_NAME_MAX, g->d.dNSName))
				out->n_dns++;
		} else if (g->type == GEN_IPADD) {
			len = ASN1_STRING_length(ip);
			if (out->n_ip == TLS_CERT_MAX_NAMES)
				out->names_truncated = true;
			else if ((len == 4 || len == 16) &&
			         inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip),
			                   out->ip[out->n_ip], TLS_CERT_IP_MAX))
				out->n_ip++;
		}
	}
	GENERAL_NAMES_free(gens);
}

bool tls_cert_info(const char *path, struct tls_cert_info *out, char *err, size_t errlen)
{
	FILE *f = open_file(path, err, errlen);
	X509 *cert;
	bool ok;

	memset(out, 0, sizeof(*out));
	if (!f)
		return false;
	cert = PEM_read_X509(f, NULL, no_password, NULL);
	fclose(f);
	if (!cert) {
		errf(err, errlen, "%s: no PEM certificate found (%s)", path, ossl_reason());
		return false;
	}
	ok = asn1_to_time(X509_get0_notBefore(cert), &out->not_before) &&
	     asn1_to_time(X509_get0_notAfter(cert), &out->not_after);
	if (ok) {
		get_cn(cert, out);
		get_sans(cert, out);
	} else {
		errf(err, errlen, "%s: certificate has an invalid validity period", path);
	}
	X509_free(cert);
	ERR_clear_error();
	return ok;
}
