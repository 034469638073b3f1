#include "config.h"
#include "crypto/masterkey.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/secfile.h"
#include "crypto/buf.h"
#include "crypto/secret.h"

#define HEADER "# ntsd master keys v"
#define VERSION "1"
#define MAX_FILE 16384
/* "ID CREATED HEXKEY\n" at its longest: 10 + 1 + 20 + 1 + 64 + 1. */
#define MAX_LINE (10 + 1 + 20 + 1 + 2 * MASTERKEY_LEN + 1)

_Static_assert(MASTERKEY_MAX * (uint64_t)MASTERKEY_MAX_INTERVAL < INT64_MAX / 2,
              "keep * interval fits an int64_t");

struct masterkey_set *masterkey_set_new(void)
{
	return calloc(1, sizeof(struct masterkey_set));
}

void masterkey_set_free(struct masterkey_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		secret_free(s->k[i].key);
	free(s);
}

static void drop_oldest(struct masterkey_set *s, size_t drop)
{
	for (size_t i = 0; i < drop; i++)
		secret_free(s->k[i].key);
	memmove(&s->k[0], &s->k[drop], sizeof(s->k[0]) * (s->n - drop));
	s->n -= drop;
	memset(&s->k[s->n], 0, sizeof(s->k[0]) * drop);
}

/* key NULL: a fresh random key. */
static bool add_key(struct masterkey_set *s, uint32_t id, int64_t created, const uint8_t *key)
{
	uint8_t *k = secret_alloc(MASTERKEY_LEN);

	if (!k)
		return false;
	if (s->n == MASTERKEY_MAX)
		drop_oldest(s, 1);
	if (key)
		memcpy(k, key, MASTERKEY_LEN);
	else
		secret_random(k, MASTERKEY_LEN);
	s->k[s->n++] = (struct masterkey){ .id = id, .created = created, .key = k };
	return true;
}

struct masterkey_set *masterkey_set_clone(const struct masterkey_set *s)
{
	struct masterkey_set *c = s ? masterkey_set_new() : NULL;

	for (size_t i = 0; c && i < s->n; i++) {
		if (!add_key(c, s->k[i].id, s->k[i].created, s->k[i].key)) {
			masterkey_set_free(c);
			return NULL;
		}
	}
	return c;
}

/* A linear scan: the set holds at most 16 keys (3 by default), which
 * beats any index in both speed and simplicity. */
const struct masterkey *masterkey_find(const struct masterkey_set *s, uint32_t id)
{
	for (size_t i = 0; id && i < s->n; i++)
		if (s->k[i].id == id)
			return &s->k[i];
	return NULL;
}

const struct masterkey *masterkey_current(const struct masterkey_set *s)
{
	return s->n ? &s->k[s->n - 1] : NULL;
}

bool masterkey_generate(struct masterkey_set *s, int64_t now)
{
	uint32_t id;

	/* Random rather than sequential ids: cookies carry the id in clear,
	 * and a counter would tell observers how many rotations a server has
	 * made; unrelated servers' ids also rarely collide. 0 means "no key". */
	do
		secret_random(&id, sizeof(id));
	while (id == 0 || masterkey_find(s, id));
	return add_key(s, id, now, NULL);
}

/* now - t, saturated: created times come from files and clocks. */
static int64_t age(int64_t now, int64_t t)
{
	int64_t d;

	if (__builtin_sub_overflow(now, t, &d))
		return now < t ? INT64_MIN : INT64_MAX;
	return d;
}

bool masterkey_rotate(struct masterkey_set *s, int64_t now, int64_t interval_s, unsigned keep,
                      bool *changed)
{
	const struct masterkey *cur = masterkey_current(s);
	size_t drop = 0;

	*changed = false;
	if (interval_s < 1 || interval_s > MASTERKEY_MAX_INTERVAL)
		return false;
	keep = keep < 1 ? 1 : keep > MASTERKEY_MAX ? MASTERKEY_MAX : keep;
	/* A current key from the future was made under a wrong clock; left
	 * alone it would stay current until that time came. */
	if (!cur || age(now, cur->created) >= interval_s || age(now, cur->created) < -interval_s) {
		if (!masterkey_generate(s, now))
			return false;
		*changed = true;
	}
	/* Key i stopped being current when key i + 1 was created: the grace
	 * counts from then, not from its own creation, so a late rotation
	 * (a server that was down) does not cut it short. The current key is
	 * never dropped, whatever the clock says. */
	int64_t grace = (int64_t)(keep - 1) * interval_s;
	while (drop + 1 < s->n && age(now, s->k[drop + 1].created) >= grace)
		drop++;
	if (drop) {
		drop_oldest(s, drop);
		*changed = true;
	}
	return true;
}

/* Diagnostics: every problem, one per line, as much as fits in err. */
struct diag {
	char *buf;
	size_t len, used;
	unsigned n;
	const char *path;
};

