/* What each ntp.conf directive means (ntpd 4.2.8 / NTPsec names, plus
 * chrony's `local`). Every handler reports its own problems and keeps going.
 * A bad value is never stored; for server/pool/peer, restrict, trustedkey,
 * fudge, local and discard a line with an error changes nothing at all. */
#include "config.h"

#include "conf/conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "conf/conf_internal.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ntpd's undisciplined local clock (driver 1) starts at stratum 5
 * (refclock_local.c STRATUM); chrony's `local` defaults to 10. */
#define REFCLOCK_LOCAL_STRATUM 5

struct flagname {
	const char *name;
	uint32_t flag;
};

/* ---- small helpers ---------------------------------------------------- */

/* Makes room for element n of an array that holds n elements, doubling the
 * allocation when n is 0 or a power of two (the capacity is implied by n,
 * so struct conf needs no capacity fields). NULL on overflow or OOM, with
 * the old array untouched. */
static void *grow(void *v, size_t n, size_t size)
{
	size_t cap;

	if (n != 0 && (n & (n - 1)) != 0)
		return v;
	cap = n ? n * 2 : 1;
	if (cap > SIZE_MAX / size)
		return NULL;
	return realloc(v, cap * size);
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65], i, j;

	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* Closest of n names (each the first member of a stride-sized record) within
 * edit distance 2, and closer than the length of word, else NULL. */
static const char *suggest(const char *word, const void *base, size_t n, size_t stride)
{
	const char *best = NULL;
	size_t bestd = 3, wl = strlen(word), i;

	for (i = 0; i < n; i++) {
		const char *name = *(const char *const *)(const void *)((const char *)base + i * stride);
		size_t dd = edit_distance(word, name);

		if (dd < bestd && dd < wl) {
			bestd = dd;
			best = name;
		}
	}
	return best;
}

/* "LABEL: unknown WHAT 'word' (did you mean 'x'?)" */
static void unknown(struct pctx *p, const char *label, const char *what, const char *word,
		    const void *base, size_t n, size_t stride)
{
	const char *s = suggest(word, base, n, stride);

	if (s)
		pctx_diag(p, CONF_ERROR, "%s: unknown %s '%s' (did you mean '%s'?)", label, what, word, s);
	else
		pctx_diag(p, CONF_ERROR, "%s: unknown %s '%s'", label, what, word);
}

