/* The daemon's side of the NTP control protocol (mode 6, RFC 9327): the
 * response fragments to a parsed request (protocol/mode6.h), built from a
 * read-only view of the daemon's state. Pure: no I/O, no allocation, no logging, so the
 * socket workers and the unit tests drive it alike. Hot-path safe. */
#ifndef NTSD_NTSD_CONTROL_H
#define NTSD_NTSD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "protocol/mode6.h"

/* Amplification bound: an answer longer than this many fragments is cut
 * (at a variable boundary) and counted. */
#define CONTROL_MAX_FRAGS 4
#define CONTROL_MAX_PEERS 64
/* A fragment: header, data padded to 8 for a MAC, key id, digest. */
#define CONTROL_FRAG_MAX (MODE6_HEADER_LEN + MODE6_MAX_DATA + 8 + 4 + 64)

/* System variables (ntpq -c rv). Times in ms, frequencies in ppm. */
struct control_sys {
	uint8_t leap, stratum;
	int8_t precision;           /* log2 s */
	bool refid_ascii;           /* print refid as 4 characters (LOCL) */
	uint8_t clock_source;       /* MODE6_SRC_* */
	uint8_t events, last_event; /* system status word low byte */
	double rootdelay, rootdisp; /* ms */
	uint32_t refid;
	uint64_t reftime;           /* NTP timestamp */
	uint16_t peer;              /* system peer association id, 0: none */
	int8_t tc, mintc;           /* log2 s */
	double offset, frequency, sys_jitter, clk_jitter, clk_wander;
	char version[32];           /* "ntsd 0.1.0" */
	char processor[32], system[64]; /* uname machine, sysname/release */
};

/* How a source is authenticated (ntsd extra). */
enum control_auth { CONTROL_AUTH_NONE, CONTROL_AUTH_KEY, CONTROL_AUTH_NTS };

/* One association (ntpq -p, ntpq -c "rv ASSOC"). */
struct control_peer {
	uint16_t associd;          /* 1..65535 */
	uint16_t status;           /* mode6_peer_status() */
	struct sockaddr_storage srcadr; /* the address polled, with its port */
	struct sockaddr_storage dstadr; /* our local address, AF_UNSPEC: unknown */
	char name[64];             /* as configured ("" for none) */
	uint32_t refid;
	uint8_t leap, stratum, hmode, pmode, reach;
	int8_t ppoll, hpoll, precision;
	double rootdelay, rootdisp, delay, offset, jitter, dispersion; /* ms */
	uint64_t rec, reftime;     /* NTP timestamps, 0: never */
	uint16_t flash;            /* RFC 5905 TEST* bits */
	uint32_t keyid;
	enum control_auth auth;
	int ntscookies;            /* cookies held, -1: not NTS */
	uint64_t last_ke;          /* NTP timestamp of the last NTS-KE, 0: never */
};

/* What the daemon publishes. */
struct control_view {
	struct control_sys sys;
	size_t n_peers;
	struct control_peer peers[CONTROL_MAX_PEERS];
};

/* The response: up to CONTROL_MAX_FRAGS fragments, each padded to 4
 * octets, without MAC (the caller appends one, see control_pad8). */
struct control_reply {
	size_t n;
	size_t len[CONTROL_MAX_FRAGS];
	uint8_t frag[CONTROL_MAX_FRAGS][CONTROL_FRAG_MAX];
	bool error;                /* an error response (code in errcode) */
	uint8_t errcode;
	bool truncated;            /* the answer was cut at CONTROL_MAX_FRAGS */
	bool denied;               /* a write refused for want of authority */
};

/* What the caller lets the request do. */
struct control_access {
	bool authenticated;        /* carries a valid controlkey MAC */
	bool nomodify;             /* restrict nomodify */
};

/* Answers rq from sys and the n peers (sorted or not). now: NTP time for
 * the clock variable. Always builds at least one fragment (an error
 * response when the request cannot be served). */
void control_answer(const struct mode6_request *rq, const struct control_sys *sys,
                    const struct control_peer *peers, size_t n, uint64_t now,
                    const struct control_access *acc, struct control_reply *out);
/* Pads fragment i with zeros to a multiple of 8 for a MAC (RFC 9327 §4)
 * and returns its new length. */
size_t control_pad8(struct control_reply *r, size_t i);

#endif
