/* Shared by the libFuzzer harnesses (static inline: each is built as one
 * program): reading an input byte by byte (past its end everything is
 * zero, so every input is usable whatever its length) and CHECK, which
 * aborts naming the broken invariant. */
#ifndef NTSD_TESTS_FUZZ_INPUT_H
#define NTSD_TESTS_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/buf.h"
#include "ntsd/nts.h"

static inline void fuzz_fail(const char *what)
{
	fprintf(stderr, "invariant broken: %s\n", what);
	abort();
}
#define CHECK(c) \
	do { \
		if (!(c)) \
			fuzz_fail(#c); \
	} while (0)

static inline size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

struct in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t in_u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline void in_bytes(struct in *in, uint8_t *out, size_t n)
{
	size_t k = n < in->n ? n : in->n;
	memcpy(out, in->p, k);
	memset(out + k, 0, n - k);
	in->p += k;
	in->n -= k;
}

/* The key file both harnesses load: every MAC family, and key 5 that the
 * servers do not trust (fuzz_serve) or that signs by mistake
 * (fuzz_client). */
static const char fuzz_key_text[] =
    "1 MD5 abcdefghij\n"
    "2 SHA1 0123456789abcdef0123456789abcdef01234567\n"
    "3 AES128CMAC 000102030405060708090a0b0c0d0e0f\n"
    "4 SHA256 000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f\n"
    "5 SHA1 fedcba9876543210fedcba9876543210fedcba98\n";

/* Length of an NTS Authenticator field (RFC 8915 §5.6) with a nonce of
 * nonce_len and a ciphertext of ctlen bytes. */
static inline size_t auth_ef_len(size_t nonce_len, size_t ctlen)
{
	return 8 + pad4(nonce_len) + pad4(ctlen);
}

/* Writes that field at p (auth_ef_len bytes, zero padding); returns its
 * length. */
static inline size_t put_auth_ef(uint8_t *p, const uint8_t *nonce, size_t nonce_len,
                                 const uint8_t *ct, size_t ctlen)
{
	size_t eflen = auth_ef_len(nonce_len, ctlen);

	store_be16(p, NTS_EF_AUTH);
	store_be16(p + 2, (uint16_t)eflen);
	store_be16(p + 4, (uint16_t)nonce_len);
	store_be16(p + 6, (uint16_t)ctlen);
	memset(p + 8, 0, eflen - 8);
	memcpy(p + 8, nonce, nonce_len);
	memcpy(p + 8 + pad4(nonce_len), ct, ctlen);
	return eflen;
}

#endif
