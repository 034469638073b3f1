/* keyfile: ntpd key file parsing, every diagnostic's text, lookups,
 * permissions. */
#include "crypto/keyfile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/secret.h"
#include "tap.h"

static struct keyfile *parse(const char *text, struct keyfile_errors *e)
{
	return keyfile_parse(text, strlen(text), e);
}

static bool key_is(const struct symkey *k, uint32_t id, enum mac_alg alg, const void *bytes,
                   size_t len)
{
	return k && k->id == id && k->alg == alg && k->len == len &&
	       memcmp(k->key, bytes, len) == 0;
}

static void test_good(void)
{
	static const char text[] =
	        "# ntp.keys written by hand\n"
	        "\n"
	        "   \t \n"
	        "10 MD5 abcdefghij\n"
	        "2 SHA1 0123456789abcdef0123456789abcdef01234567 # hex, 20 bytes\n"
	        "3\tAES128CMAC\t000102030405060708090A0B0C0D0E0F\r\n"
	        "  4 sha224 ~!$%^&*()_+{}|:\"<>?`   # ASCII punctuation\n"
	        "5 SHA256 0123456789abcdef0123#no space before comment\n"
	        "6 SHA384 k\n"
	        "7 SHA512 "
	        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
	        "8 M md5-by-letter\n"
	        "9 AES-128-CMAC 0123456789ABCDEF\n"
	        "11 aes 0123456789abcdef\n"
	        "12 AES-128 fedcba9876543210fedcba9876543210\n"
	        "13 SHA-256 shortkey\n"
	        "65535 SHA-1 last\n"
	        "1 md5 first"; /* no final newline */
	static const uint8_t k2[] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23,
		                      0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67 };
	static const uint8_t k3[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	static const uint8_t k12[] = { 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
		                       0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
	uint8_t k7[64];
	struct keyfile_errors e;
	struct keyfile *kf = parse(text, &e);
	bool sorted = true;

	for (size_t i = 0; i < 64; i++)
		k7[i] = (uint8_t)((i % 16) * 0x11);
	if (!tap_ok(kf && e.n == 0, "good file parses (%zu errors%s%s)", e.n, e.n ? ": " : "",
	            e.n ? e.v[0].msg : ""))
		return;
	tap_ok(!e.world_readable, "parsed text is never flagged world-readable");
	tap_ok(keyfile_count(kf) == 14, "14 keys (got %zu)", keyfile_count(kf));
	tap_ok(key_is(keyfile_get(kf, 10), 10, MAC_MD5, "abcdefghij", 10), "10: MD5 ASCII key");
	tap_ok(key_is(keyfile_get(kf, 2), 2, MAC_SHA1, k2, 20), "2: SHA1 hex key");
	tap_ok(key_is(keyfile_get(kf, 3), 3, MAC_AES128CMAC, k3, 16),
	       "3: AES128CMAC upper-case hex key, tabs, CRLF");
	tap_ok(key_is(keyfile_get(kf, 4), 4, MAC_SHA224, "~!$%^&*()_+{}|:\"<>?`", 20),
	       "4: SHA224 20-character punctuation key, leading blanks");
	tap_ok(key_is(keyfile_get(kf, 5), 5, MAC_SHA256, "0123456789abcdef0123", 20),
	       "5: 20 hex-looking characters are ASCII; '#' ends the key");
	tap_ok(key_is(keyfile_get(kf, 6), 6, MAC_SHA384, "k", 1), "6: SHA384 one-character key");
	tap_ok(key_is(keyfile_get(kf, 7), 7, MAC_SHA512, k7, 64), "7: SHA512 64-byte hex key");
	tap_ok(key_is(keyfile_get(kf, 8), 8, MAC_MD5, "md5-by-letter", 13), "8: type M is MD5");
	tap_ok(key_is(keyfile_get(kf, 9), 9, MAC_AES128CMAC, "0123456789ABCDEF", 16),
	       "9: AES-128-CMAC 16-character ASCII key");
	tap_ok(key_is(keyfile_get(kf, 11), 11, MAC_AES128CMAC, "0123456789abcdef", 16),
	       "11: type AES");
	tap_ok(key_is(keyfile_get(kf, 12), 12, MAC_AES128CMAC, k12, 16), "12: type AES-128");
	tap_ok(key_is(keyfile_get(kf, 13), 13, MAC_SHA256, "shortkey", 8), "13: type SHA-256");
	tap_ok(key_is(keyfile_get(kf, 65535), 65535, MAC_SHA1, "last", 4), "65535: highest id");
	tap_ok(key_is(keyfile_get(kf, 1), 1, MAC_MD5, "first", 5), "1: last line, no newline");
	for (size_t i = 1; i < keyfile_count(kf); i++)
		sorted = sorted && keyfile_at(kf, i - 1)->id < keyfile_at(kf, i)->id;
	tap_ok(sorted && keyfile_at(kf, 0)->id == 1 && keyfile_at(kf, 13)->id == 65535,
	       "keyfile_at lists in id order");
	tap_ok(keyfile_at(kf, 14) == NULL && keyfile_at(kf, SIZE_MAX) == NULL,
	       "keyfile_at past the end is NULL");
	static const uint32_t absent[] = { 0, 14, 100, 65534, 65536, 1u << 16 | 1, UINT32_MAX };
	bool none = true;
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		none = none && keyfile_get(kf, absent[i]) == NULL;
	tap_ok(none, "absent ids (0, 14, 100, 65534, 65536, 65537, UINT32_MAX) are NULL");
	keyfile_free(kf);

	kf = keyfile_parse("1 MD5 abcdef", 8, &e); /* "1 MD5 ab", not NUL-terminated */
	tap_ok(kf && key_is(keyfile_get(kf, 1), 1, MAC_MD5, "ab", 2), "length bounds the text");
	keyfile_free(kf);
	kf = keyfile_parse("", 0, &e);
	tap_ok(kf && e.n == 0 && keyfile_count(kf) == 0 && keyfile_get(kf, 1) == NULL &&
	               keyfile_at(kf, 0) == NULL,
	       "empty text: no keys, no errors");
	keyfile_free(kf);
	kf = parse("# only\n\n  # comments\n", NULL);
	tap_ok(kf && keyfile_count(kf) == 0, "comments only, NULL errs allowed");
	keyfile_free(kf);
	tap_ok(keyfile_get(NULL, 1) == NULL && keyfile_count(NULL) == 0 &&
	               keyfile_at(NULL, 0) == NULL,
	       "NULL keyfile lookups are safe");
	keyfile_free(NULL);
}

#define ACCEPTED_TYPES "MD5, SHA1, SHA224, SHA256, SHA384, SHA512, AES128CMAC"

/* One bad line (after a good one, so no partial result may come back):
 * the exact message and line, and the key material not in the text. */
static void test_errors(void)
{
	static const struct {
		const char *line, *msg, *secret;
	} v[] = {
		{ "x MD5 abc", "bad key id: not a decimal number; accepted: 1..65535", NULL },
		{ "-1 MD5 abc", "bad key id: not a decimal number; accepted: 1..65535", NULL },
		{ "+1 MD5 abc", "bad key id: not a decimal number; accepted: 1..65535", NULL },
		{ "0x10 MD5 abc", "bad key id: not a decimal number; accepted: 1..65535", NULL },
		{ "s3cretpw", "bad key id: not a decimal number; accepted: 1..65535", "s3cretpw" },
		{ "0 MD5 abc", "key id out of range; accepted: 1..65535", NULL },
		{ "65536 MD5 abc", "key id out of range; accepted: 1..65535", NULL },
		{ "99999999999999999999999 MD5 abc", "key id out of range; accepted: 1..65535",
		  NULL },
		{ "7", "missing key type and key; expected 'KEYID TYPE KEY'", NULL },
		{ "7   # no type", "missing key type and key; expected 'KEYID TYPE KEY'", NULL },
		{ "7 MD5", "missing key; expected 'KEYID TYPE KEY'", NULL },
		{ "7 MD5 #", "missing key; expected 'KEYID TYPE KEY'", NULL },
		{ "7 SHA3 abc", "unknown key type; accepted types: " ACCEPTED_TYPES, NULL },
		{ "7 SHA abc", "unknown key type; accepted types: " ACCEPTED_TYPES, NULL },
		{ "7 MX abc", "unknown key type; accepted types: " ACCEPTED_TYPES, NULL },
		{ "7 AES-256 abc", "unknown key type; accepted types: " ACCEPTED_TYPES, NULL },
		{ "7 MD5MD5MD5MD5MD5MD5 abc", "unknown key type; accepted types: " ACCEPTED_TYPES,
		  NULL },
		{ "7 hunter2hunter2 MD5", "unknown key type; accepted types: " ACCEPTED_TYPES,
		  "hunter2" },
		{ "7 MD5 ab\x01"
		  "cd",
		  "invalid character in key; a key of up to 20 characters is printable ASCII "
		  "without spaces or '#', a longer one is hex",
		  NULL },
		{ "7 MD5 caf\xc3\xa9",
		  "invalid character in key; a key of up to 20 characters is printable ASCII "
		  "without spaces or '#', a longer one is hex",
		  "caf" },
		{ "7 MD5 abc\x7f",
		  "invalid character in key; a key of up to 20 characters is printable ASCII "
		  "without spaces or '#', a longer one is hex",
		  "abc" },
		{ "7 SHA1 0123456789abcdef0123456789abcdefg1234567",
		  "bad hex key: a key longer than 20 characters must be hex digits only",
		  "0123456789ab" },
		{ "7 SHA1 thisisaverylongpassword",
		  "bad hex key: a key longer than 20 characters must be hex digits only",
		  "password" },
		{ "7 SHA1 0123456789abcdef01234", "bad hex key: odd number of hex digits (21)",
		  "0123456789" },
		{ "7 SHA512 "
		  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
		  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00",
		  "key too long: 65 bytes; at most 64 (128 hex digits)", "00112233" },
		{ "7 AES128CMAC 0123456789abcde",
		  "AES128CMAC key must be 16 bytes (32 hex digits or 16 ASCII characters), not 15",
		  "0123456789abcde" },
		{ "7 AES128CMAC 0123456789abcdef0",
		  "AES128CMAC key must be 16 bytes (32 hex digits or 16 ASCII characters), not 17",
		  "0123456789abcdef0" },
		{ "7 AES 000102030405060708090a0b0c0d0e",
		  "AES128CMAC key must be 16 bytes (32 hex digits or 16 ASCII characters), not 15",
		  "0001020304" },
		{ "7 AES 000102030405060708090a0b0c0d0e0f10",
		  "AES128CMAC key must be 16 bytes (32 hex digits or 16 ASCII characters), not 17",
		  "0001020304" },
		{ "7 MD5 abc def",
		  "unexpected text after the key (per-key address lists are not supported); a "
		  "comment starts with '#'",
		  "abc" },
		{ "7 MD5 k3yv4lue 10.0.0.1,10.0.0.2",
		  "unexpected text after the key (per-key address lists are not supported); a "
		  "comment starts with '#'",
		  "k3yv4lue" },
		{ "7 MD5 pass word # split key",
		  "unexpected text after the key (per-key address lists are not supported); a "
		  "comment starts with '#'",
		  "word" },
	};
	char text[512];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct keyfile_errors e;
		struct keyfile *kf;
		bool leak = false;

		snprintf(text, sizeof(text), "1 MD5 good\n%s\n2 SHA1 alsogood\n", v[i].line);
		kf = parse(text, &e);
		for (size_t j = 0; v[i].secret && j < e.n && j < 32; j++)
			leak = leak || strstr(e.v[j].msg, v[i].secret);
		tap_ok(!kf && e.n == 1 && e.v[0].line == 2 && strcmp(e.v[0].msg, v[i].msg) == 0 &&
		               !leak,
		       "error %zu: line 2: %s", i, e.n ? e.v[0].msg : "(none)");
		keyfile_free(kf);
	}

	/* Boundaries that must pass: 128 hex digits, 22 hex digits (11
	 * bytes), 32 hex and 16 ASCII for CMAC. */
	struct keyfile_errors e;
	struct keyfile *kf =
	        parse("1 SHA512 "
	              "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	              "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
	              "2 MD5 0123456789abcdef012345\n"
	              "3 AES128CMAC 00112233445566778899aabbccddeeff\n"
	              "4 AES128CMAC sixteen-chars-ok\n",
	              &e);
	tap_ok(kf && keyfile_get(kf, 1)->len == 64 && keyfile_get(kf, 2)->len == 11 &&
	               keyfile_get(kf, 3)->len == 16 && keyfile_get(kf, 4)->len == 16,
	       "boundaries: 64-byte hex, 22 hex digits = 11 bytes, CMAC 32 hex / 16 ASCII");
	keyfile_free(kf);

	/* Embedded NUL bytes: in the id, the type and the key. */
	static const char nul_id[] = "1\0 MD5 abc\n", nul_type[] = "1 MD\0 abc\n",
	                  nul_key[] = "1 MD5 a\0c\n";
	kf = keyfile_parse(nul_id, sizeof(nul_id) - 1, &e);
	tap_ok(!kf && e.n == 1 && strstr(e.v[0].msg, "bad key id"), "NUL in the id: %s",
	       e.n ? e.v[0].msg : "");
	kf = keyfile_parse(nul_type, sizeof(nul_type) - 1, &e);
	tap_ok(!kf && e.n == 1 && strstr(e.v[0].msg, "unknown key type"), "NUL in the type: %s",
	       e.n ? e.v[0].msg : "");
	kf = keyfile_parse(nul_key, sizeof(nul_key) - 1, &e);
	tap_ok(!kf && e.n == 1 && strstr(e.v[0].msg, "invalid character"), "NUL in the key: %s",
	       e.n ? e.v[0].msg : "");
}

