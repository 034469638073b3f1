/* ntpd symmetric key file (ntp.keys(5), RFC 5905 §7.3 keys, RFC 8573
 * AES-CMAC). Every bad line is reported, then the whole file is refused.
 * Key bytes are decoded straight into secret memory, never onto the
 * stack, and never appear in a diagnostic: a garbled line may have the
 * key in any column, so no token from the line is echoed back. */
#include "config.h"

#include "crypto/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/buf.h"
#include "crypto/secret.h"

#define KEYID_MAX 65535u
/* ntpd: a key of at most 20 characters is ASCII, longer ones are hex. */
#define ASCII_KEY_MAX 20
#define TYPE_NAME_MAX 16
#define KEYFILE_MAX_SIZE (1024 * 1024)

struct keyfile {
	size_t n;
	struct symkey *keys; /* sorted by id */
	uint8_t *pool;       /* secret memory holding every key */
	size_t poollen;
};

/* A parsed line, before sorting. The key is at pool + off. */
struct entry {
	uint32_t id;
	unsigned line;
	enum mac_alg alg;
	size_t len, off;
};

struct parser {
	struct keyfile_errors *errs;
	struct entry *ent;
	size_t nent, cap;
	uint8_t *pool; /* grows by doubling, old copies wiped by secret_free */
	size_t used, room;
	unsigned *first; /* by id: line that defined it, 0 = not yet */
	bool oom;
};

