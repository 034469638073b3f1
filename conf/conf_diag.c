/* ntp.conf diagnostics: the list every error, warning and note goes to,
 * and their one-line form (FILE:LINE: severity: message). Used by the
 * reader (conf.c) and the directives (conf_directives.c). */
#include "config.h"

#include "conf/conf.h"

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
