/* AES-SIV-CMAC (RFC 5297) on OpenSSL 3 primitives: S2V (aead_siv.h) over
 * a CMAC (RFC 4493) computed here on AES-CBC, encryption with an AES-CTR
 * keystream computed here on AES-ECB.
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
 * that only resets the IV, looks up OSSL_PARAMs by name (strcmp) and
 * re-queries key and IV lengths through the provider. An NTS server packet
 * needs about 15 of them (one CMAC reset per S2V component, a CTR IV per
 * message); profiled under tools/bench, that was 11% of the server's time.
 * Here the only initialisations are the two key schedules of a rekey:
 * - CMAC: the CBC context's chaining value is kept in step (`chain`), so a
 *   new message starts by XORing its first block with it, which cancels
 *   the chaining exactly as a zero IV would, without touching the IV.
 * - CTR: counter blocks Q, Q+1, ... are encrypted in batches with ECB.
 * Neither allocates. The contexts and the algorithms for each key size
 * are created once in aead_ctx_new; CMAC subkeys and chaining values live
 * in secret memory; OpenSSL's free functions cleanse the schedules. */
#include "config.h"
#include "crypto/aead.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead_siv.h"
#include "crypto/secret.h"

#define N_SIZES 3 /* AES-128, -192, -256: ids 15, 16, 17 */

/* Largest plaintext (as in aead_gnutls.c); EVP_EncryptUpdate takes an int. */
#define MAX_PT ((size_t)1 << 30)

/* Bytes per EVP_EncryptUpdate call (stack buffers); a multiple of 16. */
#define CHUNK 512

struct siv_state {
	uint8_t sub1[SIV_BLOCK]; /* CMAC subkey K1 (RFC 4493 §2.3) */
	uint8_t sub2[SIV_BLOCK]; /* CMAC subkey K2 */
	uint8_t chain[N_SIZES][SIV_BLOCK]; /* each CBC context's chaining value */
};

