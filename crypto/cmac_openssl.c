/* AES-CMAC on an AES-CBC context kept in step: see cmac_openssl.h. */
#include "config.h"
#include "crypto/cmac_openssl.h"

#include <string.h>

#include "crypto/secret.h"

/* Bytes per EVP_EncryptUpdate call (stack buffers); a multiple of 16. */
#define CHUNK 512

struct ossl_cmac_secret {
	uint8_t sub1[OSSL_CMAC_BLOCK];  /* subkey K1 (RFC 4493 §2.3) */
	uint8_t sub2[OSSL_CMAC_BLOCK];  /* subkey K2 */
	uint8_t chain[OSSL_CMAC_BLOCK]; /* the CBC context's chaining value */
};

static void xor_block(uint8_t *dst, const uint8_t *src)
{
	for (int i = 0; i < OSSL_CMAC_BLOCK; i++)
		dst[i] ^= src[i];
}

/* Doubling in GF(2^128) (RFC 4493 §2.3). */
static void dbl(uint8_t b[OSSL_CMAC_BLOCK])
{
	uint8_t carry = b[0] >> 7;

	for (int i = 0; i < OSSL_CMAC_BLOCK - 1; i++)
		b[i] = (uint8_t)(b[i] << 1 | b[i + 1] >> 7);
	b[OSSL_CMAC_BLOCK - 1] = (uint8_t)(b[OSSL_CMAC_BLOCK - 1] << 1 ^ (carry ? 0x87 : 0));
}

bool ossl_encrypt_blocks(EVP_CIPHER_CTX *c, uint8_t *out, const uint8_t *in, size_t len)
{
	int outl = 0;

	return EVP_EncryptUpdate(c, out, &outl, in, (int)len) == 1 && (size_t)outl == len;
}

bool ossl_cmac_init(struct ossl_cmac *c, size_t key_len)
{
	const char *name = key_len == 16 ? "AES-128-CBC" : key_len == 24 ? "AES-192-CBC"
	                 : key_len == 32 ? "AES-256-CBC" : NULL;

	memset(c, 0, sizeof(*c));
	if (!name)
		return false;
	c->key_len = key_len;
	c->s = secret_alloc(sizeof(*c->s));
	c->cbc = EVP_CIPHER_fetch(NULL, name, NULL);
	c->ctx = EVP_CIPHER_CTX_new();
	if (!c->s || !c->cbc || !c->ctx ||
	    EVP_EncryptInit_ex2(c->ctx, c->cbc, NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->ctx, 0) != 1)
		return false;
	memset(c->s, 0, sizeof(*c->s));
	return true;
}

void ossl_cmac_destroy(struct ossl_cmac *c)
{
	EVP_CIPHER_CTX_free(c->ctx); /* cleanses the key schedule */
	EVP_CIPHER_free(c->cbc);
	secret_free(c->s);
	memset(c, 0, sizeof(*c));
}

void ossl_cmac_forget(struct ossl_cmac *c)
{
	static const uint8_t zero[32];

	c->keyed = false;
	if (!c->ctx || !c->s)
		return;
	(void)EVP_EncryptInit_ex2(c->ctx, NULL, zero, zero, NULL);
	secret_wipe(c->s, sizeof(*c->s));
}

bool ossl_cmac_rekey(struct ossl_cmac *c, const uint8_t *key)
{
	static const uint8_t zero[OSSL_CMAC_BLOCK];
	struct ossl_cmac_secret *s = c->s;

	c->keyed = false;
	if (!c->ctx || !s || !key)
		return false;
	/* The zero IV makes the chaining value 0; L = AES(K, 0) moves it to L. */
	if (EVP_EncryptInit_ex2(c->ctx, NULL, key, zero, NULL) != 1 ||
	    !ossl_encrypt_blocks(c->ctx, s->chain, zero, OSSL_CMAC_BLOCK)) {
		ossl_cmac_forget(c);
		return false;
	}
	memcpy(s->sub1, s->chain, OSSL_CMAC_BLOCK);
	dbl(s->sub1);
	memcpy(s->sub2, s->sub1, OSSL_CMAC_BLOCK);
	dbl(s->sub2);
	c->keyed = true;
	return true;
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

/* CBC-MAC of all blocks but the last, then the last XORed with subkey K1
 * (complete) or padded and XORed with K2 (RFC 4493 §2.4). */
bool ossl_cmac_mac(struct ossl_cmac *c, const uint8_t *a, size_t alen, const uint8_t *b,
                   size_t blen, uint8_t out[OSSL_CMAC_BLOCK])
{
	uint8_t in[CHUNK], tmp[CHUNK], last[OSSL_CMAC_BLOCK];
	size_t total = alen + blen, bulk, rem, pos, n = 0;
	uint8_t *chain;
	bool ok = true;

	if (!c->keyed || (alen && !a) || (blen && !b))
		return false;
	chain = c->s->chain;
	/* all blocks but the last one, which may be partial or empty */
	bulk = total == 0 ? 0 : (total - 1) / OSSL_CMAC_BLOCK * OSSL_CMAC_BLOCK;
	for (pos = 0; ok && pos < bulk; pos += n) {
		n = bulk - pos < CHUNK ? bulk - pos : CHUNK;
		gather(a, alen, b, pos, n, in);
		if (pos == 0)
			xor_block(in, chain);
		ok = ossl_encrypt_blocks(c->ctx, tmp, in, n);
	}
	if (ok && bulk > 0)
		memcpy(chain, tmp + n - OSSL_CMAC_BLOCK, OSSL_CMAC_BLOCK);
	rem = total - bulk;
	memset(last, 0, sizeof(last));
	gather(a, alen, b, bulk, rem, last);
	if (rem == OSSL_CMAC_BLOCK) {
		xor_block(last, c->s->sub1);
	} else {
		last[rem] = 0x80;
		xor_block(last, c->s->sub2);
	}
	if (bulk == 0)
		xor_block(last, chain);
	ok = ok && ossl_encrypt_blocks(c->ctx, chain, last, OSSL_CMAC_BLOCK);
	if (ok)
		memcpy(out, chain, OSSL_CMAC_BLOCK);
	else
		c->keyed = false;
	secret_wipe(in, bulk < CHUNK ? bulk : CHUNK);
	secret_wipe(tmp, bulk < CHUNK ? bulk : CHUNK);
	secret_wipe(last, sizeof(last));
	return ok;
}
