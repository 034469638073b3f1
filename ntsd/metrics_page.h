/* The Prometheus text exposition (format 0.0.4) of ntsd's state: serving
 * counters, NTS-KE, the system clock and each upstream source. Pure: the
 * daemon fills a metrics_input from what it already keeps and gets the
 * page; no I/O, no allocation. Names follow Prometheus conventions
 * (ntsd_ prefix, _total for counters, base units in the name). */
#ifndef NTSD_NTSD_METRICS_PAGE_H
#define NTSD_NTSD_METRICS_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyexchange/ke_server.h"
#include "ntsd/control.h"
#include "ntsd/serve.h"

struct metrics_input {
	const uint64_t *serve;           /* SERVE_STAT_COUNT counters */
	const struct ke_stats *ke;       /* NULL: NTS-KE not running */
	const struct serve_sys *sys;     /* what is served now */
	const struct control_view *view; /* NULL or without peers: no sources */
	const char *version, *tls_backend;
	double start_time;               /* Unix seconds */
	double masterkey_created;        /* Unix seconds of the current key; 0: none */
	uint64_t now_ntp;                /* NTP timestamp, for ages */
};

/* Writes the page into out. Returns its length, or 0 when outlen is too
 * small (nothing useful is written then). */
size_t metrics_page(const struct metrics_input *in, char *out, size_t outlen);

#endif
