/* ntskey certificates with GnuTLS (x509 privkey, crt, crq): the same
 * certificate profile as ntskey_cert_openssl.c (end entity, CA:FALSE,
 * digitalSignature, serverAuth, every name in the subjectAltName). */
#include "config.h"

#include "tools/ntskey.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "crypto/secret.h"

static bool fail(char *err, size_t errlen, const char *what, int rc)
{
	snprintf(err, errlen, "%s: %s", what, gnutls_strerror(rc));
	return false;
}

/* Copies a GnuTLS datum into our memory (secret memory for keys) and
 * frees it, wiping it first. */
static char *take(gnutls_datum_t *d, size_t *len, bool secret)
{
	char *out = secret ? secret_alloc(d->size + 1) : malloc(d->size + 1);

	if (out) {
		memcpy(out, d->data, d->size);
		out[d->size] = '\0';
		*len = d->size;
	}
	secret_wipe(d->data, d->size);
	gnutls_free(d->data);
	d->data = NULL;
	return out;
}

static int ip_bytes(const char *ip, unsigned char *a, unsigned *len)
{
	if (inet_pton(AF_INET, ip, a) == 1) {
		*len = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, a) == 1) {
		*len = 16;
		return 0;
	}
	return GNUTLS_E_INVALID_REQUEST;
}

static const char *cn_of(const struct ntskey_cert_req *req)
{
	return req->n_dns ? req->dns[0] : req->ip[0];
}

static bool make_cert(const struct ntskey_cert_req *req, gnutls_x509_privkey_t key,
                      gnutls_datum_t *out, char *err, size_t errlen)
{
	gnutls_x509_crt_t crt;
	unsigned char serial[16], id[64], a[16];
	size_t idlen = sizeof(id);
	unsigned alen;
	time_t now = time(NULL);
	int rc;

	if ((rc = gnutls_x509_crt_init(&crt)) < 0)
		return fail(err, errlen, "cannot make the certificate", rc);
	secret_random(serial, sizeof(serial));
	serial[0] &= 0x7f;
	serial[0] |= 0x01;
	/* notBefore an hour back, as in the OpenSSL build. */
	if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)req->days * 86400)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn_of(req),
	                                        (unsigned)strlen(cn_of(req)))) < 0 ||
	    (rc = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (rc = gnutls_x509_crt_get_key_id(crt, 0, id, &idlen)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(crt, id, idlen)) < 0)
		goto out;
	for (size_t i = 0; i < req->n_dns; i++)
		if ((rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, req->dns[i],
		                                               (unsigned)strlen(req->dns[i]),
		                                               GNUTLS_FSAN_APPEND)) < 0)
			goto out;
	for (size_t i = 0; i < req->n_ip; i++)
		if ((rc = ip_bytes(req->ip[i], a, &alen)) < 0 ||
		    (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, a, alen,
		                                               GNUTLS_FSAN_APPEND)) < 0)
			goto out;
	if ((rc = gnutls_x509_crt_sign2(crt, crt, key,
	                                req->type == NTSKEY_KEY_EC ? GNUTLS_DIG_SHA256 :
	                                                             GNUTLS_DIG_UNKNOWN,
	                                0)) < 0 ||
	    (rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, out)) < 0)
		goto out;
out:
	gnutls_x509_crt_deinit(crt);
	return rc < 0 ? fail(err, errlen, "cannot make the certificate", rc) : true;
}

static bool make_csr(const struct ntskey_cert_req *req, gnutls_x509_privkey_t key,
                     gnutls_datum_t *out, char *err, size_t errlen)
{
	gnutls_x509_crq_t crq;
	unsigned char a[16];
	unsigned alen;
	int rc;

	if ((rc = gnutls_x509_crq_init(&crq)) < 0)
		return fail(err, errlen, "cannot make the certificate signing request", rc);
	if ((rc = gnutls_x509_crq_set_version(crq, 1)) < 0 ||
	    (rc = gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, cn_of(req),
	                                        (unsigned)strlen(cn_of(req)))) < 0 ||
	    (rc = gnutls_x509_crq_set_key(crq, key)) < 0 ||
	    (rc = gnutls_x509_crq_set_key_purpose_oid(crq, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0)
		goto out;
	for (size_t i = 0; i < req->n_dns; i++)
		if ((rc = gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME, req->dns[i],
		                                               (unsigned)strlen(req->dns[i]),
		                                               GNUTLS_FSAN_APPEND)) < 0)
			goto out;
	for (size_t i = 0; i < req->n_ip; i++)
		if ((rc = ip_bytes(req->ip[i], a, &alen)) < 0 ||
		    (rc = gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_IPADDRESS, a, alen,
		                                               GNUTLS_FSAN_APPEND)) < 0)
			goto out;
	if ((rc = gnutls_x509_crq_sign2(crq, key,
	                                req->type == NTSKEY_KEY_EC ? GNUTLS_DIG_SHA256 :
	                                                             GNUTLS_DIG_UNKNOWN,
	                                0)) < 0 ||
	    (rc = gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_PEM, out)) < 0)
		goto out;
