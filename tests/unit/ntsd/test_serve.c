/* The per-packet decision: every restrict flag, every drop reason, MACs
 * (including real ntpdig requests), KoD, crypto-NAK, and the invariant that
 * a response is never larger than its request. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/buf.h"
#include "crypto/keyfile.h"
#include "crypto/mac.h"
#include "crypto/secret.h"
#include "protocol/ntp_packet.h"
#include "ntsd/restrict.h"
#include "ntsd/serve.h"
#include "tap.h"

#define FAKE_NOW 0xeeb0de0f80000000ull
#define FAKE_RX 0xeeb0de0f7fff0000ull

static uint64_t fake_mono;
static uint64_t fake_ntp_now(void)
{
	return FAKE_NOW;
}
static uint64_t fake_mono_ns(void)
{
	return fake_mono;
}

static const struct serve_sys sys = {
	.leap = 0, .stratum = 10, .precision = -23, .root_delay = 0x10, .root_disp = 0x20,
	.refid = NTP_REFID('L', 'O', 'C', 'L'), .reftime = 0xeeb0de0000000000ull,
};

static const char keytext[] = "1 MD5 abcdefghij\n"
                              "2 SHA1 0123456789abcdef0123456789abcdef01234567\n"
                              "3 AES128CMAC 000102030405060708090a0b0c0d0e0f\n"
                              "4 SHA256 000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f\n"
                              "5 SHA1 fedcba9876543210fedcba9876543210fedcba98\n";

static struct serve_worker w;
static struct serve_config cfg;
static struct sockaddr_in from4;
static struct sockaddr_in6 from6;

static void set_rules(const struct conf_restrict *r, size_t n)
{
	restrict_table_free(cfg.restrict_table);
	cfg.restrict_table = restrict_table_new(r, n);
}

static struct conf_restrict rule4(const char *addr, unsigned prefix, uint32_t flags)
{
	struct conf_restrict r = { .family = AF_INET, .prefix = prefix, .flags = flags };
	inet_pton(AF_INET, addr, r.addr);
	for (unsigned i = 0; i < prefix; i++)
		r.mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	r.is_default = prefix == 0;
	return r;
}

static size_t request(uint8_t *p, int version, int mode)
{
	memset(p, 0, NTP_HEADER_LEN);
	p[0] = (uint8_t)(version << 3 | mode);
	p[2] = 6;
	for (int i = 0; i < 8; i++)
		p[40 + i] = (uint8_t)(0x10 + i); /* transmit timestamp */
	return NTP_HEADER_LEN;
}

static size_t serve(const uint8_t *req, size_t len, const void *sa, uint8_t *out)
{
	return serve_packet(&w, &cfg, &sys, req, len, sa, FAKE_RX, out, NTP_MAX_PACKET);
}

static uint64_t stat(enum serve_stat s)
{
	return atomic_load(&w.stats[s]);
}

static size_t add_mac(uint8_t *p, size_t len, uint32_t id, size_t dlen)
{
	const struct symkey *k = keyfile_get(cfg.keys, id);
	uint8_t d[MAC_MAX_DIGEST];
	mac_compute(w.mac, k->alg, k->key, k->len, p, len, d);
	p[len] = (uint8_t)(id >> 24);
	p[len + 1] = (uint8_t)(id >> 16);
	p[len + 2] = (uint8_t)(id >> 8);
	p[len + 3] = (uint8_t)id;
	memcpy(p + len + 4, d, dlen);
	return len + 4 + dlen;
}

static bool mac_ok(const uint8_t *p, size_t len, uint32_t id, size_t dlen)
{
	const struct symkey *k = keyfile_get(cfg.keys, id);
	return len == NTP_HEADER_LEN + 4 + dlen && load_be32(p + 48) == id &&
	       mac_verify(w.mac, k->alg, k->key, k->len, p, NTP_HEADER_LEN, p + 52, dlen);
}

