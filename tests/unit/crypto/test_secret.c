/* secret: locked memory, constant-time equality, CSPRNG. */
#include "crypto/secret.h"

#include <stdint.h>
#include <string.h>

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

int main(void)
{
	if (!tap_ok(secret_init(), "secret_init"))
		return tap_done();
	tap_ok(secret_init(), "secret_init twice is fine");
	test_alloc();
	test_wipe();
	test_equal();
	test_random();
	return tap_done();
}
