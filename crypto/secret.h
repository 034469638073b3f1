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

/* A random generator for hot paths (one nonce per packet): secret_random
 * is a getrandom system call each time, which profiling showed at 12% of
 * an NTS server's time. ChaCha20 with fast key erasure (every refill
 * replaces the key with the first 32 bytes of its own output, and bytes
 * are wiped once handed out), seeded from the OS, reseeded from it every
 * 64 KiB of output. A fork does not duplicate its stream: the state pages
 * are wiped in the child (MADV_WIPEONFORK) or, where that is missing,
 * every call compares the pid, and the child reseeds. Not thread safe: one per
 * thread. NULL on allocation failure. */
struct secret_rng;
struct secret_rng *secret_rng_new(void);
/* Wipes and frees; NULL is ignored. */
void secret_rng_free(struct secret_rng *r);
/* Fills p with n random bytes. No allocation, about one system call per
 * 64 KiB. */
void secret_rng_bytes(struct secret_rng *r, void *p, size_t n);

#endif
