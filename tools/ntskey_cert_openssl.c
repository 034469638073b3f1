/* ntskey certificates with OpenSSL 3 (EVP, X509, X509_REQ).
 * The certificate is what an NTS-KE server needs and what strict verifiers
 * (rustls/webpki refuse a CA certificate as a server leaf) accept: an end
 * entity (basicConstraints CA:FALSE), digitalSignature, serverAuth, every
 * name in the subjectAltName (RFC 8915 §3 uses RFC 6125 name checks; the
 * CN is not consulted). */
#include "config.h"

#include "tools/ntskey.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/secret.h"

static void ossl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s", what, *buf ? ": " : "", buf);
	ERR_clear_error();
}

static bool san_text(const struct ntskey_cert_req *req, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < req->n_dns + req->n_ip; i++) {
		bool dns = i < req->n_dns;
		int w = snprintf(buf + used, len - used, "%s%s:%s", used ? "," : "",
		                 dns ? "DNS" : "IP", dns ? req->dns[i] : req->ip[i - req->n_dns]);
		if (w < 0 || (size_t)w >= len - used)
			return false;
		used += (size_t)w;
	}
	return true;
}

static X509_EXTENSION *ext(X509V3_CTX *ctx, int nid, const char *value)
{
	return X509V3_EXT_conf_nid(NULL, ctx, nid, value);
}

static bool add_cert_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = ext(ctx, nid, value);
	bool ok = e && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

static char *bio_text(BIO *b, size_t *len, bool secret)
{
	char *data, *out;
	long n = BIO_get_mem_data(b, &data);

	if (n <= 0)
		return NULL;
	out = secret ? secret_alloc((size_t)n + 1) : malloc((size_t)n + 1);
	if (!out)
		return NULL;
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	return out;
}

static EVP_PKEY *new_key(enum ntskey_keytype t)
{
	return t == NTSKEY_KEY_EC ? EVP_EC_gen("P-256") : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

static const EVP_MD *digest_for(enum ntskey_keytype t)
{
	return t == NTSKEY_KEY_EC ? EVP_sha256() : NULL; /* Ed25519 signs the message itself */
}

static bool set_cn(X509_NAME *name, const struct ntskey_cert_req *req)
{
	const char *cn = req->n_dns ? req->dns[0] : req->ip[0];
	return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
	                                  -1, 0) == 1;
}

static bool make_cert(const struct ntskey_cert_req *req, EVP_PKEY *pk, BIO *out, const char *san,
                      char *err, size_t errlen)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	bool ok = false;

	if (!x)
		goto fail;
	secret_random(serial, sizeof(serial));
	serial[0] &= 0x7f; /* positive, RFC 5280 §4.1.2.2: at most 20 octets */
	serial[0] |= 0x01;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	/* notBefore an hour back: a client whose clock is a little behind
	 * (which is why it wants time) must not see a future certificate. */
	if (!bn || !X509_set_version(x, X509_VERSION_3) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), (int)req->days, 0, NULL) ||
	    !set_cn(X509_get_subject_name(x), req) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) || !X509_set_pubkey(x, pk))
		goto fail;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (!add_cert_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_cert_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
	    !add_cert_ext(x, &ctx, NID_ext_key_usage, "serverAuth") ||
	    !add_cert_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
	    !add_cert_ext(x, &ctx, NID_subject_alt_name, san))
		goto fail;
	if (!X509_sign(x, pk, digest_for(req->type)) || !PEM_write_bio_X509(out, x))
		goto fail;
	ok = true;
fail:
	if (!ok)
		ossl_err(err, errlen, "cannot make the certificate");
	BN_free(bn);
	X509_free(x);
	return ok;
}