out:
	gnutls_x509_crq_deinit(crq);
	return rc < 0 ? fail(err, errlen, "cannot make the certificate signing request", rc) : true;
}

bool ntskey_cert_make(const struct ntskey_cert_req *req, char **key_pem, size_t *key_len,
                      char **out_pem, size_t *out_len, char *err, size_t errlen)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t kd = { NULL, 0 }, od = { NULL, 0 };
	bool ok = false;
	int rc;

	*key_pem = *out_pem = NULL;
	if ((rc = gnutls_x509_privkey_init(&key)) < 0 ||
	    (rc = req->type == NTSKEY_KEY_EC ?
	              gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
	                                           GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
	                                           0) :
	              gnutls_x509_privkey_generate(key, GNUTLS_PK_EDDSA_ED25519,
	                                           GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519),
	                                           0)) < 0) {
		fail(err, errlen, "cannot generate the private key", rc);
		goto out;
	}
	/* PKCS#8 ("BEGIN PRIVATE KEY"): both TLS libraries load it. */
	if ((rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
	                                            &kd)) < 0) {
		fail(err, errlen, "cannot encode the private key", rc);
		goto out;
	}
	if (!(req->csr ? make_csr(req, key, &od, err, errlen) : make_cert(req, key, &od, err, errlen)))
		goto out;
	*key_pem = take(&kd, key_len, true);
	*out_pem = take(&od, out_len, false);
	ok = *key_pem && *out_pem;
	if (!ok)
		snprintf(err, errlen, "out of memory");
out:
	if (kd.data) {
		secret_wipe(kd.data, kd.size);
		gnutls_free(kd.data);
	}
	gnutls_free(od.data);
	if (!ok) {
		secret_free(*key_pem);
		free(*out_pem);
		*key_pem = *out_pem = NULL;
	}
	if (key)
		gnutls_x509_privkey_deinit(key);
	return ok;
}

static bool read_pem(const char *path, gnutls_datum_t *d, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return false;
	}
	buf = malloc(1024 * 1024);
	n = buf ? fread(buf, 1, 1024 * 1024, f) : 0;
	fclose(f);
	if (!buf || n == 0) {
		free(buf);
		snprintf(err, errlen, "%s: empty or unreadable", path);
		return false;
	}
	d->data = (unsigned char *)buf;
	d->size = (unsigned)n;
	return true;
}

bool ntskey_cert_extra(const char *path, struct ntskey_cert_extra *out, char *err, size_t errlen)
{
	gnutls_datum_t pem, dn;
	gnutls_x509_crt_t crt;
	unsigned char md[64];
	size_t mdlen = sizeof(md);
	unsigned bits = 0;
	int rc, pk;

	memset(out, 0, sizeof(*out));
	if (!read_pem(path, &pem, err, errlen))
		return false;
	if ((rc = gnutls_x509_crt_init(&crt)) < 0) {
		free(pem.data);
		return fail(err, errlen, path, rc);
	}
	rc = gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM);
	free(pem.data);
	if (rc < 0) {
		gnutls_x509_crt_deinit(crt);
		snprintf(err, errlen, "%s: no PEM certificate found (%s)", path, gnutls_strerror(rc));
		return false;
	}
	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0) {
		snprintf(out->subject, sizeof(out->subject), "%.*s", (int)dn.size, dn.data);
		gnutls_free(dn.data);
	}
	if (gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0) >= 0) {
		snprintf(out->issuer, sizeof(out->issuer), "%.*s", (int)dn.size, dn.data);
		gnutls_free(dn.data);
	}
	out->self_signed = gnutls_x509_crt_check_issuer(crt, crt) != 0;
	pk = gnutls_x509_crt_get_pk_algorithm(crt, &bits);
	if (pk == GNUTLS_PK_ECDSA) {
		gnutls_ecc_curve_t curve;
		gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 };
		int er = gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, &x, &y);
		gnutls_free(x.data);
		gnutls_free(y.data);
		if (er >= 0)
			snprintf(out->key_alg, sizeof(out->key_alg), "EC %s",
			         curve == GNUTLS_ECC_CURVE_SECP256R1 ? "prime256v1" :
			                                                gnutls_ecc_curve_get_name(curve));
		else
			snprintf(out->key_alg, sizeof(out->key_alg), "EC");
	} else if (pk >= 0) {
		snprintf(out->key_alg, sizeof(out->key_alg), "%s %u bits",
		         gnutls_pk_get_name((gnutls_pk_algorithm_t)pk), bits);
	}
	if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, md, &mdlen) >= 0) {
		for (size_t i = 0; i < mdlen && 3 * i + 3 <= sizeof(out->sha256); i++)
			snprintf(out->sha256 + 3 * i, 4, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
	}
	gnutls_x509_crt_deinit(crt);
	return true;
}