static void test_plain(void)
{
	uint8_t req[NTP_MAX_PACKET], out[NTP_MAX_PACKET];
	struct ntp_header h;

	for (int vn = 1; vn <= 4; vn++) {
		size_t len = request(req, vn, 3);
		size_t r = serve(req, len, &from4, out);
		ntp_header_decode(out, &h);
		tap_ok(r == 48 && h.version == vn && h.mode == 4 && h.stratum == 10 && h.leap == 0 &&
		       h.poll == 6 && h.precision == -23 && h.refid == sys.refid &&
		       h.reftime == sys.reftime && h.root_delay == 0x10 && h.root_disp == 0x20 &&
		       h.org == 0x1011121314151617ull && h.rec == FAKE_RX && h.xmt == FAKE_NOW,
		       "NTPv%d client request: a v%d mode 4 response with every field right", vn, vn);
	}
	size_t len = request(req, 4, 3);
	tap_ok(serve(req, len, &from6, out) == 48, "IPv6 client is answered");
	len = request(req, 4, 1);
	size_t r = serve(req, len, &from4, out);
	ntp_header_decode(out, &h);
	tap_ok(r == 48 && h.mode == 2, "symmetric active (mode 1) gets a passive (mode 2) response");

	struct serve_sys unsync = sys;
	unsync.leap = NTP_LEAP_UNSYNC;
	unsync.stratum = NTP_STRATUM_UNSYNC;
	len = request(req, 4, 3);
	r = serve_packet(&w, &cfg, &unsync, req, len, (void *)&from4, FAKE_RX, out, sizeof(out));
	ntp_header_decode(out, &h);
	tap_ok(r == 48 && h.leap == 3 && h.stratum == 16, "unsynchronized: LI=3, stratum 16");
	/* Unknown extension fields are ignored and the answer stays small. */
	len = request(req, 4, 3);
	memset(req + 48, 0, 32);
	req[48] = 0x7f; req[49] = 0x01; req[51] = 32;
	r = serve(req, 80, &from4, out);
	tap_ok(r == 48, "request with an unknown extension field gets a 48-byte answer");
}

static void test_drops(void)
{
	uint8_t req[NTP_MAX_PACKET + 8], out[NTP_MAX_PACKET];
	uint64_t before;

	for (int mode = 0; mode < 8; mode++) {
		if (mode == 1 || mode == 3)
			continue;
		size_t len = request(req, 4, mode);
		enum serve_stat want = mode == 7 ? SERVE_STAT_MODE7 : mode == 6 ? SERVE_STAT_CONTROL_BAD
		                                                                : SERVE_STAT_BAD_MODE;
		before = stat(want);
		tap_ok(serve(req, len, &from4, out) == 0 && stat(want) == before + 1,
		       "mode %d is dropped and counted as %s", mode, serve_stat_name(want));
	}
	for (int vn = 0; vn < 8; vn += (vn == 0 ? 5 : 1)) {
		size_t len = request(req, vn, 3);
		before = stat(SERVE_STAT_BAD_VERSION);
		tap_ok(serve(req, len, &from4, out) == 0 && stat(SERVE_STAT_BAD_VERSION) == before + 1,
		       "version %d is dropped and counted", vn);
	}
	before = stat(SERVE_STAT_SHORT);
	request(req, 4, 3);
	bool all = true;
	for (size_t len = 0; len < 48; len++)
		all = all && serve(req, len, &from4, out) == 0;
	tap_ok(all && stat(SERVE_STAT_SHORT) == before + 48, "truncated requests (0..47 bytes) are dropped and counted");
	before = stat(SERVE_STAT_OVERSIZE);
	tap_ok(serve(req, NTP_MAX_PACKET + 1, &from4, out) == 0 && stat(SERVE_STAT_OVERSIZE) == before + 1,
	       "oversized request is dropped and counted");
	before = stat(SERVE_STAT_MALFORMED);
	request(req, 4, 3);
	memset(req + 48, 0x11, 13);
	tap_ok(serve(req, 61, &from4, out) == 0 && stat(SERVE_STAT_MALFORMED) == before + 1,
	       "malformed tail is dropped and counted");
	struct sockaddr_in p0 = from4;
	p0.sin_port = 0;
	before = stat(SERVE_STAT_BAD_PORT);
	request(req, 4, 3);
	tap_ok(serve(req, 48, &p0, out) == 0 && stat(SERVE_STAT_BAD_PORT) == before + 1,
	       "source port 0 is dropped and counted");
}