static bool parse_ulong(const char *s, unsigned long *v)
{
	char *end;
	unsigned long x;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

/* An integer argument; on error reports "LABEL: ...; expected an integer
 * from MIN to MAX". */
static bool get_uint(struct pctx *p, const char *label, const char *tok, unsigned long min,
		     unsigned long max, unsigned long *out)
{
	unsigned long v;

	if (!tok) {
		pctx_diag(p, CONF_ERROR, "%s: missing value; expected an integer from %lu to %lu", label,
			  min, max);
		return false;
	}
	if (!parse_ulong(tok, &v)) {
		pctx_diag(p, CONF_ERROR, "%s: '%s' is not a number; expected an integer from %lu to %lu",
			  label, tok, min, max);
		return false;
	}
	if (v < min || v > max) {
		pctx_diag(p, CONF_ERROR, "%s: '%s' is out of range; expected an integer from %lu to %lu",
			  label, tok, min, max);
		return false;
	}
	*out = v;
	return true;
}

static bool get_double(struct pctx *p, const char *label, const char *tok, double min, double max,
		       double *out)
{
	char *end;
	double v;

	if (!tok) {
		pctx_diag(p, CONF_ERROR, "%s: missing value; expected a number from %g to %g", label, min,
			  max);
		return false;
	}
	errno = 0;
	v = strtod(tok, &end);
	if (!(isdigit((unsigned char)tok[0]) || tok[0] == '.' || tok[0] == '-') || *end || errno ||
	    !isfinite(v)) {
		pctx_diag(p, CONF_ERROR, "%s: '%s' is not a number; expected a number from %g to %g",
			  label, tok, min, max);
		return false;
	}
	if (v < min || v > max) {
		pctx_diag(p, CONF_ERROR, "%s: '%s' is out of range; expected a number from %g to %g",
			  label, tok, min, max);
		return false;
	}
	*out = v;
	return true;
}

static bool no_more(struct pctx *p, int argc, char **argv, int i)
{
	if (i < argc) {
		pctx_diag(p, CONF_ERROR, "%s: unexpected argument '%s'", argv[0], argv[i]);
		return false;
	}
	return true;
}

static bool copy_path(struct pctx *p, const char *label, const char *src, char *dst, size_t dstlen)
{
	if (!src || !*src) {
		pctx_diag(p, CONF_ERROR, "%s: missing file name", label);
		return false;
	}
	if (strlen(src) >= dstlen) {
		pctx_diag(p, CONF_ERROR, "%s: path is longer than %zu bytes", label, dstlen - 1);
		return false;
	}
	memcpy(dst, src, strlen(src) + 1);
	return true;
}

/* Host names and addresses: letters, digits, '.', '-', '_' or an IPv6
 * literal (with an optional %scope). Anything else, such as HOST:PORT, is
 * rejected rather than resolved into something surprising. */
static bool valid_host(const char *h)
{
	const char *s;

	if (!*h || strlen(h) >= CONF_HOST_MAX)
		return false;
	if (strchr(h, ':')) {
		char tmp[CONF_HOST_MAX];
		uint8_t a6[16];
		size_t n = strcspn(h, "%");

		memcpy(tmp, h, n);
		tmp[n] = '\0';
		if (h[n] == '%' && (h[n + 1] == '\0' || strspn(h + n + 1, "abcdefghijklmnopqrstuvwxyz"
									 "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
									 "0123456789_.-") != strlen(h + n + 1)))
			return false;
		return inet_pton(AF_INET6, tmp, a6) == 1;
	}
	if (h[0] == '-' || h[0] == '.')
		return false;
	for (s = h; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_')
			return false;
	return true;
}

/* 127.127.T.U: ntpd's reference clock pseudo-addresses. */
static bool refclock_addr(const char *h, unsigned *type, unsigned *unit)
{
	uint8_t a[4];

	if (inet_pton(AF_INET, h, a) != 1 || a[0] != 127 || a[1] != 127)
		return false;
	*type = a[2];
	*unit = a[3];
	return true;
}

/* ---- server, pool, peer ----------------------------------------------- */

static const struct flagname assoc_flags[] = {
	{"iburst", CONF_ASSOC_IBURST}, {"burst", CONF_ASSOC_BURST},
	{"prefer", CONF_ASSOC_PREFER}, {"noselect", CONF_ASSOC_NOSELECT},
	{"true", CONF_ASSOC_TRUE},     {"nts", CONF_ASSOC_NTS},
	{"noval", CONF_ASSOC_NOVAL},
};

/* ntpd options we accept and ignore; has_arg: takes a value. */
static const struct {
	const char *name;
	bool has_arg;
} assoc_ignored[] = {
	{"mode", true}, {"ttl", true}, {"bias", true}, {"xleave", false},
	{"preempt", false}, {"dynamic", false},
};

static const char *const assoc_names[] = {
	"iburst", "burst",   "prefer", "noselect", "true", "nts",  "noval", "key",     "minpoll",
	"maxpoll", "version", "ca",     "port",     "mode", "ttl",  "bias",  "xleave", "preempt",
	"dynamic", "autokey",
};

static void add_assoc(struct pctx *p, const struct conf_assoc *a)
{
	struct conf *c = p->c;
	struct conf_assoc *v;

	if (c->n_assocs >= CONF_ASSOCS_MAX) {
		pctx_diag(p, CONF_ERROR, "%s: too many servers, pools and peers (limit %d)",
			  a->kind == CONF_ASSOC_POOL ? "pool" : a->kind == CONF_ASSOC_PEER ? "peer" : "server",
			  CONF_ASSOCS_MAX);
		return;
	}
	v = grow(c->assocs, c->n_assocs, sizeof *v);
	if (!v) {
		pctx_diag(p, CONF_ERROR, "out of memory");
		return;
	}
	c->assocs = v;
	v[c->n_assocs++] = *a;
}

/* Parses the options after the host; false if any was bad. */
static bool assoc_options(struct pctx *p, const char *dir, int argc, char **argv, int i,
			  struct conf_assoc *a)
{
	bool ok = true, have_min = false, have_max = false;
	char label[64];
	size_t k;

	for (; i < argc; i++) {
		const char *o = argv[i];
		unsigned long v;
		bool done = false;

		for (k = 0; k < NELEM(assoc_flags); k++)
			if (!strcmp(o, assoc_flags[k].name)) {
				a->flags |= assoc_flags[k].flag;
				done = true;
			}
		for (k = 0; !done && k < NELEM(assoc_ignored); k++)
			if (!strcmp(o, assoc_ignored[k].name)) {
				pctx_diag(p, CONF_WARNING, "%s: option '%s' is not supported; ignored", dir, o);
				if (assoc_ignored[k].has_arg && ++i >= argc) {
					pctx_diag(p, CONF_ERROR, "%s: option '%s' needs a value", dir, o);
					ok = false;
				}
				done = true;
			}
		if (done)
			continue;
		snprintf(label, sizeof label, "%s %s", dir, o);
		if (!strcmp(o, "autokey")) {
			pctx_diag(p, CONF_WARNING, "%s: autokey is not supported; use nts", dir);
		} else if (!strcmp(o, "key")) {
			ok &= get_uint(p, label, argv[i + 1], 1, CONF_KEYID_MAX, &v);
			a->key = (uint32_t)v;
			i++;
		} else if (!strcmp(o, "minpoll") || !strcmp(o, "maxpoll")) {
			bool got = get_uint(p, label, argv[i + 1], 3, 17, &v);

			ok &= got;
			if (got && o[1] == 'i') {
				a->minpoll = (int)v;
				have_min = true;
			} else if (got) {
				a->maxpoll = (int)v;
				have_max = true;
			}
			i++;
		} else if (!strcmp(o, "version")) {
			ok &= get_uint(p, label, argv[i + 1], 1, 4, &v);
			a->version = (int)v;
			i++;
		} else if (!strcmp(o, "port")) {
			ok &= get_uint(p, label, argv[i + 1], 1, 65535, &v);
			a->port = (uint16_t)v;
			i++;
		} else if (!strcmp(o, "ca")) {
			ok &= copy_path(p, label, argv[i + 1], a->ca, sizeof a->ca);
			i++;
		} else {
			unknown(p, dir, "option", o, assoc_names, NELEM(assoc_names), sizeof assoc_names[0]);
			ok = false;
		}
		if (i >= argc)
			break; /* a value was missing, already reported */
	}
	if (have_min && have_max && a->minpoll > a->maxpoll) {
		pctx_diag(p, CONF_ERROR, "%s: minpoll %d is greater than maxpoll %d; expected minpoll <= maxpoll",
			  dir, a->minpoll, a->maxpoll);
		ok = false;
	} else if (a->minpoll > a->maxpoll) {
		/* Only one was given: move the default one along, as ntpd does. */
		if (have_min)
			a->maxpoll = a->minpoll;
		else
			a->minpoll = a->maxpoll;
	}
	if ((a->ca[0] || (a->flags & CONF_ASSOC_NOVAL)) && !(a->flags & CONF_ASSOC_NTS))
		pctx_diag(p, CONF_WARNING, "%s: '%s' has no effect without 'nts'", dir,
			  a->ca[0] ? "ca" : "noval");
	return ok;
}

static void d_assoc(struct pctx *p, int argc, char **argv)
{
	const char *dir = argv[0];
	struct conf_assoc *a;
	unsigned type, unit;
	int i = 1;
	bool ok;

	if (i < argc && (!strcmp(argv[i], "-4") || !strcmp(argv[i], "-6")))
		i++;
	if (i >= argc) {
		pctx_diag(p, CONF_ERROR, "%s: missing host name or address", dir);
		return;
	}
	if (i == 2)
		pctx_diag(p, CONF_NOTE, "%s: '%s' is ignored; every address of the name is used", dir,
			  argv[1]);
	if (!valid_host(argv[i])) {
		pctx_diag(p, CONF_ERROR,
			  "%s: invalid host '%s'; expected a host name or a numeric address (use 'port N' for a port)",
			  dir, argv[i]);
		return;
	}
	a = calloc(1, sizeof *a);
	if (!a) {
		pctx_diag(p, CONF_ERROR, "out of memory");
		return;
	}
	a->kind = !strcmp(dir, "pool") ? CONF_ASSOC_POOL : !strcmp(dir, "peer") ? CONF_ASSOC_PEER
										  : CONF_ASSOC_SERVER;
	memcpy(a->host, argv[i], strlen(argv[i]) + 1);
	a->minpoll = 6;
	a->maxpoll = 10;
	a->line = p->line;
	snprintf(a->file, sizeof a->file, "%s", p->file);
	ok = assoc_options(p, dir, argc, argv, i + 1, a);

	if (refclock_addr(a->host, &type, &unit)) {
		if (a->kind != CONF_ASSOC_SERVER)
			pctx_diag(p, CONF_ERROR, "%s: %s is a reference clock; use 'server'", dir, a->host);
		else if (type == 1)
			p->local_units[unit / 8] |= (uint8_t)(1u << (unit % 8));
		else
			pctx_diag(p, CONF_WARNING, "server %s: refclock type %u not supported; ignored", a->host,
				  type);
	} else if (ok) {
		add_assoc(p, a);
	}
	free(a);
}

/* ---- fudge, local ----------------------------------------------------- */

static const char *const fudge_names[] = {"stratum", "time1", "time2", "refid",
					  "flag1",   "flag2", "flag3", "flag4"};

static void d_fudge(struct pctx *p, int argc, char **argv)
{
	unsigned type, unit;
	int stratum = -1, i;
	bool ok = true;

	if (argc < 2 || !refclock_addr(argv[1], &type, &unit)) {
		pctx_diag(p, CONF_ERROR, "fudge: '%s' is not a reference clock address; expected 127.127.T.U",
			  argc < 2 ? "" : argv[1]);
		return;
	}
	if (type != 1) {
		pctx_diag(p, CONF_WARNING, "fudge %s: refclock type %u not supported; ignored", argv[1], type);
		return;
	}
	for (i = 2; i < argc; i++) {
		unsigned long v;
		size_t k;

		for (k = 0; k < NELEM(fudge_names); k++)
			if (!strcmp(argv[i], fudge_names[k]))
				break;
		if (k == NELEM(fudge_names)) {
			unknown(p, "fudge", "option", argv[i], fudge_names, NELEM(fudge_names),
				sizeof fudge_names[0]);
			ok = false;
			i++; /* every fudge option is NAME VALUE */
			continue;
		}
		if (i + 1 >= argc) {
			pctx_diag(p, CONF_ERROR, "fudge: '%s' needs a value", argv[i]);
			ok = false;
			break;
		}
		i++;
		if (k == 0) {
			if (get_uint(p, "fudge stratum", argv[i], 0, 15, &v))
				stratum = (int)v;
			else
				ok = false;
		} else {
			pctx_diag(p, CONF_WARNING, "fudge: '%s' is not supported for the local clock; ignored",
				  argv[i - 1]);
		}
	}
	if (!ok)
		return;
	if (p->n_fudge >= PCTX_FUDGE_MAX) {
		pctx_diag(p, CONF_ERROR, "fudge: too many fudge lines (limit %d)", PCTX_FUDGE_MAX);
		return;
	}
	p->fudge[p->n_fudge].unit = unit;
	p->fudge[p->n_fudge].stratum = stratum;
	p->fudge[p->n_fudge].line = p->line;
	snprintf(p->fudge[p->n_fudge].file, sizeof p->fudge[0].file, "%s", p->file);
	p->n_fudge++;
}

static const char *const local_names[] = {"stratum", "orphan", "distance"};

/* chrony: local [stratum N] [orphan] [distance D] */
static void d_local(struct pctx *p, int argc, char **argv)
{
	unsigned long stratum = 10;
	double dist;
	bool ok = true;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "stratum")) {
			ok &= get_uint(p, "local stratum", argv[i + 1], 1, 15, &stratum);
			i++;
		} else if (!strcmp(argv[i], "distance")) {
			ok &= get_double(p, "local distance", argv[i + 1], 0, 16, &dist);
			i++;
		} else if (strcmp(argv[i], "orphan") != 0) {
			unknown(p, "local", "option", argv[i], local_names, NELEM(local_names),
				sizeof local_names[0]);
			ok = false;
		}
		if (i >= argc)
			break;
	}
	if (!ok)
		return;
	p->chrony_local = true;
	p->c->local_enabled = true;
	p->c->local_stratum = (int)stratum;
}

