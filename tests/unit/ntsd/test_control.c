/* Mode 6 (RFC 9327): request parsing (every header field), every opcode
 * and error, variable lists, peer rendering from a synthetic view,
 * fragmentation across the 468-octet boundary and the fragment cap, and
 * serve_control's restrict, rate limit and controlkey handling. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/keyfile.h"
#include "crypto/mac.h"
#include "crypto/secret.h"
#include "protocol/ntp_packet.h"
#include "ntsd/control.h"
#include "ntsd/restrict.h"
#include "ntsd/serve.h"
#include "tap.h"

#define NOW 0xeeb0de0f80000000ull

static struct control_sys sys;
static struct control_peer peers[3];
static struct control_reply rep;
static const struct control_access anon = { .authenticated = false };

static size_t mkreq(uint8_t *p, uint8_t op, uint16_t assoc, const char *data)
{
	size_t n = strlen(data);
	memset(p, 0, 12 + n + 8);
	p[0] = (2 << 6) | (4 << 3) | 6; /* LI is ignored in requests */
	p[1] = op;
	p[2] = 0x12;
	p[3] = 0x34;
	p[6] = (uint8_t)(assoc >> 8);
	p[7] = (uint8_t)assoc;
	p[10] = (uint8_t)(n >> 8);
	p[11] = (uint8_t)n;
	memcpy(p + 12, data, n);
	return 12 + n;
}

static uint16_t g16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Parses and answers; returns the reassembled data in text. */
static size_t ask(uint8_t op, uint16_t assoc, const char *data, const struct control_access *acc,
                  char *text, size_t textlen)
{
	uint8_t req[600];
	struct mode6_request rq;
	size_t len = mkreq(req, op, assoc, data), total = 0;

	if (mode6_parse_request(req, len, &rq) != MODE6_PARSE_OK)
		return (size_t)-1;
	control_answer(&rq, &sys, peers, 3, NOW, acc ? acc : &anon, &rep);
	for (size_t i = 0; i < rep.n; i++) {
		size_t c = g16(rep.frag[i] + 10);
		if (total + c < textlen)
			memcpy(text + total, rep.frag[i] + 12, c);
		total += c;
	}
	if (total < textlen)
		text[total] = '\0';
	return total;
}

static bool is_error(uint8_t code)
{
	return rep.n == 1 && rep.error && rep.errcode == code && (rep.frag[0][1] & 0xc0) == 0xc0 &&
	       rep.frag[0][4] == code && g16(rep.frag[0] + 10) == 0 && rep.len[0] == 12;
}

static void setup_view(void)
{
	sys = (struct control_sys){ .leap = 0, .stratum = 2, .precision = -23, .clock_source = MODE6_SRC_NTP,
		                    .rootdelay = 1.5, .rootdisp = 2.25, .refid = 0xc0000201,
		                    .reftime = 0xeeb0de0000000000ull, .peer = 7, .tc = 6, .mintc = 3,
		                    .offset = -0.125, .frequency = 12.5, .sys_jitter = 0.01,
		                    .events = 2, .last_event = 5 };
	snprintf(sys.version, sizeof(sys.version), "ntsd 0.1.0");
	snprintf(sys.processor, sizeof(sys.processor), "x86_64");
	snprintf(sys.system, sizeof(sys.system), "Linux/6.1.0");

	struct sockaddr_in *a = (struct sockaddr_in *)&peers[0].srcadr;
	a->sin_family = AF_INET;
	a->sin_port = htons(123);
	inet_pton(AF_INET, "192.0.2.1", &a->sin_addr);
	peers[0].associd = 7;
	peers[0].status = mode6_peer_status(MODE6_PST_CONFIG | MODE6_PST_AUTHENABLE |
	                                          MODE6_PST_AUTHENTIC | MODE6_PST_REACH,
	                                      MODE6_SEL_SYSPEER, 1, 10);
	snprintf(peers[0].name, sizeof(peers[0].name), "time.example.net");
	peers[0].refid = ('G' << 24) | ('P' << 16) | ('S' << 8);
	peers[0].stratum = 1;
	peers[0].hmode = 3;
	peers[0].pmode = 4;
	peers[0].reach = 0377;
	peers[0].ppoll = peers[0].hpoll = 6;
	peers[0].delay = 0.5;
	peers[0].offset = -0.25;
	peers[0].jitter = 0.03;
	peers[0].rec = 0xeeb0de0000000000ull;
	peers[0].auth = CONTROL_AUTH_NTS;
	peers[0].ntscookies = 7;
	peers[0].last_ke = 0xeeb0d00000000000ull;

	struct sockaddr_in6 *b = (struct sockaddr_in6 *)&peers[1].srcadr;
	b->sin6_family = AF_INET6;
	b->sin6_port = htons(1123);
	inet_pton(AF_INET6, "2001:db8::5", &b->sin6_addr);
	peers[1].associd = 8;
	peers[1].status = mode6_peer_status(MODE6_PST_CONFIG, MODE6_SEL_REJECT, 0, 0);
	peers[1].refid = 0x0a000001;
	peers[1].stratum = 3;
	peers[1].auth = CONTROL_AUTH_KEY;
	peers[1].keyid = 5;
	peers[1].ntscookies = -1;

	peers[2] = peers[1];
	peers[2].associd = 9;
	peers[2].auth = CONTROL_AUTH_NONE;
}

