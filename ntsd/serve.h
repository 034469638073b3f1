/* Answering one NTP request: the whole per-packet decision (restrict,
 * rate limit, authentication, response) with no I/O, so it can be driven
 * by the socket workers and by unit tests alike. Hot-path safe: no
 * allocation, no locks, no logging. */
#ifndef NTSD_NTSD_SERVE_H
#define NTSD_NTSD_SERVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf/conf.h"

struct restrict_table;
struct keyfile;
struct ratelimit;
struct mac_ctx;

/* What we tell clients about our own synchronization (RFC 5905 system
 * variables), published by the daemon's main thread. */
struct serve_sys {
	uint8_t leap;        /* NTP_LEAP_*, NTP_LEAP_UNSYNC when unsynchronized */
	uint8_t stratum;     /* 1..15, 16 when unsynchronized */
	int8_t precision;    /* log2 s */
	uint32_t root_delay; /* NTP short format */
	uint32_t root_disp;  /* NTP short format */
	uint32_t refid;
	uint64_t reftime;    /* NTP timestamp */
};

/* Immutable configuration snapshot shared by the workers; replaced as a
 * whole on reload. */
struct serve_config {
	unsigned generation;
	struct restrict_table *restrict_table; /* never NULL */
	struct keyfile *keys;                  /* NULL: no key file */
	uint8_t trusted[CONF_KEYID_MAX / 8 + 1];
	int discard_average, discard_minimum;
};

#define SERVE_STATS(X) \
	X(RECEIVED, "received", "datagrams received") \
	X(REPLIED, "replied", "responses sent (time, KoD and crypto-NAK)") \
	X(SHORT, "short", "dropped: shorter than an NTP header") \
	X(OVERSIZE, "oversize", "dropped: larger than the largest request accepted") \
	X(BAD_VERSION, "bad_version", "dropped: version 0 or above 4") \
	X(BAD_MODE, "bad_mode", "dropped: mode not answered (0, 2, 4, 5)") \
	X(MODE6, "control", "dropped: mode 6 control request") \
	X(MODE7, "private", "dropped: mode 7 (never answered)") \
	X(MALFORMED, "malformed", "dropped: extension fields or MAC do not parse") \
	X(BAD_PORT, "bad_port", "dropped: source port 0") \
	X(IGNORED, "restrict_ignore", "dropped: restrict ignore") \
	X(NOSERVE, "restrict_noserve", "dropped: restrict noserve") \
	X(NOQUERY, "restrict_noquery", "dropped: restrict noquery (mode 6/7)") \
	X(NOPEER, "restrict_nopeer", "dropped: restrict nopeer (symmetric active)") \
	X(VERSION_RES, "restrict_version", "dropped: restrict version (not NTPv4)") \
	X(NOTRUST, "restrict_notrust", "dropped: restrict notrust and not authenticated") \
	X(LIMITED, "rate_limited", "dropped: over the rate limit (restrict limited)") \
	X(KOD, "kod_rate", "RATE kiss-o'-death sent") \
	X(AUTH_OK, "auth_ok", "authenticated with a symmetric key") \
	X(AUTH_FAIL, "auth_fail", "bad MAC or unknown or untrusted key: crypto-NAK sent") \
	X(SEND_FAIL, "send_fail", "responses the kernel refused to send")

enum serve_stat {
#define SERVE_STAT_ENUM(id, name, text) SERVE_STAT_##id,
	SERVE_STATS(SERVE_STAT_ENUM)
#undef SERVE_STAT_ENUM
	SERVE_STAT_COUNT
};

/* Short name and description of a counter. */
const char *serve_stat_name(enum serve_stat s);
const char *serve_stat_text(enum serve_stat s);

/* Per-worker state. Counters have a single writer (the worker) and are
 * read by the main thread, hence relaxed atomics. */
struct serve_worker {
	struct mac_ctx *mac;
	struct ratelimit *rl;
	uint64_t (*ntp_now)(void);  /* transmit timestamps; tests substitute it */
	uint64_t (*mono_ns)(void);  /* rate limiting clock */
	_Atomic uint64_t stats[SERVE_STAT_COUNT];
};

/* Sets up w (MAC context, rate limiter sized for rl_entries clients) with
 * the real clocks. Returns false on allocation failure. */
bool serve_worker_init(struct serve_worker *w, size_t rl_entries, const struct serve_config *cfg);
void serve_worker_destroy(struct serve_worker *w);
/* Applies a new configuration's rate-limit settings to w. */
void serve_worker_reconfigure(struct serve_worker *w, const struct serve_config *cfg);

static inline void serve_count(struct serve_worker *w, enum serve_stat s)
{
	atomic_store_explicit(&w->stats[s], atomic_load_explicit(&w->stats[s], memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

/* Handles the len-byte datagram req received from `from` at NTP time rx.
 * Writes the response into out (outmax bytes) and returns its length, or
 * returns 0 to drop. Every outcome is counted in w->stats. The response is
 * never longer than the request. */
size_t serve_packet(struct serve_worker *w, const struct serve_config *cfg,
                    const struct serve_sys *sys, const uint8_t *req, size_t len,
                    const struct sockaddr *from, uint64_t rx, uint8_t *out, size_t outmax);

#endif