void conf_finish(struct pctx *p)
{
	bool any = false;
	int stratum = REFCLOCK_LOCAL_STRATUM;
	size_t i;

	for (i = 0; i < sizeof p->local_units; i++)
		any |= p->local_units[i] != 0;
	for (i = 0; i < p->n_fudge; i++) {
		const struct pctx_fudge *f = &p->fudge[i];

		if (!(p->local_units[f->unit / 8] & (1u << (f->unit % 8))))
			pctx_diag_at(p, CONF_WARNING, f->file, f->line,
				     "fudge 127.127.1.%u: no 'server 127.127.1.%u' line; ignored", f->unit,
				     f->unit);
		else if (f->stratum >= 0)
			stratum = f->stratum;
	}
	if (any && !p->chrony_local) {
		p->c->local_enabled = true;
		p->c->local_stratum = stratum;
	}
}

/* ---- restrict --------------------------------------------------------- */

static const struct flagname restrict_flags[] = {
	{"ignore", CONF_RES_IGNORE},	   {"kod", CONF_RES_KOD},
	{"limited", CONF_RES_LIMITED},	   {"nomodify", CONF_RES_NOMODIFY},
	{"noquery", CONF_RES_NOQUERY},	   {"nopeer", CONF_RES_NOPEER},
	{"noserve", CONF_RES_NOSERVE},	   {"notrap", CONF_RES_NOTRAP},
	{"notrust", CONF_RES_NOTRUST},	   {"nomrulist", CONF_RES_NOMRULIST},
	{"version", CONF_RES_VERSION},	   {"noepeer", CONF_RES_NOEPEER},
	{"lowpriotrap", CONF_RES_LOWPRIOTRAP}, {"ntpport", CONF_RES_NTPPORT},
	{"mask", 0},
	/* ntpd flags without a meaning here; 1: warn, 2: warn and skip a value */
	{"flake", 1}, {"mssntp", 1}, {"interface", 1}, {"ippeerlimit", 2}, {"serverresponse", 2},
};
#define RESTRICT_KNOWN 14 /* entries before "mask" */

static unsigned mask_prefix(const uint8_t *m, size_t len, bool *contiguous)
{
	unsigned n = 0;
	size_t i;
	bool zero = false;

	*contiguous = true;
	for (i = 0; i < len * 8; i++) {
		bool bit = (m[i / 8] >> (7 - i % 8)) & 1;

		if (bit && zero)
			*contiguous = false;
		else if (bit)
			n++;
		else
			zero = true;
	}
	return n;
}

static void prefix_mask(uint8_t *m, size_t len, unsigned prefix)
{
	size_t i;

	memset(m, 0, 16);
	for (i = 0; i < len * 8 && i < prefix; i++)
		m[i / 8] |= (uint8_t)(0x80u >> (i % 8));
}

