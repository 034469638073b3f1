/* Master keys: generation, the rotation schedule and its guarantee (with a
 * fake clock), file round trip and mode, every load error with its line
 * number, and masterkey_file_sync: creation, two servers converging on one
 * shared file, the lock, and corrupt files left untouched. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/masterkey.h"
#include "crypto/secret.h"
#include "tap.h"

#define I 100 /* rotation interval in these tests */

static char dir[] = "/tmp/test_masterkey.XXXXXX";
static const char key_a[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static const char *at(const char *name)
{
	static char paths[4][256];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	return p;
}

static bool write_file(const char *path, const void *text, size_t len, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return false;
	bool ok = write(fd, text, len) == (ssize_t)len;
	close(fd);
	return ok && chmod(path, mode) == 0;
}

static bool write_text(const char *path, const char *text)
{
	return write_file(path, text, strlen(text), 0600);
}

/* Whole file into buf (NUL-terminated); its length, or -1. */
static long read_all(const char *path, char *buf, size_t max)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, max - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (long)n;
}

static bool same_set(const struct masterkey_set *a, const struct masterkey_set *b)
{
	if (!a || !b || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->k[i].id != b->k[i].id || a->k[i].created != b->k[i].created ||
		    memcmp(a->k[i].key, b->k[i].key, MASTERKEY_LEN) != 0)
			return false;
	return true;
}

static bool ids_unique(const struct masterkey_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->k[i].id == 0)
			return false;
		for (size_t j = i + 1; j < s->n; j++)
			if (s->k[i].id == s->k[j].id)
				return false;
	}
	return true;
}

static void test_generate(void)
{
	struct masterkey_set *s = masterkey_set_new();

	tap_ok(s && s->n == 0 && masterkey_current(s) == NULL && masterkey_find(s, 1) == NULL,
	       "a new set is empty");
	bool ok = true;
	for (int i = 0; i < 40; i++) {
		ok = ok && masterkey_generate(s, 1000 + i);
		ok = ok && masterkey_current(s)->created == 1000 + i &&
		     masterkey_current(s) == &s->k[s->n - 1];
	}
	tap_ok(ok, "each generated key becomes current");
	tap_ok(s->n == MASTERKEY_MAX && s->k[0].created == 1000 + 40 - MASTERKEY_MAX,
	       "a full set drops its oldest key (n %zu, oldest created %" PRId64 ")", s->n,
	       s->k[0].created);
	tap_ok(ids_unique(s), "ids are non-zero and unique");
	bool found = true;
	for (size_t i = 0; i < s->n; i++)
		found = found && masterkey_find(s, s->k[i].id) == &s->k[i];
	tap_ok(found && masterkey_find(s, 0) == NULL,
	       "find returns each key by id, nothing for id 0");
	uint32_t absent = 1;
	while (masterkey_find(s, absent))
		absent++;
	tap_ok(masterkey_find(s, absent) == NULL, "find returns NULL for an id not in the set");
	bool distinct = true;
	for (size_t i = 1; i < s->n; i++)
		distinct = distinct && memcmp(s->k[i].key, s->k[i - 1].key, MASTERKEY_LEN) != 0;
	tap_ok(distinct, "key bytes are random");

	struct masterkey_set *c = masterkey_set_clone(s);
	tap_ok(same_set(c, s) && c->k[0].key != s->k[0].key, "clone is a deep copy");
	masterkey_set_free(c);
	tap_ok(masterkey_set_clone(NULL) == NULL, "clone of NULL is NULL");
	masterkey_set_free(s);
	masterkey_set_free(NULL);
}