static void test_parse(void)
{
	uint8_t req[200];
	struct mode6_request rq;
	size_t len = mkreq(req, 2, 0, "stratum");
	bool all = true;

	tap_ok(mode6_parse_request(req, len, &rq) == MODE6_PARSE_OK && rq.opcode == 2 && rq.version == 4 &&
	       rq.sequence == 0x1234 && rq.count == 7 && !memcmp(rq.data, "stratum", 7) && !rq.has_mac,
	       "a READVAR request parses with every header field");
	for (size_t n = 0; n < 12; n++)
		all = all && mode6_parse_request(req, n, &rq) == MODE6_PARSE_SHORT;
	tap_ok(all, "0..11 octets: short");
	mkreq(req, 2, 0, "");
	req[0] = (4 << 3) | 3;
	tap_ok(mode6_parse_request(req, 12, &rq) == MODE6_PARSE_NOT_MODE6, "mode 3 is not mode 6");
	all = true;
	for (int vn = 0; vn < 8; vn++) {
		req[0] = (uint8_t)(vn << 3 | 6);
		enum mode6_parse p = mode6_parse_request(req, 12, &rq);
		all = all && (vn >= 1 && vn <= 4 ? p == MODE6_PARSE_OK : p == MODE6_PARSE_BAD_VERSION);
	}
	tap_ok(all, "versions 1..4 accepted, 0 and 5..7 refused");
	const uint8_t bits[] = { 0x80, 0x40, 0x20 };
	const char *names[] = { "response", "error", "more" };
	for (int i = 0; i < 3; i++) {
		mkreq(req, 2, 0, "");
		req[1] |= bits[i];
		tap_ok(mode6_parse_request(req, 12, &rq) == MODE6_PARSE_RESPONSE, "%s bit in a request: refused",
		       names[i]);
	}
	mkreq(req, 2, 0, "");
	req[9] = 4;
	tap_ok(mode6_parse_request(req, 12, &rq) == MODE6_PARSE_OFFSET, "nonzero offset: refused");
	len = mkreq(req, 2, 0, "abcd");
	tap_ok(mode6_parse_request(req, len - 1, &rq) == MODE6_PARSE_COUNT, "count beyond the datagram: refused");
	req[10] = 0x01;
	req[11] = 0xd5; /* 469 */
	uint8_t big[600] = { 0 };
	memcpy(big, req, 12);
	tap_ok(mode6_parse_request(big, 12 + 469, &rq) == MODE6_PARSE_COUNT, "count 469 (> 468): refused");
	len = mkreq(req, 2, 0, "abcd");
	tap_ok(mode6_parse_request(req, 16, &rq) == MODE6_PARSE_OK && mode6_parse_request(req, 20, &rq) == MODE6_PARSE_OK &&
	       mode6_parse_request(req, 24, &rq) == MODE6_PARSE_OK && !rq.has_mac,
	       "zero padding after the data is no MAC");
	req[17] = 1;
	tap_ok(mode6_parse_request(req, 20, &rq) == MODE6_PARSE_TRAILER, "nonzero padding: refused");
	req[17] = 0;
	all = true;
	for (size_t m = 1; m <= 70; m++) {
		memset(req + 16, 0xab, m);
		enum mode6_parse p = mode6_parse_request(req, 16 + m, &rq);
		bool want_mac = m >= 20 && m <= 68;
		all = all && (want_mac ? p == MODE6_PARSE_OK && rq.has_mac && rq.mac_offset == 16 &&
		                             rq.keyid == 0xabababab && rq.mac_len == m - 4
		                       : p == MODE6_PARSE_TRAILER);
	}
	tap_ok(all, "trailers of 1..70 octets: a MAC only for 4+16..4+64");
	tap_ok(strcmp(mode6_parse_name(MODE6_PARSE_COUNT), "?") && !strcmp(mode6_parse_name((enum mode6_parse)99), "?"),
	       "parse results have names");
}