static void add_restrict(struct pctx *p, const struct conf_restrict *r)
{
	struct conf *c = p->c;
	struct conf_restrict *v;
	size_t i;

	for (i = 0; i < c->n_restricts; i++) {
		struct conf_restrict *e = &c->restricts[i];

		if (e->family == r->family && e->is_default == r->is_default &&
		    e->is_source == r->is_source && !memcmp(e->addr, r->addr, 16) &&
		    !memcmp(e->mask, r->mask, 16) &&
		    (e->flags & CONF_RES_NTPPORT) == (r->flags & CONF_RES_NTPPORT)) {
			e->flags |= r->flags; /* ntpd hack_restrict(): OR into the entry */
			return;
		}
	}
	if (c->n_restricts >= CONF_RESTRICTS_MAX) {
		pctx_diag(p, CONF_ERROR, "restrict: too many entries (limit %d)", CONF_RESTRICTS_MAX);
		return;
	}
	v = grow(c->restricts, c->n_restricts, sizeof *v);
	if (!v) {
		pctx_diag(p, CONF_ERROR, "out of memory");
		return;
	}
	c->restricts = v;
	v[c->n_restricts++] = *r;
	if (r->is_default && r->family == AF_INET)
		c->has_default4 = true;
	if (r->is_default && r->family == AF_INET6)
		c->has_default6 = true;
}

/* "1.2.3.4", "::1", "10.0.0.0/8", "fe80::/10" into r; false (with an error)
 * if it looks like an address but is not one; *hostname when it does not
 * look like an address at all. */
static bool restrict_address(struct pctx *p, const char *a, int fam, struct conf_restrict *r,
			     bool *have_prefix, bool *hostname)
{
	char tmp[CONF_HOST_MAX];
	const char *slash = strchr(a, '/');
	size_t n = slash ? (size_t)(slash - a) : strlen(a);
	unsigned long prefix;

	*hostname = false;
	*have_prefix = slash != NULL;
	if (n >= sizeof tmp)
		n = sizeof tmp - 1;
	memcpy(tmp, a, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, r->addr) == 1)
		r->family = AF_INET;
	else if (inet_pton(AF_INET6, tmp, r->addr) == 1)
		r->family = AF_INET6;
	else if (!slash && !strchr(a, ':') && strspn(a, "0123456789.") != strlen(a) && valid_host(a)) {
		*hostname = true;
		return false;
	} else {
		pctx_diag(p, CONF_ERROR,
			  "restrict: bad address '%s'; expected an IPv4 or IPv6 address, optionally with /PREFIX",
			  a);
		return false;
	}
	if (fam && fam != r->family) {
		pctx_diag(p, CONF_ERROR, "restrict: '%s' is not an %s address but %s was given", a,
			  fam == AF_INET ? "IPv4" : "IPv6", fam == AF_INET ? "-4" : "-6");
		return false;
	}
	if (slash) {
		if (!get_uint(p, "restrict prefix", slash + 1, 0, r->family == AF_INET ? 32 : 128, &prefix))
			return false;
	} else {
		prefix = r->family == AF_INET ? 32 : 128;
	}
	r->prefix = (unsigned)prefix;
	prefix_mask(r->mask, r->family == AF_INET ? 4 : 16, r->prefix);
	return true;
}

static bool restrict_mask(struct pctx *p, const char *tok, struct conf_restrict *r)
{
	uint8_t m[16] = {0};
	bool contiguous;

	if (!tok) {
		pctx_diag(p, CONF_ERROR, "restrict: 'mask' needs a value; expected a mask such as 255.255.255.0");
		return false;
	}
	if (inet_pton(r->family, tok, m) != 1) {
		pctx_diag(p, CONF_ERROR, "restrict: bad mask '%s'; expected an %s mask such as %s", tok,
			  r->family == AF_INET ? "IPv4" : "IPv6",
			  r->family == AF_INET ? "255.255.255.0" : "ffff:ffff:ffff:ffff::");
		return false;
	}
	r->prefix = mask_prefix(m, r->family == AF_INET ? 4 : 16, &contiguous);
	if (!contiguous) {
		pctx_diag(p, CONF_ERROR, "restrict: mask '%s' is not contiguous; expected one bits followed by zero bits",
			  tok);
		return false;
	}
	memcpy(r->mask, m, 16);
	return true;
}

static void restrict_apply_mask(struct pctx *p, const char *tok, struct conf_restrict *r)
{
	bool outside = false;
	size_t i;

	for (i = 0; i < 16; i++) {
		if (r->addr[i] & ~r->mask[i])
			outside = true;
		r->addr[i] &= r->mask[i];
	}
	if (outside) {
		char s[INET6_ADDRSTRLEN];

		inet_ntop(r->family, r->addr, s, sizeof s);
		pctx_diag(p, CONF_WARNING, "restrict: address '%s' has bits outside the mask; using %s/%u",
			  tok, s, r->prefix);
	}
}

/* restrict [-4|-6] default|source|ADDR[/PREFIX] [mask MASK] [flag ...] */
static void d_restrict(struct pctx *p, int argc, char **argv)
{
	struct conf_restrict r = {.line = p->line};
	unsigned errors = p->d->errors;
	bool have_prefix = false, have_mask = false, hostname;
	const char *a;
	int fam = 0, i = 1;

	if (i < argc && !strcmp(argv[i], "-4"))
		fam = AF_INET, i++;
	else if (i < argc && !strcmp(argv[i], "-6"))
		fam = AF_INET6, i++;
	if (i >= argc) {
		pctx_diag(p, CONF_ERROR, "restrict: missing address; expected 'default', 'source' or an address");
		return;
	}
	a = argv[i++];
	if (!strcmp(a, "default"))
		r.is_default = true;
	else if (!strcmp(a, "source"))
		r.is_source = true;
	else if (!restrict_address(p, a, fam, &r, &have_prefix, &hostname)) {
		if (hostname)
			pctx_diag(p, CONF_WARNING,
				  "restrict %s: host names are not resolved; use an address (line ignored)", a);
		return;
	}
	for (; i < argc; i++) {
		const char *f = argv[i];
		size_t k;

		for (k = 0; k < NELEM(restrict_flags); k++)
			if (!strcmp(f, restrict_flags[k].name))
				break;
		if (k == NELEM(restrict_flags)) {
			unknown(p, "restrict", "flag", f, restrict_flags, RESTRICT_KNOWN + 1,
				sizeof restrict_flags[0]);
		} else if (k < RESTRICT_KNOWN) {
			r.flags |= restrict_flags[k].flag;
		} else if (k > RESTRICT_KNOWN) {
			pctx_diag(p, CONF_WARNING, "restrict: flag '%s' is not supported; ignored", f);
			if (restrict_flags[k].flag == 2 && ++i >= argc)
				pctx_diag(p, CONF_ERROR, "restrict: '%s' needs a value", f);
		} else if (r.is_default || r.is_source) {
			pctx_diag(p, CONF_ERROR, "restrict: 'mask' cannot be used with '%s'", a);
			i++;
		} else if (have_prefix || have_mask) {
			pctx_diag(p, CONF_ERROR, "restrict: more than one mask or /PREFIX for '%s'", a);
			i++;
		} else {
			have_mask = true;
			restrict_mask(p, argv[i + 1], &r);
			i++;
		}
	}
	if (p->d->errors != errors)
		return;
	if (r.is_default || r.is_source) {
		/* default: everything (mask 0); source: each association's
		 * address (host mask). One entry per family unless -4/-6. */
		int f;

		for (f = 0; f < 2; f++) {
			r.family = f == 0 ? AF_INET : AF_INET6;
			if (fam && fam != r.family)
				continue;
			r.prefix = r.is_source ? (f == 0 ? 32 : 128) : 0;
			prefix_mask(r.mask, f == 0 ? 4 : 16, r.prefix);
			add_restrict(p, &r);
		}
		return;
	}
	restrict_apply_mask(p, a, &r);
	add_restrict(p, &r);
}

