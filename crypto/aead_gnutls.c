/* AES-SIV-CMAC (RFC 5297) for the GnuTLS build, on Nettle (GnuTLS's own
 * crypto library) primitives: CMAC-AES and AES-CTR. GnuTLS's SIV API
 * cannot be used: it joins several associated-data items into one S2V
 * component, while RFC 5297 (and its A.2 vector) needs each separately.
 * Nettle has no CMAC-AES-192, so AEAD_AES_SIV_CMAC_384 (id 16) is not
 * offered here. No allocation after aead_ctx_new. */
#include "config.h"
#include "crypto/aead.h"

#include <nettle/aes.h>
#include <nettle/cmac.h>
#include <nettle/ctr.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead_siv.h"
#include "crypto/secret.h"

/* Key schedules live in secret memory. */
struct siv_keys {
	union {
		struct cmac_aes128_ctx c128;
		struct cmac_aes256_ctx c256;
	} mac;
	union {
		struct aes128_ctx a128;
		struct aes256_ctx a256;
	} enc;
};

struct aead_ctx {
	uint16_t id;
	struct siv_keys *k;
};

size_t aead_key_len(uint16_t id)
{
	return id == AEAD_AES_SIV_CMAC_256 ? 32 : id == AEAD_AES_SIV_CMAC_512 ? 64 : 0;
}

bool aead_ctx_rekey(struct aead_ctx *ctx, uint16_t id, const uint8_t *key, size_t keylen)
{
	if (!ctx || !key || aead_key_len(id) == 0 || keylen != aead_key_len(id))
		return false;
	if (id == AEAD_AES_SIV_CMAC_256) {
		cmac_aes128_set_key(&ctx->k->mac.c128, key);
		aes128_set_encrypt_key(&ctx->k->enc.a128, key + 16);
	} else {
		cmac_aes256_set_key(&ctx->k->mac.c256, key);
		aes256_set_encrypt_key(&ctx->k->enc.a256, key + 32);
	}
	ctx->id = id;
	return true;
}

struct aead_ctx *aead_ctx_new(uint16_t id, const uint8_t *key, size_t keylen)
{
	struct aead_ctx *ctx;

	if (aead_key_len(id) == 0 || keylen != aead_key_len(id))
		return NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return NULL;
	ctx->k = secret_alloc(sizeof(*ctx->k));
	if (!ctx->k || !aead_ctx_rekey(ctx, id, key, keylen)) {
		aead_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void aead_ctx_free(struct aead_ctx *ctx)
{
	if (!ctx)
		return;
	secret_free(ctx->k);
	free(ctx);
}

static bool cmac(void *vctx, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                 uint8_t out[SIV_BLOCK])
{
	struct aead_ctx *ctx = vctx;

	/* The digest call also resets the context for the next message. */
	if (ctx->id == AEAD_AES_SIV_CMAC_256) {
		cmac_aes128_update(&ctx->k->mac.c128, alen, a);
		cmac_aes128_update(&ctx->k->mac.c128, blen, b);
		cmac_aes128_digest(&ctx->k->mac.c128, SIV_BLOCK, out);
	} else {
		cmac_aes256_update(&ctx->k->mac.c256, alen, a);
		cmac_aes256_update(&ctx->k->mac.c256, blen, b);
		cmac_aes256_digest(&ctx->k->mac.c256, SIV_BLOCK, out);
	}
	return true;
}

static void ctr(struct aead_ctx *ctx, const uint8_t v[SIV_BLOCK], const uint8_t *in, size_t len,
                uint8_t *out)
{
	uint8_t q[SIV_BLOCK];

	if (len == 0)
		return;
	siv_counter(v, q);
	if (ctx->id == AEAD_AES_SIV_CMAC_256)
		ctr_crypt(&ctx->k->enc.a128, (nettle_cipher_func *)aes128_encrypt, AES_BLOCK_SIZE, q, len,
		          out, in);
	else
		ctr_crypt(&ctx->k->enc.a256, (nettle_cipher_func *)aes256_encrypt, AES_BLOCK_SIZE, q, len,
		          out, in);
}

bool aead_seal(struct aead_ctx *ctx, const struct aead_ad *ad, size_t n_ad, const uint8_t *nonce,
               size_t nonce_len, const uint8_t *pt, size_t ptlen, uint8_t *out, size_t outmax,
               size_t *outlen)
{
	uint8_t v[SIV_BLOCK];

	if (!ctx || n_ad > AEAD_MAX_AD || outmax < ptlen + SIV_BLOCK)
		return false;
	if (!siv_s2v(cmac, ctx, ad, n_ad, nonce, nonce_len, pt, ptlen, v))
		return false;
	ctr(ctx, v, pt, ptlen, out + SIV_BLOCK);
	memcpy(out, v, SIV_BLOCK);
	*outlen = ptlen + SIV_BLOCK;
	return true;
}

bool aead_open(struct aead_ctx *ctx, const struct aead_ad *ad, size_t n_ad, const uint8_t *nonce,
               size_t nonce_len, const uint8_t *in, size_t inlen, uint8_t *pt, size_t ptmax,
               size_t *ptlen)
{
	uint8_t v[SIV_BLOCK];
	size_t len;

	if (!ctx || n_ad > AEAD_MAX_AD || inlen < SIV_BLOCK || inlen - SIV_BLOCK > ptmax)
		return false;
	len = inlen - SIV_BLOCK;
	ctr(ctx, in, in + SIV_BLOCK, len, pt);
	if (!siv_s2v(cmac, ctx, ad, n_ad, nonce, nonce_len, pt, len, v) ||
	    !secret_equal(v, in, SIV_BLOCK)) {
		secret_wipe(pt, len);
		return false;
	}
	*ptlen = len;
	return true;
}
