/* NTS cookies (RFC 8915 §6, the recommended construction):
 *   cookie = key id (4) || nonce (16) || AES-SIV(master key, AD = key id,
 *            nonce, plaintext = AEAD id (2) || 0 (2) || C2S key || S2C key)
 * under AEAD_AES_SIV_CMAC_256 master keys: 104 bytes for AEAD 15. All
 * cookies for one AEAD id have the same length (NTPsec's client needs
 * that), a multiple of 4 (chrony's client ignores other cookies). */
#ifndef NTSD_CRYPTO_COOKIE_H
#define NTSD_CRYPTO_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/aead.h"

struct masterkey_set;

#define COOKIE_NONCE_LEN 16
#define COOKIE_MAX_LEN (4 + COOKIE_NONCE_LEN + AEAD_TAG_LEN + 4 + 2 * AEAD_MAX_KEY)

/* The session keys a cookie carries. Callers wipe it after use. */
struct cookie_keys {
	uint16_t aead;
	size_t key_len;
	uint8_t c2s[AEAD_MAX_KEY];
	uint8_t s2c[AEAD_MAX_KEY];
};

enum cookie_status {
	COOKIE_OK,
	COOKIE_UNKNOWN_KEY, /* sealed under a master key we no longer (or never) had */
	COOKIE_BAD,         /* wrong length, tampered, or not ours */
};

/* Cipher contexts for every key of set, built once (not per cookie). A
 * context is used by one thread; each worker builds its own from the same
 * set. The set may be freed afterwards. NULL on allocation failure or an
 * empty set. */
struct cookie_ctx *cookie_ctx_new(const struct masterkey_set *set);
void cookie_ctx_free(struct cookie_ctx *ctx);

/* Length of a cookie carrying keys for aead, 0 if unsupported. */
size_t cookie_size(uint16_t aead);

/* Seals k under the current master key with a fresh nonce. Returns the
 * cookie length (cookie_size(k->aead)), 0 on failure. Hot-path safe. */
size_t cookie_seal(struct cookie_ctx *ctx, const struct cookie_keys *k, uint8_t *out, size_t outmax);
/* Opens a cookie of len bytes; len may include zero padding up to a
 * multiple of 4 (as in an NTS Cookie extension field). Hot-path safe. */
enum cookie_status cookie_open(struct cookie_ctx *ctx, const uint8_t *cookie, size_t len,
                               struct cookie_keys *k);

#endif