/* ---- keys ------------------------------------------------------------- */

static void trust_range(struct conf *c, unsigned long lo, unsigned long hi)
{
	for (; lo <= hi; lo++)
		c->trusted[lo / 8] |= (uint8_t)(1u << (lo % 8));
}

/* One key id at *s (digits); advances *s. */
static bool scan_keyid(struct pctx *p, const char **s, unsigned long *v)
{
	char tmp[24];
	size_t n = strspn(*s, "0123456789");

	if (n == 0)
		return false;
	if (n >= sizeof tmp)
		n = sizeof tmp - 1;
	memcpy(tmp, *s, n);
	tmp[n] = '\0';
	*s += strspn(*s, "0123456789");
	return get_uint(p, "trustedkey", tmp, 1, CONF_KEYID_MAX, v);
}

/* trustedkey ID ... with ntpd's "(FIRST ... LAST)" ranges and FIRST-LAST.
 * The words are joined again so that "(1 ... 10)" and "(1...10)" parse the
 * same. */
static void d_trustedkey(struct pctx *p, int argc, char **argv)
{
	char buf[CONF_LINE_MAX + 2] = "";
	uint8_t trusted[sizeof p->c->trusted];
	const char *s;
	size_t len = 0;
	int i;

	if (argc < 2) {
		pctx_diag(p, CONF_ERROR, "trustedkey: missing key id; expected an integer from 1 to %u",
			  CONF_KEYID_MAX);
		return;
	}
	for (i = 1; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (len + n + 2 > sizeof buf)
			break; /* cannot happen: the words came from one line */
		memcpy(buf + len, argv[i], n);
		len += n;
		buf[len++] = ' ';
		buf[len] = '\0';
	}
	memcpy(trusted, p->c->trusted, sizeof trusted);
	for (s = buf;;) {
		unsigned long lo, hi;
		bool paren = false;
		const char *start;

		s += strspn(s, " ");
		if (!*s)
			break;
		start = s;
		if (*s == '(') {
			paren = true;
			s++;
			s += strspn(s, " ");
		}
		if (!isdigit((unsigned char)*s))
			goto syntax;
		if (!scan_keyid(p, &s, &lo))
			goto fail;
		hi = lo;
		if (paren) {
			s += strspn(s, " ");
			if (strncmp(s, "...", 3) != 0)
				goto syntax;
			s += 3;
			s += strspn(s, " ");
			if (!isdigit((unsigned char)*s))
				goto syntax;
			if (!scan_keyid(p, &s, &hi))
				goto fail;
			s += strspn(s, " ");
			if (*s++ != ')')
				goto syntax;
		} else if (*s == '-') {
			s++;
			if (!isdigit((unsigned char)*s))
				goto syntax;
			if (!scan_keyid(p, &s, &hi))
				goto fail;
		}
		if (*s != ' ')
			goto syntax;
		if (lo > hi) {
			pctx_diag(p, CONF_ERROR, "trustedkey: empty range %lu to %lu; FIRST must not exceed LAST",
				  lo, hi);
			goto fail;
		}
		trust_range(p->c, lo, hi);
		continue;
syntax:
		pctx_diag(p, CONF_ERROR,
			  "trustedkey: bad key list at '%.*s'; expected key ids, (FIRST ... LAST) or FIRST-LAST",
			  (int)strcspn(start, " "), start);
		goto fail;
	}
	return;
fail:
	/* a line with an error trusts nothing */
	memcpy(p->c->trusted, trusted, sizeof trusted);
}

static void d_keyid(struct pctx *p, int argc, char **argv)
{
	unsigned long v;

	if (!get_uint(p, argv[0], argv[1], 1, CONF_KEYID_MAX, &v) || !no_more(p, argc, argv, 2))
		return;
	if (!strcmp(argv[0], "requestkey")) {
		p->c->requestkey = (uint32_t)v;
		pctx_diag(p, CONF_NOTE, "requestkey: mode 7 requests are never answered; key %lu unused", v);
	} else {
		p->c->controlkey = (uint32_t)v;
	}
}

/* ---- files ------------------------------------------------------------ */

static void d_path(struct pctx *p, int argc, char **argv)
{
	struct conf *c = p->c;
	char *dst = !strcmp(argv[0], "keys")      ? c->keys
		    : !strcmp(argv[0], "driftfile") ? c->driftfile
		    : !strcmp(argv[0], "leapfile") || !strcmp(argv[0], "leapseclist") ? c->leapfile
		    : !strcmp(argv[0], "logfile")   ? c->logfile
		    : !strcmp(argv[0], "pidfile")   ? c->pidfile
						    : c->statsdir;
	char tmp[CONF_PATH_MAX];
	int max = 2;

	if (!strcmp(argv[0], "driftfile") && argc == 3) {
		/* ntpd: driftfile FILE [wander_threshold] */
		double w;

		if (!get_double(p, "driftfile wander threshold", argv[2], 0, 1, &w))
			return;
		pctx_diag(p, CONF_WARNING, "driftfile: the wander threshold is not supported; ignored");
		max = 3;
	}
	if (!copy_path(p, argv[0], argv[1], tmp, sizeof tmp) || !no_more(p, argc, argv, max))
		return;
	memcpy(dst, tmp, strlen(tmp) + 1);
}

/* metrics ADDRESS:PORT (or [IPV6]:PORT): where Prometheus scrapes
 * /metrics. A numeric address: the daemon binds it before any name lookup
 * is possible. Anything but loopback is warned about. */