struct aead_ctx {
	uint16_t id; /* 0 until a key is set (or after a failure) */
	int size;    /* index into the arrays below */
	struct siv_state *s;
	EVP_CIPHER *cbc[N_SIZES];
	EVP_CIPHER *ecb[N_SIZES];
	EVP_CIPHER_CTX *mac[N_SIZES]; /* AES-CBC under K1, for CMAC */
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

static void xor_block(uint8_t *dst, const uint8_t *src)
{
	for (int i = 0; i < SIV_BLOCK; i++)
		dst[i] ^= src[i];
}

/* One EVP_EncryptUpdate of exactly len bytes (a multiple of 16). */
static bool update(EVP_CIPHER_CTX *c, uint8_t *out, const uint8_t *in, size_t len)
{
	int outl = 0;

	return EVP_EncryptUpdate(c, out, &outl, in, (int)len) == 1 && (size_t)outl == len;
}

/* A key of an unused size must not linger in its contexts: overwrite the
 * schedules with those of an all-zero key (no allocation). */
static void forget(struct aead_ctx *ctx, int size)
{
	static const uint8_t zero[32];

	(void)EVP_EncryptInit_ex2(ctx->mac[size], NULL, zero, zero, NULL);
	(void)EVP_EncryptInit_ex2(ctx->enc[size], NULL, zero, NULL, NULL);
	memset(ctx->s->chain[size], 0, SIV_BLOCK);
}

bool aead_ctx_rekey(struct aead_ctx *ctx, uint16_t id, const uint8_t *key, size_t keylen)
{
	static const uint8_t zero[SIV_BLOCK];
	size_t len = aead_key_len(id), half = len / 2;
	struct siv_state *s;
	int size;

	if (!ctx || !key || len == 0 || keylen != len)
		return false;
	s = ctx->s;
	size = (int)(half - 16) / 8;
	if (ctx->id != 0 && ctx->size != size)
		forget(ctx, ctx->size);
	ctx->id = 0;
	/* The zero IV makes the chaining value 0; L = AES(K1, 0) moves it to L. */
	if (EVP_EncryptInit_ex2(ctx->mac[size], NULL, key, zero, NULL) != 1 ||
	    EVP_EncryptInit_ex2(ctx->enc[size], NULL, key + half, NULL, NULL) != 1 ||
	    !update(ctx->mac[size], s->chain[size], zero, SIV_BLOCK)) {
		forget(ctx, size);
		secret_wipe(s->sub1, sizeof(s->sub1));
		secret_wipe(s->sub2, sizeof(s->sub2));
		return false;
	}
	memcpy(s->sub1, s->chain[size], SIV_BLOCK);
	siv_dbl(s->sub1);
	memcpy(s->sub2, s->sub1, SIV_BLOCK);
	siv_dbl(s->sub2);
	ctx->id = id;
	ctx->size = size;
	return true;
}

/* Fetches the algorithms and binds each size's contexts to them; no key. */
static bool setup(struct aead_ctx *ctx)
{
	static const char *const cbc[N_SIZES] = { "AES-128-CBC", "AES-192-CBC", "AES-256-CBC" };
	static const char *const ecb[N_SIZES] = { "AES-128-ECB", "AES-192-ECB", "AES-256-ECB" };

	for (int i = 0; i < N_SIZES; i++) {
		ctx->cbc[i] = EVP_CIPHER_fetch(NULL, cbc[i], NULL);
		ctx->ecb[i] = EVP_CIPHER_fetch(NULL, ecb[i], NULL);
		ctx->mac[i] = EVP_CIPHER_CTX_new();
		ctx->enc[i] = EVP_CIPHER_CTX_new();
		if (!ctx->cbc[i] || !ctx->ecb[i] || !ctx->mac[i] || !ctx->enc[i] ||
		    EVP_EncryptInit_ex2(ctx->mac[i], ctx->cbc[i], NULL, NULL, NULL) != 1 ||
		    EVP_EncryptInit_ex2(ctx->enc[i], ctx->ecb[i], NULL, NULL, NULL) != 1 ||
		    EVP_CIPHER_CTX_set_padding(ctx->mac[i], 0) != 1 ||
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
	ctx->s = secret_alloc(sizeof(*ctx->s));
	if (!ctx->s || !setup(ctx) || !aead_ctx_rekey(ctx, id, key, keylen)) {
		aead_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void aead_ctx_free(struct aead_ctx *ctx)
{
	if (!ctx)
		return;
	/* The free function cleanses the key schedule it holds. */
	for (int i = 0; i < N_SIZES; i++) {
		EVP_CIPHER_CTX_free(ctx->mac[i]);
		EVP_CIPHER_CTX_free(ctx->enc[i]);
		EVP_CIPHER_free(ctx->cbc[i]);
		EVP_CIPHER_free(ctx->ecb[i]);
	}
	secret_free(ctx->s);
	free(ctx);
}

/* Copies n bytes from offset pos of the message a || b into dst. */
static void gather(const uint8_t *a, size_t alen, const uint8_t *b, size_t pos, size_t n,
                   uint8_t *dst)
{
	if (pos < alen) {
		size_t k = n < alen - pos ? n : alen - pos;
		memcpy(dst, a + pos, k);
		dst += k;
		n -= k;
		pos += k;
	}
	if (n)
		memcpy(dst, b + (pos - alen), n);
}

/* CMAC under K1 of a || b (RFC 4493 §2.4): CBC-MAC of all blocks but the
 * last, then the last XORed with subkey K1 (complete) or padded and XORed
 * with K2. The CBC context continues from the previous message, so the
 * message's first block is XORed with the chaining value left by it. On a
 * backend failure the context is unusable until the next rekey. */
static bool cmac(void *vctx, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                 uint8_t out[SIV_BLOCK])
{
	struct aead_ctx *ctx = vctx;
	EVP_CIPHER_CTX *c = ctx->mac[ctx->size];
	uint8_t *chain = ctx->s->chain[ctx->size];
	uint8_t in[CHUNK], tmp[CHUNK], last[SIV_BLOCK];
	size_t total = alen + blen, bulk, rem, pos, n = 0;
	bool ok = true;

	/* all blocks but the last one, which may be partial or empty */
	bulk = total == 0 ? 0 : (total - 1) / SIV_BLOCK * SIV_BLOCK;
	for (pos = 0; ok && pos < bulk; pos += n) {
		n = bulk - pos < CHUNK ? bulk - pos : CHUNK;
		gather(a, alen, b, pos, n, in);
		if (pos == 0)
			xor_block(in, chain);
		ok = update(c, tmp, in, n);
	}
	if (ok && bulk > 0)
		memcpy(chain, tmp + n - SIV_BLOCK, SIV_BLOCK);
	rem = total - bulk;
	memset(last, 0, sizeof(last));
	gather(a, alen, b, bulk, rem, last);
	if (rem == SIV_BLOCK) {
		xor_block(last, ctx->s->sub1);
	} else {
		last[rem] = 0x80;
		xor_block(last, ctx->s->sub2);
	}
	if (bulk == 0)
		xor_block(last, chain);
	ok = ok && update(c, chain, last, SIV_BLOCK);
	if (ok)
		memcpy(out, chain, SIV_BLOCK);
	else
		ctx->id = 0;
	secret_wipe(in, bulk < CHUNK ? bulk : CHUNK);
	secret_wipe(tmp, bulk < CHUNK ? bulk : CHUNK);
	secret_wipe(last, sizeof(last));
	return ok;
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
		ok = update(e, ks, ks, blocks * SIV_BLOCK);
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
