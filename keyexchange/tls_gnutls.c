/* NTS-KE TLS (tls.h) with GnuTLS. */
#include "config.h"

#include "keyexchange/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

/* Larger PEM files are not certificates or keys we want. */
#define MAX_PEM_FILE (1024 * 1024)
#define TLS_EXT_ALPN 16               /* RFC 7301 §3.1 extension type */
#define TLS_EXT_SUPPORTED_VERSIONS 43 /* RFC 8446 §4.2 */

struct tls_cred {
	atomic_int refs;
	bool server;
	unsigned verify_flags;
	bool no_verify; /* client: `noval`, the server certificate is not checked */
	gnutls_certificate_credentials_t xcred;
	gnutls_priority_t prio;
};

struct tls_session {
	struct tls_cred *cred;
	gnutls_session_t gs;
	bool server, done;
	bool wpending; /* a tls_write returned AGAIN: the next call continues it */
	size_t wdone;  /* bytes of that write already sent */
	char host[256];
	char alpn[256];
	char detail[128]; /* set by the ClientHello hook */
	char err[384];
};

static unsigned char alpn_name[] = TLS_ALPN_NTSKE;

const char *tls_backend_name(void)
{
	return "gnutls";
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

/* Reads a whole file into malloc'd memory (NUL-terminated; the size leaves
 * the NUL out). Errors name the path; the caller wipes and frees. */
static bool read_file(const char *path, gnutls_datum_t *d, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	unsigned char *p = NULL;
	size_t n = 0, cap = 0;

	d->data = NULL;
	d->size = 0;
	if (!f) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	for (;;) {
		if (n + 4096 + 1 > cap) {
			unsigned char *q;
			cap = cap ? 2 * cap : 8192;
			if (cap > MAX_PEM_FILE || !(q = malloc(cap))) {
				errf(err, errlen, "%s: %s", path,
				     cap > MAX_PEM_FILE ? "file too large" : strerror(ENOMEM));
				goto fail;
			}
			if (p) {
				memcpy(q, p, n);
				sodium_memzero(p, n);
				free(p);
			}
			p = q;
		}
		size_t r = fread(p + n, 1, 4096, f);
		n += r;
		if (r < 4096)
			break;
	}
	if (ferror(f)) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	fclose(f);
	p[n] = '\0';
	d->data = p;
	d->size = (unsigned)n;
	return true;
fail:
	if (p) {
		sodium_memzero(p, n);
		free(p);
	}
	fclose(f);
	return false;
}

static void free_file(gnutls_datum_t *d)
{
	if (d->data) {
		sodium_memzero(d->data, d->size);
		free(d->data);
	}
	d->data = NULL;
}

static bool is_ip_literal(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* TLS 1.3 only (RFC 8915 §3) on top of the system's default priorities,
 * as chrony does, so that a crypto policy still applies. */
static bool cred_init(struct tls_cred *c, bool server, char *err, size_t errlen)
{
	int r;

	atomic_init(&c->refs, 1);
	c->server = server;
	if ((r = gnutls_certificate_allocate_credentials(&c->xcred)) < 0) {
		errf(err, errlen, "cannot allocate TLS credentials: %s", gnutls_strerror(r));
		return false;
	}
	r = gnutls_priority_init2(&c->prio, "-VERS-ALL:+VERS-TLS1.3", NULL,
	                          GNUTLS_PRIORITY_INIT_DEF_APPEND);
	if (r < 0) {
		errf(err, errlen, "cannot restrict TLS to version 1.3: %s", gnutls_strerror(r));
		c->prio = NULL;
		return false;
	}
	return true;
}

static void cred_destroy(struct tls_cred *c)
{
	if (c->xcred)
		gnutls_certificate_free_credentials(c->xcred);
	if (c->prio)
		gnutls_priority_deinit(c->prio);
	free(c);
}

/* Loads the chain and key separately so that an error names the right
 * file, and compares the public keys explicitly for a clear message. */
static bool load_pair(struct tls_cred *c, const char *chain, const char *keyp, char *err,
                      size_t errlen)
{
	gnutls_datum_t cd = {NULL, 0}, kd = {NULL, 0};
	gnutls_x509_crt_t *crts = NULL;
	gnutls_x509_privkey_t key = NULL;
	unsigned ncrt = 0;
	unsigned char id1[64], id2[64];
	size_t l1 = sizeof(id1), l2 = sizeof(id2);
	bool ok = false;
	int r;

	if (!read_file(chain, &cd, err, errlen) || !read_file(keyp, &kd, err, errlen))
		goto out;
	if ((r = gnutls_x509_crt_list_import2(&crts, &ncrt, &cd, GNUTLS_X509_FMT_PEM, 0)) < 0 ||
	    ncrt == 0) {
		errf(err, errlen, "%s: no usable PEM certificate chain (%s)", chain,
		     r < 0 ? gnutls_strerror(r) : "no certificate");
		goto out;
	}
	if ((r = gnutls_x509_privkey_init(&key)) < 0 ||
	    (r = gnutls_x509_privkey_import2(key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		errf(err, errlen, "%s: no usable PEM private key (%s; encrypted keys are not supported)",
		     keyp, gnutls_strerror(r));
		goto out;
	}
	if (gnutls_x509_crt_get_key_id(crts[0], GNUTLS_KEYID_USE_SHA256, id1, &l1) < 0 ||
	    gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, id2, &l2) < 0 ||
	    l1 != l2 || memcmp(id1, id2, l1) != 0) {
		errf(err, errlen, "%s: private key does not match the certificate in %s", keyp, chain);
		goto out;
	}
	if ((r = gnutls_certificate_set_x509_key(c->xcred, crts, ncrt, key)) < 0) {
		errf(err, errlen, "%s: cannot use certificate and key (%s)", chain, gnutls_strerror(r));
		goto out;
	}
	ok = true;
out:
	for (unsigned i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	if (key)
		gnutls_x509_privkey_deinit(key);
	free_file(&cd);
	free_file(&kd);
	return ok;
}

struct tls_cred *tls_cred_load_server(const char *cert_chain_pem, const char *key_pem, char *err,
                                      size_t errlen)
{
	struct tls_cred *c = calloc(1, sizeof(*c));

	if (!c) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	if (cred_init(c, true, err, errlen) && load_pair(c, cert_chain_pem, key_pem, err, errlen))
		return c;
	cred_destroy(c);
	return NULL;
}

static bool load_trust(struct tls_cred *c, const char *ca_file, char *err, size_t errlen)
{
	gnutls_datum_t d;
	int r;

	if (!ca_file) {
		if ((r = gnutls_certificate_set_x509_system_trust(c->xcred)) < 0) {
			errf(err, errlen, "cannot load the system trust store: %s", gnutls_strerror(r));
			return false;
		}
		return true;
	}
	if (!read_file(ca_file, &d, err, errlen))
		return false;
	r = gnutls_certificate_set_x509_trust_mem(c->xcred, &d, GNUTLS_X509_FMT_PEM);
	free_file(&d);
	if (r <= 0) {
		errf(err, errlen, "%s: no usable PEM CA certificates (%s)", ca_file,
		     r < 0 ? gnutls_strerror(r) : "none found");
		return false;
	}
	return true;
}

struct tls_cred *tls_cred_new_client(const char *ca_file, bool skip_time_check, char *err,
                                     size_t errlen)
{
	struct tls_cred *c = calloc(1, sizeof(*c));

	if (!c) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	/* As chrony's nocerttimecheck: the validity periods of the leaf, the
	 * intermediates and the trust anchor; nothing else. (Without it GnuTLS
	 * still ignores the trust anchor's own validity, which OpenSSL checks.) */
	if (skip_time_check)
		c->verify_flags =
		    GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS;
	if (cred_init(c, false, err, errlen) && load_trust(c, ca_file, err, errlen))
		return c;
	cred_destroy(c);
	return NULL;
}

struct tls_cred *tls_cred_new_client_noverify(char *err, size_t errlen)
{
	struct tls_cred *c = calloc(1, sizeof(*c));

	if (!c) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	c->no_verify = true;
	if (cred_init(c, false, err, errlen))
		return c;
	cred_destroy(c);
	return NULL;
}

void tls_cred_free(struct tls_cred *cred)
{
	if (cred && atomic_fetch_sub(&cred->refs, 1) == 1)
		cred_destroy(cred);
}

struct hello_exts {
	bool alpn, tls13;
};

static int scan_ext(void *ctx, unsigned tls_id, const unsigned char *data, unsigned size)
{
	struct hello_exts *h = ctx;

	if (tls_id == TLS_EXT_ALPN)
		h->alpn = true;
	/* RFC 8446 §4.2.1: a length byte, then two-byte versions. */
	if (tls_id == TLS_EXT_SUPPORTED_VERSIONS && size > 0)
		for (unsigned i = 1; i + 1 < size && i <= data[0]; i += 2)
			if (data[i] == 3 && data[i + 1] == 4)
				h->tls13 = true;
	return 0;
}

/* Checks the ClientHello before GnuTLS acts on it.
 * - RFC 8446 §4.2.1: a client that cannot do TLS 1.3 gets protocol_version;
 *   GnuTLS alone would answer handshake_failure ("no cipher suites").
 * - RFC 8915 §4: ALPN is required. GNUTLS_ALPN_MANDATORY only fails when
 *   the client offers ALPN without a match, so a ClientHello with no ALPN
 *   at all is refused here, with no_application_protocol (chrony's server
 *   refuses it too, after the handshake). */
static int client_hello_hook(gnutls_session_t gs, unsigned htype, unsigned when,
                             unsigned incoming, const gnutls_datum_t *msg)
{
	struct tls_session *s = gnutls_session_get_ptr(gs);
	struct hello_exts h = {false, false};

	(void)htype, (void)when;
	if (!incoming)
		return 0;
	if (gnutls_ext_raw_parse(&h, scan_ext, msg, GNUTLS_EXT_RAW_FLAG_TLS_CLIENT_HELLO) < 0)
		return 0; /* malformed: let GnuTLS reject it */
	if (!h.tls13) {
		errf(s->detail, sizeof(s->detail), "client does not offer TLS 1.3");
		return GNUTLS_E_UNSUPPORTED_VERSION_PACKET;
	}
	if (!h.alpn) {
		errf(s->detail, sizeof(s->detail), "client offered no ALPN");
		return GNUTLS_E_NO_APPLICATION_PROTOCOL;
	}
	return 0;
}

static bool session_setup(struct tls_session *s, struct tls_cred *cred, int fd)
{
	gnutls_datum_t alpn = {alpn_name, sizeof(alpn_name) - 1};
	unsigned flags = GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS | GNUTLS_NO_SIGNAL;

	if (gnutls_init(&s->gs, flags | (s->server ? GNUTLS_SERVER : GNUTLS_CLIENT)) < 0) {
		s->gs = NULL;
		return false;
	}
	gnutls_session_set_ptr(s->gs, s);
	if (gnutls_priority_set(s->gs, cred->prio) < 0 ||
	    gnutls_credentials_set(s->gs, GNUTLS_CRD_CERTIFICATE, cred->xcred) < 0 ||
	    gnutls_alpn_set_protocols(s->gs, &alpn, 1, s->server ? GNUTLS_ALPN_MANDATORY : 0) < 0)
		return false;
	if (s->server) {
		gnutls_handshake_set_hook_function(s->gs, GNUTLS_HANDSHAKE_CLIENT_HELLO,
		                                   GNUTLS_HOOK_PRE, client_hello_hook);
	} else {
		/* SNI only for DNS names (RFC 6066 §3); the hostname check
		 * matches IP literals against iPAddress SANs. */
		if (!is_ip_literal(s->host) &&
		    gnutls_server_name_set(s->gs, GNUTLS_NAME_DNS, s->host, strlen(s->host)) < 0)
			return false;
		if (!cred->no_verify)
			gnutls_session_set_verify_cert(s->gs, s->host, cred->verify_flags);
	}
	/* The caller owns timeouts. */
	gnutls_handshake_set_timeout(s->gs, 0);
	gnutls_transport_set_int(s->gs, fd);
	return true;
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
	if (!session_setup(s, cred, fd)) {
		if (s->gs)
			gnutls_deinit(s->gs);
		free(s);
		return NULL;
	}
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
	gnutls_deinit(s->gs);
	tls_cred_free(s->cred);
	free(s);
}

/* GnuTLS messages end in ". " or "."; ours are joined with ": ". */
static void trim(char *str)
{
	size_t n = strlen(str);

	while (n > 0 && (str[n - 1] == '.' || str[n - 1] == ' '))
		str[--n] = '\0';
}

static enum tls_status again(struct tls_session *s)
{
	return gnutls_record_get_direction(s->gs) ? TLS_AGAIN_WRITE : TLS_AGAIN_READ;
}

/* Maps a fatal GnuTLS error to a status, records why, and sends the
 * matching alert where one is due (GnuTLS leaves that to the caller).
 * Best effort: on a non-blocking socket the alert may not go out. */
static enum tls_status fail(struct tls_session *s, int r, const char *what)
{
	gnutls_datum_t vs = {NULL, 0};
	const char *alert = "";
	char why[128];
	unsigned status;

	switch (r) {
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
		errf(s->err, sizeof(s->err), "%s: connection closed by peer without close_notify",
		     what);
		return TLS_CLOSED;
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		if (!(alert = gnutls_alert_get_name(gnutls_alert_get(s->gs))))
			alert = "unknown alert";
		break;
	case GNUTLS_E_PUSH_ERROR:
	case GNUTLS_E_PULL_ERROR:
		break;
	default:
		gnutls_alert_send_appropriate(s->gs, r);
		break;
	}
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR &&
	    (status = gnutls_session_get_verify_cert_status(s->gs)) != (unsigned)-1)
		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &vs, 0);
	snprintf(why, sizeof(why), "%s", gnutls_strerror(r));
	trim(why);
	if (vs.data)
		trim((char *)vs.data);
	errf(s->err, sizeof(s->err), "%s: %s%s%s%s%s%s%s%s", what, why, alert[0] ? ": " : "", alert,
	     vs.data ? " (" : "", vs.data ? (const char *)vs.data : "", vs.data ? ")" : "",
	     s->detail[0] ? ": " : "", s->detail);
	gnutls_free(vs.data);
	return TLS_FAILED;
}

enum tls_status tls_handshake(struct tls_session *s)
{
	gnutls_datum_t p = {NULL, 0};
	int r;

	if (s->done)
		return TLS_OK;
	s->err[0] = '\0';
	/* Non-fatal results (EINTR, a warning alert) mean: call again. */
	for (int i = 0; i < 16; i++) {
		r = gnutls_handshake(s->gs);
		if (r >= 0 || r == GNUTLS_E_AGAIN || gnutls_error_is_fatal(r))
			break;
	}
	if (r == GNUTLS_E_AGAIN)
		return again(s);
	if (r < 0)
		return fail(s, r, "TLS handshake");
	/* RFC 8915 §4: both sides must have negotiated ntske/1. */
	if (gnutls_alpn_get_selected_protocol(s->gs, &p) < 0 || p.size != sizeof(alpn_name) - 1 ||
	    memcmp(p.data, alpn_name, p.size) != 0) {
		gnutls_alert_send(s->gs, GNUTLS_AL_FATAL, GNUTLS_A_NO_APPLICATION_PROTOCOL);
		errf(s->err, sizeof(s->err), "TLS handshake: peer did not negotiate ALPN %s",
		     TLS_ALPN_NTSKE);
		return TLS_FAILED;
	}
	memcpy(s->alpn, p.data, p.size);
	s->alpn[p.size] = '\0';
	s->done = true;
	return TLS_OK;
}

enum tls_status tls_read(struct tls_session *s, void *buf, size_t len, size_t *got)
{
	ssize_t r;

	*got = 0;
	if (len == 0)
		return TLS_OK;
	/* Non-fatal results (a warning alert, a handled KeyUpdate) consumed a
	 * record: try again rather than wait on a socket that may stay quiet. */
	for (int i = 0; i < 16; i++) {
		r = gnutls_record_recv(s->gs, buf, len);
		if (r > 0) {
			*got = (size_t)r;
			return TLS_OK;
		}
		if (r == 0) {
			errf(s->err, sizeof(s->err), "TLS read: peer sent close_notify");
			return TLS_CLOSED;
		}
		if (r == GNUTLS_E_AGAIN)
			return again(s);
		if (gnutls_error_is_fatal((int)r) || r == GNUTLS_E_REHANDSHAKE)
			return fail(s, (int)r, "TLS read");
	}
	return TLS_AGAIN_READ;
}

/* gnutls_record_send sends at most one record of up to 16 KiB (less if the
 * peer asked for a record size limit); a larger buffer takes several calls,
 * and an interrupted call must be repeated with the same arguments. */
enum tls_status tls_write(struct tls_session *s, const void *buf, size_t len, size_t *put)
{
	const unsigned char *p = buf;
	ssize_t r;

	*put = 0;
	if (len == 0)
		return TLS_OK;
	if (!s->wpending)
		s->wdone = 0;
	s->wpending = false;
	while (s->wdone < len) {
		r = gnutls_record_send(s->gs, p + s->wdone, len - s->wdone);
		if (r > 0) {
			s->wdone += (size_t)r;
		} else if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			s->wpending = true;
			return again(s);
		} else {
			return fail(s, r < 0 ? (int)r : GNUTLS_E_INTERNAL_ERROR, "TLS write");
		}
	}
	*put = len;
	return TLS_OK;
}

enum tls_status tls_shutdown(struct tls_session *s)
{
	int r = gnutls_bye(s->gs, GNUTLS_SHUT_WR);

	if (r == 0)
		return TLS_OK;
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
		return again(s);
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
	if (!s->done || (!ctx && ctxlen) || !out || outlen == 0)
		return false;
	return gnutls_prf_rfc5705(s->gs, strlen(TLS_EXPORTER_LABEL), TLS_EXPORTER_LABEL, ctxlen,
	                          (const char *)ctx, outlen, (char *)out) == 0;
}

static void fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == (time_t)-1 || !gmtime_r(&t, &tm) ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
}

