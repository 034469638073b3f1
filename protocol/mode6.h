/* The NTP control protocol (mode 6, RFC 9327) on the wire, as ntpd and
 * ntpq speak it: header, opcodes, error codes, status words, request
 * parsing and the MAC trailer. Shared by the daemon's answering side
 * (ntsd/control.c) and ntsq. Pure: no I/O, no allocation. Hot-path safe. */
#ifndef NTSD_PROTOCOL_MODE6_H
#define NTSD_PROTOCOL_MODE6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODE6_HEADER_LEN 12
/* RFC 9327 §2: at most 468 data octets per fragment (ntpd's
 * CTL_MAX_DATA_LEN). */
#define MODE6_MAX_DATA 468

/* RFC 9327 §2 opcodes (8..12 are ntpd extensions). */
enum mode6_op {
	MODE6_OP_READSTAT = 1,
	MODE6_OP_READVAR = 2,
	MODE6_OP_WRITEVAR = 3,
	MODE6_OP_READCLOCK = 4,
	MODE6_OP_WRITECLOCK = 5,
	MODE6_OP_SETTRAP = 6,
	MODE6_OP_ASYNCMSG = 7,
	MODE6_OP_CONFIGURE = 8,
	MODE6_OP_SAVECONFIG = 9,
	MODE6_OP_READ_MRU = 10,
	MODE6_OP_READ_ORDLIST = 11,
	MODE6_OP_REQ_NONCE = 12,
	MODE6_OP_UNSETTRAP = 31,
};

/* RFC 9327 §2 error codes (in the high byte of the status field). */
enum mode6_err {
	MODE6_ERR_UNSPEC = 0,
	MODE6_ERR_PERMISSION = 1,
	MODE6_ERR_BADFMT = 2,
	MODE6_ERR_BADOP = 3,
	MODE6_ERR_BADASSOC = 4,
	MODE6_ERR_UNKNOWNVAR = 5,
	MODE6_ERR_BADVALUE = 6,
	MODE6_ERR_RESTRICT = 7,
};

/* Peer status word, high byte (RFC 9327 §2.3.2.1). */
#define MODE6_PST_CONFIG 0x80
#define MODE6_PST_AUTHENABLE 0x40
#define MODE6_PST_AUTHENTIC 0x20
#define MODE6_PST_REACH 0x10
#define MODE6_PST_BCAST 0x08
/* Peer selection codes (low 3 bits of the high byte): ntpq's tally
 * characters " x.-+#*o". */
enum mode6_sel {
	MODE6_SEL_REJECT = 0,
	MODE6_SEL_FALSETICK = 1,
	MODE6_SEL_EXCESS = 2,
	MODE6_SEL_OUTLIER = 3,
	MODE6_SEL_CANDIDATE = 4,
	MODE6_SEL_BACKUP = 5,
	MODE6_SEL_SYSPEER = 6,
	MODE6_SEL_PPS = 7,
};
/* System clock sources (RFC 9327 §2.3.1.1). */
#define MODE6_SRC_UNSPEC 0
#define MODE6_SRC_LOCAL 5
#define MODE6_SRC_NTP 6

/* Builds a peer status word. */
uint16_t mode6_peer_status(uint8_t bits, enum mode6_sel sel, uint8_t events, uint8_t last_event);
/* The tally character of a peer status word (' ' 'x' '.' '-' '+' '#' '*' 'o'). */
char mode6_tally(uint16_t peer_status);

/* Header flag bits of the second octet (RFC 9327 §2): response, error,
 * more fragments follow; the low five bits are the opcode. */
#define MODE6_FLAG_RESPONSE 0x80
#define MODE6_FLAG_ERROR 0x40
#define MODE6_FLAG_MORE 0x20

/* The 12-octet header. */
struct mode6_header {
	uint8_t leap, version, mode; /* first octet */
	uint8_t flags;               /* MODE6_FLAG_* */
	uint8_t opcode;
	uint16_t sequence, status, associd, offset, count;
};

/* Reads the header of a datagram of at least MODE6_HEADER_LEN octets. */
void mode6_header_decode(const uint8_t p[MODE6_HEADER_LEN], struct mode6_header *h);
/* Writes h as 12 octets. */
void mode6_header_encode(const struct mode6_header *h, uint8_t p[MODE6_HEADER_LEN]);

/* A MAC follows the data padded to 8 octets (RFC 9327 §4): the offset
 * of the key id after n octets of header and data. */
static inline size_t mode6_pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* The text ntpq prints for an error code ("permission denied", ...). */
const char *mode6_errtext(uint8_t code);

/* A parsed request; data and mac point into the datagram. */
struct mode6_request {
	uint8_t version, opcode;
	uint16_t sequence, status, associd, offset, count;
	const uint8_t *data;       /* count bytes */
	bool has_mac;
	uint32_t keyid;
	const uint8_t *mac;        /* digest */
	size_t mac_len;
	size_t mac_offset;         /* the MAC covers bytes 0..mac_offset-1 */
};

enum mode6_parse {
	MODE6_PARSE_OK,
	MODE6_PARSE_SHORT,       /* shorter than the header */
	MODE6_PARSE_NOT_MODE6,
	MODE6_PARSE_BAD_VERSION, /* 0 or above 4 */
	MODE6_PARSE_RESPONSE,    /* response, error or more bit set */
	MODE6_PARSE_OFFSET,      /* a request is never fragmented */
	MODE6_PARSE_COUNT,       /* count beyond the datagram */
	MODE6_PARSE_TRAILER,     /* bytes after the data are no MAC */
};

/* Parses the len-byte datagram pkt. */
enum mode6_parse mode6_parse_request(const uint8_t *pkt, size_t len, struct mode6_request *rq);
/* Short name of a parse result, for tests and debug logs. */
const char *mode6_parse_name(enum mode6_parse p);

/* The text ntpq shows for a refid: 4 characters when ascii, else dotted
 * IPv4. out: at least 16 bytes. */
void mode6_refid_text(uint32_t refid, bool ascii, char *out, size_t outlen);

#endif
