/* Upstream sources: ntsd as a client of the `server`, `pool` and `peer`
 * lines of its configuration. One thread polls every source over NTP
 * (plain, symmetric key, or NTS with a key exchange run in a helper thread
 * per source), feeds the samples to the synchronization engine (sync.h),
 * disciplines the clock through clockctl (or only records, with -x /
 * `disable ntp`), and hands the system state to the daemon's main thread.
 * Never on the serving hot path: the workers only see what the main thread
 * publishes from sources_snapshot. */
#ifndef NTSD_NTSD_SOURCE_H
#define NTSD_NTSD_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "ntsd/control.h"
#include "ntsd/serve.h"

struct sources;

struct sources_opts {
	const struct conf *conf;  /* assocs, keys, local clock, driftfile; read at start */
	const uint8_t *trusted;   /* trustedkey bitmap (CONF_KEYID_MAX bits); NULL: all */
	bool no_clock;            /* -x or `disable ntp`: never touch the system clock */
	bool allow_first_step;    /* -g */
	int precision;            /* log2 s, of our clock */
};

/* Resolves the sources, loads their keys, opens the sockets: call before
 * dropping privileges (the key file is root's). NULL with a message in err
 * when a source cannot be set up (a key missing or not trusted; an
 * unresolvable name is NOT an error: it is retried). */
struct sources *sources_new(const struct sources_opts *o, char *err, size_t errlen);
/* Number of configured sources (pool lines count once per address). */
size_t sources_count(const struct sources *s);
/* Starts the polling thread. */
bool sources_start(struct sources *s, char *err, size_t errlen);

/* What the daemon serves and shows (thread-safe copy). sys gets leap,
 * stratum, refid, root delay/dispersion and reftime; view gets the
 * associations and the system's offset, frequency and jitter. why_not
 * (why_len bytes) explains an unsynchronized state, "" when synchronized.
 * Returns false before the engine has decided anything (no sources). */
bool sources_snapshot(struct sources *s, struct serve_sys *sys, struct control_view *view,
                      char *why_not, size_t why_len);

/* Stops the thread, writes the drift file, frees. NULL is ignored. */
void sources_free(struct sources *s);

#endif
