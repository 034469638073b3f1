/* ntp.conf parser: diagnostics, line reading, tokenising, includefile and
 * directive dispatch. The directives themselves live in conf_directives.c.
 *
 * The whole file is read into memory first (CONF_FILE_MAX caps it) so that
 * NUL bytes and over-long lines can be reported instead of being silently
 * truncated, as fgets() would. */
#include "config.h"

#include "conf/conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_internal.h"

static const char *const severity_name[] = {
	[CONF_NOTE] = "note",
	[CONF_WARNING] = "warning",
	[CONF_ERROR] = "error",
};

const char *conf_diag_format(const struct conf_diag *d, char *out, size_t outlen)
{
	unsigned s = (unsigned)d->severity;
	const char *sev = s < sizeof severity_name / sizeof severity_name[0] ? severity_name[s] : "error";

	if (outlen == 0)
		return out;
	if (d->line)
		snprintf(out, outlen, "%s:%u: %s: %s", d->file, d->line, sev, d->msg);
	else
		snprintf(out, outlen, "%s: %s: %s", d->file, sev, d->msg);
	return out;
}

void conf_diags_free(struct conf_diags *d)
{
	free(d->v);
	memset(d, 0, sizeof *d);
}

/* Control characters from the input must not reach a terminal or syslog. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static struct conf_diag *diag_slot(struct conf_diags *d)
{
	if (d->n >= CONF_DIAGS_MAX)
		return NULL;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct conf_diag *v;

		if (cap > CONF_DIAGS_MAX)
			cap = CONF_DIAGS_MAX;
		v = realloc(d->v, cap * sizeof *v);
		if (!v)
			return NULL; /* still counted by the caller */
		d->v = v;
		d->cap = cap;
	}
	return &d->v[d->n++];
}

void pctx_vdiag_at(struct pctx *p, enum conf_severity sev, const char *file, unsigned line,
		   const char *fmt, va_list ap)
{
	struct conf_diags *d = p->d;
	struct conf_diag *e;

	if (sev == CONF_ERROR)
		d->errors++;
	else if (sev == CONF_WARNING)
		d->warnings++;
	e = diag_slot(d);
	if (!e)
		return;
	memset(e, 0, sizeof *e);
	snprintf(e->file, sizeof e->file, "%s", file);
	sanitize(e->file);
	e->line = line;
	if (d->n == CONF_DIAGS_MAX) {
		/* The last slot says that the list is incomplete. */
		e->severity = CONF_NOTE;
		snprintf(e->msg, sizeof e->msg, "too many diagnostics; the rest are not shown");
		return;
	}
	e->severity = sev;
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	sanitize(e->msg);
}

void pctx_diag_at(struct pctx *p, enum conf_severity sev, const char *file, unsigned line,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pctx_vdiag_at(p, sev, file, line, fmt, ap);
	va_end(ap);
}

void pctx_diag(struct pctx *p, enum conf_severity sev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pctx_vdiag_at(p, sev, p->file, p->line, fmt, ap);
	va_end(ap);
}

void conf_init(struct conf *c)
{
	memset(c, 0, sizeof *c);
	c->local_stratum = 10;
	c->discard_average = 3;
	c->discard_minimum = 2;
	c->port = 123;
	c->tos_minsane = 1;
	c->tos_maxdist = 1.5;
	c->nts_port = 4460;
	c->nts_rotate = 86400;
}

void conf_free(struct conf *c)
{
	free(c->assocs);
	free(c->restricts);
	free(c->listen);
	conf_init(c);
}