static void d_metrics(struct pctx *p, int argc, char **argv)
{
	static const char usage[] = "expected ADDRESS:PORT, e.g. 127.0.0.1:9975 or [::1]:9975";
	char host[CONF_HOST_MAX];
	uint8_t a[16];
	const char *port, *s = argv[1];
	unsigned long v;
	int af;

	if (argc < 2) {
		pctx_diag(p, CONF_ERROR, "metrics: missing address; %s", usage);
		return;
	}
	if (!no_more(p, argc, argv, 2))
		return;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof host)
			goto bad;
		snprintf(host, sizeof host, "%.*s", (int)(end - s - 1), s + 1);
		port = end + 2;
		af = AF_INET6;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon || (size_t)(colon - s) >= sizeof host)
			goto bad;
		snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
		port = colon + 1;
		af = AF_INET;
	}
	if (inet_pton(af, host, a) != 1)
		goto bad;
	if (!get_uint(p, "metrics port", port, 1, 65535, &v))
		return;
	snprintf(p->c->metrics_addr, sizeof p->c->metrics_addr, "%s", host);
	p->c->metrics_port = (uint16_t)v;
	if ((af == AF_INET && a[0] != 127) ||
	    (af == AF_INET6 && memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) != 0))
		pctx_diag(p, CONF_WARNING,
			  "metrics: %s is not a loopback address: anyone who reaches it can read the "
			  "server's counters; restrict it with a firewall",
			  s);
	return;
bad:
	pctx_diag(p, CONF_ERROR, "metrics: '%s' is not a numeric address and port; %s", s, usage);
}

/* ---- discard, tos, enable/disable, port, interface -------------------- */

static const char *const discard_names[] = {"average", "minimum", "monitor"};

static void d_discard(struct pctx *p, int argc, char **argv)
{
	unsigned long avg = (unsigned long)p->c->discard_average;
	unsigned long min = (unsigned long)p->c->discard_minimum, mon;
	bool ok = true;
	int i;

	if (argc < 2) {
		pctx_diag(p, CONF_ERROR, "discard: missing option; expected 'average', 'minimum' or 'monitor'");
		return;
	}
	for (i = 1; i < argc; i += 2) {
		if (!strcmp(argv[i], "average"))
			ok &= get_uint(p, "discard average", argv[i + 1], 0, 16, &avg);
		else if (!strcmp(argv[i], "minimum"))
			ok &= get_uint(p, "discard minimum", argv[i + 1], 0, 60, &min);
		else if (!strcmp(argv[i], "monitor"))
			ok &= get_uint(p, "discard monitor", argv[i + 1], 0, 1000000, &mon);
		else {
			unknown(p, "discard", "option", argv[i], discard_names, NELEM(discard_names),
				sizeof discard_names[0]);
			ok = false; /* and skip its value: options are NAME VALUE */
		}
		if (i + 1 >= argc)
			break;
	}
	if (!ok)
		return;
	p->c->discard_average = (int)avg;
	p->c->discard_minimum = (int)min;
}

/* ntpd's tos options; only minsane, maxdist and orphan are kept. */
static const struct tosopt {
	const char *name;
	double min, max;
	bool integer;
} tos_opts[] = {
	{"minsane", 1, 15, true},     {"maxdist", 0.001, 16, false}, {"orphan", 1, 15, true},
	{"minclock", 1, 32, true},    {"maxclock", 1, 32, true},     {"mindist", 0, 16, false},
	{"ceiling", 1, 16, true},     {"floor", 0, 15, true},        {"cohort", 0, 1, true},
	{"beacon", 1, 86400, true},   {"orphanwait", 0, 86400, true}, {"bcpollbstep", 0, 4, true},
	{"maxdisp", 0.001, 16, false}, {"basedate", 0, 0, false},
};

static void d_tos(struct pctx *p, int argc, char **argv)
{
	struct conf *c = p->c;
	int i;

	if (argc < 2) {
		pctx_diag(p, CONF_ERROR, "tos: missing option; expected NAME VALUE pairs such as 'minsane 3'");
		return;
	}
	for (i = 1; i < argc; i += 2) {
		const struct tosopt *o = NULL;
		char label[32];
		size_t k;
		double d;
		unsigned long u;

		for (k = 0; k < NELEM(tos_opts); k++)
			if (!strcmp(argv[i], tos_opts[k].name))
				o = &tos_opts[k];
		if (!o) {
			unknown(p, "tos", "option", argv[i], tos_opts, NELEM(tos_opts), sizeof tos_opts[0]);
			continue;
		}
		snprintf(label, sizeof label, "tos %s", o->name);
		if (!strcmp(o->name, "basedate")) {
			/* NTPsec: a date such as 2020-01-01; only the era matters */
			if (i + 1 >= argc)
				pctx_diag(p, CONF_ERROR, "tos basedate: missing value; expected a date YYYY-MM-DD");
			continue;
		}
		if (o->integer) {
			if (!get_uint(p, label, argv[i + 1], (unsigned long)o->min, (unsigned long)o->max, &u))
				continue;
			if (!strcmp(o->name, "minsane"))
				c->tos_minsane = (int)u;
			else if (!strcmp(o->name, "orphan"))
				c->tos_orphan = (int)u;
		} else {
			if (!get_double(p, label, argv[i + 1], o->min, o->max, &d))
				continue;
			if (!strcmp(o->name, "maxdist")) {
				c->tos_maxdist = d;
				c->tos_maxdist_set = 1;
			}
		}
	}
}

static const char *const system_flags[] = {"ntp",	"monitor",   "auth",  "bclient",
					   "calibrate", "kernel", "stats", "pps",
					   "mode7"};

static void d_enable(struct pctx *p, int argc, char **argv)
{
	bool on = !strcmp(argv[0], "enable");
	int i;

	if (argc < 2) {
		pctx_diag(p, CONF_ERROR, "%s: missing flag; expected ntp, monitor, auth, kernel, stats, ...",
			  argv[0]);
		return;
	}
	for (i = 1; i < argc; i++) {
		size_t k;

		for (k = 0; k < NELEM(system_flags); k++)
			if (!strcmp(argv[i], system_flags[k]))
				break;
		if (k == NELEM(system_flags)) {
			unknown(p, argv[0], "flag", argv[i], system_flags, NELEM(system_flags),
				sizeof system_flags[0]);
		} else if (k == 0) {
			p->c->disable_ntp = !on;
		} else if (k == 1) {
			p->c->disable_monitor = !on;
		}
	}
}

static void d_port(struct pctx *p, int argc, char **argv)
{
	unsigned long v;

	if (get_uint(p, "port", argv[1], 1, 65535, &v) && no_more(p, argc, argv, 2))
		p->c->port = (uint16_t)v;
}

static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	/* all digits, dots and colons: a mistyped address, not a name */
	return n > 0 && n < 16 && strspn(s, "0123456789.:") != n &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.-:") == n;
}