__attribute__((format(printf, 3, 4))) static void err(struct keyfile_errors *errs, unsigned line,
                                                      const char *fmt, ...)
{
	va_list ap;

	if (errs->n < sizeof(errs->v) / sizeof(errs->v[0])) {
		errs->v[errs->n].line = line;
		va_start(ap, fmt);
		vsnprintf(errs->v[errs->n].msg, sizeof(errs->v[0].msg), fmt, ap);
		va_end(ap);
	}
	errs->n++;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Next whitespace-separated token in [*p, end), stopping at a comment. */
static bool next_tok(const char **p, const char *end, const char **tok, size_t *len)
{
	const char *s = *p;

	while (s < end && is_space(*s))
		s++;
	*tok = s;
	while (s < end && !is_space(*s) && *s != '#')
		s++;
	*len = (size_t)(s - *tok);
	*p = s;
	return *len > 0;
}

/* 1..65535 in decimal; returns 0 (never a valid id) and sets *range for
 * an out-of-range number. */
static uint32_t parse_id(const char *t, size_t n, bool *range)
{
	uint32_t v = 0;

	*range = false;
	for (size_t i = 0; i < n; i++) {
		if (t[i] < '0' || t[i] > '9')
			return 0;
		if (v <= KEYID_MAX)
			v = v * 10 + (uint32_t)(t[i] - '0');
	}
	if (v == 0 || v > KEYID_MAX) {
		*range = true;
		return 0;
	}
	return v;
}

static enum mac_alg parse_type(const char *t, size_t n)
{
	char name[TYPE_NAME_MAX];

	if (n >= sizeof(name))
		return MAC_NONE;
	memcpy(name, t, n);
	name[n] = '\0';
	if (strlen(name) != n) /* embedded NUL */
		return MAC_NONE;
	return mac_alg_from_name(name);
}

static bool pool_reserve(struct parser *ps, size_t n)
{
	uint8_t *np;
	size_t nroom;

	if (ps->room - ps->used >= n)
		return true;
	nroom = ps->room ? ps->room * 2 : 16 * MAC_MAX_KEY;
	while (nroom - ps->used < n)
		nroom *= 2;
	if (!(np = secret_alloc(nroom)))
		return false;
	if (ps->used)
		memcpy(np, ps->pool, ps->used);
	secret_free(ps->pool);
	ps->pool = np;
	ps->room = nroom;
	return true;
}

/* Decodes the key token into the pool at ps->used (not yet committed).
 * Returns the byte length, or 0 after reporting the problem. */
static size_t parse_key(struct parser *ps, unsigned line, enum mac_alg alg, const char *t, size_t n)
{
	uint8_t *k = ps->pool + ps->used;
	size_t len, need = mac_key_len(alg);

	if (n <= ASCII_KEY_MAX) {
		for (size_t i = 0; i < n; i++) {
			if (t[i] < 0x21 || t[i] > 0x7e) {
				err(ps->errs, line,
				    "invalid character in key; a key of up to %d characters "
				    "is printable ASCII without spaces or '#', a longer one "
				    "is hex",
				    ASCII_KEY_MAX);
				return 0;
			}
		}
		memcpy(k, t, n);
		len = n;
	} else {
		for (size_t i = 0; i < n; i++) {
			if (hex_value(t[i]) < 0) {
				err(ps->errs, line,
				    "bad hex key: a key longer than %d characters must be "
				    "hex digits only",
				    ASCII_KEY_MAX);
				return 0;
			}
		}
		if (n % 2) {
			err(ps->errs, line, "bad hex key: odd number of hex digits (%zu)", n);
			return 0;
		}
		if (n / 2 > MAC_MAX_KEY) {
			err(ps->errs, line, "key too long: %zu bytes; at most %d (%d hex digits)",
			    n / 2, MAC_MAX_KEY, 2 * MAC_MAX_KEY);
			return 0;
		}
		len = n / 2;
		for (size_t i = 0; i < len; i++)
			k[i] = (uint8_t)(hex_value(t[2 * i]) << 4 | hex_value(t[2 * i + 1]));
	}
	if (need && len != need) {
		secret_wipe(k, len);
		err(ps->errs, line,
		    "%s key must be %zu bytes (%zu hex digits or %zu ASCII characters), not %zu",
		    mac_alg_name(alg), need, 2 * need, need, len);
		return 0;
	}
	return len;
}

static void unknown_type(struct keyfile_errors *errs, unsigned line)
{
	char list[120];
	size_t off = 0;

	list[0] = '\0';
	for (int a = MAC_MD5; a <= MAC_AES128CMAC && off < sizeof(list); a++) {
		int w = snprintf(list + off, sizeof(list) - off, "%s%s", off ? ", " : "",
		                 mac_alg_name((enum mac_alg)a));
		if (w < 0)
			break;
		off += (size_t)w;
	}
	err(errs, line, "unknown key type; accepted types: %s", list);
}

static bool add_entry(struct parser *ps, const struct entry *e)
{
	if (ps->nent == ps->cap) {
		size_t ncap = ps->cap ? ps->cap * 2 : 64;
		struct entry *ne = reallocarray(ps->ent, ncap, sizeof(*ne));
		if (!ne)
			return false;
		ps->ent = ne;
		ps->cap = ncap;
	}
	ps->ent[ps->nent++] = *e;
	return true;
}

/* Records the id as used; reports a duplicate naming the first line. */
static bool claim_id(struct parser *ps, uint32_t id, unsigned line)
{
	if (ps->first[id]) {
		err(ps->errs, line, "duplicate key id %u (first defined on line %u)", (unsigned)id,
		    ps->first[id]);
		return false;
	}
	ps->first[id] = line;
	return true;
}

static void parse_line(struct parser *ps, unsigned line, const char *p, const char *end)
{
	const char *t;
	size_t n;
	bool range;
	struct entry e = { .line = line };

	if (!next_tok(&p, end, &t, &n))
		return; /* blank or comment */
	if (!(e.id = parse_id(t, n, &range))) {
		if (range)
			err(ps->errs, line, "key id out of range; accepted: 1..%u", KEYID_MAX);
		else
			err(ps->errs, line, "bad key id: not a decimal number; accepted: 1..%u",
			    KEYID_MAX);
		return;
	}
	/* Lines with a good id count for duplicates even if the rest is bad,
	 * so both problems show up in one run. Entries with len 0 are such
	 * placeholders and are dropped later. */
	if (!claim_id(ps, e.id, line))
		return;
	if (!add_entry(ps, &e)) {
		ps->oom = true;
		return;
	}
	if (!next_tok(&p, end, &t, &n)) {
		err(ps->errs, line, "missing key type and key; expected 'KEYID TYPE KEY'");
		return;
	}
	if ((e.alg = parse_type(t, n)) == MAC_NONE) {
		unknown_type(ps->errs, line);
		return;
	}
	if (!next_tok(&p, end, &t, &n)) {
		err(ps->errs, line, "missing key; expected 'KEYID TYPE KEY'");
		return;
	}
	if (!pool_reserve(ps, MAC_MAX_KEY)) {
		ps->oom = true;
		return;
	}
	if (!(e.len = parse_key(ps, line, e.alg, t, n)))
		return;
	if (next_tok(&p, end, &t, &n)) {
		secret_wipe(ps->pool + ps->used, e.len);
		err(ps->errs, line,
		    "unexpected text after the key (per-key address lists are not supported); "
		    "a comment starts with '#'");
		return;
	}
	e.off = ps->used;
	ps->used += e.len;
	ps->ent[ps->nent - 1] = e;
}

static int cmp_entry(const void *a, const void *b)
{
	uint32_t x = ((const struct entry *)a)->id, y = ((const struct entry *)b)->id;

	return (x > y) - (x < y);
}

/* Copies the good entries, in id order, into an exactly sized result. */
static struct keyfile *build(struct parser *ps)
{
	struct keyfile *kf = calloc(1, sizeof(*kf));
	size_t n = 0;

	if (!kf)
		return NULL;
	if (ps->nent) {
		qsort(ps->ent, ps->nent, sizeof(ps->ent[0]), cmp_entry);
		kf->keys = calloc(ps->nent, sizeof(kf->keys[0]));
		kf->pool = secret_alloc(ps->used ? ps->used : 1);
		if (!kf->keys || !kf->pool) {
			keyfile_free(kf);
			return NULL;
		}
	}
	for (size_t i = 0; i < ps->nent; i++) {
		const struct entry *e = &ps->ent[i];
		if (!e->len)
			continue;
		memcpy(kf->pool + kf->poollen, ps->pool + e->off, e->len);
		kf->keys[n] = (struct symkey){
			.id = e->id, .alg = e->alg, .len = e->len, .key = kf->pool + kf->poollen
		};
		kf->poollen += e->len;
		n++;
	}
	kf->n = n;
	return kf;
}

struct keyfile *keyfile_parse(const char *text, size_t len, struct keyfile_errors *errs)
{
	struct keyfile_errors scratch;
	struct parser ps = { .errs = errs ? errs : &scratch };
	struct keyfile *kf = NULL;
	const char *p = text, *end = text + len;
	unsigned line = 0;

	ps.errs->n = 0;
	ps.errs->world_readable = false;
	ps.errs->group_readable = false;
	ps.errs->mode = 0;
	if (!text && len) {
		err(ps.errs, 0, "no text");
		return NULL;
	}
	if (!(ps.first = calloc(KEYID_MAX + 1, sizeof(ps.first[0])))) {
		err(ps.errs, 0, "out of memory");
		return NULL;
	}
	while (p < end && !ps.oom) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		line++;
		parse_line(&ps, line, p, eol);
		p = nl ? nl + 1 : end;
	}
	if (ps.oom)
		err(ps.errs, line, "out of memory");
	else if (ps.errs->n == 0 && !(kf = build(&ps)))
		err(ps.errs, 0, "out of memory");
	free(ps.first);
	free(ps.ent);
	secret_free(ps.pool);
	return kf;
}