static void test_duplicates(void)
{
	struct keyfile_errors e;
	struct keyfile *kf = parse("# keys\n"
	                           "5 MD5 one\n"
	                           "6 MD5 two\n"
	                           "\n"
	                           "5 SHA1 three\n"
	                           "7 SHA9 bad\n"
	                           "7 MD5 four\n"
	                           "5 MD5 five\n"
	                           "0005 MD5 six\n",
	                           &e);

	static const struct {
		unsigned line;
		const char *msg;
	} want[] = {
		{ 5, "duplicate key id 5 (first defined on line 2)" },
		{ 6, "unknown key type; accepted types: " ACCEPTED_TYPES },
		{ 7, "duplicate key id 7 (first defined on line 6)" }, /* a bad first line counts */
		{ 8, "duplicate key id 5 (first defined on line 2)" },
		{ 9, "duplicate key id 5 (first defined on line 2)" }, /* 0005 is 5 */
	};

	tap_ok(!kf && e.n == 5, "duplicates: 5 errors (got %zu)", e.n);
	for (size_t i = 0; i < 5 && i < e.n; i++)
		tap_ok(e.v[i].line == want[i].line && strcmp(e.v[i].msg, want[i].msg) == 0,
		       "line %u: %s", e.v[i].line, e.v[i].msg);
}

