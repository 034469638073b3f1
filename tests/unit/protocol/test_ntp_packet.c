/* NTP packet codec: header round trips, extension field / MAC walking,
 * every malformed-tail case, and a randomised parse of garbage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/clock.h"
#include "protocol/ntp_packet.h"
#include "tap.h"

static void put_ef(uint8_t *p, uint16_t type, uint16_t len)
{
	p[0] = (uint8_t)(type >> 8);
	p[1] = (uint8_t)type;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	memset(p + 4, 0xab, len - 4);
}

static void test_header_roundtrip(void)
{
	struct ntp_header h = {
		.leap = 3, .version = 4, .mode = 3, .stratum = 16, .poll = -6, .precision = -25,
		.root_delay = 0x12345678, .root_disp = 0x9abcdef0, .refid = NTP_REFID('L', 'O', 'C', 'L'),
		.reftime = 0x0102030405060708ull, .org = 0x1111111122222222ull,
		.rec = 0x3333333344444444ull, .xmt = 0xfedcba9876543210ull,
	};
	struct ntp_header g;
	uint8_t p[NTP_HEADER_LEN];

	ntp_header_encode(&h, p);
	tap_ok(p[0] == 0xe3, "LI/VN/mode byte packed as 0xe3 (got 0x%02x)", p[0]);
	tap_ok(p[2] == 0xfa && p[3] == 0xe7, "signed poll and precision bytes");
	tap_ok(!memcmp(p + 12, "LOCL", 4), "refid in network order");
	ntp_header_decode(p, &g);
	tap_ok(!memcmp(&h, &g, sizeof(h)) || (g.leap == h.leap && g.version == h.version &&
	       g.mode == h.mode && g.stratum == h.stratum && g.poll == h.poll &&
	       g.precision == h.precision && g.root_delay == h.root_delay &&
	       g.root_disp == h.root_disp && g.refid == h.refid && g.reftime == h.reftime &&
	       g.org == h.org && g.rec == h.rec && g.xmt == h.xmt),
	       "header decode(encode(h)) == h");
	for (int mode = 0; mode < 8; mode++)
		for (int vn = 0; vn < 8; vn++) {
			uint8_t q[NTP_HEADER_LEN] = { (uint8_t)(1 << 6 | vn << 3 | mode) };
			ntp_header_decode(q, &g);
			if (g.mode != mode || g.version != vn || g.leap != 1) {
				tap_ok(false, "mode %d version %d decode", mode, vn);
				return;
			}
		}
	tap_ok(true, "all 64 mode/version combinations decode");
}

static void test_tails(void)
{
	uint8_t p[600];
	struct ntp_header h;
	struct ntp_tail t;

	memset(p, 0, sizeof(p));
	p[0] = 0x23;
	for (size_t len = 0; len < NTP_HEADER_LEN; len++)
		if (ntp_packet_parse(p, len, &h, &t) != NTP_PARSE_SHORT) {
			tap_ok(false, "length %zu must be SHORT", len);
			return;
		}
	tap_ok(true, "lengths 0..47 are SHORT");
	tap_ok(ntp_packet_parse(p, 48, &h, &t) == NTP_PARSE_OK && !t.has_mac && t.n_ef == 0,
	       "bare 48-byte header parses with no MAC and no field");

	/* Legacy MACs of every recognised size. */
	static const size_t dl[] = { 16, 20, 28, 32, 48, 64 };
	for (size_t i = 0; i < sizeof(dl) / sizeof(dl[0]); i++) {
		memset(p + 48, 0x5a, 4 + dl[i]);
		p[48] = 0; p[49] = 0; p[50] = 0; p[51] = 7; /* key id 7 */
		enum ntp_parse_status st = ntp_packet_parse(p, 48 + 4 + dl[i], &h, &t);
		tap_ok(st == NTP_PARSE_OK && t.has_mac && t.keyid == 7 && t.digest_len == dl[i] &&
		       t.digest == p + 52 && t.mac_offset == 48,
		       "legacy MAC with a %zu-byte digest", dl[i]);
	}
	/* A key id whose low half looks like a plausible field length. */
	memset(p + 48, 0x5a, 36);
	p[48] = 0; p[49] = 0; p[50] = 0; p[51] = 36;
	tap_ok(ntp_packet_parse(p, 48 + 36, &h, &t) == NTP_PARSE_OK && t.has_mac && t.keyid == 36 &&
	       t.digest_len == 32, "SHA-256 MAC with key id 36 is a MAC, not a type-0 field");
	/* Crypto-NAK. */
	memset(p + 48, 0, 4);
	tap_ok(ntp_packet_parse(p, 52, &h, &t) == NTP_PARSE_OK && t.has_mac && t.keyid == 0 &&
	       !t.digest, "4 zero bytes are a crypto-NAK");
	p[51] = 1;
	tap_ok(ntp_packet_parse(p, 52, &h, &t) == NTP_PARSE_TAIL, "4 non-zero bytes are rejected");
	/* Bad tail lengths. */
	static const size_t bad[] = { 1, 2, 3, 5, 8, 12, 17, 19, 21, 23, 25, 27 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(p + 48, 0x11, bad[i]);
		tap_ok(ntp_packet_parse(p, 48 + bad[i], &h, &t) == NTP_PARSE_TAIL,
		       "a %zu-byte tail is neither a field nor a MAC", bad[i]);
	}
	/* Extension fields. */
	put_ef(p + 48, 0x0104, 36);
	put_ef(p + 84, 0x0204, 104);
	put_ef(p + 188, 0x0404, 40);
	tap_ok(ntp_packet_parse(p, 228, &h, &t) == NTP_PARSE_OK && t.n_ef == 3 && !t.has_mac &&
	       t.ef[0].type == 0x0104 && t.ef[1].len == 104 && t.ef[2].start == p + 188 &&
	       t.ef[2].body == p + 192,
	       "three NTS-like fields walk in order");
	memset(p + 228, 0, 24);
	p[231] = 9;
	tap_ok(ntp_packet_parse(p, 252, &h, &t) == NTP_PARSE_OK && t.n_ef == 3 && t.has_mac &&
	       t.keyid == 9 && t.mac_offset == 228, "fields followed by a SHA1 MAC");
	/* 40-byte tails: not a MAC size, so only a field could fill them. */
	put_ef(p + 48, 0x0104, 18);
	tap_ok(ntp_packet_parse(p, 48 + 40, &h, &t) == NTP_PARSE_TAIL,
	       "field length not a multiple of 4 is rejected");
	put_ef(p + 48, 0x0104, 12);
	tap_ok(ntp_packet_parse(p, 48 + 40, &h, &t) == NTP_PARSE_TAIL, "field shorter than 16 is rejected");
	put_ef(p + 48, 0x0104, 44);
	tap_ok(ntp_packet_parse(p, 48 + 40, &h, &t) == NTP_PARSE_TAIL,
	       "field longer than the packet is rejected");
	for (int i = 0; i < NTP_MAX_EFS + 1; i++)
		put_ef(p + 48 + 16 * i, 0x7777, 16);
	tap_ok(ntp_packet_parse(p, 48 + 16 * (NTP_MAX_EFS + 1), &h, &t) == NTP_PARSE_TOO_MANY,
	       "more than %d fields is rejected", NTP_MAX_EFS);
	tap_ok(ntp_packet_parse(p, 48 + 16 * NTP_MAX_EFS, &h, &t) == NTP_PARSE_OK &&
	       t.n_ef == NTP_MAX_EFS, "exactly %d fields are accepted", NTP_MAX_EFS);
}