struct flag_case {
	uint32_t flags;
	int mode;
	bool with_mac;
	bool answered;
	enum serve_stat stat;
};

static void test_restrict_flags(void)
{
	static const struct flag_case cases[] = {
		{ CONF_RES_IGNORE, 3, false, false, SERVE_STAT_IGNORED },
		{ CONF_RES_IGNORE, 3, true, false, SERVE_STAT_IGNORED },
		{ CONF_RES_IGNORE, 6, false, false, SERVE_STAT_IGNORED },
		{ CONF_RES_NOSERVE, 3, false, false, SERVE_STAT_NOSERVE },
		{ CONF_RES_NOSERVE, 1, false, false, SERVE_STAT_NOSERVE },
		{ CONF_RES_NOQUERY, 3, false, true, SERVE_STAT_REPLIED },
		{ CONF_RES_NOQUERY, 6, false, false, SERVE_STAT_NOQUERY },
		{ CONF_RES_NOQUERY, 7, false, false, SERVE_STAT_NOQUERY },
		{ CONF_RES_NOPEER, 1, false, false, SERVE_STAT_NOPEER },
		{ CONF_RES_NOPEER, 3, false, true, SERVE_STAT_REPLIED },
		{ CONF_RES_NOMODIFY, 3, false, true, SERVE_STAT_REPLIED },
		{ CONF_RES_NOTRAP, 3, false, true, SERVE_STAT_REPLIED },
		{ CONF_RES_NOTRUST, 3, false, false, SERVE_STAT_NOTRUST },
		{ CONF_RES_NOTRUST, 3, true, true, SERVE_STAT_AUTH_OK },
		{ CONF_RES_KOD, 3, false, true, SERVE_STAT_REPLIED },
		{ CONF_RES_VERSION, 3, false, true, SERVE_STAT_REPLIED },
		{ CONF_RES_NOMODIFY | CONF_RES_NOTRAP | CONF_RES_NOPEER | CONF_RES_NOQUERY | CONF_RES_KOD,
		  3, false, true, SERVE_STAT_REPLIED },
		{ 0, 3, true, true, SERVE_STAT_AUTH_OK },
	};
	uint8_t req[NTP_MAX_PACKET], out[NTP_MAX_PACKET];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct flag_case *c = &cases[i];
		struct conf_restrict r = rule4("0.0.0.0", 0, c->flags);
		set_rules(&r, 1);
		size_t len = request(req, 4, c->mode);
		if (c->with_mac)
			len = add_mac(req, len, 2, 20);
		uint64_t before = stat(c->stat);
		size_t n = serve(req, len, &from4, out);
		tap_ok((n > 0) == c->answered && stat(c->stat) == before + 1,
		       "restrict flags 0x%x, mode %d%s: %s, counted as %s", c->flags, c->mode,
		       c->with_mac ? " with MAC" : "", c->answered ? "answered" : "dropped",
		       serve_stat_name(c->stat));
	}
	/* version: an NTPv3 client is refused, v4 served. */
	struct conf_restrict r = rule4("0.0.0.0", 0, CONF_RES_VERSION);
	set_rules(&r, 1);
	size_t len = request(req, 3, 3);
	tap_ok(serve(req, len, &from4, out) == 0, "restrict version drops an NTPv3 request");
	/* The most specific entry wins. */
	struct conf_restrict rs[] = { rule4("0.0.0.0", 0, CONF_RES_IGNORE), rule4("192.0.2.1", 32, 0) };
	set_rules(rs, 2);
	len = request(req, 4, 3);
	struct sockaddr_in other = from4;
	inet_pton(AF_INET, "192.0.2.2", &other.sin_addr);
	tap_ok(serve(req, len, &from4, out) == 48 && serve(req, len, &other, out) == 0,
	       "host entry overrides `restrict default ignore`");
	set_rules(NULL, 0);
}

