/* Mode 6 codec (protocol/mode6.h): header round trips and bit layout
 * against a real ntpq request, request parsing outcomes, status words and
 * tallies, error texts, refid text. */
#include <string.h>

#include "protocol/mode6.h"
#include "tap.h"

/* `ntpq -c rv` from NTPsec 1.2: version 2, READVAR, sequence 1, no data,
 * padded to 12 octets. */
static const uint8_t ntpq_rv[12] = { 0x16, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0 };

static void test_header(void)
{
	struct mode6_header h, g;
	uint8_t p[MODE6_HEADER_LEN];

	mode6_header_decode(ntpq_rv, &h);
	tap_ok(h.version == 2 && h.mode == 6 && h.opcode == MODE6_OP_READVAR && h.sequence == 1 &&
	           h.flags == 0 && h.count == 0,
	       "ntpq's READVAR header decodes (vn %u mode %u op %u seq %u)", h.version, h.mode,
	       h.opcode, h.sequence);
	mode6_header_encode(&h, p);
	tap_ok(!memcmp(p, ntpq_rv, sizeof(p)), "and encodes back to the same octets");

	h = (struct mode6_header){ .leap = 3, .version = 4, .mode = 6,
		                   .flags = MODE6_FLAG_RESPONSE | MODE6_FLAG_MORE,
		                   .opcode = MODE6_OP_READSTAT, .sequence = 0xbeef, .status = 0x0615,
		                   .associd = 0x1234, .offset = 468, .count = 400 };
	mode6_header_encode(&h, p);
	tap_ok(p[0] == 0xe6 && p[1] == 0xa1, "LI/VN/mode 0x%02x and R/E/M/op 0x%02x", p[0], p[1]);
	tap_ok(p[2] == 0xbe && p[3] == 0xef && p[8] == 0x01 && p[9] == 0xd4 && p[10] == 0x01 &&
	           p[11] == 0x90,
	       "sequence, offset and count in network order");
	mode6_header_decode(p, &g);
	tap_ok(g.leap == 3 && g.version == 4 && g.flags == h.flags && g.opcode == h.opcode &&
	           g.sequence == h.sequence && g.status == h.status && g.associd == h.associd &&
	           g.offset == h.offset && g.count == h.count,
	       "every field survives a round trip");
}

static void test_parse(void)
{
	struct mode6_request rq;
	uint8_t p[64];

	tap_ok(mode6_parse_request(ntpq_rv, sizeof(ntpq_rv), &rq) == MODE6_PARSE_OK &&
	           rq.opcode == MODE6_OP_READVAR && !rq.has_mac,
	       "ntpq's request parses");
	tap_ok(mode6_parse_request(ntpq_rv, 11, &rq) == MODE6_PARSE_SHORT, "11 octets: short");
	memcpy(p, ntpq_rv, 12);
	p[1] |= MODE6_FLAG_RESPONSE;
	tap_ok(mode6_parse_request(p, 12, &rq) == MODE6_PARSE_RESPONSE, "a response is no request");
	memcpy(p, ntpq_rv, 12);
	p[0] = 0x06;
	tap_ok(mode6_parse_request(p, 12, &rq) == MODE6_PARSE_BAD_VERSION, "version 0 refused");
	memcpy(p, ntpq_rv, 12);
	p[11] = 4;
	tap_ok(mode6_parse_request(p, 12, &rq) == MODE6_PARSE_COUNT, "count beyond the datagram");
	/* Data "a=1" (3 octets) padded to 16, key id 7, 20-octet digest. */
	memset(p, 0, sizeof(p));
	memcpy(p, ntpq_rv, 12);
	p[11] = 3;
	memcpy(p + 12, "a=1", 3);
	p[19] = 7;
	memset(p + 20, 0x5a, 20);
	tap_ok(mode6_pad8(15) == 16, "MAC offset after 15 octets is 16");
	tap_ok(mode6_parse_request(p, 40, &rq) == MODE6_PARSE_OK && rq.has_mac && rq.keyid == 7 &&
	           rq.mac_offset == 16 && rq.mac_len == 20,
	       "a MAC trailer is found at the 8-octet boundary");
	tap_ok(mode6_parse_request(p, 30, &rq) == MODE6_PARSE_TRAILER, "a short digest is no MAC");
	tap_ok(!strcmp(mode6_parse_name(MODE6_PARSE_TRAILER), "trailer is no MAC") &&
	           !strcmp(mode6_parse_name((enum mode6_parse)99), "?"),
	       "parse result names");
}

static void test_words(void)
{
	uint16_t st = mode6_peer_status(MODE6_PST_CONFIG | MODE6_PST_REACH, MODE6_SEL_SYSPEER, 1, 4);
	char t[16];

	tap_ok(st == 0x9614, "peer status word 0x%04x (ntpq: 9614)", st);
	tap_ok(mode6_tally(st) == '*', "system peer tally '*'");
	tap_ok(mode6_tally(mode6_peer_status(0, MODE6_SEL_CANDIDATE, 0, 0)) == '+' &&
	           mode6_tally(mode6_peer_status(0, MODE6_SEL_REJECT, 0, 0)) == ' ',
	       "candidate '+' and reject ' '");
	tap_ok(!strcmp(mode6_errtext(MODE6_ERR_PERMISSION), "permission denied") &&
	           !strcmp(mode6_errtext(200), "unknown error code"),
	       "error texts as ntpq prints them");
	mode6_refid_text(0x4c4f434c, true, t, sizeof(t));
	tap_ok(!strcmp(t, "LOCL"), "ascii refid LOCL (got %s)", t);
	mode6_refid_text(0xc0000201, false, t, sizeof(t));
	tap_ok(!strcmp(t, "192.0.2.1"), "address refid (got %s)", t);
}

int main(void)
{
	test_header();
	test_parse();
	test_words();
	return tap_done();
}
