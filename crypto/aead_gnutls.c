/* AES-SIV-CMAC (RFC 5297) for the GnuTLS build: S2V (aead_siv.h) over
 * Nettle's CMAC-AES, encryption with Nettle's AES-CTR. Nettle is the
 * crypto library GnuTLS itself is built on.
 *
 * Why not GnuTLS's GNUTLS_CIPHER_AES_*_SIV (measured with GnuTLS 3.7.9):
 * - gnutls_aead_cipher_encryptv2 joins all AAD iovecs into one S2V
 *   component, so RFC 5297 A.2 ([ad1, ad2, nonce]) comes out wrong;
 * - it always adds an AD and a nonce component, so [nonce] alone or A.1
 *   (no nonce) cannot be expressed, and a zero-length nonce aborts the
 *   process (an assertion in Nettle's siv-cmac.c).
 * Its output is tag || ciphertext, the same layout as ours.
 *
 * Nettle has CMAC for AES-128 and AES-256 only, so AEAD_AES_SIV_CMAC_384
 * (id 16) is not offered here. Key schedules live in secret memory; there
 * is no allocation after aead_ctx_new (rekey, seal and open included). */
#include "config.h"
#include "crypto/aead.h"

#include <nettle/aes.h>
#include <nettle/cmac.h>
#include <nettle/ctr.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead_siv.h"
#include "crypto/secret.h"

/* Largest plaintext; anything near SIZE_MAX would overflow outmax checks. */
#define MAX_PT ((size_t)1 << 30)

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
	uint16_t id; /* 0 until a key is set */
	struct siv_keys *k;
};

size_t aead_key_len(uint16_t id)
{
	switch (id) {
	case AEAD_AES_SIV_CMAC_256:
		return 32;
	case AEAD_AES_SIV_CMAC_512:
		return 64;
	default:
		return 0;
	}
}

bool aead_ctx_rekey(struct aead_ctx *ctx, uint16_t id, const uint8_t *key, size_t keylen)
{
	if (!ctx || !key || aead_key_len(id) == 0 || keylen != aead_key_len(id))
		return false;
	/* The schedules of the other size share the union; clear leftovers. */
	secret_wipe(ctx->k, sizeof(*ctx->k));
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

	if (!key || aead_key_len(id) == 0 || keylen != aead_key_len(id))
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
	secret_free(ctx->k); /* wipes the key schedules */
	free(ctx);
}

/* CMAC under K1 of a || b. Nettle's digest call resets the message state
 * and keeps the key for the next one. */
static bool cmac(void *vctx, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                 uint8_t out[SIV_BLOCK])
{
	struct aead_ctx *ctx = vctx;

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

/* ctr_crypt wants a nettle_cipher_func; call through one of exactly that
 * type rather than casting aes*_encrypt's pointer. */
static void enc128(const void *k, size_t len, uint8_t *dst, const uint8_t *src)
{
	aes128_encrypt(k, len, dst, src);
}

static void enc256(const void *k, size_t len, uint8_t *dst, const uint8_t *src)
{
	aes256_encrypt(k, len, dst, src);
}

/* AES-CTR under K2 from the counter Q derived from V (RFC 5297 §2.5). */
static void ctr(struct aead_ctx *ctx, const uint8_t v[SIV_BLOCK], const uint8_t *in, size_t len,
                uint8_t *out)
{
	uint8_t q[SIV_BLOCK];

	if (len == 0)
		return;
	siv_counter(v, q);
	if (ctx->id == AEAD_AES_SIV_CMAC_256)
		ctr_crypt(&ctx->k->enc.a128, enc128, AES_BLOCK_SIZE, q, len, out, in);
	else
		ctr_crypt(&ctx->k->enc.a256, enc256, AES_BLOCK_SIZE, q, len, out, in);
}

static bool args_ok(const struct aead_ctx *ctx, const struct aead_ad *ad, size_t n_ad,
                    const uint8_t *nonce, size_t nonce_len)
{
	if (!ctx || ctx->id == 0 || n_ad > AEAD_MAX_AD || (n_ad && !ad) || (!nonce && nonce_len))
		return false;
	for (size_t i = 0; i < n_ad; i++)
		if (!ad[i].p && ad[i].len)
			return false;
	return true;
}

bool aead_seal(struct aead_ctx *ctx, const struct aead_ad *ad, size_t n_ad, const uint8_t *nonce,
               size_t nonce_len, const uint8_t *pt, size_t ptlen, uint8_t *out, size_t outmax,
               size_t *outlen)
{
	uint8_t v[SIV_BLOCK];

	if (!args_ok(ctx, ad, n_ad, nonce, nonce_len) || (!pt && ptlen) || !out || !outlen ||
	    ptlen > MAX_PT || outmax < ptlen + SIV_BLOCK)
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

	if (!args_ok(ctx, ad, n_ad, nonce, nonce_len) || !in || !ptlen || inlen < SIV_BLOCK ||
	    inlen - SIV_BLOCK > ptmax || inlen - SIV_BLOCK > MAX_PT)
		return false;
	len = inlen - SIV_BLOCK;
	if (len && !pt)
		return false;
	/* S2V needs the plaintext, so it is decrypted into pt first; pt is
	 * zeroed again unless the tag verifies. */
	ctr(ctx, in, in + SIV_BLOCK, len, pt);
	if (!siv_s2v(cmac, ctx, ad, n_ad, nonce, nonce_len, pt, len, v) ||
	    !secret_equal(v, in, SIV_BLOCK)) {
		if (len)
			secret_wipe(pt, len);
		return false;
	}
	*ptlen = len;
	return true;
}
