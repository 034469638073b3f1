/* Secret memory and randomness (libsodium underneath). Secrets live in
 * guarded, locked pages where the system allows and are wiped when freed. */
#ifndef NTSD_CRYPTO_SECRET_H
#define NTSD_CRYPTO_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* Initialises libsodium; call once before anything else here. */
bool secret_init(void);
/* n bytes of locked, guarded memory, or NULL. Free with secret_free. */
void *secret_alloc(size_t n);
/* Wipes and frees memory from secret_alloc; NULL is ignored. */
void secret_free(void *p);
/* Wipes n bytes (not optimised away). */
void secret_wipe(void *p, size_t n);
/* Constant-time equality of two n-byte strings. */
bool secret_equal(const void *a, const void *b, size_t n);
/* Fills p with n bytes from the CSPRNG. Hot-path safe. */
void secret_random(void *p, size_t n);
/* Uniform random integer in [0, upper). */
unsigned secret_random_uniform(unsigned upper);

#endif