static void test_macs(void)
{
	uint8_t req[NTP_MAX_PACKET], out[NTP_MAX_PACKET];
	static const struct { uint32_t id; size_t dlen; const char *what; } good[] = {
		{ 1, 16, "MD5" }, { 2, 20, "SHA1" }, { 3, 16, "AES128CMAC" },
		{ 4, 32, "SHA256 full (chrony)" }, { 4, 20, "SHA256 truncated to 20 (NTPsec)" },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t len = add_mac(req, request(req, 4, 3), good[i].id, good[i].dlen);
		size_t n = serve(req, len, &from4, out);
		tap_ok(mac_ok(out, n, good[i].id, good[i].dlen),
		       "%s request gets a response signed with the same key and length", good[i].what);
	}
	uint64_t before = stat(SERVE_STAT_AUTH_FAIL);
	size_t len = add_mac(req, request(req, 4, 3), 2, 20);
	req[60] ^= 1;
	size_t n = serve(req, len, &from4, out);
	tap_ok(n == 52 && load_be32(out + 48) == 0 && stat(SERVE_STAT_AUTH_FAIL) == before + 1,
	       "bad digest gets a crypto-NAK (key id 0)");
	len = add_mac(req, request(req, 4, 3), 2, 20);
	req[47] ^= 0x80;
	tap_ok(serve(req, len, &from4, out) == 52, "a flipped header bit fails the MAC: crypto-NAK");
	len = add_mac(req, request(req, 4, 3), 2, 20);
	req[51] = 99; /* unknown key id */
	tap_ok(serve(req, len, &from4, out) == 52, "unknown key id gets a crypto-NAK");
	len = add_mac(req, request(req, 4, 3), 5, 20);
	tap_ok(serve(req, len, &from4, out) == 52, "untrusted key (not in trustedkey) gets a crypto-NAK");
	len = add_mac(req, request(req, 4, 3), 4, 16);
	tap_ok(serve(req, len, &from4, out) == 52, "SHA256 digest truncated to 16 bytes is refused");

	/* Real requests from NTPsec's ntpdig (shared/vectors/symkey-vectors.json). */
	static const char *const real[] = {
		"e3000000000000000000000000000000000000000000000000000000000000000000000000000000eeb0de0f995ad800000000014af9969b4b25827b3d2839049e0ce3cb",
		"e3000000000000000000000000000000000000000000000000000000000000000000000000000000eeb0de0fb5f4f0000000000298cb1cda58aa6ee8875a9aa67ebb89aa435e16e2",
		"e3000000000000000000000000000000000000000000000000000000000000000000000000000000eeb0de0fd47df000000000032a143da6314ccbbea8147b65ce043932",
	};
	for (size_t i = 0; i < 3; i++) {
		size_t hl = strlen(real[i]) / 2;
		for (size_t k = 0; k < hl; k++) {
			unsigned v;
			sscanf(real[i] + 2 * k, "%2x", &v);
			req[k] = (uint8_t)v;
		}
		n = serve(req, hl, &from4, out);
		struct ntp_header h;
		ntp_header_decode(out, &h);
		tap_ok(n == hl && mac_ok(out, n, (uint32_t)(i + 1), hl - 52) && h.org == load_be64(req + 40),
		       "real ntpdig request with key %zu is answered and signed", i + 1);
	}
}