static void test_many_errors(void)
{
	char *text = malloc(40 * 16 + 32);
	size_t off = 0;
	struct keyfile_errors e;
	struct keyfile *kf;
	bool lines = true;

	if (!text)
		abort();
	off += (size_t)snprintf(text, 32, "1 MD5 ok\n");
	for (int i = 0; i < 40; i++)
		off += (size_t)snprintf(text + off, 16, "x MD5 k%d\n", i);
	kf = keyfile_parse(text, off, &e);
	for (size_t i = 0; i < 32; i++)
		lines = lines && e.v[i].line == i + 2 && strncmp(e.v[i].msg, "bad key id", 10) == 0;
	tap_ok(!kf && e.n == 40 && lines, "40 bad lines: all counted (%zu), first 32 kept in order",
	       e.n);
	free(text);
}

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Thousands of ids in random order: every present id is found with its
 * own key, every absent id in 0..65536 is not. */
static void test_bsearch(uint64_t seed)
{
	static uint8_t used[65536];
	size_t cap = 6000 * 64, off = 0, n = 0;
	char *text = malloc(cap);
	uint64_t st = seed;
	struct keyfile_errors e;
	struct keyfile *kf;
	size_t bad = 0, wrong_absent = 0;

	if (!text)
		abort();
	memset(used, 0, sizeof(used));
	while (n < 5000) {
		uint32_t id = (uint32_t)(xs(&st) % 65535) + 1;
		if (used[id])
			continue;
		used[id] = 1;
		n++;
		off += (size_t)snprintf(text + off, cap - off, "%" PRIu32 " %s k%" PRIu32 "x\n", id,
		                        id % 2 ? "SHA256" : "MD5", id);
	}
	kf = keyfile_parse(text, off, &e);
	if (!tap_ok(kf && keyfile_count(kf) == 5000, "5000 random ids parse (%zu errors)", e.n)) {
		free(text);
		return;
	}
	for (uint32_t id = 0; id <= 65536; id++) {
		const struct symkey *k = keyfile_get(kf, id);
		if (id < 65536 && used[id]) {
			char want[16];
			int wl = snprintf(want, sizeof(want), "k%" PRIu32 "x", id);
			if (!key_is(k, id, id % 2 ? MAC_SHA256 : MAC_MD5, want, (size_t)wl))
				bad++;
		} else if (k) {
			wrong_absent++;
		}
	}
	tap_ok(bad == 0, "every present id found with its key (%zu wrong)", bad);
	tap_ok(wrong_absent == 0, "every absent id in 0..65536 is NULL (%zu wrong)", wrong_absent);
	keyfile_free(kf);
	free(text);
}

