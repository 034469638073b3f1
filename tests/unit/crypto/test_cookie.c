/* NTS cookies: the documented format (built and opened independently with
 * aead.h), 10,000 round trips per AEAD with equal lengths and no two
 * cookies alike, then every tamper case: each byte changed to every other
 * value, every truncation, extension, unknown key id, another server's
 * keys, authentic cookies with a bad plaintext, rotation past `keep`, and
 * per-thread contexts. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/buf.h"
#include "crypto/cookie.h"
#include "crypto/masterkey.h"
#include "crypto/secret.h"
#include "tap.h"

#define N_TRIPS 10000

static const uint16_t all_ids[] = { AEAD_AES_SIV_CMAC_256, AEAD_AES_SIV_CMAC_384,
	                            AEAD_AES_SIV_CMAC_512 };
static const uint8_t zero[COOKIE_MAX_LEN + 8];

static void random_keys(struct cookie_keys *k, uint16_t aead)
{
	memset(k, 0, sizeof(*k));
	k->aead = aead;
	k->key_len = aead_key_len(aead);
	secret_random(k->c2s, k->key_len);
	secret_random(k->s2c, k->key_len);
}

static bool same_keys(const struct cookie_keys *a, const struct cookie_keys *b)
{
	return a->aead == b->aead && a->key_len == b->key_len &&
	       !memcmp(a->c2s, b->c2s, a->key_len) && !memcmp(a->s2c, b->s2c, a->key_len);
}

static bool wiped(const struct cookie_keys *k)
{
	return k->aead == 0 && k->key_len == 0 && !memcmp(k->c2s, zero, sizeof(k->c2s)) &&
	       !memcmp(k->s2c, zero, sizeof(k->s2c));
}

static size_t cookie_len_g;
static int cmp_cookie(const void *a, const void *b)
{
	return memcmp(a, b, cookie_len_g);
}

/* A cookie per the header's description, built with aead.h directly:
 * id || nonce || AES-SIV(K, AD = [id], nonce, aead || reserved || c2s || s2c). */
static size_t build(const struct masterkey *mk, uint16_t aead, uint16_t reserved, size_t key_len,
                    const uint8_t *c2s, const uint8_t *s2c, uint8_t *out)
{
	uint8_t pt[4 + 2 * AEAD_MAX_KEY];
	size_t ctlen = 0;
	struct aead_ctx *a = aead_ctx_new(AEAD_AES_SIV_CMAC_256, mk->key, MASTERKEY_LEN);
	struct aead_ad ad = { out, 4 };

	store_be32(out, mk->id);
	secret_random(out + 4, COOKIE_NONCE_LEN);
	store_be16(pt, aead);
	store_be16(pt + 2, reserved);
	memcpy(pt + 4, c2s, key_len);
	memcpy(pt + 4 + key_len, s2c, key_len);
	bool ok = a && aead_seal(a, &ad, 1, out + 4, COOKIE_NONCE_LEN, pt, 4 + 2 * key_len,
	                         out + 20, COOKIE_MAX_LEN + 64, &ctlen);
	aead_ctx_free(a);
	return ok ? 20 + ctlen : 0;
}