static void test_status_words(void)
{
	const char want[] = " x.-+#*o";
	bool all = true;
	for (int sel = 0; sel < 8; sel++) {
		uint16_t st = mode6_peer_status(MODE6_PST_REACH, (enum mode6_sel)sel, 3, 4);
		all = all && mode6_tally(st) == want[sel] && st == (uint16_t)(0x1000 | sel << 8 | 0x34);
	}
	tap_ok(all, "peer status word and tally for every selection code");
	char t[16];
	mode6_refid_text(('L' << 24) | ('O' << 16) | ('C' << 8) | 'L', true, t, sizeof(t));
	bool ok1 = !strcmp(t, "LOCL");
	mode6_refid_text(('G' << 24) | ('P' << 16) | ('S' << 8), true, t, sizeof(t));
	bool ok2 = !strcmp(t, "GPS");
	mode6_refid_text(0xc0000201, false, t, sizeof(t));
	bool ok3 = !strcmp(t, "192.0.2.1");
	mode6_refid_text(0x41012c42, true, t, sizeof(t));
	tap_ok(ok1 && ok2 && ok3 && !strcmp(t, "A..B"), "refid text: code, NUL-trimmed, dotted, odd bytes");
}

static void test_readstat(void)
{
	char text[2048];
	size_t n = ask(MODE6_OP_READSTAT, 0, "", NULL, text, sizeof(text));
	const uint8_t *f = rep.frag[0];

	tap_ok(n == 12 && rep.n == 1 && !rep.error && (f[1] & 0xe0) == 0x80 && (f[1] & 0x1f) == 1 &&
	       g16(f + 2) == 0x1234 && (f[0] & 7) == 6 && ((f[0] >> 3) & 7) == 4,
	       "READSTAT 0: one response fragment, sequence and opcode echoed");
	tap_ok(g16(f + 4) == (0 << 14 | 6 << 8 | 2 << 4 | 5), "READSTAT 0: system status word (leap, sync_ntp, events)");
	const uint8_t *d = f + 12;
	tap_ok(g16(d) == 7 && g16(d + 2) == peers[0].status && g16(d + 4) == 8 && g16(d + 8) == 9,
	       "READSTAT 0: association ids and peer status words");
	n = ask(MODE6_OP_READSTAT, 7, "", NULL, text, sizeof(text));
	tap_ok(g16(rep.frag[0] + 4) == peers[0].status && strstr(text, "srcadr=192.0.2.1") != NULL,
	       "READSTAT on a peer: its status word and variables");
	ask(MODE6_OP_READSTAT, 99, "", NULL, text, sizeof(text));
	tap_ok(is_error(MODE6_ERR_BADASSOC), "READSTAT on an unknown association: BADASSOC");
}