static void test_ratelimit(void)
{
	uint8_t req[NTP_MAX_PACKET], out[NTP_MAX_PACKET];
	struct conf_restrict r = rule4("0.0.0.0", 0, CONF_RES_LIMITED | CONF_RES_KOD);
	struct ntp_header h;
	size_t answered = 0, kods = 0, dropped = 0;

	set_rules(&r, 1);
	for (int i = 0; i < 50; i++) {
		fake_mono += 100000000ull; /* 10 packets per second */
		size_t len = request(req, 4, 3);
		size_t n = serve(req, len, &from4, out);
		ntp_header_decode(out, &h);
		if (n == 0)
			dropped++;
		else if (h.stratum == 0 && h.refid == NTP_KISS_RATE && h.leap == 3 && n <= len)
			kods++;
		else
			answered++;
	}
	tap_ok(answered >= 1 && kods >= 1 && dropped >= 1 && kods < 5,
	       "a 10/s client is limited: %zu answered, %zu RATE KoDs, %zu dropped", answered, kods,
	       dropped);
	r.flags = CONF_RES_LIMITED;
	set_rules(&r, 1);
	kods = 0;
	for (int i = 0; i < 50; i++) {
		fake_mono += 100000000ull;
		size_t len = request(req, 4, 3);
		size_t n = serve(req, len, &from4, out);
		ntp_header_decode(out, &h);
		if (n && h.stratum == 0)
			kods++;
	}
	tap_ok(kods == 0, "limited without kod never sends a KoD");
	fake_mono += 3600ull * 1000000000ull;
	size_t len = request(req, 4, 3);
	tap_ok(serve(req, len, &from4, out) == 48, "the client is served again after an hour of silence");
	set_rules(NULL, 0);
}

static void test_random(void)
{
	unsigned seed = (unsigned)time(NULL);
	uint8_t req[NTP_MAX_PACKET], out[NTP_MAX_PACKET];
	bool ok = true;
	size_t answered = 0;

	tap_diag("random seed %u", seed);
	srand(seed);
	for (int i = 0; i < 100000; i++) {
		size_t len = (size_t)rand() % (NTP_MAX_PACKET + 1);
		for (size_t k = 0; k < len; k++)
			req[k] = (uint8_t)rand();
		if (len > 0 && rand() % 2)
			req[0] = (uint8_t)((req[0] & 0xc0) | 4 << 3 | 3);
		size_t n = serve(req, len, rand() % 2 ? (void *)&from4 : (void *)&from6, out);
		if (n > len)
			ok = false;
		answered += n > 0;
	}
	tap_ok(ok, "100000 random datagrams: no response is larger than its request (%zu answered)",
	       answered);
	uint64_t sum = 0;
	for (int s = 0; s < SERVE_STAT_COUNT; s++)
		if (serve_stat_kind((enum serve_stat)s) == 'O')
			sum += stat((enum serve_stat)s);
	tap_ok(sum == stat(SERVE_STAT_RECEIVED),
	       "every datagram received is either replied or counted under one drop reason "
	       "(%llu received)", (unsigned long long)stat(SERVE_STAT_RECEIVED));
}

int main(void)
{
	struct keyfile_errors errs = { 0 };

	secret_init();
	from4 = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(40123) };
	inet_pton(AF_INET, "192.0.2.1", &from4.sin_addr);
	from6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = htons(40123) };
	inet_pton(AF_INET6, "2001:db8::1", &from6.sin6_addr);
	cfg.keys = keyfile_parse(keytext, strlen(keytext), &errs);
	tap_ok(cfg.keys != NULL, "test key file parses");
	if (!cfg.keys)
		return tap_done();
	for (uint32_t id = 1; id <= 4; id++)
		cfg.trusted[id / 8] |= (uint8_t)(1u << (id % 8));
	cfg.discard_average = 3;
	cfg.discard_minimum = 2;
	set_rules(NULL, 0);
	if (!serve_worker_init(&w, 1024, &cfg)) {
		tap_ok(false, "worker init");
		return tap_done();
	}
	w.ntp_now = fake_ntp_now;
	w.mono_ns = fake_mono_ns;
	fake_mono = 1000000000ull;

	test_plain();
	test_drops();
	test_restrict_flags();
	test_macs();
	test_ratelimit();
	test_random();

	serve_worker_destroy(&w);
	restrict_table_free(cfg.restrict_table);
	keyfile_free(cfg.keys);
	return tap_done();
}
