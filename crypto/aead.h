/* AEAD for NTS (RFC 8915 §5.6): AES-SIV-CMAC (RFC 5297). Backends:
 * aead_openssl.c and aead_gnutls.c, chosen at build time. */
#ifndef NTSD_CRYPTO_AEAD_H
#define NTSD_CRYPTO_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IANA AEAD registry ids. */
enum {
	AEAD_AES_SIV_CMAC_256 = 15,
	AEAD_AES_SIV_CMAC_384 = 16,
	AEAD_AES_SIV_CMAC_512 = 17,
};

#define AEAD_TAG_LEN 16
#define AEAD_MAX_KEY 64
#define AEAD_MAX_AD 4   /* associated-data items per call, nonce not counted */

/* Key length for id, 0 if this backend does not support it. */
size_t aead_key_len(uint16_t id);

struct aead_ad {
	const uint8_t *p;
	size_t len;
};

/* A cipher context bound to one key; build once per key, not per packet. */
struct aead_ctx;
struct aead_ctx *aead_ctx_new(uint16_t id, const uint8_t *key, size_t keylen);
/* Wipes and frees; NULL is ignored. */
void aead_ctx_free(struct aead_ctx *ctx);
/* Replaces the key (and algorithm) of an existing context without
 * allocating: NTS servers rekey once per packet from the cookie. */
bool aead_ctx_rekey(struct aead_ctx *ctx, uint16_t id, const uint8_t *key, size_t keylen);

/* out = SIV tag (16 bytes) || ciphertext; outlen = ptlen + 16. The nonce
 * (may be NULL/0 for deterministic use) is the last AD item (RFC 5297).
 * Returns false if out is too small or the backend fails. Hot-path safe. */
bool aead_seal(struct aead_ctx *ctx, const struct aead_ad *ad, size_t n_ad,
               const uint8_t *nonce, size_t nonce_len, const uint8_t *pt, size_t ptlen,
               uint8_t *out, size_t outmax, size_t *outlen);
/* Inverse of aead_seal; false on any authentication failure, in which case
 * nothing is written to pt. */
bool aead_open(struct aead_ctx *ctx, const struct aead_ad *ad, size_t n_ad,
               const uint8_t *nonce, size_t nonce_len, const uint8_t *in, size_t inlen,
               uint8_t *pt, size_t ptmax, size_t *ptlen);

#endif
