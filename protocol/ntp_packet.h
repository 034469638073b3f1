/* NTPv4 packet codec (RFC 5905 §7.3, extension fields RFC 7822, legacy
 * MACs RFC 5905/RFC 8573). No I/O, no allocation: hot-path safe. */
#ifndef NTSD_PROTOCOL_NTP_PACKET_H
#define NTSD_PROTOCOL_NTP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NTP_HEADER_LEN 48
#define NTP_MAX_PACKET 1280   /* larger datagrams are dropped */
#define NTP_MIN_EF_LEN 16     /* RFC 7822 §3 */
#define NTP_MAX_EFS 32
#define NTP_MAX_MAC_DIGEST 64
#define NTP_CRYPTO_NAK_LEN 4  /* key id 0 alone */

enum ntp_mode {
	NTP_MODE_RESERVED = 0,
	NTP_MODE_ACTIVE = 1,
	NTP_MODE_PASSIVE = 2,
	NTP_MODE_CLIENT = 3,
	NTP_MODE_SERVER = 4,
	NTP_MODE_BROADCAST = 5,
	NTP_MODE_CONTROL = 6,
	NTP_MODE_PRIVATE = 7,
};

enum ntp_leap { NTP_LEAP_NONE = 0, NTP_LEAP_ADD = 1, NTP_LEAP_DEL = 2, NTP_LEAP_UNSYNC = 3 };

#define NTP_STRATUM_UNSYNC 16
#define NTP_REFID(a, b, c, d) \
	((uint32_t)(uint8_t)(a) << 24 | (uint32_t)(uint8_t)(b) << 16 | (uint32_t)(uint8_t)(c) << 8 | (uint8_t)(d))
#define NTP_KISS_RATE NTP_REFID('R', 'A', 'T', 'E')
#define NTP_KISS_DENY NTP_REFID('D', 'E', 'N', 'Y')
#define NTP_KISS_RSTR NTP_REFID('R', 'S', 'T', 'R')
#define NTP_KISS_NTSN NTP_REFID('N', 'T', 'S', 'N')

struct ntp_header {
	uint8_t leap, version, mode, stratum;
	int8_t poll, precision;
	uint32_t root_delay, root_disp; /* NTP short format */
	uint32_t refid;
	uint64_t reftime, org, rec, xmt;
};

struct ntp_ef {
	uint16_t type;
	uint16_t len;          /* whole field, header included */
	const uint8_t *start;  /* the field's first byte (its header) */
	const uint8_t *body;   /* len - 4 bytes, padding included */
};

/* Everything after the header: extension fields, then an optional legacy
 * MAC (key id + digest) or a crypto-NAK (key id 0, no digest). */
struct ntp_tail {
	struct ntp_ef ef[NTP_MAX_EFS];
	size_t n_ef;
	bool has_mac;
	uint32_t keyid;
	const uint8_t *digest; /* NULL for a crypto-NAK */
	size_t digest_len;
	size_t mac_offset;     /* offset of the MAC in the packet (= bytes it covers) */
};

enum ntp_parse_status {
	NTP_PARSE_OK,
	NTP_PARSE_SHORT,    /* fewer than 48 bytes */
	NTP_PARSE_TAIL,     /* extension fields / MAC do not parse */
	NTP_PARSE_TOO_MANY, /* more than NTP_MAX_EFS extension fields */
};

void ntp_header_decode(const uint8_t p[NTP_HEADER_LEN], struct ntp_header *h);
void ntp_header_encode(const struct ntp_header *h, uint8_t p[NTP_HEADER_LEN]);

/* Parses the header and the tail of a len-byte packet. Legacy MAC lengths
 * accepted: key id + 16, 20, 28, 32, 48 or 64 bytes of digest, or the
 * 4-byte crypto-NAK. A tail of 20 or 24 bytes is always a MAC (RFC 7822
 * §7); otherwise fields are walked while they parse and what remains must
 * be a MAC. Field lengths must be multiples of 4 and at least 16. */
enum ntp_parse_status ntp_packet_parse(const uint8_t *p, size_t len, struct ntp_header *h,
                                       struct ntp_tail *t);

/* True for a legacy MAC digest length this codec recognises. */
bool ntp_mac_digest_len_ok(size_t dlen);

#endif
