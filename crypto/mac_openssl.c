/* NTP symmetric-key MACs with OpenSSL 3: legacy H(key || msg) digests
 * (RFC 5905 §7.3, ntpd's MD5/SHA keys) and AES-128-CMAC (RFC 8573). */
#include "config.h"

#include "crypto/mac.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/cmac_openssl.h"
#include "crypto/mac_internal.h"

/* Everything is fetched and allocated here, once per thread, so that
 * mac_compute only re-initialises existing contexts. A digest the
 * provider refuses (MD5 under FIPS) stays NULL and fails per call.
 * AES128CMAC keeps the last key it was given (in secret memory) and
 * rekeys only when the next call brings another one: a server whose
 * clients share one key never rekeys. */
struct mac_ctx {
	EVP_MD *md[MAC_SHA512 + 1];
	EVP_MD_CTX *mdctx; /* shared by all digests: see digest() */
	struct ossl_cmac cmac;
	bool cmac_ok;      /* cmac could be set up */
	uint8_t *cmac_key; /* 16 bytes of secret memory: the key cmac holds */
};

static const char *const md_names[MAC_SHA512 + 1] = {
	[MAC_MD5] = "MD5",         [MAC_SHA1] = "SHA1",       [MAC_SHA224] = "SHA2-224",
	[MAC_SHA256] = "SHA2-256", [MAC_SHA384] = "SHA2-384", [MAC_SHA512] = "SHA2-512",
};

struct mac_ctx *mac_ctx_new(void)
{
	struct mac_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	for (int a = MAC_MD5; a <= MAC_SHA512; a++)
		ctx->md[a] = EVP_MD_fetch(NULL, md_names[a], NULL);
	ctx->mdctx = EVP_MD_CTX_new();
	ctx->cmac_key = secret_alloc(16);
	if (!ctx->mdctx || !ctx->cmac_key) {
		mac_ctx_free(ctx);
		return NULL;
	}
	/* Without AES-128-CBC (an odd provider), AES128CMAC fails per call. */
	ctx->cmac_ok = ossl_cmac_init(&ctx->cmac, 16);
	return ctx;
}

void mac_ctx_free(struct mac_ctx *ctx)
{
	if (!ctx)
		return;
	/* EVP_MD_CTX_free cleanses the keyed state; so does ossl_cmac_destroy. */
	EVP_MD_CTX_free(ctx->mdctx);
	for (int a = MAC_MD5; a <= MAC_SHA512; a++)
		EVP_MD_free(ctx->md[a]);
	ossl_cmac_destroy(&ctx->cmac);
	secret_free(ctx->cmac_key);
	free(ctx);
}

/* Legacy MAC, RFC 5905 §7.3: digest of the key followed by the packet.
 *
 * Backend-forced allocation: OpenSSL 3.0's EVP_DigestInit_ex2 frees and
 * re-creates the provider's digest state on every call, even for the
 * digest the context already holds (so do EVP_DigestInit_ex and
 * EVP_MD_CTX_copy_ex), so each call here costs one small malloc/free.
 * The only allocation-free route would be the low-level SHA256_Init &c,
 * deprecated in 3.0. The key is fed straight from the caller's buffer;
 * OpenSSL cleanses its block buffer on final and the state on free. */
static size_t digest(struct mac_ctx *ctx, enum mac_alg alg, const uint8_t *key, size_t keylen,
                     const uint8_t *msg, size_t msglen, uint8_t *out)
{
	EVP_MD_CTX *c = ctx->mdctx;
	unsigned int n = 0;

	if (!ctx->md[alg])
		return 0;
	if (!EVP_DigestInit_ex2(c, ctx->md[alg], NULL) || !EVP_DigestUpdate(c, key, keylen) ||
	    !EVP_DigestUpdate(c, msg, msglen) || !EVP_DigestFinal_ex(c, out, &n))
		return 0;
	return n;
}

static size_t cmac(struct mac_ctx *ctx, const uint8_t *key, size_t keylen, const uint8_t *msg,
                   size_t msglen, uint8_t *out)
{
	if (!ctx->cmac_ok || keylen != 16)
		return 0;
	if (!ctx->cmac.keyed || !secret_equal(ctx->cmac_key, key, 16)) {
		if (!ossl_cmac_rekey(&ctx->cmac, key))
			return 0;
		memcpy(ctx->cmac_key, key, 16);
	}
	return ossl_cmac_mac(&ctx->cmac, msg, msglen, NULL, 0, out) ? OSSL_CMAC_BLOCK : 0;
}

size_t mac_compute(struct mac_ctx *ctx, enum mac_alg alg, const uint8_t *key, size_t keylen,
                   const uint8_t *msg, size_t msglen, uint8_t out[MAC_MAX_DIGEST])
{
	size_t n;

	if (!ctx || !out || !alg_valid(alg) || (keylen && !key) || (msglen && !msg))
		return 0;
	if (mac_key_len(alg) && keylen != mac_key_len(alg))
		return 0;
	n = alg == MAC_AES128CMAC ? cmac(ctx, key, keylen, msg, msglen, out)
	                          : digest(ctx, alg, key, keylen, msg, msglen, out);
	if (n != mac_digest_len(alg)) {
		secret_wipe(out, MAC_MAX_DIGEST);
		return 0;
	}
	return n;
}