static bool make_csr(const struct ntskey_cert_req *req, EVP_PKEY *pk, BIO *out, const char *san,
                     char *err, size_t errlen)
{
	X509_REQ *r = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	bool ok = false;

	if (!r || !exts || !X509_REQ_set_version(r, X509_REQ_VERSION_1) ||
	    !set_cn(X509_REQ_get_subject_name(r), req) || !X509_REQ_set_pubkey(r, pk))
		goto fail;
	X509V3_set_ctx(&ctx, NULL, NULL, r, NULL, 0);
	if (!(e = ext(&ctx, NID_subject_alt_name, san)) || !sk_X509_EXTENSION_push(exts, e)) {
		X509_EXTENSION_free(e);
		goto fail;
	}
	if (!(e = ext(&ctx, NID_ext_key_usage, "serverAuth")) || !sk_X509_EXTENSION_push(exts, e)) {
		X509_EXTENSION_free(e);
		goto fail;
	}
	if (!X509_REQ_add_extensions(r, exts) || !X509_REQ_sign(r, pk, digest_for(req->type)) ||
	    !PEM_write_bio_X509_REQ(out, r))
		goto fail;
	ok = true;
fail:
	if (!ok)
		ossl_err(err, errlen, "cannot make the certificate signing request");
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(r);
	return ok;
}

bool ntskey_cert_make(const struct ntskey_cert_req *req, char **key_pem, size_t *key_len,
                      char **out_pem, size_t *out_len, char *err, size_t errlen)
{
	char san[NTSKEY_MAX_NAMES * 2 * 270];
	EVP_PKEY *pk = NULL;
	/* The private key's PEM goes through OpenSSL's secure heap when one
	 * is set up, and is copied into our secret memory. */
	BIO *kb = BIO_new(BIO_s_secmem()), *ob = BIO_new(BIO_s_mem());
	bool ok = false;

	*key_pem = *out_pem = NULL;
	if (!san_text(req, san, sizeof(san))) {
		snprintf(err, errlen, "too many names");
		goto out;
	}
	if (!kb || !ob || !(pk = new_key(req->type))) {
		ossl_err(err, errlen, "cannot generate the private key");
		goto out;
	}
	if (!PEM_write_bio_PrivateKey(kb, pk, NULL, NULL, 0, NULL, NULL)) {
		ossl_err(err, errlen, "cannot encode the private key");
		goto out;
	}
	if (!(req->csr ? make_csr(req, pk, ob, san, err, errlen) :
	                 make_cert(req, pk, ob, san, err, errlen)))
		goto out;
	*key_pem = bio_text(kb, key_len, true);
	*out_pem = bio_text(ob, out_len, false);
	ok = *key_pem && *out_pem;
	if (!ok)
		snprintf(err, errlen, "out of memory");
out:
	if (!ok) {
		secret_free(*key_pem);
		free(*out_pem);
		*key_pem = *out_pem = NULL;
	}
	BIO_free(kb);
	BIO_free(ob);
	EVP_PKEY_free(pk);
	return ok;
}

static void name_text(const X509_NAME *n, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long l;

	buf[0] = '\0';
	if (!b)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (l = BIO_get_mem_data(b, &data)) > 0)
		snprintf(buf, len, "%.*s", (int)l, data);
	BIO_free(b);
}

bool ntskey_cert_extra(const char *path, struct ntskey_cert_extra *out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_PKEY *pk;

	memset(out, 0, sizeof(*out));
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return false;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x) {
		snprintf(err, errlen, "%s: no PEM certificate found", path);
		ERR_clear_error();
		return false;
	}
	name_text(X509_get_subject_name(x), out->subject, sizeof(out->subject));
	name_text(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
	/* Not X509_check_issued: it also wants keyCertSign, which an end
	 * entity certificate does not have. */
	pk = X509_get0_pubkey(x);
	out->self_signed = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0 &&
	                   pk && X509_verify(x, pk) == 1;
	if (pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		char group[64] = "";
		size_t gl = 0;
		EVP_PKEY_get_group_name(pk, group, sizeof(group), &gl);
		snprintf(out->key_alg, sizeof(out->key_alg), "EC %s", group);
	} else if (pk) {
		snprintf(out->key_alg, sizeof(out->key_alg), "%s %d bits",
		         EVP_PKEY_get0_type_name(pk) ? EVP_PKEY_get0_type_name(pk) : "?",
		         EVP_PKEY_get_bits(pk));
	}
	if (X509_digest(x, EVP_sha256(), md, &mdlen)) {
		for (unsigned i = 0; i < mdlen && 3 * i + 3 <= sizeof(out->sha256); i++)
			snprintf(out->sha256 + 3 * i, 4, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
	}
	X509_free(x);
	ERR_clear_error();
	return true;
}