static void test_schedule(void)
{
	struct masterkey_set *s = masterkey_set_new();
	bool changed;

	tap_ok(masterkey_rotate(s, 5000, I, 3, &changed) && changed && s->n == 1 &&
	               s->k[0].created == 5000,
	       "the first rotation creates a key");
	uint32_t first = s->k[0].id;
	tap_ok(masterkey_rotate(s, 5000 + I - 1, I, 3, &changed) && !changed && s->n == 1,
	       "no rotation before the interval");
	tap_ok(masterkey_rotate(s, 5000 + I, I, 3, &changed) && changed && s->n == 2 &&
	               masterkey_current(s)->created == 5000 + I && s->k[0].id == first &&
	               ids_unique(s),
	       "rotation at the interval; the new key is current, the old one kept");
	masterkey_rotate(s, 5000 + 2 * I, I, 3, &changed);
	tap_ok(s->n == 3 && s->k[0].id == first, "three keys after two rotations");
	masterkey_rotate(s, 5000 + 3 * I - 1, I, 3, &changed);
	tap_ok(!changed && s->n == 3 && s->k[0].id == first,
	       "a retired key stays until its successor has been current for keep-1 intervals");
	masterkey_rotate(s, 5000 + 3 * I, I, 3, &changed);
	tap_ok(changed && s->n == 3 && s->k[0].created == 5000 + I &&
	               masterkey_find(s, first) == NULL,
	       "then it is dropped (and a new key made)");
	masterkey_set_free(s);

	/* A server down for longer than the interval: the key it comes back
	 * with retires late, and still gets its full grace. */
	s = masterkey_set_new();
	masterkey_rotate(s, 0, I, 3, &changed);
	first = s->k[0].id;
	masterkey_rotate(s, 250, I, 3, &changed);
	tap_ok(changed && s->n == 2, "a late rotation after downtime");
	masterkey_rotate(s, 250 + 2 * I - 1, I, 3, &changed);
	bool kept = masterkey_find(s, first) != NULL;
	masterkey_rotate(s, 250 + 2 * I, I, 3, &changed);
	tap_ok(kept && masterkey_find(s, first) == NULL,
	       "the key it replaced is kept for 2 intervals from then, not from its creation");
	masterkey_rotate(s, 250 + 50 * I, I, 3, &changed);
	/* The key made at 250 + 2I - 1 was current until now. */
	tap_ok(changed && s->n == 2 && masterkey_current(s)->created == 250 + 50 * I &&
	               s->k[0].created == 250 + 2 * I - 1,
	       "after a long pause the last current key is still kept with the new one");
	masterkey_set_free(s);

	/* Clocks. */
	s = masterkey_set_new();
	masterkey_rotate(s, 10000, I, 3, &changed);
	masterkey_rotate(s, 10000 - I + 1, I, 3, &changed);
	tap_ok(!changed && s->n == 1, "a clock stepped back less than an interval changes nothing");
	masterkey_rotate(s, 5000, I, 3, &changed);
	tap_ok(changed && s->n == 2 && masterkey_current(s)->created == 5000,
	       "a current key from more than an interval in the future is replaced");
	masterkey_rotate(s, 5000 + 2 * I, I, 3, &changed);
	tap_ok(s->n == 2 && s->k[0].created == 5000,
	       "the future-dated key is dropped on schedule, not kept until its date");
	masterkey_set_free(s);

	/* keep and interval limits. */
	s = masterkey_set_new();
	masterkey_rotate(s, 0, I, 1, &changed);
	masterkey_rotate(s, I, I, 1, &changed);
	tap_ok(s->n == 1 && s->k[0].created == I, "keep 1: a key goes as soon as it retires");
	masterkey_rotate(s, 2 * I, I, 0, &changed);
	tap_ok(s->n == 1 && s->k[0].created == 2 * I,
	       "keep 0 acts as keep 1; the current key stays");
	for (int t = 3; t < 60; t++)
		masterkey_rotate(s, t * I, I, 1000, &changed);
	tap_ok(s->n == MASTERKEY_MAX && ids_unique(s), "a huge keep is bounded by MASTERKEY_MAX");
	struct masterkey_set *before = masterkey_set_clone(s);
	changed = true;
	tap_ok(!masterkey_rotate(s, 1000 * I, 0, 3, &changed) && !changed && same_set(s, before),
	       "interval 0 is refused, set unchanged");
	tap_ok(!masterkey_rotate(s, 1000 * I, -5, 3, &changed) && same_set(s, before),
	       "a negative interval is refused");
	tap_ok(!masterkey_rotate(s, 1000 * I, MASTERKEY_MAX_INTERVAL + 1, 3, &changed) &&
	               masterkey_rotate(s, 1000 * I, MASTERKEY_MAX_INTERVAL, 3, &changed),
	       "intervals up to MASTERKEY_MAX_INTERVAL are accepted, not beyond");
	tap_ok(masterkey_rotate(s, INT64_MAX, I, 3, &changed) &&
	               masterkey_rotate(s, INT64_MIN, I, 3, &changed) && s->n >= 1,
	       "extreme clock values do not overflow");
	masterkey_set_free(before);
	masterkey_set_free(s);
}

