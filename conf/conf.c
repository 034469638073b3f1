/* ntp.conf reader: line reading, tokenising, includefile and directive
 * dispatch. The directives themselves live in conf_directives.c, the
 * diagnostics in conf_diag.c; neither calls back into this file.
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

static void parse_text(struct pctx *p, const char *text, size_t len);
static bool read_file(const char *path, char **out, size_t *outlen, int *err);

/* includefile FILE: parsed in place, relative to the including file's
 * directory, at most CONF_INCLUDE_MAX deep; a missing file is a warning,
 * as in ntpd. */
static void include_file(struct pctx *p, int argc, char **argv)
{
	char path[CONF_PATH_MAX];
	const char *saved_file = p->file, *slash;
	unsigned saved_line = p->line;
	char *text;
	size_t len;
	int err = 0, n;

	if (argc < 2) {
		pctx_diag(p, CONF_ERROR, "includefile: missing file name");
		return;
	}
	if (argc > 2) {
		pctx_diag(p, CONF_ERROR, "%s: unexpected argument '%s'", argv[0], argv[2]);
		return;
	}
	if (p->depth >= CONF_INCLUDE_MAX) {
		pctx_diag(p, CONF_ERROR, "includefile %s: nested more than %d levels deep (include loop?)",
			  argv[1], CONF_INCLUDE_MAX);
		return;
	}
	slash = strrchr(p->file, '/');
	if (argv[1][0] == '/' || !slash)
		n = snprintf(path, sizeof path, "%s", argv[1]);
	else
		n = snprintf(path, sizeof path, "%.*s/%s", (int)(slash - p->file), p->file, argv[1]);
	if (n < 0 || (size_t)n >= sizeof path) {
		pctx_diag(p, CONF_ERROR, "includefile: path is longer than %d bytes", CONF_PATH_MAX - 1);
		return;
	}
	if (!read_file(path, &text, &len, &err)) {
		if (err == ENOENT)
			pctx_diag(p, CONF_WARNING, "includefile %s: %s; skipped", path, strerror(err));
		else if (err == EFBIG)
			pctx_diag(p, CONF_ERROR, "includefile %s: file is larger than %u bytes", path,
				  CONF_FILE_MAX);
		else
			pctx_diag(p, CONF_ERROR, "includefile %s: %s", path, strerror(err));
		return;
	}
	p->file = path;
	p->depth++;
	parse_text(p, text, len);
	p->depth--;
	p->file = saved_file;
	p->line = saved_line;
	free(text);
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
	if (argc > 0 && !strcmp(argv[0], "includefile"))
		include_file(p, argc, argv);
	else if (argc > 0)
		conf_directive(p, argc, argv);
}

static void parse_text(struct pctx *p, const char *text, size_t len)
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
static bool read_file(const char *path, char **out, size_t *outlen, int *err)
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
	parse_text(p, text, strlen(text));
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
	if (!read_file(path, &text, &len, &err)) {
		if (err == EFBIG)
			pctx_diag(p, CONF_ERROR, "file is larger than %u bytes", CONF_FILE_MAX);
		else
			pctx_diag(p, CONF_ERROR, "cannot read file: %s", strerror(err));
	} else {
		parse_text(p, text, len);
		free(text);
		conf_finish(p);
	}
	free(p);
	return d->errors == before;
}
