/* The UDP serving path: sockets on every listen address, one worker
 * thread per core with its own SO_REUSEPORT sockets, batched receive and
 * send (recvmmsg/sendmmsg), kernel receive timestamps, replies sent from
 * the address the request was sent to. Workers share nothing mutable but
 * the published configuration and system variables. */
#ifndef NTSD_NTSD_LISTENER_H
#define NTSD_NTSD_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "ntsd/serve.h"

struct listener;
struct masterkey_set;
struct sockaddr_storage;

struct listener_opts {
	uint16_t port;
	const struct conf_listen *listen; /* empty: the IPv4 and IPv6 wildcards */
	size_t n_listen;
	unsigned workers;                 /* 0: one per online CPU, at most 16 */
	size_t ratelimit_entries;         /* per worker; 0: default */
};

/* Opens and binds all sockets (call before dropping privileges). On
 * failure returns NULL with a message in err. */
struct listener *listener_new(const struct listener_opts *o, char *err, size_t errlen);
/* Starts the workers serving with cfg (owned by the caller until it is
 * swapped out) and the system variables sys. */
bool listener_start(struct listener *s, struct serve_config *cfg, const struct serve_sys *sys,
                  char *err, size_t errlen);
/* Publishes new system variables; workers see them on their next packet. */
void listener_publish_sys(struct listener *s, const struct serve_sys *sys);
/* Publishes the mode 6 (ntpq) view: copies v, so the caller keeps it.
 * Until the first call, mode 6 shows the system variables of
 * listener_publish_sys and no associations; leap, stratum, precision, root
 * delay/dispersion, refid and reftime always come from there. Empty
 * version/processor/system strings are filled in. Blocks only while a
 * worker finishes a request on the previous view. False: out of memory,
 * the previous view stays. */
bool listener_publish_control(struct listener *s, const struct control_view *v);
/* Replaces the configuration. Returns the previous one once no worker can
 * be using it any more (the caller frees it). Blocks for at most ~1 s. */
struct serve_config *listener_swap_config(struct listener *s, struct serve_config *cfg);
/* Hands NTS cookie master keys to the workers; each builds its own cookie
 * context from set. Returns once every worker has done so: set may then be
 * freed. NULL turns NTS off. */
void listener_publish_masterkeys(struct listener *s, const struct masterkey_set *set);
/* The bound addresses (for the NTS-KE listener). */
const struct sockaddr_storage *listener_addrs(const struct listener *s, size_t *n);
/* Sums the workers' counters into out. */
void listener_stats(struct listener *s, uint64_t out[SERVE_STAT_COUNT]);
/* Number of workers and bound sockets, for the startup message. */
unsigned listener_workers(const struct listener *s);
/* Describes the listen addresses ("0.0.0.0:123 [::]:123"). */
void listener_describe(const struct listener *s, char *out, size_t outlen);
/* Addresses skipped because the system cannot bind them (IPv6 disabled),
 * or "" when none were. */
const char *listener_notes(const struct listener *s);
/* Stops and joins the workers, closes the sockets, frees s. */
void listener_free(struct listener *s);

#endif