/* The documented guarantee, over random clock steps (some far longer
 * than the interval): a key is present for keep-1 intervals after it
 * stopped being current, and the set never grows past keep. */
static void test_guarantee(unsigned seed)
{
	struct retired {
		uint32_t id;
		int64_t retired;
	} hist[4096];
	size_t nh = 0;
	struct masterkey_set *s = masterkey_set_new();
	bool changed, ok = true, bounded = true, fresh = true;
	int64_t now = 1000000;
	unsigned keep = 3;

	srand(seed);
	for (int step = 0; step < 3000 && nh < 4000; step++) {
		int r = rand() % 100;
		now += r < 90 ? rand() % (I / 2) : r < 98 ? rand() % (3 * I) : rand() % (20 * I);
		const struct masterkey *prev = masterkey_current(s);
		uint32_t prev_id = prev ? prev->id : 0;
		masterkey_rotate(s, now, I, keep, &changed);
		const struct masterkey *cur = masterkey_current(s);
		fresh = fresh && now - cur->created < I;
		if (cur->id != prev_id)
			hist[nh++] = (struct retired){ cur->id, INT64_MAX };
		if (nh >= 2 && hist[nh - 2].retired == INT64_MAX)
			hist[nh - 2].retired = cur->created;
		for (size_t h = 0; h + 1 < nh; h++)
			if (now - hist[h].retired < (int64_t)(keep - 1) * I &&
			    !masterkey_find(s, hist[h].id))
				ok = false;
		bounded = bounded && s->n <= keep && ids_unique(s);
	}
	tap_ok(ok, "every key stays keep-1 intervals after retiring (%zu keys, seed %u)", nh, seed);
	tap_ok(bounded, "the set never holds more than keep keys");
	tap_ok(fresh, "the current key is always younger than the interval");
	masterkey_set_free(s);
}

