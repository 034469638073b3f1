/* NTPv4 client exchange (RFC 5905 §8, §9): builds a mode 3 request with a
 * random transmit timestamp (off-path spoofing protection, as chrony does),
 * checks the response (origin, mode, authentication, KoD, synchronization)
 * and computes the sample. No I/O, no logging, no allocation. */
#ifndef NTSD_PROTOCOL_NTP_CLIENT_H
#define NTSD_PROTOCOL_NTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keyfile.h"

struct nts_client;
struct mac_ctx;

#define NTP_CLIENT_PHI 15e-6 /* RFC 5905 frequency tolerance, s/s */

struct ntp_client_auth {
	enum { NTP_AUTH_NONE, NTP_AUTH_KEY, NTP_AUTH_NTS } kind;
	const struct symkey *key; /* NTP_AUTH_KEY */
	struct mac_ctx *mac;      /* NTP_AUTH_KEY: working state */
	struct nts_client *nts;   /* NTP_AUTH_NTS */
};

struct ntp_client_state {
	uint64_t xmt;  /* random transmit timestamp sent */
	uint64_t t1;   /* real send time */
	bool pending;  /* a request is outstanding */
	int8_t poll;   /* poll field to send */
	uint8_t version; /* 0: 4 */
};

struct ntp_sample {
	double offset, delay, dispersion; /* s */
	double root_delay, root_disp;     /* s */
	int stratum, leap, poll, precision;
	uint32_t refid;
	uint64_t reftime, t1, t2, t3, t4;
	bool authenticated; /* the answer verified with the key or NTS */
};

enum ntp_client_result {
	NTP_CLIENT_OK,
	NTP_CLIENT_BOGUS,     /* not our answer (origin/mode/malformed): ignore */
	NTP_CLIENT_AUTH_FAIL, /* auth asked and missing, wrong, or crypto-NAK */
	NTP_CLIENT_KOD_RATE,
	NTP_CLIENT_KOD_DENY,
	NTP_CLIENT_KOD_RSTR,
	NTP_CLIENT_KOD_NTSN,
	NTP_CLIENT_KOD_OTHER, /* other kiss code: out->refid */
	NTP_CLIENT_UNSYNC,    /* LI=3 or stratum 0/16 */
};

/* Builds a request in buf (max bytes) at local time now; remembers the
 * random transmit timestamp and now as t1. Returns the length or 0 (no room,
 * no NTS cookie left: re-run KE, key missing). */
size_t ntp_client_request(struct ntp_client_state *st, const struct ntp_client_auth *a,
                          uint64_t now, uint8_t *buf, size_t max);

/* Checks a response received at rx_time. out is filled for OK; for KoD and
 * UNSYNC out->stratum/leap/refid are set. BOGUS and AUTH_FAIL leave st
 * pending (ignore the packet, keep waiting). A KoD whose origin matches is
 * returned even unauthenticated, with out->authenticated false. */
enum ntp_client_result ntp_client_response(struct ntp_client_state *st,
                                           const struct ntp_client_auth *a, const uint8_t *pkt,
                                           size_t len, uint64_t rx_time, struct ntp_sample *out);

/* One-line explanation of a result, for users. Static storage. */
const char *ntp_client_result_str(enum ntp_client_result r);

/* Short name ("ok", "bogus", "auth", "RATE", ...). Static storage. */
const char *ntp_client_result_name(enum ntp_client_result r);

#endif
