/* The backend-neutral parts of AES-SIV-CMAC (RFC 5297): S2V over a CMAC
 * the backend provides, and the CTR counter derivation. Internal to the
 * aead_*.c backends. */
#ifndef NTSD_CRYPTO_AEAD_SIV_H
#define NTSD_CRYPTO_AEAD_SIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/secret.h"

#define SIV_BLOCK 16

/* CMAC under K1 of the message a || b (either may be empty). */
typedef bool (*siv_cmac_fn)(void *ctx, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                            uint8_t out[SIV_BLOCK]);

/* Doubling in GF(2^128) (RFC 5297 §2.3). */
static inline void siv_dbl(uint8_t b[SIV_BLOCK])
{
	uint8_t carry = b[0] >> 7;
	for (int i = 0; i < SIV_BLOCK - 1; i++)
		b[i] = (uint8_t)(b[i] << 1 | b[i + 1] >> 7);
	b[SIV_BLOCK - 1] = (uint8_t)(b[SIV_BLOCK - 1] << 1 ^ (carry ? 0x87 : 0));
}

/* S2V(K1, ad..., nonce, last) (RFC 5297 §2.4); the nonce, when given, is
 * the last associated-data component. */
static inline bool siv_s2v(siv_cmac_fn cmac, void *ctx, const struct aead_ad *ad, size_t n_ad,
                           const uint8_t *nonce, size_t nonce_len, const uint8_t *last,
                           size_t last_len, uint8_t v[SIV_BLOCK])
{
	static const uint8_t zero[SIV_BLOCK];
	uint8_t d[SIV_BLOCK], t[SIV_BLOCK];
	bool ok = false;

	if (!cmac(ctx, zero, SIV_BLOCK, NULL, 0, d))
		goto out;
	for (size_t i = 0; i <= n_ad; i++) {
		if (i == n_ad && !nonce)
			break;
		siv_dbl(d);
		if (!cmac(ctx, i < n_ad ? ad[i].p : nonce, i < n_ad ? ad[i].len : nonce_len, NULL, 0, t))
			goto out;
		for (int k = 0; k < SIV_BLOCK; k++)
			d[k] ^= t[k];
	}
	if (last_len >= SIV_BLOCK) {
		/* T = Sn xorend D */
		for (int k = 0; k < SIV_BLOCK; k++)
			t[k] = last[last_len - SIV_BLOCK + k] ^ d[k];
		ok = cmac(ctx, last, last_len - SIV_BLOCK, t, SIV_BLOCK, v);
	} else {
		/* T = dbl(D) xor pad(Sn) */
		siv_dbl(d);
		memset(t, 0, SIV_BLOCK);
		if (last_len)
			memcpy(t, last, last_len);
		t[last_len] = 0x80;
		for (int k = 0; k < SIV_BLOCK; k++)
			t[k] ^= d[k];
		ok = cmac(ctx, t, SIV_BLOCK, NULL, 0, v);
	}
out:
	secret_wipe(d, sizeof(d));
	secret_wipe(t, sizeof(t));
	return ok;
}

/* CTR initial counter Q from the synthetic IV V (RFC 5297 §2.5). */
static inline void siv_counter(const uint8_t v[SIV_BLOCK], uint8_t q[SIV_BLOCK])
{
	memcpy(q, v, SIV_BLOCK);
	q[8] &= 0x7f;
	q[12] &= 0x7f;
}

#endif