static void test_file(void)
{
	char err[2048], buf[20000];
	const char *path = at("keys");
	struct masterkey_set *s = masterkey_set_new();
	bool changed;

	for (int t = 0; t < 3; t++)
		masterkey_rotate(s, 1700000000 + t * 86400, 86400, 3, &changed);
	mode_t old = umask(0);
	tap_ok(masterkey_save(s, path, err, sizeof(err)), "save");
	umask(old);
	struct stat st;
	tap_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	       "the file is 0600 even with umask 0");
	long len = read_all(path, buf, sizeof(buf));
	int lines = 0;
	for (long i = 0; i < len; i++)
		lines += buf[i] == '\n';
	tap_ok(len > 0 && !strncmp(buf, "# ntsd master keys v1\n", 22) && lines == 4,
	       "the file starts with a header naming the format, then one line per key");
	struct masterkey_set *l = masterkey_load(path, err, sizeof(err));
	tap_ok(same_set(l, s), "load returns what was saved");
	masterkey_set_free(l);

	static const mode_t bad_modes[] = { 0640, 0604, 0620, 0602, 0660, 0666, 0610 };
	for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		char want[64];
		chmod(path, bad_modes[i]);
		snprintf(want, sizeof(want), "mode %04o", (unsigned)bad_modes[i]);
		l = masterkey_load(path, err, sizeof(err));
		tap_ok(!l && strstr(err, want) && strstr(err, "chmod 600"),
		       "mode %04o is refused: %s", (unsigned)bad_modes[i], err);
		masterkey_set_free(l);
	}
	chmod(path, 0400);
	l = masterkey_load(path, err, sizeof(err));
	tap_ok(same_set(l, s), "a read-only 0400 file loads");
	masterkey_set_free(l);
	masterkey_set_free(s);

	/* The longest lines (regression: a too small save buffer). */
	char text[4096];
	int w = snprintf(text, sizeof(text), "# ntsd master keys v1\n");
	for (unsigned i = 0; i < MASTERKEY_MAX; i++)
		w += snprintf(text + w, sizeof(text) - (size_t)w, "%u %" PRId64 " %s\n",
		              4294967295u - i, INT64_MAX - (int64_t)(MASTERKEY_MAX - i), key_a);
	write_text(at("long"), text);
	s = masterkey_load(at("long"), err, sizeof(err));
	tap_ok(s && s->n == MASTERKEY_MAX && s->k[0].id == 4294967295u &&
	               masterkey_save(s, at("long2"), err, sizeof(err)),
	       "16 keys with the largest ids and times load and save");
	l = masterkey_load(at("long2"), err, sizeof(err));
	tap_ok(same_set(l, s) && read_all(at("long2"), buf, sizeof(buf)) == w,
	       "and round-trip byte for byte");
	masterkey_set_free(l);
	masterkey_set_free(s);

	/* Lenient where it is harmless. */
	snprintf(text, sizeof(text),
	         "# ntsd master keys v1 \r\n\n# a comment\n   \n\t7\t 12  %s \r\n"
	         "8 13 00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff",
	         key_a);
	write_text(at("lenient"), text);
	s = masterkey_load(at("lenient"), err, sizeof(err));
	tap_ok(s && s->n == 2 && s->k[0].id == 7 && s->k[0].created == 12 && s->k[1].id == 8 &&
	               masterkey_current(s) == &s->k[1] && s->k[0].key[1] == 0x11 &&
	               s->k[1].key[10] == 0xaa && !memcmp(s->k[0].key, s->k[1].key, MASTERKEY_LEN),
	       "comments, blank lines, tabs, CRLF, upper-case hex and a missing final newline "
	       "load");
	masterkey_set_free(s);
}

/* Each malformed file is refused with PATH:LINE: error: and the reason,
 * never quoting the key. */
static void load_error(const char *text, size_t len, const char *line, const char *want,
                       const char *what)
{
	char err[1024] = "", prefix[300];
	const char *path = at("bad");

	write_file(path, text, len, 0600);
	snprintf(prefix, sizeof(prefix), "%s%s: error: ", path, line);
	struct masterkey_set *s = masterkey_load(path, err, sizeof(err));
	tap_ok(!s && !strncmp(err, prefix, strlen(prefix)) && strstr(err, want) &&
	               !strstr(err, "8899aabb"),
	       "%s: %s", what, err);
	masterkey_set_free(s);
}

