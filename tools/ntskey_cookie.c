/* ntskey cookie: the NTS cookie master key file that ntsd syncs
 * (crypto/masterkey.h). Changes are made under the same exclusive flock on
 * "FILE.lock" that masterkey_file_sync takes, so a running ntsd never
 * reads a half-made change and never overwrites ours; it adopts the new
 * set at its next sync (every --nts-check seconds, default 60).
 *
 * rotate only adds a key: every older key stays in the file, and ntsd's
 * own schedule drops a key only (MASTERKEY_KEEP - 1) intervals after its
 * successor was created, so cookies that clients already hold keep
 * opening (RFC 8915 §6 leaves key retention to the server). */
#include "config.h"

#include "tools/ntskey.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/masterkey.h"
#include "crypto/secret.h"

#define GRACE ((int64_t)(MASTERKEY_KEEP - 1) * MASTERKEY_INTERVAL)

static const char default_file[] = NTSD_STATEDIR "/nts-masterkeys";

static int lock_file(const char *path)
{
	char lock[4200];
	struct timespec start, now;
	int fd;

	if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock)) {
		ntskey_err("%s: error: path too long", path);
		return -1;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0) {
		ntskey_err("%s: error: cannot open the lock file: %s", lock, strerror(errno));
		return -1;
	}
	/* Bounded, like the daemon's: a hung holder must not hang us. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((errno != EWOULDBLOCK && errno != EINTR) || now.tv_sec - start.tv_sec >= 10) {
			ntskey_err("%s: error: cannot lock (held by another process?): %s", lock,
			           strerror(errno));
			close(fd);
			return -1;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
}

static void unlock_file(int fd)
{
	flock(fd, LOCK_UN);
	close(fd);
}

static struct masterkey_set *load(const char *path)
{
	char err[2048];
	struct masterkey_set *s = masterkey_load(path, err, sizeof(err));

	if (!s)
		ntskey_err("%s", err);
	return s;
}

enum status { ST_CURRENT, ST_VALID, ST_EXPIRED };

/* As masterkey_rotate will see it: key i stops being needed GRACE after
 * key i + 1 was created. */
static enum status status_of(const struct masterkey_set *s, size_t i, int64_t now, int64_t *until)
{
	if (i + 1 == s->n) {
		*until = s->k[i].created + MASTERKEY_INTERVAL;
		return ST_CURRENT;
	}
	*until = s->k[i + 1].created + GRACE;
	return now < *until ? ST_VALID : ST_EXPIRED;
}

static void fmt_utc(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "%" PRId64, t);
}

static int cmd_list(const char *path)
{
	struct masterkey_set *s = load(path);
	int64_t now = (int64_t)time(NULL), until;
	char created[64], when[64];
	static const char *names[] = { "current", "valid", "expired" };

	if (!s)
		return NTSKEY_EXIT_FAIL;
	printf("%-10s %-8s %-23s %-8s %s\n", "ID", "HEX", "CREATED", "STATUS", "UNTIL");
	for (size_t i = 0; i < s->n; i++) {
		enum status st = status_of(s, i, now, &until);
		fmt_utc(s->k[i].created, created, sizeof(created));
		fmt_utc(until, when, sizeof(when));
		printf("%-10" PRIu32 " %08" PRIx32 " %-23s %-8s %s%s\n", s->k[i].id, s->k[i].id,
		       created, names[st], st == ST_CURRENT ? "next rotation " : "", when);
	}
	printf("%zu key%s in %s (rotation every %d s, a key is kept %" PRId64
	       " s after its successor)\n",
	       s->n, s->n == 1 ? "" : "s", path, MASTERKEY_INTERVAL, (int64_t)GRACE);
	masterkey_set_free(s);
	return NTSKEY_EXIT_OK;
}

static int save(const struct masterkey_set *s, const char *path)
{
	char err[2048];

	if (!masterkey_save(s, path, err, sizeof(err))) {
		ntskey_err("%s", err);
		return NTSKEY_EXIT_FAIL;
	}
	return NTSKEY_EXIT_OK;
}

static int cmd_rotate(const char *path, bool force)
{
	struct masterkey_set *s = NULL;
	struct stat st;
	int rc = NTSKEY_EXIT_FAIL, fd = lock_file(path);

	if (fd < 0)
		return NTSKEY_EXIT_FAIL;
	if (lstat(path, &st) != 0 && errno == ENOENT)
		s = masterkey_set_new();
	else
		s = load(path);
	if (!s)
		goto out;
	if (s->n == MASTERKEY_MAX && !force) {
		ntskey_err("%s: error: already %d keys; a new one would push out key %" PRIu32
		           ", which clients may still hold cookies for (retire expired keys, or "
		           "--force)",
		           path, MASTERKEY_MAX, s->k[0].id);
		goto out;
	}
	if (!masterkey_generate(s, (int64_t)time(NULL))) {
		ntskey_err("error: out of memory");
		goto out;
	}
	if ((rc = save(s, path)) == NTSKEY_EXIT_OK)
		printf("%s: new current key %" PRIu32 " (%08" PRIx32 "); %zu key%s; a running ntsd "
		       "adopts it at its next sync\n",
		       path, masterkey_current(s)->id, masterkey_current(s)->id, s->n, s->n == 1 ? "" : "s");
out:
	masterkey_set_free(s);
	unlock_file(fd);
	return rc;
}

