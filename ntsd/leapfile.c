#include "config.h"
#include "ntsd/leapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/mac.h"

#define SHA1_LEN 20

__attribute__((format(printf, 3, 4))) static bool fail(struct leapfile_diag *d, unsigned line,
                                                       const char *fmt, ...)
{
	va_list ap;

	d->line = line;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	return false;
}

/* The digits of s..end appended to the hash input: the list's hash
 * covers the digits of the #$, #@ and data lines and nothing else (no
 * blanks, no comments). */
static void add_digits(char *in, size_t *n, const char *s, const char *end)
{
	for (; s < end; s++)
		if (*s >= '0' && *s <= '9')
			in[(*n)++] = *s;
}

static bool parse_u64(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s == end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - 9) / 10)
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*v = x;
	return true;
}

/* "#h" followed by five groups of up to eight hex digits (NIST's files
 * drop leading zeros in a group). */
static bool parse_hash(const char *s, const char *end, uint8_t out[SHA1_LEN])
{
	for (int g = 0; g < 5; g++) {
		uint32_t w = 0;
		int digits = 0;
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		for (; s < end && digits < 9; s++, digits++) {
			int h = (*s >= '0' && *s <= '9')   ? *s - '0'
			        : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
			        : (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10
			                                   : -1;
			if (h < 0)
				break;
			w = w << 4 | (uint32_t)h;
		}
		if (digits == 0 || digits > 8)
			return false;
		for (int i = 0; i < 4; i++)
			out[g * 4 + i] = (uint8_t)(w >> (24 - 8 * i));
	}
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
		s++;
	return s == end;
}

/* One data line: "NTPSECONDS OFFSET [# comment]". */
static bool data_line(struct leapfile *lf, const char *s, const char *end, unsigned line,
                      struct leapfile_diag *d)
{
	uint64_t when, off;
	const char *p = s;

	if (!parse_u64(&p, end, &when) || !parse_u64(&p, end, &off) || off > 1000)
		return fail(d, line, "expected NTP seconds and TAI-UTC offset");
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (p < end && *p != '#')
		return fail(d, line, "unexpected text after the offset");
	if (lf->n == LEAPFILE_MAX_ENTRIES)
		return fail(d, line, "more than %d entries", LEAPFILE_MAX_ENTRIES);
	if (lf->n) {
		const struct leapfile_entry *prev = &lf->e[lf->n - 1];
		int step = (int)off - prev->tai_offset;
		if (when <= prev->when)
			return fail(d, line, "entries are not in ascending time order");
		if (step != 1 && step != -1)
			return fail(d, line, "TAI-UTC changes by %d s; a leap second is +1 or -1", step);
	}
	lf->e[lf->n++] = (struct leapfile_entry){ .when = when, .tai_offset = (int)off };
	return true;
}

/* Reads every line; the digits the hash covers go to in (never longer
 * than the text). */
static bool parse_lines(const char *text, size_t len, struct leapfile *lf, struct leapfile_diag *d,
                        char *in, size_t *n, uint8_t want[SHA1_LEN])
{
	const char *end = text + len, *s = text;
	bool have_updated = false, have_expires = false, have_hash = false;
	unsigned line = 0;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		bool blank = s == e || (e - s == 1 && *s == '\r');
		line++;
		if (have_hash && !blank)
			return fail(d, line, "text after the #h hash line");
		if (e - s >= 2 && s[0] == '#' && (s[1] == '$' || s[1] == '@')) {
			uint64_t v;
			const char *p = s + 2;
			if (!parse_u64(&p, e, &v))
				return fail(d, line, "#%c: expected NTP seconds", s[1]);
			*(s[1] == '$' ? &lf->updated : &lf->expires) = v;
			*(s[1] == '$' ? &have_updated : &have_expires) = true;
			add_digits(in, n, s + 2, e);
		} else if (e - s >= 2 && s[0] == '#' && s[1] == 'h') {
			if (!parse_hash(s + 2, e, want))
				return fail(d, line, "#h: expected five groups of hex digits");
			have_hash = true;
		} else if (!blank && *s != '#') {
			const char *hash = memchr(s, '#', (size_t)(e - s));
			if (!data_line(lf, s, e, line, d))
				return false;
			add_digits(in, n, s, hash ? hash : e);
		}
		s = nl ? nl + 1 : end;
	}
	if (!have_updated || !have_expires)
		return fail(d, 0, "no #%c line (last update and expiry dates are required)",
		            have_updated ? '@' : '$');
	if (!have_hash)
		return fail(d, 0, "no #h line: the file's integrity cannot be checked");
	if (lf->n == 0)
		return fail(d, 0, "no leap second entries");
	return true;
}

