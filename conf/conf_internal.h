/* Shared between conf.c (reading, tokenising, includefile), conf_diag.c
 * (diagnostics) and conf_directives.c (what each directive means). The
 * calls go one way: conf.c -> conf_directives.c -> conf_diag.c. Not part of
 * the API. */
#ifndef NTSD_CONF_CONF_INTERNAL_H
#define NTSD_CONF_CONF_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"

#define PCTX_FUDGE_MAX 16

/* `fudge 127.127.1.u` lines are resolved after the whole file is read,
 * because ntpd applies them after all `server` lines, whatever the order. */
struct pctx_fudge {
	unsigned unit;
	int stratum; /* -1: not given */
	unsigned line;
	char file[CONF_PATH_MAX];
};

/* State of one conf_parse_* call, including nested includes. */
struct pctx {
	struct conf *c;
	struct conf_diags *d;
	const char *file; /* file being read, for diagnostics */
	unsigned line;
	unsigned depth;   /* includefile nesting, 0 for the top file */

	uint8_t local_units[32]; /* bitmap: `server 127.127.1.u` seen */
	bool chrony_local;       /* `local` seen: it sets the stratum */
	struct pctx_fudge fudge[PCTX_FUDGE_MAX];
	size_t n_fudge;
};

__attribute__((format(printf, 3, 4))) void pctx_diag(struct pctx *p, enum conf_severity sev,
						      const char *fmt, ...);
__attribute__((format(printf, 5, 6))) void pctx_diag_at(struct pctx *p, enum conf_severity sev,
							 const char *file, unsigned line,
							 const char *fmt, ...);
__attribute__((format(printf, 5, 0))) void pctx_vdiag_at(struct pctx *p, enum conf_severity sev,
							  const char *file, unsigned line,
							  const char *fmt, va_list ap);

/* One tokenised line; argv[0] is the directive, argv[argc] is NULL.
 * includefile never reaches it (the reader handles it). */
void conf_directive(struct pctx *p, int argc, char **argv);
/* Checks done after the whole input was read (fudge, local clock). */
void conf_finish(struct pctx *p);

#endif
