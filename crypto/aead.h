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

/* A cipher context bound to one key; build once per key, not per packet.
 * NULL if id is unsupported here or keylen != aead_key_len(id). */
struct aead_ctx;
struct aead_ctx *aead_ctx_new(uint16_t id, const uint8_t *key, size_t keylen);
/* Wipes and frees; NULL is ignored. */
void aead_ctx_free(struct aead_ctx *ctx);
/* Replaces the key (and algorithm) of an existing context without
 * allocating: NTS servers rekey once per packet from the cookie. On false
 * for a bad id or key length the old key stays; on a backend failure the
 * context refuses to seal or open until a rekey succeeds. */
bool aead_ctx_rekey(struct aead_ctx *ctx, uint16_t id, const uint8_t *key, size_t keylen);

/* out = SIV tag (16 bytes) || ciphertext; outlen = ptlen + 16. Each AD
 * item is its own S2V component; the nonce is the last one (RFC 5297 §3).
 * nonce == NULL means no nonce component (deterministic use); a non-NULL
 * nonce of length 0 is an empty component. pt may be empty (an NTS client
 * request: out is just the tag). Returns false if out is too small, on bad
 * arguments or a backend failure. Hot-path safe: no allocation. */
bool aead_seal(struct aead_ctx *ctx, const struct aead_ad *ad, size_t n_ad,
               const uint8_t *nonce, size_t nonce_len, const uint8_t *pt, size_t ptlen,
               uint8_t *out, size_t outmax, size_t *outlen);
/* Inverse of aead_seal; pt receives inlen - 16 bytes and must not overlap
 * in. False on any authentication failure, in which case pt holds no
 * plaintext (its first inlen - 16 bytes are zeroed) and *ptlen is unset.
 * Hot-path safe: no allocation. */
bool aead_open(struct aead_ctx *ctx, const struct aead_ad *ad, size_t n_ad,
               const uint8_t *nonce, size_t nonce_len, const uint8_t *in, size_t inlen,
               uint8_t *pt, size_t ptmax, size_t *ptlen);

#endif
