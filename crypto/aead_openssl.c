/* AES-SIV-CMAC (RFC 5297) on OpenSSL 3 primitives: S2V (aead_siv.h) over
 * the CMAC of cmac_openssl.c (AES-CBC kept in step), encryption with an
 * AES-CTR keystream computed here on AES-ECB.
 *
 * Why not OpenSSL's own "AES-128-SIV" cipher: it ignores a zero-length
 * plaintext update, so an empty plaintext gets no tag (EncryptFinal fails,
 * openssl/openssl#17268 and #26580; measured on 3.0.22), and an NTS client
 * request encrypts exactly nothing (RFC 8915 §5.7). It also allocates on
 * every AD item and plaintext (5 allocations each) and on every rekey (16),
 * measured with CRYPTO_set_mem_functions.
 *
 * Why not EVP_MAC CMAC and an AES-CTR EVP cipher (this file's first
 * version): every EVP_MAC_init and every EVP_EncryptInit_ex2, even one
 * that only resets the IV, looks up OSSL_PARAMs by name; an NTS server
 * packet needed about 15 of them (one CMAC restart per S2V component, a
 * CTR IV per message), 11% of the server's time under tools/bench. Now
 * the only initialisations are the two key schedules of a rekey: CMAC
 * restarts without one (cmac_openssl.h), and CTR encrypts the counter
 * blocks Q, Q+1, ... in batches with ECB. Neither allocates. The contexts
 * for each key size are created once in aead_ctx_new; OpenSSL's free
 * functions cleanse the schedules. */
#include "config.h"
#include "crypto/aead.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead_siv.h"
#include "crypto/cmac_openssl.h"
#include "crypto/secret.h"

#define N_SIZES 3 /* AES-128, -192, -256: ids 15, 16, 17 */

/* Largest plaintext (as in aead_gnutls.c); EVP_EncryptUpdate takes an int. */
#define MAX_PT ((size_t)1 << 30)

/* Bytes per EVP_EncryptUpdate call (stack buffers); a multiple of 16. */
#define CHUNK 512

struct aead_ctx {
	uint16_t id; /* 0 until a key is set (or after a failure) */
	int size;    /* index into the arrays below */
	struct ossl_cmac mac[N_SIZES]; /* CMAC under K1 */
	EVP_CIPHER *ecb[N_SIZES];
	EVP_CIPHER_CTX *enc[N_SIZES]; /* AES-ECB under K2, for CTR */
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

	ossl_cmac_forget(&ctx->mac[size]);
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
	if (!ossl_cmac_rekey(&ctx->mac[size], key) ||
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
	static const char *const ecb[N_SIZES] = { "AES-128-ECB", "AES-192-ECB", "AES-256-ECB" };

	for (int i = 0; i < N_SIZES; i++) {
		ctx->ecb[i] = EVP_CIPHER_fetch(NULL, ecb[i], NULL);
		ctx->enc[i] = EVP_CIPHER_CTX_new();
		if (!ossl_cmac_init(&ctx->mac[i], (size_t)(16 + 8 * i)) || !ctx->ecb[i] ||
		    !ctx->enc[i] || EVP_EncryptInit_ex2(ctx->enc[i], ctx->ecb[i], NULL, NULL, NULL) != 1 ||
		    EVP_CIPHER_CTX_set_padding(ctx->enc[i], 0) != 1)
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
	/* The free functions cleanse the key schedules they hold. */
	for (int i = 0; i < N_SIZES; i++) {
		ossl_cmac_destroy(&ctx->mac[i]);
		EVP_CIPHER_CTX_free(ctx->enc[i]);
		EVP_CIPHER_free(ctx->ecb[i]);
	}
	free(ctx);
}

/* CMAC under K1 of a || b, for siv_s2v. */
static bool cmac(void *vctx, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                 uint8_t out[SIV_BLOCK])
{
	struct aead_ctx *ctx = vctx;

	if (ossl_cmac_mac(&ctx->mac[ctx->size], a, alen, b, blen, out))
		return true;
	ctx->id = 0;
	return false;
}

/* Q + 1 mod 2^128, big-endian. */
static void inc_block(uint8_t q[SIV_BLOCK])
{
	for (int i = SIV_BLOCK - 1; i >= 0; i--)
		if (++q[i] != 0)
			break;
}

/* AES-CTR under K2 from the counter Q derived from V (RFC 5297 §2.5):
 * the keystream is ECB over Q, Q+1, ... in batches of CHUNK bytes. */
static bool ctr(struct aead_ctx *ctx, const uint8_t v[SIV_BLOCK], const uint8_t *in, size_t len,
                uint8_t *out)
{
	EVP_CIPHER_CTX *e = ctx->enc[ctx->size];
	uint8_t q[SIV_BLOCK], ks[CHUNK];
	size_t pos, n, used = 0;
	bool ok = true;

	siv_counter(v, q);
	for (pos = 0; ok && pos < len; pos += n) {
		n = len - pos < CHUNK ? len - pos : CHUNK;
		size_t blocks = (n + SIV_BLOCK - 1) / SIV_BLOCK;
		for (size_t i = 0; i < blocks; i++) {
			memcpy(ks + i * SIV_BLOCK, q, SIV_BLOCK);
			inc_block(q);
		}
		used = blocks * SIV_BLOCK > used ? blocks * SIV_BLOCK : used;
		ok = ossl_encrypt_blocks(e, ks, ks, blocks * SIV_BLOCK);
		for (size_t i = 0; ok && i < n; i++)
			out[pos + i] = in[pos + i] ^ ks[i];
	}
	if (!ok)
		ctx->id = 0;
	secret_wipe(ks, used);
	return ok;
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