static void test_readvar(void)
{
	char text[4096];
	size_t n = ask(MODE6_OP_READVAR, 0, "", NULL, text, sizeof(text));

	tap_ok(n > 0 && !rep.error && strstr(text, "version=\"ntsd 0.1.0\"") && strstr(text, "stratum=2") &&
	       strstr(text, "refid=192.0.2.1") && strstr(text, "reftime=0xeeb0de00.00000000") &&
	       strstr(text, "clock=0xeeb0de0f.80000000") && strstr(text, "peer=7") &&
	       strstr(text, "rootdelay=1.500000") && strstr(text, "frequency=12.500000") &&
	       strstr(text, "offset=-0.125000") && strstr(text, "processor=\"x86_64\""),
	       "READVAR 0: the system variables");
	tap_ok(n >= 2 && !memcmp(text + n - 2, "\r\n", 2) && rep.len[0] % 4 == 0, "READVAR 0: ends in CRLF, padded to 4");
	bool lines_ok = true;
	for (char *l = text, *e; (e = strstr(l, "\r\n")); l = e + 2)
		lines_ok = lines_ok && e - l <= 74;
	tap_ok(lines_ok, "READVAR 0: lines wrapped near 72 columns as ntpd does");
	sys.refid_ascii = true;
	sys.refid = ('L' << 24) | ('O' << 16) | ('C' << 8) | 'L';
	ask(MODE6_OP_READVAR, 0, " stratum ,refid", NULL, text, sizeof(text));
	tap_ok(!strcmp(text, "stratum=2, refid=LOCL\r\n"), "READVAR 0 with a list: just those, in order");
	ask(MODE6_OP_READVAR, 0, "leap=3,,tc", NULL, text, sizeof(text));
	tap_ok(!strcmp(text, "leap=0, tc=6\r\n"), "values and empty items in a read list are ignored");
	ask(MODE6_OP_READVAR, 0, "stratum,nosuchvar", NULL, text, sizeof(text));
	tap_ok(is_error(MODE6_ERR_UNKNOWNVAR), "unknown variable: UNKNOWNVAR error");
	ask(MODE6_OP_READVAR, 0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL, text, sizeof(text));
	tap_ok(is_error(MODE6_ERR_UNKNOWNVAR), "overlong variable name: UNKNOWNVAR error");
	ask(MODE6_OP_READVAR, 0, "str\x01tum", NULL, text, sizeof(text));
	tap_ok(is_error(MODE6_ERR_UNKNOWNVAR), "control character in a name: UNKNOWNVAR error");

	ask(MODE6_OP_READVAR, 7, "", NULL, text, sizeof(text));
	tap_ok(!rep.error && g16(rep.frag[0] + 4) == peers[0].status && g16(rep.frag[0] + 6) == 7 &&
	       strstr(text, "srcadr=192.0.2.1") && strstr(text, "srcport=123") &&
	       strstr(text, "srchost=\"time.example.net\"") && strstr(text, "refid=GPS") &&
	       strstr(text, "stratum=1") && strstr(text, "reach=0xff") && strstr(text, "hmode=3") &&
	       strstr(text, "delay=0.500000") && strstr(text, "offset=-0.250000") &&
	       strstr(text, "rec=0xeeb0de00.00000000") && strstr(text, "authkind=\"nts\"") &&
	       strstr(text, "ntscookies=7") && strstr(text, "lastke=0xeeb0d000.00000000"),
	       "READVAR on an NTS peer: ntpq's variables and the NTS extras");
	ask(MODE6_OP_READVAR, 8, "", NULL, text, sizeof(text));
	tap_ok(strstr(text, "srcadr=2001:db8::5") && strstr(text, "srcport=1123") && strstr(text, "refid=10.0.0.1") &&
	       strstr(text, "authkind=\"key 5\"") && !strstr(text, "ntscookies") && !strstr(text, "srchost"),
	       "READVAR on an IPv6 peer with a key: dotted refid, no NTS fields, no srchost");
	ask(MODE6_OP_READVAR, 9, "authkind,reach", NULL, text, sizeof(text));
	tap_ok(!strcmp(text, "authkind=\"none\", reach=0x00\r\n"), "READVAR on a peer with a list");
	ask(MODE6_OP_READVAR, 9, "frequency", NULL, text, sizeof(text));
	tap_ok(is_error(MODE6_ERR_UNKNOWNVAR), "a system variable name on a peer: UNKNOWNVAR");
	ask(MODE6_OP_READVAR, 10, "", NULL, text, sizeof(text));
	tap_ok(is_error(MODE6_ERR_BADASSOC), "READVAR on an unknown association: BADASSOC");
}