__attribute__((format(printf, 3, 4))) static void report(struct diag *d, unsigned line,
                                                         const char *fmt, ...)
{
	char what[200];
	va_list ap;
	int w;

	d->n++;
	if (!d->buf || d->len == 0 || d->used + 1 >= d->len)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	char *at = d->buf + d->used;
	size_t room = d->len - d->used;
	const char *sep = d->n > 1 ? "\n" : "";
	if (line)
		w = snprintf(at, room, "%s%s:%u: error: %s", sep, d->path, line, what);
	else
		w = snprintf(at, room, "%s%s: error: %s", sep, d->path, what);
	d->used = w < 0 || (size_t)w >= room ? d->len - 1 : d->used + (size_t)w;
}

struct field {
	const char *p;
	size_t len;
};

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Splits a line at blanks into at most max fields; returns how many there
 * were (max + 1 means "more"). */
static size_t split(const char *p, size_t len, struct field *f, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len) {
		while (i < len && blank(p[i]))
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && !blank(p[i]))
			i++;
		if (n == max)
			return max + 1;
		f[n++] = (struct field){ p + start, i - start };
	}
	return n;
}

/* Digits only: no sign, no blanks, no base prefix (strtoull takes all). */
static bool decimal(const struct field *f, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (f->len == 0 || f->len > 20)
		return false;
	for (size_t i = 0; i < f->len; i++) {
		unsigned d = (unsigned)(f->p[i] - '0');
		if (d > 9 || x > (max - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

/* A comment naming the format: refuse versions we do not know rather
 * than misread them. */
static void check_header(struct diag *d, unsigned line, const char *p, size_t len)
{
	struct field v;
	size_t hl = strlen(HEADER);

	if (len < hl || memcmp(p, HEADER, hl) != 0)
		return;
	if (split(p + hl, len - hl, &v, 1) != 1 || v.len != strlen(VERSION) ||
	    memcmp(v.p, VERSION, v.len) != 0)
		report(d, line, "unsupported file format version; this ntsd reads \"%s%s\"", HEADER,
		       VERSION);
}

/* One "ID CREATED HEXKEY" line into s; problems go to d. */
static void parse_line(struct masterkey_set *s, struct diag *d, unsigned line, const char *p,
                       size_t len)
{
	struct field f[3];
	uint8_t key[MASTERKEY_LEN];
	uint64_t id, created;
	size_t n = split(p, len, f, 3);

	if (n < 3) {
		report(d, line, "missing fields; expected ID CREATED HEXKEY");
		return;
	}
	if (n > 3) {
		report(d, line, "unexpected text after the key; expected ID CREATED HEXKEY");
		return;
	}
	if (!decimal(&f[0], UINT32_MAX, &id) || id == 0) {
		report(d, line, "bad key id; expected a number from 1 to 4294967295");
		return;
	}
	if (!decimal(&f[1], INT64_MAX, &created)) {
		report(d, line, "bad creation time; expected Unix seconds (a number >= 0)");
		return;
	}
	if (f[2].len != 2 * MASTERKEY_LEN) {
		report(d, line, "bad key length (%zu hex digits); expected %d hex digits", f[2].len,
		       2 * MASTERKEY_LEN);
		return;
	}
	bool hex_ok = true;
	for (size_t i = 0; i < MASTERKEY_LEN; i++) {
		int hi = hex_value(f[2].p[2 * i]), lo = hex_value(f[2].p[2 * i + 1]);
		hex_ok = hex_ok && hi >= 0 && lo >= 0;
		key[i] = (uint8_t)((hi & 15) << 4 | (lo & 15));
	}
	if (!hex_ok)
		report(d, line, "bad key; expected %d hex digits (0-9, a-f)", 2 * MASTERKEY_LEN);
	else if (masterkey_find(s, (uint32_t)id))
		report(d, line, "duplicate key id %" PRIu64 "; ids must be unique", id);
	else if (s->n == MASTERKEY_MAX)
		report(d, line, "more than %d keys", MASTERKEY_MAX);
	else if (!add_key(s, (uint32_t)id, (int64_t)created, key))
		report(d, line, "out of memory");
	secret_wipe(key, sizeof(key));
}

static void parse_text(struct masterkey_set *s, struct diag *d, const char *text, size_t len)
{
	unsigned line = 0;

	for (size_t pos = 0; pos < len;) {
		const char *p = text + pos, *nl = memchr(p, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - p) : len - pos;
		struct field f;

		pos += l + (nl != NULL);
		line++;
		if (memchr(p, '\0', l)) {
			/* Zero-filled blocks are what a crash leaves behind. */
			report(d, line, "NUL byte; the file is corrupt");
			continue;
		}
		if (split(p, l, &f, 1) == 0)
			continue;
		if (f.p[0] == '#')
			check_header(d, line, f.p, l - (size_t)(f.p - p));
		else
			parse_line(s, d, line, p, l);
	}
}

/* Reads the whole file into secret memory; NULL with a diagnostic. */
static char *read_secret(int fd, struct diag *d, size_t *len)
{
	struct stat st;
	char *text;
	size_t got = 0;

	if (fstat(fd, &st) != 0) {
		report(d, 0, "%s", strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		report(d, 0, "not a regular file");
		return NULL;
	}
	/* As chrony's UTI_CheckFilePermissions: these are the keys to every
	 * client's session. Refused before a byte of them is read. */
	if (st.st_mode & 077) {
		report(d, 0,
		       "mode %04o lets group or others access this secret key file; chmod 600 it",
		       (unsigned)(st.st_mode & 07777));
		return NULL;
	}
	if (st.st_size > MAX_FILE) {
		report(d, 0, "larger than %d bytes; not a master key file", MAX_FILE);
		return NULL;
	}
	text = secret_alloc((size_t)st.st_size + 1);
	if (!text) {
		report(d, 0, "out of memory");
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			report(d, 0, "%s",
			       r < 0 ? strerror(errno) : "file shrank while being read");
			secret_free(text);
			return NULL;
		}
		got += (size_t)r;
	}
	*len = got;
	return text;
}

struct masterkey_set *masterkey_load(const char *path, char *err, size_t errlen)
{
	struct diag d = { .buf = err, .len = errlen, .path = path };
	struct masterkey_set *s = NULL;
	char *text = NULL;
	size_t len = 0;
	int fd;

	if (err && errlen)
		err[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		report(&d, 0, "%s", strerror(errno));
		return NULL;
	}
	text = read_secret(fd, &d, &len);
	close(fd);
	if (!text)
		return NULL;
	s = masterkey_set_new();
	if (!s)
		report(&d, 0, "out of memory");
	else
		parse_text(s, &d, text, len);
	secret_free(text);
	if (s && d.n == 0 && s->n == 0)
		report(&d, 0, "no keys; expected lines of ID CREATED HEXKEY");
	if (d.n) {
		masterkey_set_free(s);
		return NULL;
	}
	return s;
}

static void put(char *text, size_t cap, size_t *used, const char *p, size_t n)
{
	/* cap is computed for the longest possible file; this cannot fail. */
	if (n > cap - *used)
		abort();
	memcpy(text + *used, p, n);
	*used += n;
}

bool masterkey_save(const struct masterkey_set *s, const char *path, char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t cap = sizeof(HEADER VERSION "\n") + s->n * MAX_LINE, used = 0;
	char *text = secret_alloc(cap), num[48];
	bool ok;

	if (!text) {
		snprintf(err, errlen, "%s: error: out of memory", path);
		return false;
	}
	put(text, cap, &used, HEADER VERSION "\n", strlen(HEADER VERSION "\n"));
	for (size_t i = 0; i < s->n; i++) {
		int w = snprintf(num, sizeof(num), "%" PRIu32 " %" PRId64 " ", s->k[i].id,
		                 s->k[i].created);
		put(text, cap, &used, num, (size_t)w);
		for (size_t b = 0; b < MASTERKEY_LEN; b++) {
			char h[2] = { hex[s->k[i].key[b] >> 4], hex[s->k[i].key[b] & 15] };
			put(text, cap, &used, h, 2);
		}
		put(text, cap, &used, "\n", 1);
	}
	ok = secfile_write(path, text, used, true);
	if (!ok)
		snprintf(err, errlen, "%s: error: cannot write: %s", path, strerror(errno));
	secret_free(text);
	return ok;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A bounded wait: a hung peer must not freeze the daemon's main loop. */
static bool lock_wait(int fd)
{
	int64_t start = monotonic_ms();

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return true;
		if (errno != EINTR && errno != EWOULDBLOCK)
			return false;
		if (monotonic_ms() - start >= MASTERKEY_LOCK_WAIT_MS) {
			errno = EWOULDBLOCK;
			return false;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000 * 1000 }, NULL);
	}
}

struct masterkey_set *masterkey_file_sync(const char *path, int64_t now, int64_t interval_s,
                                          unsigned keep, bool *changed, char *err, size_t errlen)
{
	char lock[4200];
	struct masterkey_set *s = NULL;
	struct stat st;
	bool rotated = false;
	int fd;

	*changed = false;
	if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock)) {
		snprintf(err, errlen, "%s: error: path too long", path);
		return NULL;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: error: cannot open the lock file: %s", lock,
		         strerror(errno));
		return NULL;
	}
	if (!lock_wait(fd)) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen,
			         "%s: error: still locked by another process after %d ms", lock,
			         MASTERKEY_LOCK_WAIT_MS);
		else
			snprintf(err, errlen, "%s: error: cannot lock: %s", lock, strerror(errno));
		close(fd);
		return NULL;
	}
	/* Only a file that is not there at all is created; anything that
	 * exists but does not load is left for a human to look at. */
	if (lstat(path, &st) != 0 && errno == ENOENT) {
		s = masterkey_set_new();
		if (!s)
			snprintf(err, errlen, "%s: error: out of memory", path);
	} else {
		s = masterkey_load(path, err, errlen);
	}
	if (s && !masterkey_rotate(s, now, interval_s, keep, &rotated)) {
		snprintf(err, errlen, "%s: error: cannot rotate (interval %" PRId64 " s)", path,
		         interval_s);
		masterkey_set_free(s);
		s = NULL;
	}
	if (s && rotated && !masterkey_save(s, path, err, errlen)) {
		masterkey_set_free(s);
		s = NULL;
	}
	*changed = s && rotated;
	flock(fd, LOCK_UN);
	close(fd);
	return s;
}