static void test_load(void)
{
	char dir[] = "/tmp/test_keyfile.XXXXXX", path[64], missing[80];
	struct keyfile_errors e;
	struct keyfile *kf;
	FILE *f;

	if (!tap_ok(mkdtemp(dir) != NULL, "temp dir"))
		return;
	snprintf(path, sizeof(path), "%s/ntp.keys", dir);
	snprintf(missing, sizeof(missing), "%s/absent.keys", dir);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs("# test\n1 MD5 abcdefghij\n3 AES128CMAC 000102030405060708090a0b0c0d0e0f\n", f);
	fclose(f);

	chmod(path, 0600);
	kf = keyfile_load(path, &e);
	tap_ok(kf && e.n == 0 && !e.world_readable && keyfile_count(kf) == 2 &&
	               key_is(keyfile_get(kf, 1), 1, MAC_MD5, "abcdefghij", 10),
	       "load 0600 file: 2 keys, not world-readable");
	keyfile_free(kf);
	static const mode_t open_modes[] = { 0604, 0601, 0644, 0666 };
	for (size_t i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
		chmod(path, open_modes[i]);
		kf = keyfile_load(path, &e);
		tap_ok(kf && e.n == 0 && e.world_readable && e.mode == open_modes[i] &&
		           e.group_readable == ((open_modes[i] & 070) != 0),
		       "load %04o file: flagged world_readable, mode reported",
		       (unsigned)open_modes[i]);
		keyfile_free(kf);
	}
	static const mode_t group_modes[] = { 0640, 0610 };
	for (size_t i = 0; i < sizeof(group_modes) / sizeof(group_modes[0]); i++) {
		chmod(path, group_modes[i]);
		kf = keyfile_load(path, &e);
		tap_ok(kf && e.n == 0 && !e.world_readable && e.group_readable &&
		           e.mode == group_modes[i],
		       "load %04o file (root:ntsd style): group_readable, not world_readable",
		       (unsigned)group_modes[i]);
		keyfile_free(kf);
	}
	chmod(path, 0400);
	kf = keyfile_load(path, &e);
	tap_ok(kf && !e.world_readable && !e.group_readable, "load 0400 file: not flagged");
	keyfile_free(kf);

	kf = keyfile_load(missing, &e);
	tap_ok(!kf && e.n == 1 && e.v[0].line == 0 &&
	               strcmp(e.v[0].msg, "cannot open: No such file or directory") == 0,
	       "missing file: line 0: %s", e.n ? e.v[0].msg : "");
	char want[128];
	snprintf(want, sizeof(want), "cannot open: %s", strerror(ENOENT));
	tap_ok(e.n == 1 && strcmp(e.v[0].msg, want) == 0, "missing file message uses strerror");
	kf = keyfile_load(dir, &e);
	tap_ok(!kf && e.n == 1 && e.v[0].line == 0 && strcmp(e.v[0].msg, "not a regular file") == 0,
	       "directory: line 0: %s", e.n ? e.v[0].msg : "");

	f = fopen(path, "w");
	if (!f)
		abort();
	fputs("1 MD5 ok\n2 BOGUS k\n\n4 AES128CMAC short\n", f);
	fclose(f);
	chmod(path, 0644);
	kf = keyfile_load(path, &e);
	tap_ok(!kf && e.n == 2 && e.v[0].line == 2 && e.v[1].line == 4 && e.world_readable,
	       "load reports every bad line (2 and 4) and still flags permissions");
	unlink(path);
	rmdir(dir);
}