static void test_opcodes(void)
{
	char text[256];
	bool all = true;
	const struct control_access auth = { .authenticated = true }, authnm = { .authenticated = true, .nomodify = true };

	for (int op = 0; op < 32; op++) {
		if (op >= 1 && op <= 6)
			continue;
		if (op == 8 || op == 9 || op == 31)
			continue;
		ask((uint8_t)op, 0, "", NULL, text, sizeof(text));
		all = all && is_error(MODE6_ERR_BADOP) && !rep.denied;
	}
	tap_ok(all, "opcodes 0, 7, 10..30 (MRU, nonce, unknown): BADOP error");
	ask(MODE6_OP_READCLOCK, 0, "", NULL, text, sizeof(text));
	tap_ok(is_error(MODE6_ERR_BADASSOC), "READCLOCK: no reference clocks, BADASSOC");
	const uint8_t writes[] = { MODE6_OP_WRITEVAR, MODE6_OP_WRITECLOCK, MODE6_OP_SETTRAP,
		                   MODE6_OP_CONFIGURE, MODE6_OP_SAVECONFIG, MODE6_OP_UNSETTRAP };
	for (size_t i = 0; i < sizeof(writes); i++) {
		ask(writes[i], 0, "stratum=1", NULL, text, sizeof(text));
		bool a = is_error(MODE6_ERR_PERMISSION) && rep.denied;
		ask(writes[i], 0, "stratum=1", &authnm, text, sizeof(text));
		tap_ok(a && is_error(MODE6_ERR_PERMISSION) && rep.denied,
		       "opcode %u without controlkey MAC, or with nomodify: PERMISSION, denied", writes[i]);
	}
	ask(MODE6_OP_WRITEVAR, 0, "stratum=1", &auth, text, sizeof(text));
	tap_ok(is_error(MODE6_ERR_PERMISSION) && !rep.denied, "authenticated WRITEVAR of a read-only variable: PERMISSION");
	ask(MODE6_OP_WRITEVAR, 0, "bogus=1", &auth, text, sizeof(text));
	tap_ok(is_error(MODE6_ERR_UNKNOWNVAR), "authenticated WRITEVAR of an unknown variable: UNKNOWNVAR");
	ask(MODE6_OP_WRITEVAR, 0, "", &auth, text, sizeof(text));
	tap_ok(is_error(MODE6_ERR_BADFMT), "authenticated WRITEVAR with nothing to write: BADFMT");
	ask(MODE6_OP_WRITEVAR, 55, "stratum=1", &auth, text, sizeof(text));
	tap_ok(is_error(MODE6_ERR_BADASSOC), "authenticated WRITEVAR on an unknown association: BADASSOC");
	ask(MODE6_OP_CONFIGURE, 0, "server 192.0.2.9", &auth, text, sizeof(text));
	tap_ok(is_error(MODE6_ERR_BADOP), "authenticated CONFIGURE: not supported, BADOP");
}

/* "name,name,...", k times. */
static void repeat(char *out, size_t outlen, const char *name, int k)
{
	size_t used = 0;
	out[0] = '\0';
	for (int i = 0; i < k && used < outlen; i++)
		used += (size_t)snprintf(out + used, outlen - used, "%s%s", i ? "," : "", name);
}

/* Checks the fragment train in rep; returns the data length. */
static bool frags_ok(size_t *total)
{
	*total = 0;
	for (size_t i = 0; i < rep.n; i++) {
		const uint8_t *f = rep.frag[i];
		bool last = i + 1 == rep.n;
		size_t c = g16(f + 10);
		if (g16(f + 8) != *total || (bool)(f[1] & 0x20) == last || (!last && c != MODE6_MAX_DATA) ||
		    rep.len[i] != ((12 + c + 3) & ~(size_t)3) || g16(f + 2) != 0x1234)
			return false;
		*total += c;
	}
	return rep.n >= 1 && rep.n <= CONTROL_MAX_FRAGS;
}

