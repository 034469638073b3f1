/* secret: locked memory, constant-time equality, CSPRNG. */
#include "crypto/secret.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static void test_alloc(void)
{
	static const size_t sizes[] = { 1, 16, 64, 4096, 65536 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *p = secret_alloc(sizes[i]);
		bool ok = p != NULL;
		if (p) {
			/* Touch every byte: ASan/valgrind catch a short block. */
			memset(p, 0xa5, sizes[i]);
			ok = p[0] == 0xa5 && p[sizes[i] - 1] == 0xa5;
		}
		tap_ok(ok, "secret_alloc(%zu) gives writable memory", sizes[i]);
		secret_free(p);
	}
	secret_free(NULL);
	tap_ok(true, "secret_free(NULL) is a no-op");
}

static void test_wipe(void)
{
	uint8_t b[32];
	bool zero = true;

	memset(b, 0xff, sizeof(b));
	secret_wipe(b, sizeof(b) - 1);
	for (size_t i = 0; i < sizeof(b) - 1; i++)
		zero = zero && b[i] == 0;
	tap_ok(zero, "secret_wipe zeroes n bytes");
	tap_ok(b[sizeof(b) - 1] == 0xff, "secret_wipe leaves byte n alone");
	secret_wipe(NULL, 0);
	tap_ok(true, "secret_wipe(NULL, 0) is a no-op");
}

static void test_equal(void)
{
	uint8_t a[48], b[48];
	bool all = true;

	secret_random(a, sizeof(a));
	memcpy(b, a, sizeof(b));
	tap_ok(secret_equal(a, b, sizeof(a)), "equal buffers compare equal");
	tap_ok(secret_equal(a, b, 0), "zero-length compare is equal");
	for (size_t i = 0; i < sizeof(a) * 8; i++) {
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
		all = all && !secret_equal(a, b, sizeof(a));
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	tap_ok(all, "every single-bit difference compares unequal");
	b[sizeof(b) - 1] ^= 1;
	tap_ok(secret_equal(a, b, sizeof(a) - 1), "only the first n bytes are compared");
}

static void test_random(void)
{
	uint8_t x[32], y[32], z[32];
	unsigned hist[10] = { 0 };
	bool in_range = true, zero_ok = true;
	unsigned seen_max = 0;

	secret_random(x, sizeof(x));
	secret_random(y, sizeof(y));
	secret_random(z, sizeof(z));
	tap_ok(memcmp(x, y, sizeof(x)) != 0 && memcmp(y, z, sizeof(y)) != 0,
	       "secret_random differs across calls");
	memset(x, 0, sizeof(x));
	secret_random(x, 0);
	tap_ok(x[0] == 0, "secret_random(p, 0) writes nothing");

	for (int i = 0; i < 10000; i++) {
		unsigned v = secret_random_uniform(10);
		if (v >= 10)
			in_range = false;
		else
			hist[v]++;
	}
	tap_ok(in_range, "secret_random_uniform(10) stays below 10");
	/* Expected 1000 per bucket, sd ~30: 700 is ten sigma away. */
	for (int i = 0; i < 10; i++)
		tap_ok(hist[i] > 700 && hist[i] < 1300, "bucket %d of 10 hit %u times of 10000", i,
		       hist[i]);
	for (int i = 0; i < 100; i++) {
		zero_ok = zero_ok && secret_random_uniform(1) == 0 && secret_random_uniform(0) == 0;
		unsigned v = secret_random_uniform(0xffffffffu);
		if (v > seen_max)
			seen_max = v;
	}
	tap_ok(zero_ok, "secret_random_uniform(0 or 1) is 0");
	tap_ok(seen_max > 0x10000u, "secret_random_uniform covers a 32-bit range (max %u)",
	       seen_max);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static void test_rng(void)
{
	enum { BIG = 256 * 1024 };
	struct secret_rng *r = secret_rng_new(), *r2 = secret_rng_new();
	uint8_t a[64], b[64], *big = malloc(BIG);
	unsigned count[256] = { 0 };
	bool spread = true, no_repeat = true, nonzero = true;

	if (!tap_ok(r && r2 && big, "secret_rng_new")) {
		secret_rng_free(r);
		secret_rng_free(r2);
		free(big);
		return;
	}
	secret_rng_bytes(r, a, sizeof(a));
	secret_rng_bytes(r2, b, sizeof(b));
	tap_ok(memcmp(a, b, sizeof(a)) != 0, "two generators give different bytes");
	secret_rng_bytes(r, b, sizeof(b));
	tap_ok(memcmp(a, b, sizeof(a)) != 0, "successive calls give different bytes");
	memset(a, 0, sizeof(a));
	secret_rng_bytes(r, a, 0);
	tap_ok(a[0] == 0, "secret_rng_bytes(r, p, 0) writes nothing");

	/* 256 KiB in pieces of 1..600 bytes: crosses many refills and 4 reseeds */
	for (size_t pos = 0, k = 1; pos < BIG; pos += k, k = k % 600 + 1)
		secret_rng_bytes(r, big + pos, BIG - pos < k ? BIG - pos : k);
	for (size_t i = 0; i < BIG; i++)
		count[big[i]]++;
	for (int v = 0; v < 256; v++)
		spread = spread && count[v] > 768 && count[v] < 1280; /* 1024 +- 25% (8 sd) */
	tap_ok(spread, "256 KiB: every byte value 768..1280 times (expected 1024)");
	for (size_t i = 0; i + 16 <= BIG; i += 16)
		nonzero = nonzero && !all_zero(big + i, 16);
	qsort(big, BIG / 16, 16, cmp16);
	for (size_t i = 16; i < BIG; i += 16)
		no_repeat = no_repeat && memcmp(big + i - 16, big + i, 16) != 0;
	tap_ok(nonzero && no_repeat, "no 16-byte block of the 256 KiB is zero or repeats");

	/* A fork must not hand the child the parent's next bytes. */
	int fds[2];
	uint8_t mine[32], child[32];
	secret_rng_bytes(r, a, 1); /* leaves bytes buffered */
	if (pipe(fds) == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			secret_rng_bytes(r, child, sizeof(child));
			_exit(write(fds[1], child, sizeof(child)) == (ssize_t)sizeof(child) ? 0 : 1);
		}
		secret_rng_bytes(r, mine, sizeof(mine));
		int status = 1;
		bool got = pid > 0 && read(fds[0], child, sizeof(child)) == (ssize_t)sizeof(child) &&
		           waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		           WEXITSTATUS(status) == 0;
		tap_ok(got && memcmp(mine, child, sizeof(mine)) != 0,
		       "after fork, parent and child draw different bytes");
		close(fds[0]);
		close(fds[1]);
	} else {
		tap_ok(false, "pipe");
	}
	secret_rng_free(r);
	secret_rng_free(r2);
	secret_rng_free(NULL);
	free(big);
}

int main(void)
{
	if (!tap_ok(secret_init(), "secret_init"))
		return tap_done();
	tap_ok(secret_init(), "secret_init twice is fine");
	test_alloc();
	test_wipe();
	test_equal();
	test_random();
	test_rng();
	return tap_done();
}
