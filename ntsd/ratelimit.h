/* Per-client rate limiting for `restrict ... limited` with `discard
 * average/minimum` (ntpd semantics), and rate limiting of the KoDs sent
 * back. Fixed memory (allocated once), keyed hashing so clients cannot
 * aim collisions; the oldest entry in a bucket is evicted. One instance
 * per worker thread: not thread-safe. */
#ifndef NTSD_NTSD_RATELIMIT_H
#define NTSD_NTSD_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Clients per hash bucket; ratelimit_new rounds entries up to at least
 * this, and a table of exactly this many entries is a single LRU set. */
#define RATELIMIT_WAYS 8
/* Burst allowance in packets: a client's score may reach this many
 * average intervals (ntpd's NTP_SHIFT * 2^average limit). */
#define RATELIMIT_BURST 8
/* Global cap on RATELIMIT_KOD verdicts per instance: this many per second,
 * with a burst of as many, whatever the source addresses. */
#define RATELIMIT_KOD_PER_S 64
/* Ranges the limits are clamped to. */
#define RATELIMIT_AVERAGE_MAX 16   /* log2 s */
#define RATELIMIT_MINIMUM_MAX 3600 /* s */

struct ratelimit;

enum ratelimit_verdict {
	RATELIMIT_PASS,     /* within limits */
	RATELIMIT_DROP,     /* over the limit: stay silent */
	RATELIMIT_KOD,      /* over the limit and a RATE KoD may be sent now */
};

/* entries: number of client slots (rounded up to a power of two, at least
 * RATELIMIT_WAYS). average_log2: minimum average spacing 2^average_log2 s
 * (discard average, 0..RATELIMIT_AVERAGE_MAX); minimum_s: minimum spacing
 * between two packets (discard minimum, 0..RATELIMIT_MINIMUM_MAX; ntpd
 * grants 1 s of grace). Out-of-range limits are clamped. NULL on OOM or
 * if libsodium cannot initialise. */
struct ratelimit *ratelimit_new(size_t entries, int average_log2, int minimum_s);
void ratelimit_free(struct ratelimit *rl);
/* Changes the limits (SIGHUP) keeping the client history. */
void ratelimit_set(struct ratelimit *rl, int average_log2, int minimum_s);

/* Accounts one packet from sa at monotonic time now_ns. want_kod: the
 * client's restrict entry has `kod`. A client gets RATELIMIT_KOD at most
 * once per 2^average_log2 s, and only while the global KoD cap allows;
 * otherwise over-limit packets get RATELIMIT_DROP. A v4-mapped IPv6
 * address is the same client as the IPv4 address; an address of another
 * family is dropped. Hot-path safe: no allocation. */
enum ratelimit_verdict ratelimit_check(struct ratelimit *rl, const struct sockaddr *sa,
                                       uint64_t now_ns, bool want_kod);

#endif
