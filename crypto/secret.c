/* Secret memory and randomness over libsodium. Kept as a thin layer so
 * the rest of the tree never includes sodium.h and the choice of library
 * stays in one file. */
#include "config.h"

#include "crypto/secret.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* ---- per-thread generator ---- */

#define RNG_BUF 512                    /* ChaCha20 output per refill */
#define RNG_RESEED (65536 / RNG_BUF)   /* refills between OS reseeds */

struct secret_rng {
	uint8_t key[crypto_stream_chacha20_KEYBYTES];
	uint8_t buf[RNG_BUF];
	size_t avail;     /* unread bytes at the end of buf */
	unsigned refills; /* since the last reseed */
	pid_t pid;        /* process that seeded it */
	uint8_t seeded;   /* 0 after a fork where MADV_WIPEONFORK works */
	uint8_t pid_check; /* no MADV_WIPEONFORK: compare the pid on every call */
};

/* Its own pages (not sodium_malloc's: a wiped canary would abort the
 * child's free), locked, kept out of core dumps, wiped in a forked child. */
static size_t rng_map_len(void)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t p = page > 0 ? (size_t)page : 4096;
	return (sizeof(struct secret_rng) + p - 1) / p * p;
}

struct secret_rng *secret_rng_new(void)
{
	size_t len = rng_map_len();
	struct secret_rng *r;
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	r = m; /* zero-filled: unseeded until the first use */
	(void)mlock(m, len);
#ifdef MADV_DONTDUMP
	(void)madvise(m, len, MADV_DONTDUMP);
#endif
#ifdef MADV_WIPEONFORK
	r->pid_check = madvise(m, len, MADV_WIPEONFORK) != 0;
#else
	r->pid_check = 1;
#endif
	return r;
}

void secret_rng_free(struct secret_rng *r)
{
	size_t len = rng_map_len();

	if (!r)
		return;
	sodium_memzero(r, sizeof(*r));
	(void)munlock(r, len);
	(void)munmap(r, len);
}

static void rng_refill(struct secret_rng *r)
{
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES]; /* each key is used once */

	if (!r->seeded || r->refills >= RNG_RESEED || r->pid != getpid()) {
		randombytes_buf(r->key, sizeof(r->key));
		r->refills = 0;
		r->pid = getpid();
		r->seeded = 1;
	}
	crypto_stream_chacha20(r->buf, sizeof(r->buf), nonce, r->key);
	memcpy(r->key, r->buf, sizeof(r->key));
	sodium_memzero(r->buf, sizeof(r->key));
	r->avail = sizeof(r->buf) - sizeof(r->key);
	r->refills++;
}

void secret_rng_bytes(struct secret_rng *r, void *p, size_t n)
{
	uint8_t *out = p;

	if (!r->seeded || (r->pid_check && r->pid != getpid())) {
		/* a forked child: nothing buffered may be used, reseed first */
		r->avail = 0;
		r->seeded = 0;
	}
	while (n > 0) {
		if (r->avail == 0)
			rng_refill(r);
		size_t k = n < r->avail ? n : r->avail;
		uint8_t *src = r->buf + sizeof(r->buf) - r->avail;
		memcpy(out, src, k);
		sodium_memzero(src, k);
		out += k;
		n -= k;
		r->avail -= k;
	}
}