static void test_sizes(void)
{
	tap_ok(aead_key_len(AEAD_AES_SIV_CMAC_256) == 32 &&
	               aead_key_len(AEAD_AES_SIV_CMAC_512) == 64,
	       "this backend supports AEAD 15 and 17");
	tap_ok(cookie_size(AEAD_AES_SIV_CMAC_256) == 4 + 16 + 16 + 4 + 64,
	       "AEAD 15 cookies are 104 bytes (id, nonce, tag, AEAD id, reserved, 2 x 32)");
	tap_ok(cookie_size(AEAD_AES_SIV_CMAC_512) == 168, "AEAD 17 cookies are 168 bytes");
	tap_ok(cookie_size(AEAD_AES_SIV_CMAC_384) ==
	               (aead_key_len(AEAD_AES_SIV_CMAC_384) ? 136u : 0u),
	       "AEAD 16 cookies are 136 bytes where the backend has AEAD 16 (%zu)",
	       cookie_size(AEAD_AES_SIV_CMAC_384));
	tap_ok(cookie_size(0) == 0 && cookie_size(30) == 0 && cookie_size(0xffff) == 0,
	       "no cookie size for unsupported AEADs");
	bool mult4 = true;
	for (size_t i = 0; i < 3; i++)
		mult4 = mult4 && cookie_size(all_ids[i]) % 4 == 0 &&
		        cookie_size(all_ids[i]) <= COOKIE_MAX_LEN;
	tap_ok(mult4, "every cookie length is a multiple of 4 (chrony's client drops others), "
	              "within COOKIE_MAX_LEN");
}

static void test_round_trips(struct masterkey_set *set)
{
	struct cookie_ctx *ctx = cookie_ctx_new(set);
	uint32_t cur = masterkey_current(set)->id;

	for (size_t a = 0; a < 3; a++) {
		uint16_t id = all_ids[a];
		size_t size = cookie_size(id);
		if (!size) {
			tap_diag("AEAD %u not supported by this backend: skipped", id);
			continue;
		}
		uint8_t *all = malloc(N_TRIPS * size);
		struct cookie_keys k, got;
		bool ok = all != NULL, lengths = true, ids = true, hidden = true;
		for (int i = 0; ok && i < N_TRIPS; i++) {
			uint8_t *c = all + (size_t)i * size;
			random_keys(&k, id);
			size_t n = cookie_seal(ctx, &k, c, size);
			lengths = lengths && n == size;
			ids = ids && load_be32(c) == cur;
			hidden = hidden && !memmem(c, n, k.c2s, 8) && !memmem(c, n, k.s2c, 8);
			ok = n && cookie_open(ctx, c, n, &got) == COOKIE_OK && same_keys(&k, &got);
		}
		tap_ok(ok, "AEAD %u: %d seal/open round trips with random keys", id, N_TRIPS);
		tap_ok(lengths, "AEAD %u: every cookie is exactly %zu bytes", id, size);
		tap_ok(ids, "AEAD %u: every cookie names the current master key", id);
		tap_ok(hidden, "AEAD %u: no cookie shows its keys", id);
		bool distinct = ok;
		if (ok) {
			cookie_len_g = size;
			qsort(all, N_TRIPS, size, cmp_cookie);
			for (int i = 1; i < N_TRIPS; i++)
				distinct = distinct && memcmp(all + (size_t)(i - 1) * size,
				                              all + (size_t)i * size, 20);
		}
		tap_ok(distinct, "AEAD %u: no two of %d cookies share a nonce", id, N_TRIPS);

		/* Same keys sealed twice: unlinkable. */
		uint8_t c1[COOKIE_MAX_LEN], c2[COOKIE_MAX_LEN];
		size_t n1 = cookie_seal(ctx, &k, c1, sizeof(c1)),
		       n2 = cookie_seal(ctx, &k, c2, sizeof(c2));
		tap_ok(n1 == n2 && memcmp(c1 + 4, c2 + 4, n1 - 4) != 0,
		       "AEAD %u: the same keys give different cookies", id);
		free(all);
	}
	cookie_ctx_free(ctx);
}