bool leapfile_parse(const char *text, size_t len, struct leapfile *lf, struct leapfile_diag *d)
{
	uint8_t want[SHA1_LEN], got[MAC_MAX_DIGEST];
	size_t n = 0, dl = 0;
	struct mac_ctx *m;
	char *in;

	memset(lf, 0, sizeof(*lf));
	memset(d, 0, sizeof(*d));
	if (len > LEAPFILE_MAX_SIZE)
		return fail(d, 0, "larger than %d bytes", LEAPFILE_MAX_SIZE);
	if (!(in = malloc(len ? len : 1)))
		return fail(d, 0, "out of memory");
	if (!parse_lines(text, len, lf, d, in, &n, want)) {
		free(in);
		return false;
	}
	if ((m = mac_ctx_new()))
		dl = mac_compute(m, MAC_SHA1, NULL, 0, (const uint8_t *)in, n, got);
	mac_ctx_free(m);
	free(in);
	if (dl != SHA1_LEN)
		return fail(d, 0, "cannot compute SHA-1");
	if (memcmp(got, want, SHA1_LEN) != 0)
		return fail(d, 0, "the #h hash does not match the contents (damaged or edited file)");
	return true;
}

bool leapfile_load(const char *path, struct leapfile *lf, struct leapfile_diag *d)
{
	char *buf = malloc(LEAPFILE_MAX_SIZE + 1);
	size_t len = 0;
	ssize_t r = 0;
	int fd, e = 0;
	bool ok;

	memset(d, 0, sizeof(*d));
	if (!buf)
		return fail(d, 0, "out of memory");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		free(buf);
		return fail(d, 0, "%s", strerror(errno));
	}
	while (len <= LEAPFILE_MAX_SIZE &&
	       ((r = read(fd, buf + len, LEAPFILE_MAX_SIZE + 1 - len)) > 0 || (r < 0 && errno == EINTR)))
		len += r > 0 ? (size_t)r : 0;
	e = r < 0 ? errno : 0;
	close(fd);
	if (e)
		ok = fail(d, 0, "%s", strerror(e));
	else if (len > LEAPFILE_MAX_SIZE)
		ok = fail(d, 0, "larger than %d bytes", LEAPFILE_MAX_SIZE);
	else
		ok = leapfile_parse(buf, len, lf, d);
	free(buf);
	return ok;
}

int leapfile_pending(const struct leapfile *lf, uint64_t now, uint64_t *at)
{
	for (size_t i = 1; i < lf->n; i++) {
		const struct leapfile_entry *x = &lf->e[i];
		if (x->when <= now)
			continue;
		if (x->when - now > LEAPFILE_DAY || x->when > lf->expires)
			return 0;
		if (at)
			*at = x->when;
		return x->tai_offset > lf->e[i - 1].tai_offset ? 1 : -1;
	}
	return 0;
}

int leapfile_tai_offset(const struct leapfile *lf, uint64_t now)
{
	int off = 0;

	for (size_t i = 0; i < lf->n && lf->e[i].when <= now; i++)
		off = lf->e[i].tai_offset;
	return off;
}

int64_t leapfile_expires_in(const struct leapfile *lf, uint64_t now)
{
	return (int64_t)lf->expires - (int64_t)now;
}
