/* Symmetric-key MACs for NTP (RFC 5905 legacy MAC, RFC 8573 AES-CMAC).
 * Digest input: for hashes H(key || message), for CMAC CMAC(key, message).
 * One backend file per TLS library (mac_openssl.c, mac_gnutls.c). */
#ifndef NTSD_CRYPTO_MAC_H
#define NTSD_CRYPTO_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mac_alg {
	MAC_NONE = 0,
	MAC_MD5,
	MAC_SHA1,
	MAC_SHA224,
	MAC_SHA256,
	MAC_SHA384,
	MAC_SHA512,
	MAC_AES128CMAC,
};

#define MAC_MAX_DIGEST 64
#define MAC_MAX_KEY 64

/* Name as written in an ntpd key file ("MD5", "SHA1", "AES128CMAC", ...),
 * matched case-insensitively; MAC_NONE if unknown. */
enum mac_alg mac_alg_from_name(const char *name);
/* Canonical name ("MD5", "SHA1", ..., "AES128CMAC"); "NONE" for MAC_NONE
 * or an out-of-range value. Static storage. */
const char *mac_alg_name(enum mac_alg alg);
/* Full digest length in bytes, 0 for MAC_NONE. */
size_t mac_digest_len(enum mac_alg alg);
/* Required key length for CMAC (16), 0 when any length is accepted. */
size_t mac_key_len(enum mac_alg alg);

/* Per-thread working state, created once (not on the hot path). */
struct mac_ctx;
struct mac_ctx *mac_ctx_new(void);
void mac_ctx_free(struct mac_ctx *ctx);

/* Computes the full digest of msg under key into out (MAC_MAX_DIGEST bytes
 * of room). Returns the digest length, 0 on failure (unknown alg, CMAC key
 * not 16 bytes, backend error). Hot-path safe: CMAC, and GnuTLS digests
 * after their first use, allocate nothing; OpenSSL 3.0 digests make one
 * small malloc/free per call (see mac_openssl.c). */
size_t mac_compute(struct mac_ctx *ctx, enum mac_alg alg, const uint8_t *key, size_t keylen,
                   const uint8_t *msg, size_t msglen, uint8_t out[MAC_MAX_DIGEST]);

/* True if digest (dlen bytes) is the MAC of msg under key. Accepted lengths
 * are the full digest, and 20 bytes for SHA-2 digests (NTPsec truncates them
 * to 20). Compared in constant time. */
bool mac_verify(struct mac_ctx *ctx, enum mac_alg alg, const uint8_t *key, size_t keylen,
                const uint8_t *msg, size_t msglen, const uint8_t *digest, size_t dlen);

#endif