/* Reads the whole file into secret memory (it holds the keys) and parses
 * it. The permission check mirrors chrony's UTI_CheckFilePermissions: a
 * warning flag, the caller decides how loud. */
struct keyfile *keyfile_load(const char *path, struct keyfile_errors *errs)
{
	struct keyfile_errors scratch;
	struct keyfile_errors *e = errs ? errs : &scratch;
	struct keyfile *kf = NULL;
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	e->n = 0;
	e->world_readable = false;
	e->group_readable = false;
	e->mode = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		err(e, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		err(e, 0, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err(e, 0, "not a regular file");
		goto out;
	}
	if (st.st_size > KEYFILE_MAX_SIZE) {
		err(e, 0, "file too large (%lld bytes; at most %d)", (long long)st.st_size,
		    KEYFILE_MAX_SIZE);
		goto out;
	}
	/* One spare byte shows whether the file grew since fstat. */
	if (!(buf = secret_alloc((size_t)st.st_size + 1))) {
		err(e, 0, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size + 1) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err(e, 0, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got > (size_t)st.st_size) {
		err(e, 0, "file changed while being read");
		goto out;
	}
	kf = keyfile_parse(buf, got, e);
	e->world_readable = (st.st_mode & 007) != 0;
	e->group_readable = (st.st_mode & 070) != 0;
	e->mode = (unsigned)(st.st_mode & 07777);
out:
	secret_free(buf);
	close(fd);
	return kf;
}

static int cmp_key(const void *k, const void *elt)
{
	uint32_t x = *(const uint32_t *)k, y = ((const struct symkey *)elt)->id;

	return (x > y) - (x < y);
}

const struct symkey *keyfile_get(const struct keyfile *kf, uint32_t id)
{
	if (!kf || !kf->n)
		return NULL;
	return bsearch(&id, kf->keys, kf->n, sizeof(kf->keys[0]), cmp_key);
}

size_t keyfile_count(const struct keyfile *kf)
{
	return kf ? kf->n : 0;
}

const struct symkey *keyfile_at(const struct keyfile *kf, size_t i)
{
	return kf && i < kf->n ? &kf->keys[i] : NULL;
}

void keyfile_free(struct keyfile *kf)
{
	if (!kf)
		return;
	/* secret_free wipes the pool; the symkey array holds only ids,
	 * lengths and pointers. */
	secret_free(kf->pool);
	free(kf->keys);
	free(kf);
}
