#include "config.h"
#include "crypto/cookie.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/buf.h"
#include "crypto/masterkey.h"
#include "crypto/secret.h"

struct cookie_ctx {
	size_t n;
	uint32_t ids[MASTERKEY_MAX];
	struct aead_ctx *aead[MASTERKEY_MAX]; /* same order; the last is current */
};

size_t cookie_size(uint16_t aead)
{
	size_t kl = aead_key_len(aead);
	return kl ? 4 + COOKIE_NONCE_LEN + AEAD_TAG_LEN + 4 + 2 * kl : 0;
}

struct cookie_ctx *cookie_ctx_new(const struct masterkey_set *set)
{
	struct cookie_ctx *ctx;

	if (!set || set->n == 0)
		return NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return NULL;
	for (size_t i = 0; i < set->n; i++) {
		ctx->aead[i] = aead_ctx_new(AEAD_AES_SIV_CMAC_256, set->k[i].key, MASTERKEY_LEN);
		if (!ctx->aead[i]) {
			cookie_ctx_free(ctx);
			return NULL;
		}
		ctx->ids[i] = set->k[i].id;
		ctx->n++;
	}
	return ctx;
}

void cookie_ctx_free(struct cookie_ctx *ctx)
{
	if (!ctx)
		return;
	for (size_t i = 0; i < ctx->n; i++)
		aead_ctx_free(ctx->aead[i]);
	free(ctx);
}

size_t cookie_seal(struct cookie_ctx *ctx, const struct cookie_keys *k, uint8_t *out, size_t outmax)
{
	uint8_t pt[4 + 2 * AEAD_MAX_KEY];
	size_t size = cookie_size(k->aead), ptlen, ctlen = 0;
	bool ok;

	if (!ctx || size == 0 || k->key_len != aead_key_len(k->aead) || outmax < size)
		return 0;
	uint32_t id = ctx->ids[ctx->n - 1];
	store_be32(out, id);
	secret_random(out + 4, COOKIE_NONCE_LEN);
	store_be16(pt, k->aead);
	store_be16(pt + 2, 0);
	memcpy(pt + 4, k->c2s, k->key_len);
	memcpy(pt + 4 + k->key_len, k->s2c, k->key_len);
	ptlen = 4 + 2 * k->key_len;
	struct aead_ad ad = { out, 4 };
	ok = aead_seal(ctx->aead[ctx->n - 1], &ad, 1, out + 4, COOKIE_NONCE_LEN, pt, ptlen,
	               out + 4 + COOKIE_NONCE_LEN, outmax - 4 - COOKIE_NONCE_LEN, &ctlen);
	secret_wipe(pt, sizeof(pt));
	return ok && 4 + COOKIE_NONCE_LEN + ctlen == size ? size : 0;
}

/* The cookie length without EF padding, or 0. */
static size_t unpadded(const uint8_t *c, size_t len)
{
	static const uint16_t ids[] = { AEAD_AES_SIV_CMAC_256, AEAD_AES_SIV_CMAC_384, AEAD_AES_SIV_CMAC_512 };

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		size_t sz = cookie_size(ids[i]);
		if (sz == 0 || len < sz || len > ((sz + 3) & ~(size_t)3))
			continue;
		for (size_t p = sz; p < len; p++)
			if (c[p] != 0)
				return 0;
		return sz;
	}
	return 0;
}

enum cookie_status cookie_open(struct cookie_ctx *ctx, const uint8_t *cookie, size_t len,
                               struct cookie_keys *k)
{
	uint8_t pt[4 + 2 * AEAD_MAX_KEY];
	size_t sz = unpadded(cookie, len), ptlen = 0;
	struct aead_ctx *a = NULL;
	enum cookie_status st = COOKIE_BAD;

	memset(k, 0, sizeof(*k));
	if (!ctx || sz == 0)
		return COOKIE_BAD;
	uint32_t id = load_be32(cookie);
	for (size_t i = 0; i < ctx->n; i++)
		if (ctx->ids[i] == id)
			a = ctx->aead[i];
	if (!a)
		return COOKIE_UNKNOWN_KEY;
	struct aead_ad ad = { cookie, 4 };
	if (!aead_open(a, &ad, 1, cookie + 4, COOKIE_NONCE_LEN, cookie + 4 + COOKIE_NONCE_LEN,
	               sz - 4 - COOKIE_NONCE_LEN, pt, sizeof(pt), &ptlen))
		goto out;
	k->aead = load_be16(pt);
	k->key_len = aead_key_len(k->aead);
	if (k->key_len == 0 || load_be16(pt + 2) != 0 || ptlen != 4 + 2 * k->key_len) {
		memset(k, 0, sizeof(*k));
		goto out;
	}
	memcpy(k->c2s, pt + 4, k->key_len);
	memcpy(k->s2c, pt + 4 + k->key_len, k->key_len);
	st = COOKIE_OK;
out:
	secret_wipe(pt, sizeof(pt));
	return st;
}
