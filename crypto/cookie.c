#include "config.h"
#include "crypto/cookie.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/buf.h"
#include "crypto/masterkey.h"
#include "crypto/secret.h"

#define ID_LEN 4
#define PT_HEAD 4 /* AEAD id (2) || reserved zero (2) */
#define HEAD_LEN (ID_LEN + COOKIE_NONCE_LEN)

_Static_assert(MASTERKEY_LEN == 32, "master keys are AEAD_AES_SIV_CMAC_256 keys");
_Static_assert(COOKIE_MAX_LEN == HEAD_LEN + AEAD_TAG_LEN + PT_HEAD + 2 * AEAD_MAX_KEY,
               "COOKIE_MAX_LEN is the longest cookie");
_Static_assert(HEAD_LEN % 4 == 0 && (AEAD_TAG_LEN + PT_HEAD) % 4 == 0,
               "cookies are a multiple of 4 whenever key lengths are");

struct cookie_ctx {
	size_t n;
	uint32_t ids[MASTERKEY_MAX];
	struct aead_ctx *aead[MASTERKEY_MAX]; /* same order; the last is current */
	struct secret_rng *rng;               /* cookie nonces */
};

size_t cookie_size(uint16_t aead)
{
	size_t kl = aead_key_len(aead);
	return kl ? HEAD_LEN + AEAD_TAG_LEN + PT_HEAD + 2 * kl : 0;
}

struct cookie_ctx *cookie_ctx_new(const struct masterkey_set *set)
{
	struct cookie_ctx *ctx;

	if (!set || set->n == 0 || set->n > MASTERKEY_MAX)
		return NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return NULL;
	ctx->rng = secret_rng_new();
	if (!ctx->rng) {
		cookie_ctx_free(ctx);
		return NULL;
	}
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
	secret_rng_free(ctx->rng);
	secret_wipe(ctx, sizeof(*ctx));
	free(ctx);
}

size_t cookie_seal(struct cookie_ctx *ctx, const struct cookie_keys *k, uint8_t *out, size_t outmax)
{
	uint8_t pt[PT_HEAD + 2 * AEAD_MAX_KEY];
	size_t size = cookie_size(k->aead), ctlen = 0;
	bool ok = false;

	if (!ctx || size == 0 || k->key_len != aead_key_len(k->aead) || outmax < size)
		goto out;
	/* AD = the key id: binds the ciphertext to the key slot it names
	 * (RFC 8915 §6 leaves the AD to the server). */
	struct aead_ad ad = { out, ID_LEN };
	store_be32(out, ctx->ids[ctx->n - 1]);
	/* A fresh random nonce: equal session keys never give equal cookies,
	 * so cookies do not link a client's requests (RFC 8915 §6, §10.1). */
	secret_rng_bytes(ctx->rng, out + ID_LEN, COOKIE_NONCE_LEN);
	store_be16(pt, k->aead);
	store_be16(pt + 2, 0);
	memcpy(pt + PT_HEAD, k->c2s, k->key_len);
	memcpy(pt + PT_HEAD + k->key_len, k->s2c, k->key_len);
	ok = aead_seal(ctx->aead[ctx->n - 1], &ad, 1, out + ID_LEN, COOKIE_NONCE_LEN, pt,
	               PT_HEAD + 2 * k->key_len, out + HEAD_LEN, outmax - HEAD_LEN, &ctlen) &&
	     HEAD_LEN + ctlen == size;
out:
	secret_wipe(pt, sizeof(pt));
	if (!ok && out && outmax)
		memset(out, 0, outmax < COOKIE_MAX_LEN ? outmax : COOKIE_MAX_LEN);
	return ok ? size : 0;
}

/* Each supported AEAD has its own cookie length; anything else is not
 * one of ours and costs no AES. */
static bool valid_size(size_t len)
{
	static const uint16_t ids[] = { AEAD_AES_SIV_CMAC_256, AEAD_AES_SIV_CMAC_384,
		                        AEAD_AES_SIV_CMAC_512 };

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (cookie_size(ids[i]) == len && len != 0)
			return true;
	return false;
}

enum cookie_status cookie_open(struct cookie_ctx *ctx, const uint8_t *cookie, size_t len,
                               struct cookie_keys *k)
{
	uint8_t pt[PT_HEAD + 2 * AEAD_MAX_KEY];
	size_t ptlen = 0;
	struct aead_ctx *a = NULL;
	enum cookie_status st = COOKIE_BAD;

	secret_wipe(k, sizeof(*k));
	if (!ctx || !cookie || !valid_size(len))
		return COOKIE_BAD;
	uint32_t id = load_be32(cookie);
	for (size_t i = 0; i < ctx->n && !a; i++)
		if (ctx->ids[i] == id)
			a = ctx->aead[i];
	if (!a)
		return COOKIE_UNKNOWN_KEY;
	struct aead_ad ad = { cookie, ID_LEN };
	if (!aead_open(a, &ad, 1, cookie + ID_LEN, COOKIE_NONCE_LEN, cookie + HEAD_LEN,
	               len - HEAD_LEN, pt, sizeof(pt), &ptlen))
		goto out;
	/* Authentic, so ours; still check what we wrote (a different
	 * build's AEAD set, or a future format) rather than trust it. */
	k->aead = load_be16(pt);
	k->key_len = aead_key_len(k->aead);
	if (k->key_len == 0 || load_be16(pt + 2) != 0 || ptlen != PT_HEAD + 2 * k->key_len)
		goto out;
	memcpy(k->c2s, pt + PT_HEAD, k->key_len);
	memcpy(k->s2c, pt + PT_HEAD + k->key_len, k->key_len);
	st = COOKIE_OK;
out:
	if (st != COOKIE_OK)
		secret_wipe(k, sizeof(*k));
	secret_wipe(pt, sizeof(pt));
	return st;
}
