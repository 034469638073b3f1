/* AES-SIV-CMAC (RFC 5297) on OpenSSL 3 primitives: S2V (aead_siv.h) over
 * EVP_MAC CMAC, encryption with AES-CTR.
 *
 * Why not OpenSSL's own "AES-128-SIV" cipher: it ignores a zero-length
 * plaintext update, so an empty plaintext gets no tag (EncryptFinal fails,
 * openssl/openssl#17268 and #26580; measured on 3.0.22), and an NTS client
 * request encrypts exactly nothing (RFC 8915 §5.7). It also allocates on
 * every AD item and plaintext (5 allocations each) and on every rekey (16),
 * measured with CRYPTO_set_mem_functions.
 *
 * Key handling: each key size has its own CMAC and CTR context, created
 * (and the algorithm fetched) once in aead_ctx_new. A rekey only runs the
 * key schedules into them; seal and open only reset them (EVP_MAC_init
 * with a NULL key restarts CMAC under the same key, EVP_EncryptInit_ex2
 * with only an IV keeps the AES key). Measured the same way: rekey
 * (also between ids), seal and open make no allocation. The raw key is not
 * kept: OpenSSL's contexts hold only the schedules, and their free
 * functions cleanse them. */
#include "config.h"
#include "crypto/aead.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead_siv.h"
#include "crypto/secret.h"

#define N_SIZES 3 /* AES-128, -192, -256: ids 15, 16, 17 */

/* Largest plaintext (as in aead_gnutls.c); EVP_EncryptUpdate takes an int. */
#define MAX_PT ((size_t)1 << 30)

struct aead_ctx {
	uint16_t id; /* 0 until a key is set (or after a failed rekey) */
	int size;    /* index into the arrays below */
	EVP_MAC *mac;
	EVP_MAC_CTX *cmac[N_SIZES]; /* CMAC-AES under K1 */
	EVP_CIPHER *ctr[N_SIZES];
	EVP_CIPHER_CTX *enc[N_SIZES]; /* AES-CTR under K2 */
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

/* A key of an unused size must not linger in its contexts: overwrite the
 * schedules with those of an all-zero key (no allocation). */
static void forget(struct aead_ctx *ctx, int size)
{
	static const uint8_t zero[32];
	size_t half = (size_t)(16 + 8 * size);

	(void)EVP_MAC_init(ctx->cmac[size], zero, half, NULL);
	(void)EVP_EncryptInit_ex2(ctx->enc[size], NULL, zero, NULL, NULL);
}

bool aead_ctx_rekey(struct aead_ctx *ctx, uint16_t id, const uint8_t *key, size_t keylen)
{
	size_t len = aead_key_len(id), half = len / 2;
	int size;

	if (!ctx || !key || len == 0 || keylen != len)
		return false;
	size = (int)(half - 16) / 8;
	if (ctx->id != 0 && ctx->size != size)
		forget(ctx, ctx->size);
	ctx->id = 0;
	if (EVP_MAC_init(ctx->cmac[size], key, half, NULL) != 1 ||
	    EVP_EncryptInit_ex2(ctx->enc[size], NULL, key + half, NULL, NULL) != 1) {
		forget(ctx, size);
		return false;
	}
	ctx->id = id;
	ctx->size = size;
	return true;
}

/* Fetches the algorithms and binds each size's contexts to them; no key. */
static bool setup(struct aead_ctx *ctx)
{
	static const char *const cbc[N_SIZES] = { "AES-128-CBC", "AES-192-CBC", "AES-256-CBC" };
	static const char *const ctr[N_SIZES] = { "AES-128-CTR", "AES-192-CTR", "AES-256-CTR" };

	ctx->mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_CMAC, NULL);
	if (!ctx->mac)
		return false;
	for (int i = 0; i < N_SIZES; i++) {
		/* The param API takes a non-const char * it does not write to. */
		OSSL_PARAM params[2] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
			                                 (char *)(uintptr_t)cbc[i], 0),
			OSSL_PARAM_construct_end(),
		};
		ctx->cmac[i] = EVP_MAC_CTX_new(ctx->mac);
		ctx->ctr[i] = EVP_CIPHER_fetch(NULL, ctr[i], NULL);
		ctx->enc[i] = EVP_CIPHER_CTX_new();
		if (!ctx->cmac[i] || !ctx->ctr[i] || !ctx->enc[i] ||
		    EVP_MAC_CTX_set_params(ctx->cmac[i], params) != 1 ||
		    EVP_EncryptInit_ex2(ctx->enc[i], ctx->ctr[i], NULL, NULL, NULL) != 1)
			return false;
	}
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
	if (!setup(ctx) || !aead_ctx_rekey(ctx, id, key, keylen)) {
		aead_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void aead_ctx_free(struct aead_ctx *ctx)
{
	if (!ctx)
		return;
	/* Both free functions cleanse the key schedules they hold. */
	for (int i = 0; i < N_SIZES; i++) {
		EVP_MAC_CTX_free(ctx->cmac[i]);
		EVP_CIPHER_CTX_free(ctx->enc[i]);
		EVP_CIPHER_free(ctx->ctr[i]);
	}
	EVP_MAC_free(ctx->mac);
	free(ctx);
}

/* CMAC under K1 of a || b; restarts the context, keeps the key. */
static bool cmac(void *vctx, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                 uint8_t out[SIV_BLOCK])
{
	struct aead_ctx *ctx = vctx;
	EVP_MAC_CTX *m = ctx->cmac[ctx->size];
	size_t len = 0;

	return EVP_MAC_init(m, NULL, 0, NULL) == 1 &&
	       (alen == 0 || EVP_MAC_update(m, a, alen) == 1) &&
	       (blen == 0 || EVP_MAC_update(m, b, blen) == 1) &&
	       EVP_MAC_final(m, out, &len, SIV_BLOCK) == 1 && len == SIV_BLOCK;
}

/* AES-CTR under K2 from the counter Q derived from V (RFC 5297 §2.5). */
static bool ctr(struct aead_ctx *ctx, const uint8_t v[SIV_BLOCK], const uint8_t *in, size_t len,
                uint8_t *out)
{
	EVP_CIPHER_CTX *e = ctx->enc[ctx->size];
	uint8_t q[SIV_BLOCK];
	int outl = 0;

	if (len == 0)
		return true;
	siv_counter(v, q);
	return EVP_EncryptInit_ex2(e, NULL, NULL, q, NULL) == 1 &&
	       EVP_EncryptUpdate(e, out, &outl, in, (int)len) == 1 && (size_t)outl == len;
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
	if (!siv_s2v(cmac, ctx, ad, n_ad, nonce, nonce_len, pt, ptlen, v) ||
	    !ctr(ctx, v, pt, ptlen, out + SIV_BLOCK))
		return false;
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
	if (!ctr(ctx, in, in + SIV_BLOCK, len, pt) ||
	    !siv_s2v(cmac, ctx, ad, n_ad, nonce, nonce_len, pt, len, v) ||
	    !secret_equal(v, in, SIV_BLOCK)) {
		if (len)
			secret_wipe(pt, len);
		return false;
	}
	*ptlen = len;
	return true;
}