static void test_fragments(void)
{
	char list[600], text[4096];
	bool all = true, crossed = false;

	/* k copies of "leap": the answer grows by 8 or 9 octets a time and
	 * crosses the 468-octet fragment boundary. */
	for (int k = 1; k <= 93; k++) {
		repeat(list, sizeof(list), "leap", k);
		size_t n = ask(MODE6_OP_READVAR, 0, list, NULL, text, sizeof(text)), total;
		size_t items = 0;
		for (char *p = text; (p = strstr(p, "leap=0")); p++)
			items++;
		bool ok = frags_ok(&total) && total == n && rep.n == (n + MODE6_MAX_DATA - 1) / MODE6_MAX_DATA &&
		          items == (size_t)k && !rep.truncated;
		if (!ok)
			tap_diag("k=%d n=%zu frags=%zu items=%zu", k, n, rep.n, items);
		all = all && ok;
		crossed = crossed || rep.n > 1;
	}
	tap_ok(all && crossed, "1..93 variables: fragments of 468 with the more bit and offsets, across the boundary");

	/* A long answer is cut at the fragment cap, at an item boundary. */
	memset(sys.system, 'S', sizeof(sys.system) - 1);
	sys.system[sizeof(sys.system) - 1] = '\0';
	repeat(list, sizeof(list), "system", 66);
	size_t n = ask(MODE6_OP_READVAR, 0, list, NULL, text, sizeof(text)), total;
	tap_ok(frags_ok(&total) && rep.n == CONTROL_MAX_FRAGS && rep.truncated && n <= CONTROL_MAX_FRAGS * MODE6_MAX_DATA &&
	       n > 3 * MODE6_MAX_DATA && !memcmp(text + n - 3, "\"\r\n", 3),
	       "an answer beyond %d fragments is cut at a variable boundary and flagged (%zu octets)",
	       CONTROL_MAX_FRAGS, n);
	snprintf(sys.system, sizeof(sys.system), "Linux/6.1.0");
}

/* Random requests: never more than the cap, never a crash; with a
 * printed seed. */
static void test_random(void)
{
	unsigned seed = (unsigned)time(NULL);
	uint8_t req[700];
	struct mode6_request rq;
	bool all = true;

	tap_diag("random seed %u", seed);
	srand(seed);
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)(rand() % 600);
		for (size_t j = 0; j < len; j++)
			req[j] = (uint8_t)rand();
		if (len && (i & 1))
			req[0] = (uint8_t)((req[0] & 0xc0) | (4 << 3) | 6);
		if (len > 1 && (i & 2))
			req[1] &= 0x1f;
		if (len > 9 && (i & 4))
			req[8] = req[9] = 0;
		if (mode6_parse_request(req, len, &rq) != MODE6_PARSE_OK)
			continue;
		control_answer(&rq, &sys, peers, 3, NOW, &anon, &rep);
		all = all && rep.n >= 1 && rep.n <= CONTROL_MAX_FRAGS;
		for (size_t f = 0; f < rep.n; f++)
			all = all && rep.len[f] >= 12 && rep.len[f] <= 12 + MODE6_MAX_DATA && (rep.frag[f][1] & 0x80);
	}
	tap_ok(all, "20000 random requests: every answer is 1..%d well-formed fragments", CONTROL_MAX_FRAGS);
}

/* ---- serve_control ---- */

static struct serve_worker w;
static struct serve_config cfg;
static struct sockaddr_in from4;
static uint64_t mono = 1000000000ull;
static uint64_t fake_now(void) { return NOW; }
static uint64_t fake_mono(void) { return mono; }
static uint64_t stat(enum serve_stat s) { return atomic_load(&w.stats[s]); }

static void rules(uint32_t flags)
{
	struct conf_restrict r = { .family = AF_INET, .prefix = 0, .flags = flags, .is_default = true };
	restrict_table_free(cfg.restrict_table);
	cfg.restrict_table = restrict_table_new(&r, 1);
}

static size_t sign(uint8_t *p, size_t len, uint32_t id, size_t dlen)
{
	const struct symkey *k = keyfile_get(cfg.keys, id);
	uint8_t d[MAC_MAX_DIGEST];
	while (len & 7)
		p[len++] = 0;
	mac_compute(w.mac, k->alg, k->key, k->len, p, len, d);
	p[len] = (uint8_t)(id >> 24);
	p[len + 1] = (uint8_t)(id >> 16);
	p[len + 2] = (uint8_t)(id >> 8);
	p[len + 3] = (uint8_t)id;
	memcpy(p + len + 4, d, dlen);
	return len + 4 + dlen;
}