static void add_listen(struct pctx *p, const char *addr)
{
	struct conf *c = p->c;
	struct conf_listen *v;

	if (c->n_listen >= CONF_LISTEN_MAX) {
		pctx_diag(p, CONF_ERROR, "interface: too many listen entries (limit %d)", CONF_LISTEN_MAX);
		return;
	}
	v = grow(c->listen, c->n_listen, sizeof *v);
	if (!v) {
		pctx_diag(p, CONF_ERROR, "out of memory");
		return;
	}
	c->listen = v;
	memset(&v[c->n_listen], 0, sizeof v[0]);
	memcpy(v[c->n_listen].addr, addr, strlen(addr) + 1);
	v[c->n_listen].line = p->line;
	c->n_listen++;
}

static const char *const interface_actions[] = {"listen", "ignore", "drop"};

/* interface listen|ignore|drop all|wildcard|ipv4|ipv6|ADDR|IFNAME */
static void d_interface(struct pctx *p, int argc, char **argv)
{
	const char *what;
	uint8_t a[16];
	size_t k;

	if (argc < 3) {
		pctx_diag(p, CONF_ERROR,
			  "%s: expected 'listen', 'ignore' or 'drop' and an address, interface name, 'all', 'ipv4' or 'ipv6'",
			  argv[0]);
		return;
	}
	for (k = 0; k < NELEM(interface_actions); k++)
		if (!strcmp(argv[1], interface_actions[k]))
			break;
	if (k == NELEM(interface_actions)) {
		unknown(p, argv[0], "action", argv[1], interface_actions, NELEM(interface_actions),
			sizeof interface_actions[0]);
		return;
	}
	what = argv[2];
	if (!no_more(p, argc, argv, 3))
		return;
	if (strcmp(what, "all") && strcmp(what, "wildcard") && strcmp(what, "ipv4") &&
	    strcmp(what, "ipv6") && inet_pton(AF_INET, what, a) != 1 &&
	    inet_pton(AF_INET6, what, a) != 1 && !valid_ifname(what)) {
		pctx_diag(p, CONF_ERROR,
			  "%s: bad address or interface name '%s'; expected an address, an interface name, 'all', 'ipv4' or 'ipv6'",
			  argv[0], what);
		return;
	}
	if (k != 0) {
		pctx_diag(p, CONF_WARNING, "%s %s: only 'interface listen' is honored; ignored", argv[0],
			  argv[1]);
		return;
	}
	if (!strcmp(what, "all") || !strcmp(what, "wildcard") || !strcmp(what, "ipv4"))
		add_listen(p, "0.0.0.0");
	if (!strcmp(what, "all") || !strcmp(what, "wildcard") || !strcmp(what, "ipv6"))
		add_listen(p, "::");
	if (strcmp(what, "all") && strcmp(what, "wildcard") && strcmp(what, "ipv4") && strcmp(what, "ipv6"))
		add_listen(p, what);
}

/* ---- nts -------------------------------------------------------------- */

static const char *const nts_names[] = {
	"enable", "disable", "key",  "cert",      "cookie",          "ca",
	"port",   "mintls",  "maxtls", "aead",    "ntpserver",       "ntpport",
	"tlsciphersuites", "tlsecdhcurves", "rotate",
};

static const char *const aead_names[] = {"AES_SIV_CMAC_256", "AES_SIV_CMAC_384",
					 "AES_SIV_CMAC_512"};

/* NTS needs TLS 1.3 (RFC 8915 §3). */
static bool tls13(struct pctx *p, const char *label, const char *v)
{
	static const char *const ok[] = {"TLS1.3", "TLSv1.3", "1.3"};
	static const char *const old[] = {"TLS1.2", "TLSv1.2", "1.2", "TLS1.1", "TLSv1.1", "1.1",
					  "TLS1.0", "TLSv1.0", "TLS1",  "TLSv1",   "1.0"};
	size_t k;

	if (!v) {
		pctx_diag(p, CONF_ERROR, "%s: missing value; expected TLS1.3", label);
		return false;
	}
	for (k = 0; k < NELEM(ok); k++)
		if (!strcasecmp(v, ok[k]))
			return true;
	for (k = 0; k < NELEM(old); k++)
		if (!strcasecmp(v, old[k])) {
			pctx_diag(p, CONF_ERROR, "%s: NTS requires TLS 1.3; use TLS1.3", label);
			return false;
		}
	pctx_diag(p, CONF_ERROR, "%s: unknown TLS version '%s'; expected TLS1.3", label, v);
	return false;
}

/* nts aead NAME[,NAME...] [NAME ...]; returns the words consumed. */
static int nts_aead(struct pctx *p, int argc, char **argv, int i)
{
	char list[sizeof p->c->nts_aead] = "";
	size_t len = 0;
	int used = 0;
	bool ok = true;

	for (; i < argc; i++, used++) {
		const char *s = argv[i];
		size_t k, n;

		/* a following sub-command ends the list */
		for (k = 0; k < NELEM(nts_names) && used > 0; k++)
			if (!strcmp(s, nts_names[k]))
				goto done;
		while (*s) {
			n = strcspn(s, ",");
			for (k = 0; k < NELEM(aead_names); k++)
				if (strlen(aead_names[k]) == n && !strncasecmp(s, aead_names[k], n))
					break;
			if (k == NELEM(aead_names)) {
				pctx_diag(p, CONF_ERROR,
					  "nts aead: unknown algorithm '%.*s'; expected AES_SIV_CMAC_256, AES_SIV_CMAC_384 or AES_SIV_CMAC_512",
					  (int)n, s);
				ok = false;
			} else if (len + strlen(aead_names[k]) + 2 > sizeof list) {
				pctx_diag(p, CONF_ERROR, "nts aead: list is too long");
				ok = false;
			} else {
				len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", len ? "," : "",
							aead_names[k]);
			}
			s += n;
			s += *s == ',';
		}
	}
done:
	if (used == 0)
		pctx_diag(p, CONF_ERROR, "nts aead: missing value; expected AES_SIV_CMAC_256, AES_SIV_CMAC_384 or AES_SIV_CMAC_512");
	else if (ok)
		memcpy(p->c->nts_aead, list, len + 1);
	return used;
}