static void test_format(struct masterkey_set *set)
{
	struct cookie_ctx *ctx = cookie_ctx_new(set);
	const struct masterkey *mk = masterkey_current(set), *old = &set->k[0];
	struct cookie_keys k, got;
	uint8_t c[COOKIE_MAX_LEN + 64], pt[COOKIE_MAX_LEN];
	size_t n, ptlen = 0;

	random_keys(&k, AEAD_AES_SIV_CMAC_256);
	n = build(old, k.aead, 0, k.key_len, k.c2s, k.s2c, c);
	tap_ok(n == 104 && cookie_open(ctx, c, n, &got) == COOKIE_OK && same_keys(&k, &got),
	       "a cookie built from the documented format opens (under an older key)");

	n = cookie_seal(ctx, &k, c, sizeof(c));
	struct aead_ctx *a = aead_ctx_new(AEAD_AES_SIV_CMAC_256, mk->key, MASTERKEY_LEN);
	struct aead_ad ad = { c, 4 };
	bool opened = a && aead_open(a, &ad, 1, c + 4, 16, c + 20, n - 20, pt, sizeof(pt), &ptlen);
	tap_ok(opened && ptlen == 68 && load_be16(pt) == 15 && load_be16(pt + 2) == 0 &&
	               !memcmp(pt + 4, k.c2s, 32) && !memcmp(pt + 36, k.s2c, 32),
	       "cookie_seal output opens with aead.h as documented: AEAD id, 0, C2S, S2C");
	struct aead_ad no_ad = { c, 0 };
	tap_ok(a && !aead_open(a, &no_ad, 1, c + 4, 16, c + 20, n - 20, pt, sizeof(pt), &ptlen),
	       "the key id is authenticated as associated data");
	aead_ctx_free(a);

	/* Authentic (sealed under our key) but not a plaintext we write. */
	uint8_t key[AEAD_MAX_KEY];
	secret_random(key, sizeof(key));
	struct {
		const char *what;
		uint16_t aead, reserved;
		size_t key_len;
	} bad[] = {
		{ "an unknown AEAD id", 99, 0, 32 },
		{ "AEAD id 0", 0, 0, 32 },
		{ "a non-zero reserved field", 15, 1, 32 },
		{ "AEAD 15 with 64-byte keys", 15, 0, 64 },
		{ "AEAD 17 with 32-byte keys", 17, 0, 32 },
		{ "AEAD 16 with 32-byte keys", 16, 0, 32 },
		{ "AEAD 16 keys where AEAD 16 is unsupported", 16, 0, 48 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (i == 6 && aead_key_len(16))
			continue;
		memset(&got, 0x55, sizeof(got));
		n = build(mk, bad[i].aead, bad[i].reserved, bad[i].key_len, key, key, c);
		tap_ok(n && cookie_open(ctx, c, n, &got) == COOKIE_BAD && wiped(&got),
		       "an authentic cookie with %s is refused, keys zeroed", bad[i].what);
	}
	cookie_ctx_free(ctx);
}

static void test_seal_args(struct masterkey_set *set)
{
	struct cookie_ctx *ctx = cookie_ctx_new(set);
	struct cookie_keys k;
	uint8_t c[COOKIE_MAX_LEN + 8];
	size_t size = cookie_size(AEAD_AES_SIV_CMAC_256);

	random_keys(&k, AEAD_AES_SIV_CMAC_256);
	bool sweep = true;
	for (size_t max = 0; max <= size + 1; max++) {
		memset(c, 0xaa, sizeof(c));
		size_t n = cookie_seal(ctx, &k, c, max);
		sweep = sweep && (max < size ? n == 0 && c[0] == (max ? 0 : 0xaa) : n == size) &&
		        c[max] == 0xaa;
	}
	tap_ok(sweep, "outmax 0..%zu: refused below %zu, never written past outmax", size + 1,
	       size);
	k.aead = 30;
	memset(c, 0xaa, sizeof(c));
	tap_ok(cookie_seal(ctx, &k, c, sizeof(c)) == 0 && !memcmp(c, zero, COOKIE_MAX_LEN),
	       "an unsupported AEAD is refused, output zeroed");
	k.aead = AEAD_AES_SIV_CMAC_256;
	k.key_len = 64;
	tap_ok(cookie_seal(ctx, &k, c, sizeof(c)) == 0,
	       "a key length that does not match the AEAD is refused");
	k.key_len = 32;
	tap_ok(cookie_seal(NULL, &k, c, sizeof(c)) == 0, "no context: refused");
	struct cookie_keys got;
	tap_ok(cookie_open(NULL, c, size, &got) == COOKIE_BAD &&
	               cookie_open(ctx, NULL, size, &got) == COOKIE_BAD,
	       "open without a context or cookie: COOKIE_BAD");
	struct masterkey_set *empty = masterkey_set_new();
	tap_ok(cookie_ctx_new(NULL) == NULL && cookie_ctx_new(empty) == NULL,
	       "no context from a NULL or empty master key set");
	masterkey_set_free(empty);
	cookie_ctx_free(NULL);
	cookie_ctx_free(ctx);
}

static void test_tamper(struct masterkey_set *set, struct masterkey_set *other, const char *dir)
{
	struct cookie_ctx *ctx = cookie_ctx_new(set), *octx = cookie_ctx_new(other);
	struct cookie_keys k, got;
	uint8_t c[COOKIE_MAX_LEN + 8];

	for (size_t a = 0; a < 3; a++) {
		uint16_t id = all_ids[a];
		if (!aead_key_len(id))
			continue;
		random_keys(&k, id);
		size_t n = cookie_seal(ctx, &k, c, sizeof(c));
		bool exact = true, never = true, zeroed = true;
		for (size_t i = 0; i < n; i++)
			for (unsigned x = 1; x < 256; x++) {
				memset(&got, 0x55, sizeof(got));
				c[i] ^= (uint8_t)x;
				enum cookie_status st = cookie_open(ctx, c, n, &got);
				c[i] ^= (uint8_t)x;
				never = never && st != COOKIE_OK;
				exact = exact && st == (i < 4 ? COOKIE_UNKNOWN_KEY : COOKIE_BAD);
				zeroed = zeroed && wiped(&got);
			}
		tap_ok(never,
		       "AEAD %u: every change of any one of %zu bytes to any other value fails", id,
		       n);
		tap_ok(exact, "AEAD %u: ... as UNKNOWN_KEY in the key id, BAD elsewhere", id);
		tap_ok(zeroed, "AEAD %u: ... and leaves the output keys zeroed", id);
		tap_ok(cookie_open(ctx, c, n, &got) == COOKIE_OK,
		       "AEAD %u: the untouched cookie still opens", id);
		bool trunc = true;
		for (size_t l = 0; l < n; l++)
			trunc = trunc && cookie_open(ctx, c, l, &got) == COOKIE_BAD && wiped(&got);
		tap_ok(trunc, "AEAD %u: truncation to each of the %zu shorter lengths fails", id,
		       n);
		c[n] = 0;
		c[n + 1] = 0;
		c[n + 2] = 0;
		c[n + 3] = 0;
		bool ext = cookie_open(ctx, c, n + 1, &got) == COOKIE_BAD &&
		           cookie_open(ctx, c, n + 4, &got) == COOKIE_BAD;
		c[n] = 0x5a;
		ext = ext && cookie_open(ctx, c, n + 1, &got) == COOKIE_BAD;
		tap_ok(ext, "AEAD %u: a cookie extended by 1 or 4 bytes fails", id);
		tap_ok(cookie_open(octx, c, n, &got) == COOKIE_UNKNOWN_KEY && wiped(&got),
		       "AEAD %u: another server's master keys do not know the key id", id);
	}

	random_keys(&k, AEAD_AES_SIV_CMAC_256);
	size_t n = cookie_seal(ctx, &k, c, sizeof(c));
	uint32_t absent = 1;
	while (masterkey_find(set, absent))
		absent++;
	store_be32(c, absent);
	tap_ok(cookie_open(ctx, c, n, &got) == COOKIE_UNKNOWN_KEY,
	       "an unknown key id: COOKIE_UNKNOWN_KEY");
	store_be32(c, 0);
	tap_ok(cookie_open(ctx, c, n, &got) == COOKIE_UNKNOWN_KEY, "key id 0: COOKIE_UNKNOWN_KEY");

	/* Two servers that happen to share a key id but not the key. */
	char p1[300], p2[300], line[200];
	uint8_t kb[MASTERKEY_LEN];
	snprintf(p1, sizeof(p1), "%s/k1", dir);
	snprintf(p2, sizeof(p2), "%s/k2", dir);
	const char *paths[2] = { p1, p2 };
	for (int f = 0; f < 2; f++) {
		int w = snprintf(line, sizeof(line), "4242 1000 ");
		secret_random(kb, sizeof(kb));
		for (size_t b = 0; b < sizeof(kb); b++)
			w += snprintf(line + w, sizeof(line) - (size_t)w, "%02x", kb[b]);
		snprintf(line + w, sizeof(line) - (size_t)w, "\n");
		FILE *fp = fopen(paths[f], "w");
		if (fp) {
			fputs(line, fp);
			fclose(fp);
		}
		chmod(paths[f], 0600);
	}
	char err[600];
	struct masterkey_set *s1 = masterkey_load(p1, err, sizeof(err)),
	                     *s2 = masterkey_load(p2, err, sizeof(err));
	struct cookie_ctx *c1 = cookie_ctx_new(s1), *c2 = cookie_ctx_new(s2);
	n = c1 ? cookie_seal(c1, &k, c, sizeof(c)) : 0;
	tap_ok(n && load_be32(c) == 4242 && cookie_open(c2, c, n, &got) == COOKIE_BAD &&
	               cookie_open(c1, c, n, &got) == COOKIE_OK,
	       "the same key id under a different master key: COOKIE_BAD");
	cookie_ctx_free(c1);
	cookie_ctx_free(c2);
	masterkey_set_free(s1);
	masterkey_set_free(s2);
	cookie_ctx_free(ctx);
	cookie_ctx_free(octx);
}

/* The rotation guarantee seen from cookies: a cookie sealed under a key
 * opens for keep-1 intervals after the key retired, then is UNKNOWN_KEY;
 * a context outlives the set it was built from. */
static void test_rotation(void)
{
	const int64_t iv = 86400, t0 = 1700000000;
	struct masterkey_set *set = masterkey_set_new();
	struct cookie_keys k, got;
	uint8_t c1[COOKIE_MAX_LEN], c2[COOKIE_MAX_LEN], c3[COOKIE_MAX_LEN];
	bool changed;

	random_keys(&k, AEAD_AES_SIV_CMAC_256);
	masterkey_rotate(set, t0, iv, MASTERKEY_KEEP, &changed);
	struct cookie_ctx *ctx1 = cookie_ctx_new(set);
	size_t n1 = cookie_seal(ctx1, &k, c1, sizeof(c1));

	masterkey_rotate(set, t0 + iv, iv, MASTERKEY_KEEP, &changed);
	struct cookie_ctx *ctx2 = cookie_ctx_new(set);
	size_t n2 = cookie_seal(ctx2, &k, c2, sizeof(c2));
	tap_ok(changed && ctx2 && load_be32(c2) != load_be32(c1) &&
	               load_be32(c2) == masterkey_current(set)->id,
	       "after a rotation new cookies use the new current key");
	tap_ok(cookie_open(ctx2, c1, n1, &got) == COOKIE_OK && same_keys(&k, &got),
	       "a cookie under the previous key still opens");
	tap_ok(cookie_open(ctx1, c2, n2, &got) == COOKIE_UNKNOWN_KEY,
	       "a context built before the rotation does not know the new key");

	masterkey_rotate(set, t0 + 3 * iv - 1, iv, MASTERKEY_KEEP, &changed);
	struct cookie_ctx *ctx3 = cookie_ctx_new(set);
	size_t n3 = cookie_seal(ctx3, &k, c3, sizeof(c3));
	tap_ok(cookie_open(ctx3, c1, n1, &got) == COOKIE_OK,
	       "just under keep-1 intervals after retiring, the first key's cookie still opens");
	masterkey_rotate(set, t0 + 3 * iv, iv, MASTERKEY_KEEP, &changed);
	struct cookie_ctx *ctx4 = cookie_ctx_new(set);
	tap_ok(changed && cookie_open(ctx4, c1, n1, &got) == COOKIE_UNKNOWN_KEY && wiped(&got),
	       "past keep: COOKIE_UNKNOWN_KEY");
	tap_ok(cookie_open(ctx4, c2, n2, &got) == COOKIE_OK &&
	               cookie_open(ctx4, c3, n3, &got) == COOKIE_OK,
	       "while cookies under still-kept keys open fine");
	masterkey_set_free(set);
	size_t n = cookie_seal(ctx4, &k, c1, sizeof(c1));
	tap_ok(n && cookie_open(ctx4, c1, n, &got) == COOKIE_OK && same_keys(&k, &got),
	       "a context keeps working after its master key set is freed");
	cookie_ctx_free(ctx1);
	cookie_ctx_free(ctx2);
	cookie_ctx_free(ctx3);
	cookie_ctx_free(ctx4);
}

/* Workers each own a context built from one shared set, all at once. */
struct worker {
	const struct masterkey_set *set;
	const uint8_t *foreign;
	size_t foreign_len;
	bool ok;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct cookie_ctx *ctx = cookie_ctx_new(w->set);
	struct cookie_keys k, got;
	uint8_t c[COOKIE_MAX_LEN];

	w->ok = ctx != NULL;
	for (int i = 0; w->ok && i < 2000; i++) {
		random_keys(&k, i % 2 ? AEAD_AES_SIV_CMAC_256 : AEAD_AES_SIV_CMAC_512);
		size_t n = cookie_seal(ctx, &k, c, sizeof(c));
		w->ok = n && cookie_open(ctx, c, n, &got) == COOKIE_OK && same_keys(&k, &got) &&
		        cookie_open(ctx, w->foreign, w->foreign_len, &got) == COOKIE_OK;
	}
	cookie_ctx_free(ctx);
	return NULL;
}

static void test_threads(struct masterkey_set *set)
{
	struct cookie_ctx *main_ctx = cookie_ctx_new(set);
	struct cookie_keys k;
	uint8_t c[COOKIE_MAX_LEN];
	struct worker w[4];
	pthread_t th[4];
	bool ok = true;

	random_keys(&k, AEAD_AES_SIV_CMAC_256);
	size_t n = cookie_seal(main_ctx, &k, c, sizeof(c));
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .set = set, .foreign = c, .foreign_len = n };
		ok = ok && pthread_create(&th[i], NULL, work, &w[i]) == 0;
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ok = ok && w[i].ok;
	}
	tap_ok(ok, "4 threads, each with its own context from one set, seal and open each other's "
	           "cookies");
	cookie_ctx_free(main_ctx);
}

int main(void)
{
	unsigned seed = (unsigned)time(NULL);
	const char *env = getenv("TEST_SEED");
	char dir[] = "/tmp/test_cookie.XXXXXX";

	if (env)
		seed = (unsigned)strtoul(env, NULL, 10);
	if (!secret_init() || !mkdtemp(dir))
		return 1;
	tap_diag("random seed %u (set TEST_SEED to repeat)", seed);
	srand(seed);

	/* A server's set of three keys, and another server's. */
	struct masterkey_set *set = masterkey_set_new(), *other = masterkey_set_new();
	for (int i = 0; i < 3; i++)
		masterkey_generate(set, 1000 + rand() % 1000 + i * 86400);
	masterkey_generate(other, 1000);
	tap_ok(set->n == 3 && other->n == 1, "master key sets");

	test_sizes();
	test_round_trips(set);
	test_format(set);
	test_seal_args(set);
	test_tamper(set, other, dir);
	test_rotation();
	test_threads(set);

	masterkey_set_free(set);
	masterkey_set_free(other);
	char cmd[100];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