static void test_random(void)
{
	unsigned seed = (unsigned)time(NULL);
	uint8_t p[NTP_MAX_PACKET];
	struct ntp_header h;
	struct ntp_tail t;
	bool ok = true;

	tap_diag("random seed %u", seed);
	srand(seed);
	for (int i = 0; i < 200000 && ok; i++) {
		size_t len = (size_t)rand() % sizeof(p);
		for (size_t k = 0; k < len; k++)
			p[k] = (uint8_t)rand();
		if (rand() % 2 && len > 52) /* plausible field header */
			put_ef(p + 48, (uint16_t)rand(), (uint16_t)(4 + 4 * (rand() % 40)));
		enum ntp_parse_status st = ntp_packet_parse(p, len, &h, &t);
		if (st != NTP_PARSE_OK)
			continue;
		size_t covered = NTP_HEADER_LEN;
		for (size_t k = 0; k < t.n_ef; k++) {
			if (t.ef[k].start != p + covered || t.ef[k].len < 16 || t.ef[k].len % 4)
				ok = false;
			covered += t.ef[k].len;
		}
		if (t.has_mac)
			ok = ok && t.mac_offset == covered && covered + 4 + t.digest_len == len;
		else
			ok = ok && covered == len;
	}
	tap_ok(ok, "200000 random packets: every accepted parse covers the packet exactly");
}

static void test_time(void)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 500000000 };
	uint64_t n = clock_ntp_from_timespec(&ts);
	tap_ok(n >> 32 == NTP_UNIX_OFFSET && (uint32_t)n == 0x80000000u,
	       "Unix epoch + 0.5 s is NTP %u.0x80000000", NTP_UNIX_OFFSET);
	ts.tv_sec = 2085978496; /* 2036-02-07T06:28:16Z: NTP era 1 begins */
	ts.tv_nsec = 0;
	n = clock_ntp_from_timespec(&ts);
	tap_ok(n == 0, "the NTP era rolls over on 2036-02-07 (got %llx)", (unsigned long long)n);
	struct timespec before = { 2085978495, 0 };
	tap_ok(clock_ntp_diff(n, clock_ntp_from_timespec(&before)) == 1.0,
	       "differences are era-safe across the rollover");
	tap_ok(clock_short_from_double(1.5) == 0x00018000u && clock_short_from_double(-1) == 0 &&
	       clock_short_from_double(1e9) == 0xffffffffu, "NTP short format conversions saturate");
	int prec = clock_measure_precision();
	tap_ok(prec <= -10 && prec >= -30, "measured precision %d is plausible", prec);
}

int main(void)
{
	test_header_roundtrip();
	test_tails();
	test_random();
	test_time();
	return tap_done();
}
