#include "config.h"
#include "crypto/masterkey.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/secfile.h"
#include "crypto/secret.h"

#define HEADER "# ntsd master keys v1"
#define MAX_FILE 16384

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

static bool add_key(struct masterkey_set *s, uint32_t id, int64_t created, const uint8_t *key)
{
	uint8_t *k = secret_alloc(MASTERKEY_LEN);

	if (!k)
		return false;
	if (s->n == MASTERKEY_MAX) {
		secret_free(s->k[0].key);
		memmove(&s->k[0], &s->k[1], sizeof(s->k[0]) * (MASTERKEY_MAX - 1));
		s->n--;
	}
	if (key)
		memcpy(k, key, MASTERKEY_LEN);
	else
		secret_random(k, MASTERKEY_LEN);
	s->k[s->n++] = (struct masterkey){ .id = id, .created = created, .key = k };
	return true;
}

struct masterkey_set *masterkey_set_clone(const struct masterkey_set *s)
{
	struct masterkey_set *c = masterkey_set_new();

	for (size_t i = 0; c && i < s->n; i++) {
		if (!add_key(c, s->k[i].id, s->k[i].created, s->k[i].key)) {
			masterkey_set_free(c);
			return NULL;
		}
	}
	return c;
}

const struct masterkey *masterkey_find(const struct masterkey_set *s, uint32_t id)
{
	for (size_t i = 0; i < s->n; i++)
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

	do
		secret_random(&id, sizeof(id));
	while (id == 0 || masterkey_find(s, id));
	return add_key(s, id, now, NULL);
}

bool masterkey_rotate(struct masterkey_set *s, int64_t now, int64_t interval_s, unsigned keep,
                      bool *changed)
{
	const struct masterkey *cur = masterkey_current(s);
	size_t drop = 0;

	*changed = false;
	if (!cur || now - cur->created >= interval_s || now < cur->created - interval_s) {
		if (!masterkey_generate(s, now))
			return false;
		*changed = true;
	}
	/* Never drop the current key, whatever the clock says. */
	while (drop < s->n - 1 && now - s->k[drop].created >= (int64_t)keep * interval_s)
		drop++;
	if (drop) {
		for (size_t i = 0; i < drop; i++)
			secret_free(s->k[i].key);
		memmove(&s->k[0], &s->k[drop], sizeof(s->k[0]) * (s->n - drop));
		s->n -= drop;
		*changed = true;
	}
	return true;
}

static bool parse_line(char *line, uint32_t *id, int64_t *created, uint8_t key[MASTERKEY_LEN],
                       const char **why)
{
	char *end, *hex;
	unsigned long long v;
	long long c;

	errno = 0;
	v = strtoull(line, &end, 10);
	if (end == line || *end != ' ' || errno || v == 0 || v > UINT32_MAX) {
		*why = "bad key id; expected a number from 1 to 4294967295";
		return false;
	}
	*id = (uint32_t)v;
	line = end + 1;
	c = strtoll(line, &end, 10);
	if (end == line || *end != ' ' || errno || c < 0) {
		*why = "bad creation time; expected Unix seconds";
		return false;
	}
	*created = c;
	hex = end + 1;
	if (strlen(hex) != 2 * MASTERKEY_LEN) {
		*why = "bad key; expected 64 hex digits";
		return false;
	}
	for (size_t i = 0; i < MASTERKEY_LEN; i++) {
		unsigned hi, lo;
		char h = hex[2 * i], l = hex[2 * i + 1];
		hi = h >= '0' && h <= '9' ? (unsigned)(h - '0') : h >= 'a' && h <= 'f' ? (unsigned)(h - 'a' + 10) : 16;
		lo = l >= '0' && l <= '9' ? (unsigned)(l - '0') : l >= 'a' && l <= 'f' ? (unsigned)(l - 'a' + 10) : 16;
		if (hi > 15 || lo > 15) {
			*why = "bad key; expected 64 lower-case hex digits";
			return false;
		}
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

struct masterkey_set *masterkey_load(const char *path, char *err, size_t errlen)
{
	struct masterkey_set *s = NULL;
	char *text = NULL, *line, *next;
	uint8_t key[MASTERKEY_LEN];
	struct stat st;
	unsigned lineno = 0;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes", path, MAX_FILE);
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: readable by other users; it holds secrets: chmod 600 it", path);
		goto out;
	}
	text = secret_alloc((size_t)st.st_size + 1);
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	got = read(fd, text, (size_t)st.st_size);
	if (got != st.st_size) {
		snprintf(err, errlen, "%s: short read", path);
		goto out;
	}
	text[got] = '\0';
	s = masterkey_set_new();
	if (!s)
		goto out;
	for (line = text; line && *line; line = next) {
		uint32_t id;
		int64_t created;
		const char *why = NULL;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (*line == '#' || *line == '\0')
			continue;
		if (!parse_line(line, &id, &created, key, &why))
			;
		else if (masterkey_find(s, id))
			why = "duplicate key id";
		else if (s->n == MASTERKEY_MAX)
			why = "too many keys";
		else if (!add_key(s, id, created, key))
			why = "out of memory";
		if (why) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			masterkey_set_free(s);
			s = NULL;
			break;
		}
	}
	if (s && s->n == 0) {
		snprintf(err, errlen, "%s: no keys", path);
		masterkey_set_free(s);
		s = NULL;
	}
out:
	secret_wipe(key, sizeof(key));
	if (text)
		secret_free(text);
	close(fd);
	return s;
}

bool masterkey_save(const struct masterkey_set *s, const char *path, char *err, size_t errlen)
{
	size_t cap = 64 + s->n * (24 + 2 * MASTERKEY_LEN), used;
	char *text = secret_alloc(cap);
	bool ok;

	if (!text) {
		snprintf(err, errlen, "%s: out of memory", path);
		return false;
	}
	used = (size_t)snprintf(text, cap, "%s\n", HEADER);
	for (size_t i = 0; i < s->n; i++) {
		used += (size_t)snprintf(text + used, cap - used, "%" PRIu32 " %" PRId64 " ", s->k[i].id,
		                         s->k[i].created);
		for (size_t b = 0; b < MASTERKEY_LEN; b++)
			used += (size_t)snprintf(text + used, cap - used, "%02x", s->k[i].key[b]);
		used += (size_t)snprintf(text + used, cap - used, "\n");
	}
	ok = secfile_write(path, text, used, true);
	if (!ok)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	secret_free(text);
	return ok;
}

struct masterkey_set *masterkey_file_sync(const char *path, int64_t now, int64_t interval_s,
                                          unsigned keep, bool *changed, char *err, size_t errlen)
{
	char lock[4200];
	struct masterkey_set *s = NULL;
	bool rotated = false;
	int fd;

	*changed = false;
	if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock)) {
		snprintf(err, errlen, "%s: path too long", path);
		return NULL;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		snprintf(err, errlen, "%s: %s", lock, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (access(path, F_OK) != 0 && errno == ENOENT)
		s = masterkey_set_new();
	else
		s = masterkey_load(path, err, errlen);
	if (s && !masterkey_rotate(s, now, interval_s, keep, &rotated)) {
		snprintf(err, errlen, "%s: cannot generate a key", path);
		masterkey_set_free(s);
		s = NULL;
	}
	if (s && rotated && !masterkey_save(s, path, err, errlen)) {
		masterkey_set_free(s);
		s = NULL;
	}
	*changed = rotated;
	flock(fd, LOCK_UN);
	close(fd);
	return s;
}
