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
#include "ntsd/control.h"
#include "ntsd/nts.h"

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
	uint32_t controlkey;                   /* mode 6 writes: 0 none */
};

/* Counters. Kind O: an outcome; every datagram received ends in exactly
 * one outcome (replied, or one drop reason). Kind D: a detail of a reply. */
#define SERVE_STATS(X) \
	X(RECEIVED, "received", 'R', "datagrams received") \
	X(REPLIED, "replied", 'O', "responses sent (time, KoD, NTSN and crypto-NAK)") \
	X(SHORT, "short", 'O', "dropped: shorter than an NTP header") \
	X(OVERSIZE, "oversize", 'O', "dropped: larger than the largest request accepted") \
	X(BAD_VERSION, "bad_version", 'O', "dropped: version 0 or above 4") \
	X(BAD_MODE, "bad_mode", 'O', "dropped: mode not answered (0, 2, 4, 5)") \
	X(CONTROL, "control", 'O', "mode 6 control request answered (data or error)") \
	X(CONTROL_BAD, "control_bad", 'O', "dropped: mode 6 request malformed or not sent to serve_control") \
	X(CONTROL_DENIED, "control_denied", 'O', "mode 6 write refused (no controlkey MAC, or nomodify)") \
	X(MODE7, "private", 'O', "dropped: mode 7 (never answered)") \
	X(MALFORMED, "malformed", 'O', "dropped: extension fields or MAC do not parse") \
	X(BAD_PORT, "bad_port", 'O', "dropped: source port 0") \
	X(IGNORED, "restrict_ignore", 'O', "dropped: restrict ignore") \
	X(NOSERVE, "restrict_noserve", 'O', "dropped: restrict noserve") \
	X(NOQUERY, "restrict_noquery", 'O', "dropped: restrict noquery (mode 6/7)") \
	X(NOPEER, "restrict_nopeer", 'O', "dropped: restrict nopeer (symmetric active)") \
	X(VERSION_RES, "restrict_version", 'O', "dropped: restrict version (not NTPv4)") \
	X(NOTRUST, "restrict_notrust", 'O', "dropped: restrict notrust and not authenticated") \
	X(LIMITED, "rate_limited", 'O', "dropped: over the rate limit (restrict limited)") \
	X(NTS_MALFORMED, "nts_malformed", 'O', "dropped: NTS fields missing, repeated or misplaced") \
	X(NTS_FAILED, "nts_failed", 'O', "dropped: NTS response could not be built") \
	X(KOD, "kod_rate", 'D', "RATE kiss-o'-death sent") \
	X(AUTH_OK, "auth_ok", 'D', "authenticated with a symmetric key") \
	X(AUTH_FAIL, "auth_fail", 'D', "bad MAC or unknown or untrusted key: crypto-NAK sent") \
	X(NTS_OK, "nts_ok", 'D', "authenticated with NTS") \
	X(NTS_BAD_COOKIE, "nts_bad_cookie", 'D', "NTS cookie did not open: NTSN sent") \
	X(NTS_BAD_AUTH, "nts_bad_auth", 'D', "NTS authenticator did not verify: NTSN sent") \
	X(CONTROL_ERROR, "control_error", 'D', "mode 6 error responses (opcode, association, variable)") \
	X(CONTROL_AUTH, "control_auth", 'D', "mode 6 requests with a valid MAC (answer signed)") \
	X(CONTROL_TRUNCATED, "control_truncated", 'D', "mode 6 answers cut at the fragment limit") \
	X(CONTROL_FRAGS, "control_frags", 'D', "mode 6 response fragments built") \
	X(SEND_FAIL, "send_fail", 'D', "responses the kernel refused to send")

enum serve_stat {
#define SERVE_STAT_ENUM(id, name, kind, text) SERVE_STAT_##id,
	SERVE_STATS(SERVE_STAT_ENUM)
#undef SERVE_STAT_ENUM
	SERVE_STAT_COUNT
};

/* Short name and description of a counter. */
const char *serve_stat_name(enum serve_stat s);
const char *serve_stat_text(enum serve_stat s);
/* 'R' (received), 'O' (outcome) or 'D' (detail). */
char serve_stat_kind(enum serve_stat s);

/* Per-worker state. Counters have a single writer (the worker) and are
 * read by the main thread, hence relaxed atomics. */
struct serve_worker {
	struct mac_ctx *mac;
	struct ratelimit *rl;
	struct nts_worker nts;
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

/* True when the datagram is a mode 6 request, to be handed to
 * serve_control rather than serve_packet (which drops it as control_bad). */
static inline bool serve_is_control(const uint8_t *req, size_t len)
{
	return len > 0 && (req[0] & 7) == 6;
}

/* Answers the mode 6 (RFC 9327) request req from `from`: restrict
 * (ignore, noquery: silent, counted), `limited` rate limiting, MACs (a
 * trusted key: the fragments are signed; writes need the controlkey) and
 * nomodify for writes. sys and
 * the n peers are the published view. Fills out with up to
 * CONTROL_MAX_FRAGS fragments and returns their number, 0 to drop. Every
 * outcome is counted in w->stats. Hot-path safe: no allocation. */
size_t serve_control(struct serve_worker *w, const struct serve_config *cfg,
                     const struct control_sys *sys, const struct control_peer *peers, size_t n,
                     const uint8_t *req, size_t len, const struct sockaddr *from,
                     struct control_reply *out);

#endif