static void test_serve(void)
{
	uint8_t req[600];
	uint64_t before, bad;
	size_t len, n;

	rules(0);
	len = mkreq(req, MODE6_OP_READVAR, 0, "");
	before = stat(SERVE_STAT_CONTROL);
	n = serve_control(&w, &cfg, &sys, peers, 3, req, len, (void *)&from4, &rep);
	tap_ok(n == 1 && stat(SERVE_STAT_CONTROL) == before + 1 && serve_is_control(req, len),
	       "serve_control answers READVAR and counts it");
	rules(CONF_RES_NOQUERY);
	before = stat(SERVE_STAT_NOQUERY);
	n = serve_control(&w, &cfg, &sys, peers, 3, req, len, (void *)&from4, &rep);
	tap_ok(n == 0 && stat(SERVE_STAT_NOQUERY) == before + 1, "restrict noquery: silent drop, counted");
	rules(CONF_RES_IGNORE);
	before = stat(SERVE_STAT_IGNORED);
	n = serve_control(&w, &cfg, &sys, peers, 3, req, len, (void *)&from4, &rep);
	tap_ok(n == 0 && stat(SERVE_STAT_IGNORED) == before + 1, "restrict ignore: silent drop, counted");
	rules(0);
	req[1] |= 0x80;
	before = stat(SERVE_STAT_CONTROL_BAD);
	n = serve_control(&w, &cfg, &sys, peers, 3, req, len, (void *)&from4, &rep);
	tap_ok(n == 0 && stat(SERVE_STAT_CONTROL_BAD) == before + 1, "a malformed request is dropped as control_bad");
	uint8_t ntp[48] = { 0x23 };
	uint8_t out[NTP_MAX_PACKET];
	before = stat(SERVE_STAT_CONTROL_BAD);
	req[1] &= 0x7f;
	tap_ok(serve_packet(&w, &cfg, NULL, req, len, (void *)&from4, NOW, out, sizeof(out)) == 0 &&
	       stat(SERVE_STAT_CONTROL_BAD) == before + 1 && !serve_is_control(ntp, 48),
	       "serve_packet leaves mode 6 to serve_control (counted control_bad)");

	rules(CONF_RES_LIMITED);
	before = stat(SERVE_STAT_LIMITED);
	uint64_t answered = 0;
	for (int i = 0; i < 40; i++)
		answered += serve_control(&w, &cfg, &sys, peers, 3, req, len, (void *)&from4, &rep) > 0;
	tap_ok(answered >= 1 && answered < 40 && stat(SERVE_STAT_LIMITED) == before + 40 - answered,
	       "restrict limited applies to mode 6 (%llu of 40 answered)", (unsigned long long)answered);
	rules(0);

	len = mkreq(req, MODE6_OP_WRITEVAR, 0, "stratum=1");
	before = stat(SERVE_STAT_CONTROL_DENIED);
	n = serve_control(&w, &cfg, &sys, peers, 3, req, len, (void *)&from4, &rep);
	tap_ok(n == 1 && is_error(MODE6_ERR_PERMISSION) && stat(SERVE_STAT_CONTROL_DENIED) == before + 1,
	       "WRITEVAR without MAC: PERMISSION error, counted control_denied");
	len = sign(req, len, 3, 16);
	before = stat(SERVE_STAT_CONTROL_AUTH);
	bad = stat(SERVE_STAT_CONTROL_DENIED);
	n = serve_control(&w, &cfg, &sys, peers, 3, req, len, (void *)&from4, &rep);
	tap_ok(n == 1 && is_error(MODE6_ERR_PERMISSION) == false && rep.errcode == MODE6_ERR_PERMISSION &&
	       stat(SERVE_STAT_CONTROL_AUTH) == before + 1 && stat(SERVE_STAT_CONTROL_DENIED) == bad,
	       "WRITEVAR with the controlkey MAC: authenticated (read-only variable, not denied)");
	const struct symkey *k = keyfile_get(cfg.keys, 3);
	tap_ok(rep.len[0] == 16 + 4 + 16 && g16(rep.frag[0] + 16) == 0 && g16(rep.frag[0] + 18) == 3 &&
	       mac_verify(w.mac, k->alg, k->key, k->len, rep.frag[0], 16, rep.frag[0] + 20, 16),
	       "the answer to an authenticated request carries a valid MAC");
	len = mkreq(req, MODE6_OP_WRITEVAR, 0, "stratum=1");
	len = sign(req, len, 3, 16);
	req[len - 1] ^= 1;
	before = stat(SERVE_STAT_CONTROL_DENIED);
	n = serve_control(&w, &cfg, &sys, peers, 3, req, len, (void *)&from4, &rep);
	tap_ok(n == 1 && is_error(MODE6_ERR_PERMISSION) && stat(SERVE_STAT_CONTROL_DENIED) == before + 1,
	       "WRITEVAR with a bad MAC: denied");
	len = mkreq(req, MODE6_OP_WRITEVAR, 0, "stratum=1");
	len = sign(req, len, 2, 20);
	before = stat(SERVE_STAT_CONTROL_DENIED);
	n = serve_control(&w, &cfg, &sys, peers, 3, req, len, (void *)&from4, &rep);
	const struct symkey *k2 = keyfile_get(cfg.keys, 2);
	tap_ok(n == 1 && rep.denied && stat(SERVE_STAT_CONTROL_DENIED) == before + 1 && rep.len[0] == 16 + 4 + 20 &&
	       mac_verify(w.mac, k2->alg, k2->key, k2->len, rep.frag[0], 16, rep.frag[0] + 20, 20),
	       "WRITEVAR with a valid MAC under a key that is not the controlkey: denied (answer signed)");
	len = mkreq(req, MODE6_OP_READVAR, 0, "stratum");
	len = sign(req, len, 1, 16);
	n = serve_control(&w, &cfg, &sys, peers, 3, req, len, (void *)&from4, &rep);
	tap_ok(n == 1 && !rep.error && rep.len[0] == 12 + 12, "READVAR with an untrusted key: answered, unsigned");
	rules(CONF_RES_NOMODIFY);
	len = mkreq(req, MODE6_OP_WRITEVAR, 0, "stratum=1");
	len = sign(req, len, 3, 16);
	n = serve_control(&w, &cfg, &sys, peers, 3, req, len, (void *)&from4, &rep);
	tap_ok(n == 1 && rep.denied, "controlkey MAC but restrict nomodify: denied");
	rules(0);
	len = mkreq(req, MODE6_OP_READVAR, 0, "");
	len = sign(req, len, 3, 16);
	n = serve_control(&w, &cfg, &sys, peers, 3, req, len, (void *)&from4, &rep);
	bool macs = n >= 1;
	for (size_t i = 0; i < n; i++) {
		size_t dl = (12 + (size_t)g16(rep.frag[i] + 10) + 7) & ~(size_t)7;
		macs = macs && rep.len[i] == dl + 20 &&
		       mac_verify(w.mac, k->alg, k->key, k->len, rep.frag[i], dl, rep.frag[i] + dl + 4, 16);
	}
	tap_ok(macs, "an authenticated READVAR gets every fragment signed");
	uint64_t sum = 0;
	for (size_t s = 0; s < SERVE_STAT_COUNT; s++)
		if (serve_stat_kind((enum serve_stat)s) == 'O')
			sum += stat((enum serve_stat)s);
	tap_ok(sum == stat(SERVE_STAT_RECEIVED), "every datagram ended in exactly one outcome (%llu)",
	       (unsigned long long)sum);
}