/* Edge inputs. tests/fuzz/fuzz_keyfile.c found no crash (3.2 million
 * runs, 60 s); inputs it finds in future belong here too. */
static void test_edges(void)
{
	struct keyfile_errors e;
	struct keyfile *kf;
	static const char only_hash[] = "#";
	static const char lone_cr[] = "\r";
	static const char id_then_nul[] = "1 \0";

	kf = keyfile_parse(only_hash, 1, &e);
	tap_ok(kf && e.n == 0 && keyfile_count(kf) == 0, "edge: lone '#'");
	keyfile_free(kf);
	kf = keyfile_parse(lone_cr, 1, &e);
	tap_ok(kf && e.n == 0, "edge: lone CR");
	keyfile_free(kf);
	kf = keyfile_parse(id_then_nul, sizeof(id_then_nul) - 1, &e);
	tap_ok(!kf && e.n == 1 && strncmp(e.v[0].msg, "unknown key type", 16) == 0,
	       "edge: NUL as the type: %s", e.n ? e.v[0].msg : "");
}

int main(void)
{
	uint64_t seed = 0;
	const char *env = getenv("TEST_SEED");

	if (!tap_ok(secret_init(), "secret_init"))
		return tap_done();
	if (env)
		seed = strtoull(env, NULL, 0);
	while (seed == 0)
		secret_random(&seed, sizeof(seed));
	tap_diag("seed %" PRIu64 " (set TEST_SEED to repeat)", seed);
	test_good();
	test_errors();
	test_duplicates();
	test_many_errors();
	test_bsearch(seed);
	test_load();
	test_edges();
	return tap_done();
}
