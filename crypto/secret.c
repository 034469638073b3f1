/* Secret memory and randomness over libsodium. Kept as a thin layer so
 * the rest of the tree never includes sodium.h and the choice of library
 * stays in one file. */
#include "config.h"

#include "crypto/secret.h"

#include <stdint.h>

#include <sodium.h>

bool secret_init(void)
{
	/* sodium_init returns 1 when already initialised: also fine. */
	return sodium_init() >= 0;
}

void *secret_alloc(size_t n)
{
	/* sodium_malloc places the block against a guard page, locks it
	 * (mlock, best effort) and fills it with 0xdb; callers overwrite it. */
	return sodium_malloc(n);
}

void secret_free(void *p)
{
	/* sodium_free wipes, unlocks and unmaps; it accepts NULL. */
	sodium_free(p);
}

void secret_wipe(void *p, size_t n)
{
	if (p && n)
		sodium_memzero(p, n);
}

bool secret_equal(const void *a, const void *b, size_t n)
{
	if (n == 0)
		return true;
	return sodium_memcmp(a, b, n) == 0;
}

void secret_random(void *p, size_t n)
{
	if (n)
		randombytes_buf(p, n);
}

unsigned secret_random_uniform(unsigned upper)
{
	/* randombytes_uniform takes uint32_t and returns 0 for upper < 2;
	 * unsigned is 32 bits on every platform we build for. */
	_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned is 32 bits");
	return randombytes_uniform(upper);
}