bool conf_key_trusted(const struct conf *c, uint32_t id)
{
	if (id == 0 || id > CONF_KEYID_MAX)
		return false;
	return (c->trusted[id / 8] >> (id % 8)) & 1;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Splits line in place: whitespace separates words, '#' starts a comment,
 * a word that starts with '"' runs to the next '"' (ntpd's T_String) and
 * may hold blanks and '#'. */
static void parse_line(struct pctx *p, char *s)
{
	char *argv[CONF_LINE_MAX / 2 + 2];
	int argc = 0;

	for (;;) {
		while (is_blank(*s))
			s++;
		if (*s == '\0' || *s == '#')
			break;
		if (argc == (int)(sizeof argv / sizeof argv[0]) - 1)
			break; /* cannot happen: a word takes at least 2 bytes */
		if (*s == '"') {
			char *q = strchr(s + 1, '"');

			if (!q) {
				pctx_diag(p, CONF_ERROR, "unterminated quoted string; line ignored");
				return;
			}
			*q = '\0';
			argv[argc++] = s + 1;
			s = q + 1;
			continue;
		}
		argv[argc++] = s;
		while (*s && !is_blank(*s) && *s != '#')
			s++;
		if (*s == '#' || *s == '\0') {
			*s = '\0';
			break;
		}
		*s++ = '\0';
	}
	argv[argc] = NULL;
	if (argc > 0)
		conf_directive(p, argc, argv);
}

void pctx_parse_text(struct pctx *p, const char *text, size_t len)
{
	char buf[CONF_LINE_MAX + 2];
	size_t pos = 0;
	unsigned line = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t l = end - pos;

		p->line = ++line;
		if (l > 0 && text[pos + l - 1] == '\r')
			l--;
		if (memchr(text + pos, '\0', l))
			pctx_diag(p, CONF_ERROR, "line contains a NUL byte; line ignored");
		else if (l > CONF_LINE_MAX)
			pctx_diag(p, CONF_ERROR, "line is longer than %d bytes; line ignored", CONF_LINE_MAX);
		else {
			memcpy(buf, text + pos, l);
			buf[l] = '\0';
			parse_line(p, buf);
		}
		pos = end + 1;
	}
}

/* Reads a whole file; on failure returns false with *err an errno value
 * (EFBIG when larger than CONF_FILE_MAX). */
bool pctx_read_file(const char *path, char **out, size_t *outlen, int *err)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	*out = NULL;
	*outlen = 0;
	if (!f) {
		*err = errno;
		return false;
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *nb;

			if (ncap > CONF_FILE_MAX + 1)
				ncap = CONF_FILE_MAX + 1;
			if (ncap == cap) {
				free(buf);
				fclose(f);
				*err = EFBIG;
				return false;
			}
			nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				fclose(f);
				*err = ENOMEM;
				return false;
			}
			buf = nb;
			cap = ncap;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			if (ferror(f)) {
				*err = errno ? errno : EIO;
				free(buf);
				fclose(f);
				return false;
			}
			break;
		}
	}
	fclose(f);
	if (len > CONF_FILE_MAX) {
		free(buf);
		*err = EFBIG;
		return false;
	}
	*out = buf;
	*outlen = len;
	return true;
}

static void pctx_start(struct pctx *p, const char *name, struct conf *c, struct conf_diags *d)
{
	memset(p, 0, sizeof *p);
	p->c = c;
	p->d = d;
	p->file = name;
}

bool conf_parse_string(const char *name, const char *text, struct conf *c, struct conf_diags *d)
{
	struct pctx *p = malloc(sizeof *p);
	unsigned before = d->errors;

	if (!p) {
		d->errors++;
		return false;
	}
	pctx_start(p, name, c, d);
	pctx_parse_text(p, text, strlen(text));
	conf_finish(p);
	free(p);
	return d->errors == before;
}

bool conf_parse_file(const char *path, struct conf *c, struct conf_diags *d)
{
	struct pctx *p;
	unsigned before = d->errors;
	char *text;
	size_t len;
	int err = 0;

	p = malloc(sizeof *p);
	if (!p) {
		d->errors++;
		return false;
	}
	pctx_start(p, path, c, d);
	if (!pctx_read_file(path, &text, &len, &err)) {
		if (err == EFBIG)
			pctx_diag(p, CONF_ERROR, "file is larger than %u bytes", CONF_FILE_MAX);
		else
			pctx_diag(p, CONF_ERROR, "cannot read file: %s", strerror(err));
	} else {
		pctx_parse_text(p, text, len);
		free(text);
		conf_finish(p);
	}
	free(p);
	return d->errors == before;
}
