/* AES-SIV-CMAC (RFC 5297) on OpenSSL 3 primitives: S2V with EVP_MAC CMAC,
 * encryption with AES-CTR. OpenSSL's own "AES-128-SIV" cipher cannot be
 * used: in 3.0 it produces no tag for an empty plaintext (EVP_*Update
 * skips zero-length input), and an NTS client request is exactly that. */
#include "config.h"
#include "crypto/aead.h"
#include "crypto/aead_siv.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"

#define BLOCK SIV_BLOCK

struct aead_ctx {
	uint16_t id;
	size_t half;            /* bytes of K1 (= bytes of K2) */
	uint8_t *key;           /* secret memory: K1 || K2, AEAD_MAX_KEY bytes */
	EVP_MAC *mac;
	EVP_MAC_CTX *cmac;
	EVP_CIPHER *ctr[3];     /* AES-128/192/256-CTR */
	EVP_CIPHER_CTX *cctx;
};

size_t aead_key_len(uint16_t id)
{
	switch (id) {
	case AEAD_AES_SIV_CMAC_256:
		return 32;
	case AEAD_AES_SIV_CMAC_384:
		return 48;
	case AEAD_AES_SIV_CMAC_512:
		return 64;
	default:
		return 0;
	}
}

static const char *cbc_name(size_t half)
{
	return half == 16 ? "AES-128-CBC" : half == 24 ? "AES-192-CBC" : "AES-256-CBC";
}

static int ctr_index(size_t half)
{
	return half == 16 ? 0 : half == 24 ? 1 : 2;
}

bool aead_ctx_rekey(struct aead_ctx *ctx, uint16_t id, const uint8_t *key, size_t keylen)
{
	size_t len = aead_key_len(id);

	if (!ctx || len == 0 || keylen != len || !key)
		return false;
	ctx->id = id;
	ctx->half = len / 2;
	memcpy(ctx->key, key, len);
	return true;
}

struct aead_ctx *aead_ctx_new(uint16_t id, const uint8_t *key, size_t keylen)
{
	struct aead_ctx *ctx;
	static const char *const ctr_names[3] = { "AES-128-CTR", "AES-192-CTR", "AES-256-CTR" };

	if (aead_key_len(id) == 0 || keylen != aead_key_len(id))
		return NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return NULL;
	ctx->key = secret_alloc(AEAD_MAX_KEY);
	ctx->mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	ctx->cmac = ctx->mac ? EVP_MAC_CTX_new(ctx->mac) : NULL;
	ctx->cctx = EVP_CIPHER_CTX_new();
	for (int i = 0; i < 3; i++)
		ctx->ctr[i] = EVP_CIPHER_fetch(NULL, ctr_names[i], NULL);
	if (!ctx->key || !ctx->cmac || !ctx->cctx || !ctx->ctr[0] || !ctx->ctr[1] || !ctx->ctr[2] ||
	    !aead_ctx_rekey(ctx, id, key, keylen)) {
		aead_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void aead_ctx_free(struct aead_ctx *ctx)
{
	if (!ctx)
		return;
	secret_free(ctx->key);
	EVP_MAC_CTX_free(ctx->cmac);
	EVP_MAC_free(ctx->mac);
	EVP_CIPHER_CTX_free(ctx->cctx);
	for (int i = 0; i < 3; i++)
		EVP_CIPHER_free(ctx->ctr[i]);
	free(ctx);
}

static bool cmac(void *vctx, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                 uint8_t out[SIV_BLOCK])
{
	struct aead_ctx *ctx = vctx;
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
		                                 (char *)(uintptr_t)cbc_name(ctx->half), 0),
		OSSL_PARAM_construct_end(),
	};
	size_t len = 0;

	return EVP_MAC_init(ctx->cmac, ctx->key, ctx->half, params) == 1 &&
	       (alen == 0 || EVP_MAC_update(ctx->cmac, a, alen) == 1) &&
	       (blen == 0 || EVP_MAC_update(ctx->cmac, b, blen) == 1) &&
	       EVP_MAC_final(ctx->cmac, out, &len, SIV_BLOCK) == 1 && len == SIV_BLOCK;
}

/* AES-CTR under K2 with the counter Q derived from V (RFC 5297 §2.5). */
static bool ctr(struct aead_ctx *ctx, const uint8_t v[BLOCK], const uint8_t *in, size_t len,
                uint8_t *out)
{
	uint8_t q[SIV_BLOCK];
	int outl = 0;

	if (len == 0)
		return true;
	siv_counter(v, q);
	return EVP_EncryptInit_ex2(ctx->cctx, ctx->ctr[ctr_index(ctx->half)], ctx->key + ctx->half, q,
	                           NULL) == 1 &&
	       EVP_EncryptUpdate(ctx->cctx, out, &outl, in, (int)len) == 1 && (size_t)outl == len;
}

bool aead_seal(struct aead_ctx *ctx, const struct aead_ad *ad, size_t n_ad, const uint8_t *nonce,
               size_t nonce_len, const uint8_t *pt, size_t ptlen, uint8_t *out, size_t outmax,
               size_t *outlen)
{
	uint8_t v[BLOCK];

	if (!ctx || n_ad > AEAD_MAX_AD || ptlen > (size_t)1 << 30 || outmax < ptlen + BLOCK)
		return false;
	if (!siv_s2v(cmac, ctx, ad, n_ad, nonce, nonce_len, pt, ptlen, v) || !ctr(ctx, v, pt, ptlen, out + BLOCK))
		return false;
	memcpy(out, v, BLOCK);
	*outlen = ptlen + BLOCK;
	return true;
}

bool aead_open(struct aead_ctx *ctx, const struct aead_ad *ad, size_t n_ad, const uint8_t *nonce,
               size_t nonce_len, const uint8_t *in, size_t inlen, uint8_t *pt, size_t ptmax,
               size_t *ptlen)
{
	uint8_t v[BLOCK];
	size_t len;

	if (!ctx || n_ad > AEAD_MAX_AD || inlen < BLOCK || inlen - BLOCK > ptmax)
		return false;
	len = inlen - BLOCK;
	/* Decrypt, then check; the plaintext is wiped if the check fails. */
	if (!ctr(ctx, in, in + BLOCK, len, pt) || !siv_s2v(cmac, ctx, ad, n_ad, nonce, nonce_len, pt, len, v) ||
	    !secret_equal(v, in, BLOCK)) {
		secret_wipe(pt, len);
		return false;
	}
	*ptlen = len;
	return true;
}