static int cmd_retire(const char *path, uint32_t id, bool force)
{
	struct masterkey_set *s;
	int64_t now = (int64_t)time(NULL), until;
	int rc = NTSKEY_EXIT_FAIL, fd = lock_file(path);
	size_t at;

	if (fd < 0)
		return NTSKEY_EXIT_FAIL;
	if (!(s = load(path)))
		goto out;
	for (at = 0; at < s->n && s->k[at].id != id; at++)
		;
	if (at == s->n) {
		ntskey_err("%s: error: no key with id %" PRIu32 " (%08" PRIx32 ")", path, id, id);
		goto out;
	}
	enum status st = status_of(s, at, now, &until);
	if (st == ST_CURRENT) {
		ntskey_err("%s: error: key %" PRIu32 " is the current key; run 'ntskey cookie rotate' "
		           "first",
		           path, id);
		goto out;
	}
	if (st == ST_VALID && !force) {
		ntskey_err("%s: error: key %" PRIu32 " is still valid: clients may hold cookies "
		           "sealed under it, which ntsd would then refuse (they must redo NTS-KE); "
		           "use --force if that is the point (a leaked key)",
		           path, id);
		goto out;
	}
	/* masterkey.h has no "drop this key": the set is a plain array whose
	 * entries own their secret memory. */
	secret_free(s->k[at].key);
	memmove(&s->k[at], &s->k[at + 1], sizeof(s->k[0]) * (s->n - at - 1));
	s->n--;
	memset(&s->k[s->n], 0, sizeof(s->k[0]));
	if ((rc = save(s, path)) == NTSKEY_EXIT_OK)
		printf("%s: retired key %" PRIu32 " (%08" PRIx32 "); %zu key%s left\n", path, id, id,
		       s->n, s->n == 1 ? "" : "s");
out:
	masterkey_set_free(s);
	unlock_file(fd);
	return rc;
}

static bool parse_id(const char *s, uint32_t *id)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strncmp(s, "0x", 2) == 0 ? strtoull(s + 2, &end, 16) : strtoull(s, &end, 10);
	if (*end || errno || v == 0 || v > UINT32_MAX)
		return false;
	*id = (uint32_t)v;
	return true;
}

int ntskey_cookie_main(int argc, char **argv)
{
	static const struct option lo[] = { { "force", no_argument, NULL, 'f' },
		                            { NULL, 0, NULL, 0 } };
	bool force = false;
	uint32_t id = 0;
	int c;

	if (argc < 2) {
		ntskey_err("cookie: expected list, rotate or retire\nTry 'ntskey --help'.");
		return NTSKEY_EXIT_USAGE;
	}
	const char *sub = argv[1];
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f", lo, NULL)) != -1) {
		if (c == 'f') {
			force = true;
		} else {
			ntskey_err("cookie %s: bad option\nTry 'ntskey --help'.", sub);
			return NTSKEY_EXIT_USAGE;
		}
	}
	int need = strcmp(sub, "retire") == 0 ? 1 : 0;
	if (strcmp(sub, "list") && strcmp(sub, "rotate") && strcmp(sub, "retire")) {
		ntskey_err("cookie: unknown command '%s'; expected list, rotate or retire", sub);
		return NTSKEY_EXIT_USAGE;
	}
	if (argc - optind < need || argc - optind > need + 1) {
		ntskey_err("cookie %s: expected %s[FILE]\nTry 'ntskey --help'.", sub,
		           need ? "ID " : "");
		return NTSKEY_EXIT_USAGE;
	}
	if (need && !parse_id(argv[optind], &id)) {
		ntskey_err("cookie retire: '%s' is not a key id (decimal, or 0x and 8 hex digits as "
		           "ntsd logs it)",
		           argv[optind]);
		return NTSKEY_EXIT_USAGE;
	}
	const char *path = argc - optind == need + 1 ? argv[optind + need] : default_file;
	if (strcmp(sub, "list") == 0)
		return cmd_list(path);
	if (strcmp(sub, "rotate") == 0)
		return cmd_rotate(path, force);
	return cmd_retire(path, id, force);
}