static const char *verify_text(const struct tls_session *s, gnutls_datum_t *vs)
{
	unsigned status;

	if (s->server)
		return "not verified";
	status = gnutls_session_get_verify_cert_status(s->gs);
	if (status == (unsigned)-1)
		return "not verified";
	if (status == 0)
		return "ok";
	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, vs, 0) < 0)
		return "failed";
	trim((char *)vs->data);
	return (const char *)vs->data;
}

bool tls_session_peer_info(const struct tls_session *s, char *buf, size_t buflen)
{
	const gnutls_datum_t *certs;
	gnutls_datum_t subj = {NULL, 0}, iss = {NULL, 0}, vs = {NULL, 0};
	gnutls_x509_crt_t crt;
	unsigned n = 0;
	char nb[32], na[32];

	if (buflen)
		buf[0] = '\0';
	certs = gnutls_certificate_get_peers(s->gs, &n);
	if (!certs || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return false;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		return false;
	}
	gnutls_x509_crt_get_dn3(crt, &subj, 0);
	gnutls_x509_crt_get_issuer_dn3(crt, &iss, 0);
	fmt_time(gnutls_x509_crt_get_activation_time(crt), nb, sizeof(nb));
	fmt_time(gnutls_x509_crt_get_expiration_time(crt), na, sizeof(na));
	snprintf(buf, buflen, "subject \"%s\" issuer \"%s\" valid %s to %s, verify: %s",
	         subj.data ? (const char *)subj.data : "", iss.data ? (const char *)iss.data : "",
	         nb, na, verify_text(s, &vs));
	gnutls_free(subj.data);
	gnutls_free(iss.data);
	gnutls_free(vs.data);
	gnutls_x509_crt_deinit(crt);
	return true;
}

