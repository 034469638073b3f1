/* NTS cookies (RFC 8915 §6, the recommended construction):
 *   cookie = I (master key id, 4, big-endian) || N (nonce, 16)
 *            || AES-SIV-CMAC-256(K_I, AD = [I], nonce N,
 *                 plaintext = AEAD id (2) || 0 (2) || C2S key || S2C key)
 *   (the AEAD output is SIV tag (16) || ciphertext)
 * 104 bytes for AEAD 15, 136 for 16, 168 for 17. The two zero bytes keep
 * every cookie a multiple of 4: an NTS Cookie extension field is padded
 * to 4 (RFC 7822), and chrony's client ignores cookies of other lengths.
 * All cookies for one AEAD id have the same length (NTPsec's client needs
 * that). The format is private to servers sharing a master key file.
 *
 * Threads: a cookie_ctx holds backend cipher contexts, which are not
 * thread safe, so each thread (NTP worker, KE thread) owns its own, built
 * from the same master key set, and builds a new one when the set changes
 * (cookie_ctx_new is cheap: one cipher context per key, at most 16). */
#ifndef NTSD_CRYPTO_COOKIE_H
#define NTSD_CRYPTO_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/aead.h"

struct masterkey_set;
struct cookie_ctx;

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
	COOKIE_UNKNOWN_KEY, /* well formed, but its key id is not (or no longer) ours */
	COOKIE_BAD,         /* wrong length, fails authentication, bad plaintext */
};

/* Cipher contexts for every key of set, built once (not per cookie), and
 * its keys never change afterwards. Only reads set, so several threads may build
 * from one set at once; the set may be freed afterwards. NULL on
 * allocation failure or a NULL or empty set. */
struct cookie_ctx *cookie_ctx_new(const struct masterkey_set *set);
/* Wipes and frees; NULL is ignored. */
void cookie_ctx_free(struct cookie_ctx *ctx);

/* Length of a cookie carrying keys for aead, 0 if unsupported. */
size_t cookie_size(uint16_t aead);

/* Seals k under the current master key with a fresh random nonce.
 * Returns the cookie length (cookie_size(k->aead)), or 0 (out zeroed) when
 * k->aead is unsupported, k->key_len is not its key length or outmax is
 * too small. No allocation: hot-path safe. */
size_t cookie_seal(struct cookie_ctx *ctx, const struct cookie_keys *k, uint8_t *out,
                   size_t outmax);
/* Opens a cookie of len bytes into k. COOKIE_OK only if the length is
 * exactly cookie_size() of some supported AEAD, the key id is in the
 * context, the SIV tag verifies and the plaintext is well formed; on any
 * other result k is zeroed. Leaves no plaintext behind in its own stack
 * frame. No allocation: hot-path safe. */
enum cookie_status cookie_open(struct cookie_ctx *ctx, const uint8_t *cookie, size_t len,
                               struct cookie_keys *k);

#endif
