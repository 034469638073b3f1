/* The NTP control protocol (mode 6, RFC 9327) as ntpq speaks it: parsing a
 * request and building the response fragments from a read-only view of
 * the daemon's state. Pure: no I/O, no allocation, no logging, so the
 * socket workers and the unit tests drive it alike. Hot-path safe. */
#ifndef NTSD_NTSD_CONTROL_H
#define NTSD_NTSD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONTROL_HEADER_LEN 12
/* RFC 9327 §2: at most 468 data octets per fragment (ntpd's
 * CTL_MAX_DATA_LEN). */
#define CONTROL_MAX_DATA 468
/* Amplification bound: an answer longer than this many fragments is cut
 * (at a variable boundary) and counted. */
#define CONTROL_MAX_FRAGS 4
#define CONTROL_MAX_PEERS 64
/* A fragment: header, data padded to 8 for a MAC, key id, digest. */
#define CONTROL_FRAG_MAX (CONTROL_HEADER_LEN + CONTROL_MAX_DATA + 8 + 4 + 64)

/* RFC 9327 §2 opcodes (8..12 are ntpd extensions). */
enum control_op {
	CONTROL_OP_READSTAT = 1,
	CONTROL_OP_READVAR = 2,
	CONTROL_OP_WRITEVAR = 3,
	CONTROL_OP_READCLOCK = 4,
	CONTROL_OP_WRITECLOCK = 5,
	CONTROL_OP_SETTRAP = 6,
	CONTROL_OP_ASYNCMSG = 7,
	CONTROL_OP_CONFIGURE = 8,
	CONTROL_OP_SAVECONFIG = 9,
	CONTROL_OP_READ_MRU = 10,
	CONTROL_OP_READ_ORDLIST = 11,
	CONTROL_OP_REQ_NONCE = 12,
	CONTROL_OP_UNSETTRAP = 31,
};

/* RFC 9327 §2 error codes (in the high byte of the status field). */
enum control_err {
	CONTROL_ERR_UNSPEC = 0,
	CONTROL_ERR_PERMISSION = 1,
	CONTROL_ERR_BADFMT = 2,
	CONTROL_ERR_BADOP = 3,
	CONTROL_ERR_BADASSOC = 4,
	CONTROL_ERR_UNKNOWNVAR = 5,
	CONTROL_ERR_BADVALUE = 6,
	CONTROL_ERR_RESTRICT = 7,
};

/* Peer status word, high byte (RFC 9327 §2.3.2.1). */
#define CONTROL_PST_CONFIG 0x80
#define CONTROL_PST_AUTHENABLE 0x40
#define CONTROL_PST_AUTHENTIC 0x20
#define CONTROL_PST_REACH 0x10
#define CONTROL_PST_BCAST 0x08
/* Peer selection codes (low 3 bits of the high byte): ntpq's tally
 * characters " x.-+#*o". */
enum control_sel {
	CONTROL_SEL_REJECT = 0,
	CONTROL_SEL_FALSETICK = 1,
	CONTROL_SEL_EXCESS = 2,
	CONTROL_SEL_OUTLIER = 3,
	CONTROL_SEL_CANDIDATE = 4,
	CONTROL_SEL_BACKUP = 5,
	CONTROL_SEL_SYSPEER = 6,
	CONTROL_SEL_PPS = 7,
};
/* System clock sources (RFC 9327 §2.3.1.1). */
#define CONTROL_SRC_UNSPEC 0
#define CONTROL_SRC_LOCAL 5
#define CONTROL_SRC_NTP 6

/* Builds a peer status word. */
uint16_t control_peer_status(uint8_t bits, enum control_sel sel, uint8_t events, uint8_t last_event);
/* The tally character of a peer status word (' ' 'x' '.' '-' '+' '#' '*' 'o'). */
char control_tally(uint16_t peer_status);

/* System variables (ntpq -c rv). Times in ms, frequencies in ppm. */
struct control_sys {
	uint8_t leap, stratum;
	int8_t precision;           /* log2 s */
	bool refid_ascii;           /* print refid as 4 characters (LOCL) */
	uint8_t clock_source;       /* CONTROL_SRC_* */
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
	uint16_t status;           /* control_peer_status() */
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

/* A parsed request; data and mac point into the datagram. */
struct control_request {
	uint8_t version, opcode;
	uint16_t sequence, status, associd, offset, count;
	const uint8_t *data;       /* count bytes */
	bool has_mac;
	uint32_t keyid;
	const uint8_t *mac;        /* digest */
	size_t mac_len;
	size_t mac_offset;         /* the MAC covers bytes 0..mac_offset-1 */
};

enum control_parse {
	CONTROL_PARSE_OK,
	CONTROL_PARSE_SHORT,       /* shorter than the header */
	CONTROL_PARSE_NOT_MODE6,
	CONTROL_PARSE_BAD_VERSION, /* 0 or above 4 */
	CONTROL_PARSE_RESPONSE,    /* response, error or more bit set */
	CONTROL_PARSE_OFFSET,      /* a request is never fragmented */
	CONTROL_PARSE_COUNT,       /* count beyond the datagram */
	CONTROL_PARSE_TRAILER,     /* bytes after the data are no MAC */
};

/* Parses the len-byte datagram pkt. */
enum control_parse control_parse(const uint8_t *pkt, size_t len, struct control_request *rq);
/* Short name of a parse result, for tests and debug logs. */
const char *control_parse_name(enum control_parse p);

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
void control_answer(const struct control_request *rq, const struct control_sys *sys,
                    const struct control_peer *peers, size_t n, uint64_t now,
                    const struct control_access *acc, struct control_reply *out);
/* Pads fragment i with zeros to a multiple of 8 for a MAC (RFC 9327 §4)
 * and returns its new length. */
size_t control_pad8(struct control_reply *r, size_t i);

/* The text ntpq shows for a refid: 4 characters when ascii, else dotted
 * IPv4. out: at least 16 bytes. */
void control_refid_text(uint32_t refid, bool ascii, char *out, size_t outlen);

#endif