static void d_nts(struct pctx *p, int argc, char **argv)
{
	struct conf *c = p->c;
	int i;

	if (argc < 2) {
		pctx_diag(p, CONF_ERROR, "nts: missing option; expected enable, key, cert, ca, port, ...");
		return;
	}
	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *v = argv[i + 1];
		char label[32];
		unsigned long u;

		snprintf(label, sizeof label, "nts %s", o);
		if (!strcmp(o, "enable") || !strcmp(o, "disable")) {
			c->nts_enable = o[0] == 'e';
			continue;
		}
		if (!strcmp(o, "aead")) {
			i += nts_aead(p, argc, argv, i + 1);
			continue;
		}
		i++; /* every other option takes one value */
		if (!strcmp(o, "key"))
			copy_path(p, label, v, c->nts_key, sizeof c->nts_key);
		else if (!strcmp(o, "cert"))
			copy_path(p, label, v, c->nts_cert, sizeof c->nts_cert);
		else if (!strcmp(o, "cookie"))
			copy_path(p, label, v, c->nts_cookie, sizeof c->nts_cookie);
		else if (!strcmp(o, "ca"))
			copy_path(p, label, v, c->nts_ca, sizeof c->nts_ca);
		else if (!strcmp(o, "port")) {
			if (get_uint(p, label, v, 1, 65535, &u))
				c->nts_port = (uint16_t)u;
		} else if (!strcmp(o, "ntpport")) {
			if (get_uint(p, label, v, 1, 65535, &u))
				c->nts_ntp_port = (uint16_t)u;
		} else if (!strcmp(o, "rotate")) {
			/* At least an hour: every key must outlive the cookies
			 * clients hold between polls at maxpoll (2^17 s is rare;
			 * the grace period is two intervals). */
			if (get_uint(p, label, v, 3600, 31536000, &u))
				c->nts_rotate = (uint32_t)u;
		} else if (!strcmp(o, "mintls")) {
			if (tls13(p, label, v))
				snprintf(c->nts_mintls, sizeof c->nts_mintls, "TLS1.3");
		} else if (!strcmp(o, "maxtls"))
			tls13(p, label, v);
		else if (!strcmp(o, "ntpserver")) {
			if (!v || !valid_host(v))
				pctx_diag(p, CONF_ERROR, "nts ntpserver: bad host '%s'; expected a host name or address",
					  v ? v : "");
			else
				memcpy(c->nts_ntp_server, v, strlen(v) + 1);
		} else if (!strcmp(o, "tlsciphersuites") || !strcmp(o, "tlsecdhcurves")) {
			if (!v)
				pctx_diag(p, CONF_ERROR, "%s: missing value", label);
			else
				pctx_diag(p, CONF_NOTE, "%s: the TLS library's defaults are used; ignored", label);
		} else {
			i--;
			unknown(p, "nts", "option", o, nts_names, NELEM(nts_names), sizeof nts_names[0]);
		}
		if (i >= argc)
			break;
	}
}

/* ---- unsupported and ignored ------------------------------------------ */

static const struct {
	const char *name, *msg;
} unsupported[] = {
	{"broadcast", "'broadcast' is not supported; clients should use 'server' or 'pool'"},
	{"broadcastclient", "'broadcastclient' is not supported; use 'server' or 'pool'"},
	{"manycastserver", "'manycastserver' is not supported; clients should use 'server' or 'pool'"},
	{"manycastclient", "'manycastclient' is not supported; use 'pool'"},
	{"multicastclient", "'multicastclient' is not supported; use 'server' or 'pool'"},
	{"crypto", "'crypto' (autokey) is not supported; use 'server ... nts'"},
	{"revoke", "'revoke' (autokey) is not supported; use 'server ... nts'"},
	{"keysdir", "'keysdir' (autokey) is not supported; use 'server ... nts'"},
	{"automax", "'automax' (autokey) is not supported; use 'server ... nts'"},
	{"ident", "'ident' (autokey) is not supported; use 'server ... nts'"},
	{"setvar", "'setvar' is not supported; ignored"},
	{"trap", "'trap' is not supported; ignored"},
	{"phone", "'phone' (modem reference clock) is not supported; ignored"},
	{"mdnstries", "'mdnstries' is not supported; ignored"},
	{"ttl", "'ttl' (broadcast and manycast) is not supported; ignored"},
	{"rlimit", "'rlimit' is not supported; ignored"},
	{"dscp", "'dscp' is not supported; ignored"},
	{"leapsmearinterval", "'leapsmearinterval' is not supported; leap seconds are not smeared"},
	{"nonvolatile", "'nonvolatile' is not supported; ignored"},
	{"tinker", "'tinker' is not supported; the defaults are used"},
	{"refclock", "'refclock' is not supported; use 'local stratum N' for the local clock"},
	{"logconfig", "'logconfig' is not supported; ignored"},
	{"saveconfigdir", "'saveconfigdir' is not supported; ignored"},
	{"mru", "'mru' is not supported; ignored"},
	{"limit", "'limit' is not supported; use 'discard'"},
	{"calldelay", "'calldelay' is not supported; ignored"},
	{"ntpsigndsocket", "'ntpsigndsocket' (MS-SNTP) is not supported; ignored"},
	{"device", "'device' (reference clocks) is not supported; ignored"},
	{"unpeer", "'unpeer' is not supported; remove the 'server' line"},
};

/* Accepted and ignored without a word: statistics files are not written. */
static void d_silent(struct pctx *p, int argc, char **argv)
{
	(void)p;
	(void)argc;
	(void)argv;
}

static const struct directive {
	const char *name;
	void (*fn)(struct pctx *p, int argc, char **argv);
} directives[] = {
	{"server", d_assoc},	     {"pool", d_assoc},		{"peer", d_assoc},
	{"fudge", d_fudge},	     {"local", d_local},	{"restrict", d_restrict},
	{"discard", d_discard},	     {"keys", d_path},		{"trustedkey", d_trustedkey},
	{"controlkey", d_keyid},     {"requestkey", d_keyid},	{"includefile", NULL},
	{"leapfile", d_path},	     {"leapseclist", d_path},	{"metrics", d_metrics},
	{"driftfile", d_path},	     {"logfile", d_path},	{"pidfile", d_path},
	{"statsdir", d_path},	     {"statistics", d_silent},	{"filegen", d_silent},
	{"tos", d_tos},		     {"enable", d_enable},	{"disable", d_enable},
	{"interface", d_interface},  {"nic", d_interface},	{"port", d_port},
	{"nts", d_nts},
};

void conf_directive(struct pctx *p, int argc, char **argv)
{
	const char *s;
	size_t k;

	for (k = 0; k < NELEM(directives); k++)
		if (!strcmp(argv[0], directives[k].name)) {
			/* NULL: handled by the reader (includefile); listed for
			 * the did-you-mean suggestions. */
			if (directives[k].fn)
				directives[k].fn(p, argc, argv);
			return;
		}
	for (k = 0; k < NELEM(unsupported); k++)
		if (!strcmp(argv[0], unsupported[k].name)) {
			pctx_diag(p, CONF_WARNING, "%s", unsupported[k].msg);
			return;
		}
	s = suggest(argv[0], directives, NELEM(directives), sizeof directives[0]);
	if (!s)
		s = suggest(argv[0], unsupported, NELEM(unsupported), sizeof unsupported[0]);
	if (s)
		pctx_diag(p, CONF_ERROR, "unknown directive '%s' (did you mean '%s'?)", argv[0], s);
	else
		pctx_diag(p, CONF_ERROR, "unknown directive '%s'", argv[0]);
}
