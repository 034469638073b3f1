/* Backend-neutral half of the mac module: the algorithm table, name
 * lookup and mac_verify. Included by exactly one of mac_openssl.c or
 * mac_gnutls.c (whichever meson links), so these definitions are compiled
 * once; the backend supplies mac_ctx_new, mac_ctx_free and mac_compute.
 * It lives in a header only because crypto/meson.build lists one mac_*.c
 * file per backend; a mac.c would be the natural home. */
#ifndef NTSD_CRYPTO_MAC_INTERNAL_H
#define NTSD_CRYPTO_MAC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include "crypto/mac.h"
#include "crypto/secret.h"

/* NTPsec truncates SHA-2 digests to 20 bytes (its MAX_BARE_MAC_LENGTH);
 * chrony sends them whole. */
#define MAC_TRUNC_LEN 20

static const struct {
	const char *name; /* canonical, as ntpd classic writes it */
	size_t dlen;
	size_t klen; /* required key length, 0 = any */
} mac_algs[] = {
	[MAC_MD5] = { "MD5", 16, 0 },
	[MAC_SHA1] = { "SHA1", 20, 0 },
	[MAC_SHA224] = { "SHA224", 28, 0 },
	[MAC_SHA256] = { "SHA256", 32, 0 },
	[MAC_SHA384] = { "SHA384", 48, 0 },
	[MAC_SHA512] = { "SHA512", 64, 0 },
	[MAC_AES128CMAC] = { "AES128CMAC", 16, 16 },
};

/* Spellings accepted in key files. ntpd classic writes "M" for MD5 and
 * "AES128CMAC"; NTPsec passes the upper-cased name to OpenSSL, so it also
 * takes OpenSSL's "SHA-1"/"SHA-256"..., "AES" and "AES-128" (it appends
 * "-CBC" itself). "AES-128-CMAC" is the RFC 8573 wording. NTPsec maps any
 * unknown name starting with 'M' to MD5; we accept only "M", so a typo
 * does not silently select MD5. */
static const struct {
	const char *name;
	enum mac_alg alg;
} mac_aliases[] = {
	{ "M", MAC_MD5 },
	{ "MD5", MAC_MD5 },
	{ "SHA1", MAC_SHA1 },
	{ "SHA-1", MAC_SHA1 },
	{ "SHA224", MAC_SHA224 },
	{ "SHA-224", MAC_SHA224 },
	{ "SHA256", MAC_SHA256 },
	{ "SHA-256", MAC_SHA256 },
	{ "SHA384", MAC_SHA384 },
	{ "SHA-384", MAC_SHA384 },
	{ "SHA512", MAC_SHA512 },
	{ "SHA-512", MAC_SHA512 },
	{ "AES128CMAC", MAC_AES128CMAC },
	{ "AES-128-CMAC", MAC_AES128CMAC },
	{ "AES-128", MAC_AES128CMAC },
	{ "AES", MAC_AES128CMAC },
};

static bool alg_valid(enum mac_alg alg)
{
	return alg > MAC_NONE && alg <= MAC_AES128CMAC;
}

enum mac_alg mac_alg_from_name(const char *name)
{
	if (!name)
		return MAC_NONE;
	for (size_t i = 0; i < sizeof(mac_aliases) / sizeof(mac_aliases[0]); i++)
		if (strcasecmp(name, mac_aliases[i].name) == 0)
			return mac_aliases[i].alg;
	return MAC_NONE;
}

const char *mac_alg_name(enum mac_alg alg)
{
	return alg_valid(alg) ? mac_algs[alg].name : "NONE";
}

size_t mac_digest_len(enum mac_alg alg)
{
	return alg_valid(alg) ? mac_algs[alg].dlen : 0;
}

size_t mac_key_len(enum mac_alg alg)
{
	return alg_valid(alg) ? mac_algs[alg].klen : 0;
}

static bool is_sha2(enum mac_alg alg)
{
	return alg == MAC_SHA224 || alg == MAC_SHA256 || alg == MAC_SHA384 || alg == MAC_SHA512;
}

bool mac_verify(struct mac_ctx *ctx, enum mac_alg alg, const uint8_t *key, size_t keylen,
                const uint8_t *msg, size_t msglen, const uint8_t *digest, size_t dlen)
{
	uint8_t out[MAC_MAX_DIGEST];
	size_t full;
	bool ok = false;

	if (!digest || !alg_valid(alg))
		return false;
	full = mac_digest_len(alg);
	if (dlen != full && !(is_sha2(alg) && dlen == MAC_TRUNC_LEN))
		return false;
	if (mac_compute(ctx, alg, key, keylen, msg, msglen, out) != full)
		goto out;
	ok = secret_equal(out, digest, dlen);
out:
	/* The expected MAC would let anyone forge this one message. */
	secret_wipe(out, sizeof(out));
	return ok;
}

#endif