static void test_load_errors(void)
{
	char big[20000], err[1024];
	const char *k = key_a;
	struct {
		const char *text, *line, *want, *what;
	} cases[] = {
		{ "# ntsd master keys v1\n12 34\n", ":2", "missing fields",
		  "a line without a key" },
		{ "12\n", ":1", "missing fields", "a line with only an id" },
		{ "abc 1 KEY\n", ":1", "bad key id; expected a number from 1 to 4294967295",
		  "a non-numeric id" },
		{ "0 1 KEY\n", ":1", "bad key id", "id 0" },
		{ "4294967296 1 KEY\n", ":1", "bad key id", "an id above 2^32-1" },
		{ "-5 1 KEY\n", ":1", "bad key id", "a negative id" },
		{ "+5 1 KEY\n", ":1", "bad key id", "a signed id" },
		{ "0x10 1 KEY\n", ":1", "bad key id", "a hex id" },
		{ "5 -1 KEY\n", ":1", "bad creation time; expected Unix seconds",
		  "a negative time" },
		{ "5 12x KEY\n", ":1", "bad creation time", "a bad time" },
		{ "5 9223372036854775808 KEY\n", ":1", "bad creation time", "a time beyond int64" },
		{ "5 1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeezz\n", ":1",
		  "bad key; expected 64 hex digits", "bad hex" },
		{ "5 1 0011\n", ":1", "bad key length (4 hex digits); expected 64", "a short key" },
		{ "5 1 KEY00\n", ":1", "bad key length (66 hex digits)", "a long key" },
		{ "5 1 KEY extra\n", ":1", "unexpected text after the key", "trailing text" },
		{ "\n\n5 1 KEY\n# x\n5 2 KEY\n", ":5", "duplicate key id 5", "a duplicate id" },
		{ "# ntsd master keys v2\n5 1 KEY\n", ":1", "unsupported file format version",
		  "format v2" },
		{ "# ntsd master keys v\n5 1 KEY\n", ":1", "unsupported file format version",
		  "format without version" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[600];
		size_t n = 0;
		for (const char *src = cases[i].text; *src && n + 70 < sizeof(text); src++) {
			if (!strncmp(src, "KEY", 3)) {
				n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", k);
				src += 2;
			} else {
				text[n++] = *src;
			}
		}
		load_error(text, n, cases[i].line, cases[i].want, cases[i].what);
	}

	int w = snprintf(big, sizeof(big), "# ntsd master keys v1\n");
	for (int i = 1; i <= MASTERKEY_MAX + 1; i++)
		w += snprintf(big + w, sizeof(big) - (size_t)w, "%d 1 %s\n", i, k);
	load_error(big, (size_t)w, ":18", "more than 16 keys", "17 keys");

	char nul[200];
	w = snprintf(nul, sizeof(nul), "# ntsd master keys v1\n1 1 %s\n", k);
	memset(nul + w, 0, 40);
	load_error(nul, (size_t)w + 40, ":3", "NUL byte; the file is corrupt",
	           "zero-filled blocks");
	load_error("", 0, "", "no keys", "an empty file");
	load_error("# ntsd master keys v1\n# nothing\n", 32, "", "no keys", "only comments");
	memset(big, '#', sizeof(big));
	load_error(big, 16385, "", "larger than 16384 bytes", "an oversized file");

	/* Every error is reported, one per line, not only the first. */
	w = snprintf(big, sizeof(big), "1 1 %s\nx 1 %s\n3 1 %s\n4 y %s\n5 1 00\n", k, k, k, k);
	write_text(at("many"), big);
	struct masterkey_set *s = masterkey_load(at("many"), err, sizeof(err));
	char *l2 = strstr(err, ":2: error: bad key id"),
	     *l4 = strstr(err, ":4: error: bad creation"),
	     *l5 = strstr(err, ":5: error: bad key length");
	bool all = !s && l2 && l4 && l5 && l2 < l4 && l4 < l5 && strchr(err, '\n') &&
	           !strstr(err, ":1:") && !strstr(err, ":3:");
	for (char *nl = strchr(err, '\n'); nl; nl = strchr(nl, '\n'))
		*nl = '|';
	tap_ok(all, "every bad line is reported, in order, one per line: %s", err);
	masterkey_set_free(s);
	char tiny[24];
	memset(tiny, 'x', sizeof(tiny));
	s = masterkey_load(at("many"), tiny, 16);
	tap_ok(!s && strlen(tiny) == 15 && tiny[20] == 'x',
	       "a small error buffer truncates safely");
	s = masterkey_load(at("many"), NULL, 0);
	tap_ok(!s, "no error buffer at all is fine");

	s = masterkey_load(at("missing"), err, sizeof(err));
	tap_ok(!s && strstr(err, "missing: error: No such file"), "a missing file: %s", err);
	mkdir(at("adir"), 0700);
	s = masterkey_load(at("adir"), err, sizeof(err));
	tap_ok(!s && strstr(err, "not a regular file"), "a directory: %s", err);
	write_text(at("target"),
	           "1 1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	symlink(at("target"), at("link"));
	s = masterkey_load(at("link"), err, sizeof(err));
	tap_ok(!s && strstr(err, "link: error:"), "a symlink is not followed: %s", err);
}

static bool same_file(const char *path, const char *want, long want_len, mode_t mode)
{
	static char buf[20000];
	struct stat st;
	return read_all(path, buf, sizeof(buf)) == want_len &&
	       !memcmp(buf, want, (size_t)want_len) && stat(path, &st) == 0 &&
	       (st.st_mode & 0777) == mode;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_sync(void)
{
	char err[1024], lock[300];
	const char *path = at("shared");
	struct stat st, st2;
	bool changed;

	snprintf(lock, sizeof(lock), "%s.lock", path);
	struct masterkey_set *a = masterkey_file_sync(path, 1000, I, 3, &changed, err, sizeof(err));
	tap_ok(a && changed && a->n == 1 && a->k[0].created == 1000,
	       "A creates the missing file with one key");
	tap_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the created file is 0600");
	struct masterkey_set *l = masterkey_load(path, err, sizeof(err));
	tap_ok(same_set(l, a), "the returned set is what the file holds");
	masterkey_set_free(l);
	tap_ok(stat(lock, &st2) == 0 && (st2.st_mode & 0777) == 0600,
	       "a lock file PATH.lock is used");

	struct masterkey_set *b = masterkey_file_sync(path, 1010, I, 3, &changed, err, sizeof(err));
	stat(path, &st2);
	tap_ok(b && !changed && same_set(a, b), "B adopts A's key");
	tap_ok(st.st_ino == st2.st_ino, "a sync that changes nothing does not rewrite the file");
	masterkey_set_free(b);
	b = masterkey_file_sync(path, 1000 + I + 50, I, 3, &changed, err, sizeof(err));
	tap_ok(b && changed && b->n == 2 && b->k[0].id == a->k[0].id,
	       "B rotates when the interval is over");
	masterkey_set_free(a);
	a = masterkey_file_sync(path, 1000 + I + 60, I, 3, &changed, err, sizeof(err));
	tap_ok(a && !changed && same_set(a, b), "A picks up B's new key instead of making its own");

	/* Many syncs from both at random times: one set, one key per interval. */
	uint32_t seen[256];
	size_t n_seen = 0;
	bool converge = true;
	int64_t t = 1000 + I + 60;
	for (int i = 0; i < 300 && n_seen < 250; i++) {
		t += rand() % 30;
		struct masterkey_set **who = i % 2 ? &a : &b;
		masterkey_set_free(*who);
		*who = masterkey_file_sync(path, t, I, 3, &changed, err, sizeof(err));
		struct masterkey_set *other =
		        masterkey_file_sync(path, t, I, 3, &changed, err, sizeof(err));
		converge = converge && *who && same_set(*who, other) && !changed;
		masterkey_set_free(other);
		if (*who && (n_seen == 0 || seen[n_seen - 1] != masterkey_current(*who)->id))
			seen[n_seen++] = masterkey_current(*who)->id;
	}
	tap_ok(converge, "two instances syncing in turn always see the same set");
	tap_ok(n_seen <= (size_t)((t - 1000) / I) + 1,
	       "no more than one new key per interval (%zu keys over %" PRId64 " s)", n_seen,
	       t - 1000);

	/* The lock: held by someone else, sync waits; held too long, it gives up. */
	static char before[20000];
	long blen = read_all(path, before, sizeof(before));
	int fd = open(lock, O_RDWR);
	tap_ok(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "another process can take the lock");
	int64_t t0 = now_ms();
	l = masterkey_file_sync(path, t + 10 * I, I, 3, &changed, err, sizeof(err));
	int64_t waited = now_ms() - t0;
	tap_ok(!l && strstr(err, "still locked by another process") &&
	               waited >= MASTERKEY_LOCK_WAIT_MS && same_file(path, before, blen, 0600),
	       "sync gives up after %" PRId64 " ms without touching the file: %s", waited, err);
	close(fd);

	int pipefd[2];
	if (pipe(pipefd) != 0)
		return;
	pid_t child = fork();
	if (child == 0) {
		int cfd = open(lock, O_RDWR);
		char c = flock(cfd, LOCK_EX) == 0 ? 'y' : 'n';
		if (write(pipefd[1], &c, 1) != 1)
			_exit(1);
		nanosleep(&(struct timespec){ 0, 400 * 1000 * 1000 }, NULL);
		_exit(0);
	}
	char c = 0;
	if (read(pipefd[0], &c, 1) != 1)
		c = 0;
	t0 = now_ms();
	l = masterkey_file_sync(path, t + 10 * I, I, 3, &changed, err, sizeof(err));
	waited = now_ms() - t0;
	waitpid(child, NULL, 0);
	tap_ok(c == 'y' && l && changed && waited >= 300,
	       "sync waits for a lock holder that finishes (%" PRId64 " ms)", waited);
	masterkey_set_free(l);
	close(pipefd[0]);
	close(pipefd[1]);

	/* Files that do not load are errors and stay as they are. */
	blen = read_all(path, before, sizeof(before));
	struct {
		const char *what;
		long cut;
		const char *text;
		mode_t mode;
	} bad[] = {
		{ "garbage", -1, "garbage\n", 0600 },
		{ "a truncated file", blen - 10, NULL, 0600 },
		{ "an empty file", 0, NULL, 0600 },
		{ "a zero-filled file", -2, NULL, 0600 },
		{ "a file others can read", blen, NULL, 0644 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char content[20000];
		long len;
		if (bad[i].text) {
			len = (long)strlen(bad[i].text);
			memcpy(content, bad[i].text, (size_t)len);
		} else if (bad[i].cut == -2) {
			len = 200;
			memset(content, 0, (size_t)len);
		} else {
			len = bad[i].cut;
			memcpy(content, before, (size_t)len);
		}
		write_file(path, content, (size_t)len, bad[i].mode);
		l = masterkey_file_sync(path, t + 100 * I, I, 3, &changed, err, sizeof(err));
		tap_ok(!l && !changed && err[0] && same_file(path, content, len, bad[i].mode),
		       "%s is an error and is not overwritten: %s", bad[i].what, err);
		masterkey_set_free(l);
	}
	write_file(path, before, (size_t)blen, 0600);
	l = masterkey_file_sync(path, t, 0, 3, &changed, err, sizeof(err));
	tap_ok(!l && strstr(err, "cannot rotate") && same_file(path, before, blen, 0600),
	       "a bad interval is an error, file untouched: %s", err);
	l = masterkey_file_sync(at("nodir/keys"), t, I, 3, &changed, err, sizeof(err));
	tap_ok(!l && strstr(err, "nodir/keys.lock: error:"), "a missing directory is an error: %s",
	       err);

	masterkey_set_free(a);
	masterkey_set_free(b);
}

int main(void)
{
	unsigned seed = (unsigned)time(NULL);
	const char *env = getenv("TEST_SEED");

	if (env)
		seed = (unsigned)strtoul(env, NULL, 10);
	if (!secret_init() || !mkdtemp(dir))
		return 1;
	tap_diag("random seed %u (set TEST_SEED to repeat)", seed);
	test_generate();
	test_schedule();
	test_guarantee(seed);
	test_file();
	test_load_errors();
	srand(seed);
	test_sync();

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