int main(void)
{
	static const char keytext[] = "1 AES128CMAC 0f0e0d0c0b0a09080706050403020100\n"
	                              "2 SHA1 0123456789abcdef0123456789abcdef01234567\n"
	                              "3 AES128CMAC 000102030405060708090a0b0c0d0e0f\n";
	struct keyfile_errors errs = { 0 };

	secret_init();
	setup_view();
	test_parse();
	test_status_words();
	test_readstat();
	test_readvar();
	test_opcodes();
	test_fragments();
	test_random();

	from4 = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(40123) };
	inet_pton(AF_INET, "192.0.2.1", &from4.sin_addr);
	cfg.keys = keyfile_parse(keytext, strlen(keytext), &errs);
	cfg.trusted[0] = (1 << 2) | (1 << 3);
	cfg.controlkey = 3;
	cfg.discard_average = 3;
	cfg.discard_minimum = 2;
	rules(0);
	if (!cfg.keys || !serve_worker_init(&w, 1024, &cfg)) {
		tap_ok(false, "worker and keys set up");
		return tap_done();
	}
	w.ntp_now = fake_now;
	w.mono_ns = fake_mono;
	test_serve();
	serve_worker_destroy(&w);
	restrict_table_free(cfg.restrict_table);
	keyfile_free(cfg.keys);
	return tap_done();
}