static void get_names(gnutls_x509_crt_t crt, struct tls_cert_info *out)
{
	char name[TLS_CERT_NAME_MAX];
	size_t size = sizeof(name);
	int type;

	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, name, &size) ==
	        0 &&
	    strlen(name) == size)
		memcpy(out->subject_cn, name, size + 1);
	for (unsigned seq = 0;; seq++) {
		size = sizeof(name) - 1;
		type = gnutls_x509_crt_get_subject_alt_name(crt, seq, name, &size, NULL);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_SAN_DNSNAME) {
			name[size] = '\0';
			if (out->n_dns == TLS_CERT_MAX_NAMES)
				out->names_truncated = true;
			else if (strlen(name) == size) /* no embedded NUL */
				memcpy(out->dns[out->n_dns++], name, size + 1);
		} else if (type == GNUTLS_SAN_IPADDRESS) {
			if (out->n_ip == TLS_CERT_MAX_NAMES)
				out->names_truncated = true;
			else if ((size == 4 || size == 16) &&
			         inet_ntop(size == 4 ? AF_INET : AF_INET6, name, out->ip[out->n_ip],
			                   TLS_CERT_IP_MAX))
				out->n_ip++;
		}
		/* Other types and over-long names (SHORT_MEMORY_BUFFER) are skipped. */
	}
}

bool tls_cert_info(const char *path, struct tls_cert_info *out, char *err, size_t errlen)
{
	gnutls_datum_t d;
	gnutls_x509_crt_t crt;
	int r;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (!read_file(path, &d, err, errlen))
		return false;
	if ((r = gnutls_x509_crt_init(&crt)) < 0) {
		errf(err, errlen, "%s: %s", path, gnutls_strerror(r));
		free_file(&d);
		return false;
	}
	/* Imports the first certificate of a PEM file. */
	if ((r = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM)) < 0) {
		errf(err, errlen, "%s: no PEM certificate found (%s)", path, gnutls_strerror(r));
		goto out;
	}
	out->not_before = gnutls_x509_crt_get_activation_time(crt);
	out->not_after = gnutls_x509_crt_get_expiration_time(crt);
	if (out->not_before == (time_t)-1 || out->not_after == (time_t)-1) {
		errf(err, errlen, "%s: certificate has an invalid validity period", path);
		goto out;
	}
	get_names(crt, out);
	ok = true;
out:
	gnutls_x509_crt_deinit(crt);
	free_file(&d);
	return ok;
}
