/* AES-CMAC (RFC 4493) on an OpenSSL AES-CBC context, for the OpenSSL
 * backend's AES-SIV (aead_openssl.c) and AES128CMAC MACs (mac_openssl.c).
 * Internal to that backend.
 *
 * Why not EVP_MAC "CMAC": every EVP_MAC_init, even one that only restarts
 * the MAC under the same key, looks up OSSL_PARAMs by name and re-queries
 * key and IV lengths through the provider; profiled under tools/bench
 * that was 11% of an NTS server's time. Here the CBC context's chaining
 * value is kept in step (`chain`), so a new message starts by XORing its
 * first block with it, which cancels the chaining exactly as a zero IV
 * would, without touching the IV: the only initialisation is the key
 * schedule of a rekey. No allocation after ossl_cmac_init. Subkeys and
 * the chaining value live in secret memory; OpenSSL's free function
 * cleanses the key schedule. Not thread safe: one per thread. */
#ifndef NTSD_CRYPTO_CMAC_OPENSSL_H
#define NTSD_CRYPTO_CMAC_OPENSSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define OSSL_CMAC_BLOCK 16

struct ossl_cmac_secret;

struct ossl_cmac {
	size_t key_len; /* 16, 24 or 32 */
	bool keyed;     /* false until a rekey succeeds, and after a failure */
	EVP_CIPHER *cbc;
	EVP_CIPHER_CTX *ctx;
	struct ossl_cmac_secret *s;
};

/* Sets up c for AES keys of key_len bytes (16, 24, 32), without a key. On
 * false c is left safe to destroy. */
bool ossl_cmac_init(struct ossl_cmac *c, size_t key_len);
/* Frees and wipes; safe on a zeroed or failed c. */
void ossl_cmac_destroy(struct ossl_cmac *c);
/* Installs key (key_len bytes) and derives the subkeys. */
bool ossl_cmac_rekey(struct ossl_cmac *c, const uint8_t *key);
/* Replaces the key schedule with an all-zero key's and marks c unkeyed. */
void ossl_cmac_forget(struct ossl_cmac *c);
/* One EVP_EncryptUpdate of exactly len bytes (a multiple of 16) on an
 * unpadded block cipher context: the only call the per-packet paths make. */
bool ossl_encrypt_blocks(EVP_CIPHER_CTX *c, uint8_t *out, const uint8_t *in, size_t len);
/* out = CMAC(K, a || b); either part may be empty. False (and c unkeyed
 * until the next rekey) on a backend failure or without a key. */
bool ossl_cmac_mac(struct ossl_cmac *c, const uint8_t *a, size_t alen, const uint8_t *b,
                   size_t blen, uint8_t out[OSSL_CMAC_BLOCK]);

#endif
