/* libFuzzer harness for the server's per-datagram decision: serve_packet
 * and serve_control (ntsd/serve.c) with everything behind them (restrict,
 * rate limiting, legacy MACs, NTS, mode 6). Not built by meson:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I<builddir> -I. \
 *     tests/fuzz/fuzz_serve.c ntsd/serve.c ntsd/control.c ntsd/nts.c \
 *     ntsd/codec.c ntsd/restrict.c ntsd/ratelimit.c ntsd/clock.c \
 *     conf/conf.c conf/conf_directives.c crypto/secret.c crypto/keyfile.c \
 *     crypto/cookie.c crypto/mac_openssl.c crypto/aead_openssl.c \
 *     crypto/cmac_openssl.c -lsodium -lcrypto -lm -o fuzz_serve
 *   ./fuzz_serve -max_len=1400 -rss_limit_mb=2048 CORPUS_DIR
 * (GnuTLS: crypto/mac_gnutls.c crypto/aead_gnutls.c, no cmac_openssl.c,
 * -lgnutls -lnettle instead of -lcrypto.)
 *
 * Fixed state, built once: a serve_config from ntp.conf text (restrict
 * rules giving every flag to some source address, trustedkey, controlkey,
 * discard), a key file (MD5, SHA1, AES128CMAC, SHA256 trusted; one SHA1
 * key untrusted), NTS on with a fixed master key, cookies for AEAD 15 and
 * 17 with fixed session keys (and one under a master key the server does
 * not have), fake clocks, a mode 6 view with awkward peer names.
 *
 * Input: byte 0 chooses how the datagram is made (raw; a valid NTS
 * request sealed here from the input's fields; a request with a correct
 * legacy MAC; a mode 6 request with a correct MAC), whether the header is
 * fixed up to a servable mode and version, the output room (NTP_MAX_PACKET
 * or exactly the request length), and how often the datagram is sent
 * (1..4) and how far the monotonic clock moves between sends (so
 * `limited` drops and KoDs are reached). Byte 1 chooses the source (16
 * addresses of both families, v4-mapped, multicast, no family; ports
 * 40123, 123, 0, 65535) and the worker (NTS on, or a second one with NTS
 * off). Before each input the monotonic clock moves one
 * hour, so the rate limiter has forgotten the previous input.
 *
 * Checked for every datagram (abort() on failure), besides memory safety:
 *  - serve_packet: the response is never longer than the request nor than
 *    outmax; RECEIVED goes up by 1 and the outcome ('O') counters by
 *    exactly 1 in total; REPLIED goes up exactly when there is a response;
 *  - a response parses, echoes the request's version and transmit
 *    timestamp, has mode 4 for 3 and 2 for 1, never goes to a source that
 *    restrict says ignore/noserve (nor nopeer for mode 1, version for v<4),
 *    port 0 or an unknown family;
 *  - a KoD is RATE (only with limited+kod, 48 bytes) or NTSN (48 bytes
 *    plus exactly one unique identifier field of the request) and carries
 *    no time; any other response has our rx/tx times and system values;
 *  - a time response is plain only for a request without MAC (and never
 *    under notrust), a crypto-NAK only for a request with a MAC, signed
 *    only if the request's MAC verifies with a trusted key (same key id
 *    and digest length, and the signature verifies), and NTS-authenticated
 *    only if the request's cookie opens: then the unique id is echoed, the
 *    authenticator opens with the cookie's S2C key and holds 1..8 cookies
 *    that open to the same keys;
 *  - serve_control: at most CONTROL_MAX_FRAGS fragments, each within
 *    CONTROL_FRAG_MAX, 4-aligned, with the response bit, the request's
 *    opcode and sequence, consecutive offsets, the more bit on all but the
 *    last, the error bit iff an error; counters as above (CONTROL or
 *    CONTROL_DENIED iff fragments); nothing for ignore/noquery; a write is
 *    only not denied with a valid controlkey MAC and without nomodify;
 *    fragments are signed (and verify) iff the request's MAC verifies with
 *    a trusted key; variable text is printable ASCII.
 * Crashing inputs become cases in tests/unit/ntsd/test_serve.c or
 * test_nts.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "crypto/aead.h"
#include "crypto/buf.h"
#include "crypto/cookie.h"
#include "crypto/keyfile.h"
#include "crypto/mac.h"
#include "crypto/masterkey.h"
#include "crypto/secret.h"
#include "protocol/ntp_packet.h"
#include "ntsd/control.h"
#include "ntsd/nts.h"
#include "ntsd/restrict.h"
#include "ntsd/serve.h"
#include "tests/fuzz/fuzz_input.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAKE_NOW 0xeeb0de0f80000000ull
#define FAKE_RX 0xeeb0de0f7fff0000ull
#define MAXDGRAM (NTP_MAX_PACKET + 1) /* what the server can hand over */

static const char conf_text[] =
    "restrict default kod limited nomodify notrap nopeer\n"
    "restrict 192.0.2.1\n"
    "restrict 192.0.2.1 ntpport noquery\n"
    "restrict 192.0.2.2 ignore\n"
    "restrict 192.0.2.3 noserve\n"
    "restrict 192.0.2.4 notrust version\n"
    "restrict 192.0.2.5 noquery nomodify\n"
    "restrict 192.0.2.6 limited\n"
    "restrict 2001:db8::1\n"
    "restrict 2001:db8::2 notrust limited kod\n"
    "trustedkey 1 2 3 4\n"
    "controlkey 2\n"
    "discard average 3 minimum 2\n";


static const struct serve_sys sys = {
	.leap = 0, .stratum = 3, .precision = -23, .root_delay = 0x10, .root_disp = 0x20,
	.refid = NTP_REFID(192, 0, 2, 99), .reftime = 0xeeb0de0000000000ull,
};

/* The source addresses byte 1 picks from (see conf_text). */
static const char *const sources[16] = {
	"192.0.2.1",    "192.0.2.2",    "192.0.2.3",        "192.0.2.4",
	"192.0.2.5",    "192.0.2.6",    "198.51.100.7",     "224.0.0.1",
	"2001:db8::1",  "2001:db8::2",  "::ffff:192.0.2.1", "::ffff:192.0.2.2",
	"2001:db8:1::5", "ff02::1",     "::ffff:198.51.100.7", NULL /* AF_UNSPEC */
};
static const uint16_t ports[4] = { 40123, 123, 0, 65535 };
static const uint64_t steps_ns[4] = { 0, 100000000ull, 1000000000ull, 16000000000ull };

static struct serve_worker w, w_off; /* NTS on; NTS off */
static struct serve_worker *cur = &w;
static struct mac_ctx *hmac; /* the harness's own, not a worker's */
static struct serve_config cfg;
static struct sockaddr_storage from_addr[16][4];
static uint64_t fake_mono = 1000000000ull;

/* NTS: fixed master key and session keys, so that every cookie that opens
 * carries keys we know. */
static uint8_t mk_bytes[MASTERKEY_LEN], mk_other_bytes[MASTERKEY_LEN];
static struct masterkey_set mk_set, mk_other;
static struct cookie_ctx *cctx; /* ours: opens what the server opens */
struct session {
	struct cookie_keys keys;
	struct aead_ctx *c2s;
	uint8_t cookie[COOKIE_MAX_LEN];
	size_t cookie_len;
};
static struct session sess[2]; /* AEAD 15, 17 */
static uint8_t foreign_cookie[COOKIE_MAX_LEN];
static size_t foreign_len;

static struct control_sys ctl_sys;
static struct control_peer ctl_peers[6];

static uint64_t fake_ntp_now(void)
{
	return FAKE_NOW;
}

static uint64_t fake_mono_ns(void)
{
	return fake_mono;
}

static uint64_t stat(enum serve_stat s)
{
	return atomic_load(&cur->stats[s]);
}

static void snapshot(uint64_t *s)
{
	for (int i = 0; i < SERVE_STAT_COUNT; i++)
		s[i] = stat((enum serve_stat)i);
}

static uint64_t delta(const uint64_t *before, enum serve_stat s)
{
	return stat(s) - before[s];
}

static uint64_t outcome_delta(const uint64_t *before)
{
	uint64_t d = 0;
	for (int i = 0; i < SERVE_STAT_COUNT; i++)
		if (serve_stat_kind((enum serve_stat)i) == 'O')
			d += delta(before, (enum serve_stat)i);
	return d;
}

/* 0 for an unknown family. */
static uint16_t source_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	return 0;
}

static void set_from(struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (!addr) {
		ss->ss_family = AF_UNSPEC;
		return;
	}
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			abort();
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			abort();
	}
}

static void make_session(struct session *s, uint16_t aead, uint8_t seed)
{
	s->keys.aead = aead;
	s->keys.key_len = aead_key_len(aead);
	if (!s->keys.key_len)
		abort();
	for (size_t i = 0; i < s->keys.key_len; i++) {
		s->keys.c2s[i] = (uint8_t)(seed + i);
		s->keys.s2c[i] = (uint8_t)(seed + 0x80 + i);
	}
	s->c2s = aead_ctx_new(aead, s->keys.c2s, s->keys.key_len);
	s->cookie_len = cookie_seal(cctx, &s->keys, s->cookie, sizeof(s->cookie));
	if (!s->c2s || s->cookie_len != cookie_size(aead))
		abort();
}

static void make_view(void)
{
	static const char *const names[6] = {
		"ntp1.example.net",
		"a\"quote,comma=equals\r\nnewline\x01\x7f\xff-and-then-some-more-text-to-fill-63",
		"",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		"time.example.org",
		"nts.example.com",
	};
	static const uint16_t ids[6] = { 1, 2, 3, 0x8001, 0xfffe, 0xffff };

	ctl_sys = (struct control_sys){
		.leap = 0, .stratum = 3, .precision = -23, .clock_source = MODE6_SRC_NTP,
		.events = 2, .last_event = 5, .rootdelay = 1.5, .rootdisp = 20.25,
		.refid = NTP_REFID(192, 0, 2, 99), .reftime = 0xeeb0de0000000000ull, .peer = 1,
		.tc = 6, .mintc = 3, .offset = -0.125, .frequency = 12.5, .sys_jitter = 0.01,
		.clk_jitter = 0.002, .clk_wander = 0.001,
	};
	strcpy(ctl_sys.version, "ntsd 0.1.0");
	strcpy(ctl_sys.processor, "x86_64\"\n");
	strcpy(ctl_sys.system, "Linux/6.1.0");
	for (size_t i = 0; i < 6; i++) {
		struct control_peer *p = &ctl_peers[i];
		memset(p, 0, sizeof(*p));
		p->associd = ids[i];
		p->status = mode6_peer_status(MODE6_PST_CONFIG | MODE6_PST_REACH,
		                                (enum mode6_sel)(i % 8), 1, 2);
		set_from(&p->srcadr, i % 2 ? "2001:db8::123" : "192.0.2.123", 123);
		if (i == 1)
			set_from(&p->dstadr, "2001:db8::1", 123);
		else if (i != 2)
			set_from(&p->dstadr, "192.0.2.99", 123);
		snprintf(p->name, sizeof(p->name), "%s", names[i]);
		p->refid = i == 2 ? NTP_REFID('G', 'P', 'S', 0) : NTP_REFID(192, 0, 2, (uint8_t)i);
		p->stratum = (uint8_t)(i == 2 ? 1 : i == 3 ? 16 : 2);
		p->leap = (uint8_t)(i % 4);
		p->hmode = 3;
		p->pmode = 4;
		p->reach = 0xff;
		p->ppoll = 6;
		p->hpoll = (int8_t)(i == 4 ? -128 : 6);
		p->precision = -20;
		/* Peer 4: a value too long for an item cuts its answer short. */
		p->rootdelay = i == 4 ? 1e300 : 12.25;
		p->rootdisp = i == 3 ? -1e-300 : 3.5;
		p->delay = 0.5;
		p->offset = i == 5 ? -1e10 : 0.001;
		p->jitter = 0.25;
		p->dispersion = 1.0;
		p->rec = FAKE_NOW - 1000;
		p->reftime = 0;
		p->flash = (uint16_t)(0x3ff >> i);
		p->keyid = i == 1 ? 4294967295u : (uint32_t)i;
		p->auth = (enum control_auth)(i % 3);
		p->ntscookies = (int)i - 1;
		p->last_ke = i ? FAKE_NOW - 86400ull * i : 0;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct conf c;
	struct conf_diags d = { 0 };
	struct keyfile_errors errs;

	(void)argc;
	(void)argv;
	if (!secret_init())
		abort();
	conf_init(&c);
	if (!conf_parse_string("fuzz.conf", conf_text, &c, &d) || d.n) {
		char line[CONF_PATH_MAX + CONF_DIAG_MAX + 64];
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", conf_diag_format(&d.v[i], line, sizeof(line)));
		abort();
	}
	/* As daemon.c's load_config builds it. */
	memcpy(cfg.trusted, c.trusted, sizeof(cfg.trusted));
	cfg.controlkey = c.controlkey;
	cfg.restrict_table = restrict_table_new(c.restricts, c.n_restricts);
	cfg.discard_average = c.discard_average;
	cfg.discard_minimum = c.discard_minimum;
	cfg.keys = keyfile_parse(fuzz_key_text, strlen(fuzz_key_text), &errs);
	conf_free(&c);
	conf_diags_free(&d);
	if (!cfg.restrict_table || !cfg.keys || cfg.controlkey != 2)
		abort();

	for (size_t i = 0; i < MASTERKEY_LEN; i++) {
		mk_bytes[i] = (uint8_t)(0xa0 + i);
		mk_other_bytes[i] = (uint8_t)(0x30 + 3 * i);
	}
	mk_set.n = 1;
	mk_set.k[0] = (struct masterkey){ .id = 0x4e545331, .created = 1000, .key = mk_bytes };
	mk_other.n = 1;
	mk_other.k[0] = (struct masterkey){ .id = 0x4e545332, .created = 1000, .key = mk_other_bytes };

	if (!serve_worker_init(&w, 1024, &cfg) || !nts_worker_set_keys(&w.nts, &mk_set))
		abort();
	w.ntp_now = fake_ntp_now;
	w.mono_ns = fake_mono_ns;
	hmac = mac_ctx_new();
	if (!hmac || !serve_worker_init(&w_off, 1024, &cfg))
		abort();
	w_off.ntp_now = fake_ntp_now;
	w_off.mono_ns = fake_mono_ns;

	cctx = cookie_ctx_new(&mk_other);
	if (!cctx)
		abort();
	struct session tmp;
	make_session(&tmp, AEAD_AES_SIV_CMAC_256, 7);
	memcpy(foreign_cookie, tmp.cookie, tmp.cookie_len);
	foreign_len = tmp.cookie_len;
	aead_ctx_free(tmp.c2s);
	cookie_ctx_free(cctx);
	cctx = cookie_ctx_new(&mk_set);
	if (!cctx)
		abort();
	make_session(&sess[0], AEAD_AES_SIV_CMAC_256, 0x11);
	make_session(&sess[1], AEAD_AES_SIV_CMAC_512, 0x22);

	for (size_t a = 0; a < 16; a++)
		for (size_t p = 0; p < 4; p++)
			set_from(&from_addr[a][p], sources[a], ports[p]);
	make_view();
	return 0;
}

/* ---- datagram construction ---- */

static size_t put_ef(uint8_t *p, uint16_t type, const uint8_t *body, size_t len, size_t eflen)
{
	store_be16(p, type);
	store_be16(p + 2, (uint16_t)eflen);
	memset(p + 4, 0, eflen - 4);
	if (body)
		memcpy(p + 4, body, len < eflen - 4 ? len : eflen - 4);
	return eflen;
}

static const uint32_t key_choice[8] = { 1, 2, 3, 4, 5, 99, 0, 65536 + 2 };

/* Digest length for a choice: full, 20 (NTPsec SHA-2), and others the
 * codec accepts or not. */
static size_t digest_len_choice(const struct symkey *k, unsigned c)
{
	static const size_t lens[8] = { 0, 20, 16, 28, 32, 48, 64, 17 };
	size_t full = k ? mac_digest_len(k->alg) : 16;
	return c == 0 ? full : lens[c];
}

/* keyid + digest over p[0..len) (zeros past a digest's end, all zeros for
 * an unknown key); bit 6 of k flips a digest bit. */
static size_t append_mac(uint8_t *p, size_t len, uint8_t k, size_t cap)
{
	uint32_t id = key_choice[k & 7];
	const struct symkey *key = keyfile_get(cfg.keys, id);
	size_t dlen = digest_len_choice(key, (k >> 3) & 7);
	uint8_t d[MAC_MAX_DIGEST] = { 0 };

	if (len + 4 + dlen > cap)
		return len;
	if (key && mac_compute(hmac, key->alg, key->key, key->len, p, len, d) == 0)
		abort();
	store_be32(p + len, id);
	memcpy(p + len + 4, d, dlen);
	if (k & 0x40)
		p[len + 4 + dlen - 1] ^= 1;
	return len + 4 + dlen;
}

/* A valid NTS request (RFC 8915 §5.7) from the input's choices, sealed
 * with the session's C2S key, then optionally damaged. */
static size_t build_nts(struct in *in, bool fixup, uint8_t *p, size_t cap)
{
	uint8_t f = in_u8(in), g = in_u8(in), ptlen = in_u8(in);
	uint16_t tamper_at = (uint16_t)(in_u8(in) << 8);
	tamper_at |= in_u8(in);
	uint8_t tamper_xor = in_u8(in);
	static const size_t uid_lens[4] = { 32, 36, 64, 16 };
	static const size_t nonce_lens[4] = { 16, 20, 32, 15 };
	const struct session *s = &sess[(g & 3) == 1];
	const uint8_t *cookie = (g & 3) == 2 ? foreign_cookie : s->cookie;
	size_t clen = (g & 3) == 2 ? foreign_len : s->cookie_len;
	size_t uid_len = uid_lens[(g >> 2) & 3], nonce_len = nonce_lens[(g >> 4) & 3];
	size_t placeholders = f & 7, ph_len = 4 + pad4(clen) + ((f & 0x40) ? 4 : 0);
	uint8_t uid[64], nonce[32], pt[256], ct[256 + AEAD_TAG_LEN];
	size_t n = NTP_HEADER_LEN, ctlen = 0;

	if ((g & 3) == 3)
		clen = 100; /* zeros: the right shape, never a cookie */
	in_bytes(in, p, NTP_HEADER_LEN);
	if (fixup)
		p[0] = (uint8_t)((p[0] & 0xc0) | 4 << 3 | NTP_MODE_CLIENT);
	for (size_t i = 0; i < sizeof(uid); i++)
		uid[i] = (uint8_t)(p[40 + i % 8] ^ i);
	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(0x5a ^ i);
	in_bytes(in, pt, ptlen);

	if (!(f & 0x08) && !(g & 0x40))
		n += put_ef(p + n, NTS_EF_UNIQUE_ID, uid, uid_len, 4 + uid_len);
	n += put_ef(p + n, NTS_EF_COOKIE, (g & 3) == 3 ? NULL : cookie, clen, 4 + pad4(clen));
	if (g & 0x80)
		n += put_ef(p + n, NTS_EF_COOKIE, cookie, clen, 4 + pad4(clen));
	if (!(f & 0x08) && (g & 0x40))
		n += put_ef(p + n, NTS_EF_UNIQUE_ID, uid, uid_len, 4 + uid_len);
	for (size_t i = 0; i < placeholders; i++)
		n += put_ef(p + n, NTS_EF_PLACEHOLDER, NULL, 0, ph_len);
	if (f & 0x20)
		n += put_ef(p + n, 0x7f01, uid, 16, 20);
	if (!(f & 0x10)) {
		struct aead_ad ad = { p, n };
		if (!aead_seal(s->c2s, &ad, 1, nonce, nonce_len, pt, ptlen, ct, sizeof(ct), &ctlen))
			abort();
		n += put_auth_ef(p + n, nonce, nonce_len, ct, ctlen);
	}
	if (f & 0x80) {
		memset(p + n, 0, 20); /* a legacy MAC after NTS: never mixed */
		p[n + 3] = 1;
		n += 20;
	}
	/* The rest of the input goes after, then the damage. */
	size_t extra = in->n < MAXDGRAM ? in->n : MAXDGRAM;
	if (extra > cap - n)
		extra = cap - n;
	in_bytes(in, p + n, extra);
	n += extra;
	if (tamper_xor && n)
		p[tamper_at % n] ^= tamper_xor;
	return n;
}

static size_t build_mac(struct in *in, bool fixup, uint8_t *p, size_t cap)
{
	uint8_t k = in_u8(in);
	size_t n = NTP_HEADER_LEN;

	in_bytes(in, p, NTP_HEADER_LEN);
	if (fixup)
		p[0] = (uint8_t)((p[0] & 0xc0) | 4 << 3 | NTP_MODE_CLIENT);
	/* Extension fields (or anything) before the MAC, leaving room for it. */
	size_t room = NTP_MAX_PACKET - n - 4 - MAC_MAX_DIGEST, extra = in->n < room ? in->n : room;
	in_bytes(in, p + n, extra);
	n += extra;
	return append_mac(p, n, k, cap);
}

static size_t build_control(struct in *in, bool fixup, uint8_t *p, size_t cap)
{
	uint8_t k = in_u8(in), opts = in_u8(in);
	size_t n = MODE6_HEADER_LEN;

	in_bytes(in, p, MODE6_HEADER_LEN);
	if (fixup) {
		p[0] = (uint8_t)((p[0] & 0xc0) | 2 << 3 | NTP_MODE_CONTROL);
		p[1] &= 0x1f;
		p[8] = p[9] = 0;
	}
	size_t room = MODE6_MAX_DATA + 8, extra = in->n < room ? in->n : room;
	in_bytes(in, p + n, extra);
	n += extra;
	if (opts & 1) {
		p[10] = (uint8_t)(extra >> 8);
		p[11] = (uint8_t)extra;
	}
	if (opts & 2)
		return n; /* no MAC */
	while (n % 8)
		p[n++] = 0;
	return append_mac(p, n, k, cap);
}

/* ---- checks ---- */

/* What serve.c's check_mac decides, computed independently. */
static const struct symkey *request_key(const uint8_t *req, const struct ntp_tail *t)
{
	if (!t->has_mac || !t->digest || t->keyid == 0 || t->keyid > CONF_KEYID_MAX ||
	    !(cfg.trusted[t->keyid / 8] >> (t->keyid % 8) & 1))
		return NULL;
	const struct symkey *k = keyfile_get(cfg.keys, t->keyid);
	if (!k || !mac_verify(hmac, k->alg, k->key, k->len, req, t->mac_offset, t->digest,
	                      t->digest_len))
		return NULL;
	return k;
}

/* An NTS-authenticated response: uid echoed, S2C opens, 1..8 cookies that
 * open to the request cookie's keys. */
static void check_nts_response(const uint8_t *req, const struct ntp_tail *rt, const uint8_t *out,
                               size_t n, const struct ntp_tail *t)
{
	const struct ntp_ef *uid = NULL, *cookie = NULL;
	struct cookie_keys keys, got;
	uint8_t pt[NTP_MAX_PACKET];
	size_t ptlen = 0, cookies = 0;

	(void)req;
	for (size_t i = 0; i < rt->n_ef; i++) {
		if (rt->ef[i].type == NTS_EF_UNIQUE_ID)
			uid = &rt->ef[i];
		if (rt->ef[i].type == NTS_EF_COOKIE)
			cookie = &rt->ef[i];
	}
	CHECK(uid && cookie && !rt->has_mac);
	CHECK(cookie_open(cctx, cookie->body, (size_t)cookie->len - 4, &keys) == COOKIE_OK);
	CHECK(t->n_ef == 2 && !t->has_mac && t->ef[0].type == NTS_EF_UNIQUE_ID &&
	      t->ef[0].len == uid->len && !memcmp(t->ef[0].start, uid->start, uid->len) &&
	      t->ef[1].type == NTS_EF_AUTH && t->ef[1].start + t->ef[1].len == out + n);
	const uint8_t *b = t->ef[1].body;
	size_t nl = load_be16(b), cl = load_be16(b + 2);
	CHECK(nl == NTS_NONCE_LEN && t->ef[1].len == 8 + pad4(nl) + pad4(cl));
	struct aead_ctx *a = aead_ctx_new(keys.aead, keys.s2c, keys.key_len);
	struct aead_ad ad = { out, (size_t)(t->ef[1].start - out) };
	CHECK(a && aead_open(a, &ad, 1, b + 4, nl, b + 4 + pad4(nl), cl, pt, sizeof(pt), &ptlen));
	aead_ctx_free(a);
	for (size_t p = 0; p < ptlen;) {
		CHECK(p + 4 <= ptlen);
		size_t type = load_be16(pt + p), len = load_be16(pt + p + 2);
		CHECK(type == NTS_EF_COOKIE && len >= 4 && p + len <= ptlen);
		CHECK(cookie_open(cctx, pt + p + 4, len - 4, &got) == COOKIE_OK &&
		      got.aead == keys.aead && got.key_len == keys.key_len &&
		      !memcmp(got.c2s, keys.c2s, keys.key_len) && !memcmp(got.s2c, keys.s2c, keys.key_len));
		cookies++;
		p += len;
	}
	CHECK(cookies >= 1 && cookies <= NTS_MAX_COOKIES);
}

static void check_packet(const uint8_t *req, size_t len, const struct sockaddr *from,
                         const uint8_t *out, size_t n, size_t outmax, const uint64_t *before)
{
	struct ntp_header rh, h;
	struct ntp_tail rt, t;

	CHECK(n <= len && n <= outmax);
	CHECK(delta(before, SERVE_STAT_RECEIVED) == 1);
	CHECK(outcome_delta(before) == 1);
	CHECK(delta(before, SERVE_STAT_REPLIED) == (n > 0));
	if (n == 0)
		return;

	uint32_t res = restrict_match(cfg.restrict_table, from);
	CHECK(source_port(from) != 0);
	CHECK(!(res & (CONF_RES_IGNORE | CONF_RES_NOSERVE)));
	CHECK(len >= NTP_HEADER_LEN && len <= NTP_MAX_PACKET && n >= NTP_HEADER_LEN);
	ntp_header_decode(req, &rh);
	CHECK(rh.mode == NTP_MODE_CLIENT || rh.mode == NTP_MODE_ACTIVE);
	CHECK(rh.version >= 1 && rh.version <= 4);
	CHECK(!(rh.mode == NTP_MODE_ACTIVE && (res & CONF_RES_NOPEER)));
	CHECK(!((res & CONF_RES_VERSION) && rh.version != 4));
	CHECK(ntp_packet_parse(req, len, &rh, &rt) == NTP_PARSE_OK);

	ntp_header_decode(out, &h);
	CHECK(h.version == rh.version);
	CHECK(h.mode == (rh.mode == NTP_MODE_CLIENT ? NTP_MODE_SERVER : NTP_MODE_PASSIVE));
	CHECK(h.org == rh.xmt && h.poll == rh.poll);

	if (h.stratum == 0) {
		/* A kiss carries no time. */
		CHECK(h.leap == NTP_LEAP_UNSYNC && h.rec == rh.xmt && h.xmt == rh.xmt);
		if (h.refid == NTP_KISS_RATE) {
			CHECK((res & CONF_RES_LIMITED) && (res & CONF_RES_KOD) && n == NTP_HEADER_LEN);
			CHECK(delta(before, SERVE_STAT_KOD) == 1);
			return;
		}
		CHECK(h.refid == NTP_KISS_NTSN);
		CHECK(delta(before, SERVE_STAT_NTS_BAD_COOKIE) + delta(before, SERVE_STAT_NTS_BAD_AUTH) == 1);
		if (n == NTP_HEADER_LEN)
			return;
		bool found = false;
		for (size_t i = 0; i < rt.n_ef && !found; i++)
			found = rt.ef[i].type == NTS_EF_UNIQUE_ID && rt.ef[i].len == n - NTP_HEADER_LEN &&
			        !memcmp(rt.ef[i].start, out + NTP_HEADER_LEN, rt.ef[i].len);
		CHECK(found);
		return;
	}
	/* A time response. */
	CHECK(h.leap == sys.leap && h.stratum == sys.stratum && h.precision == sys.precision &&
	      h.refid == sys.refid && h.reftime == sys.reftime && h.root_delay == sys.root_delay &&
	      h.root_disp == sys.root_disp && h.rec == FAKE_RX && h.xmt == FAKE_NOW);
	CHECK(ntp_packet_parse(out, n, &h, &t) == NTP_PARSE_OK);
	if (n == NTP_HEADER_LEN) {
		CHECK(!rt.has_mac && !(res & CONF_RES_NOTRUST));
		return;
	}
	if (t.n_ef) {
		CHECK(delta(before, SERVE_STAT_NTS_OK) == 1);
		check_nts_response(req, &rt, out, n, &t);
		return;
	}
	CHECK(t.has_mac && rt.has_mac);
	if (t.keyid == 0) {
		/* crypto-NAK: a MAC that did not verify. */
		CHECK(n == NTP_HEADER_LEN + NTP_CRYPTO_NAK_LEN && !t.digest && !request_key(req, &rt));
		/* (notrust too: ntpd answers a bad MAC with a crypto-NAK.) */
		CHECK(delta(before, SERVE_STAT_AUTH_FAIL) == 1);
		return;
	}
	const struct symkey *k = request_key(req, &rt);
	CHECK(k && t.keyid == rt.keyid && t.digest_len == rt.digest_len && t.mac_offset == NTP_HEADER_LEN);
	CHECK(mac_verify(hmac, k->alg, k->key, k->len, out, NTP_HEADER_LEN, t.digest, t.digest_len));
	CHECK(delta(before, SERVE_STAT_AUTH_OK) == 1);
}

static bool modifies(uint8_t op)
{
	return op == MODE6_OP_WRITEVAR || op == MODE6_OP_WRITECLOCK || op == MODE6_OP_SETTRAP ||
	       op == MODE6_OP_UNSETTRAP || op == MODE6_OP_CONFIGURE || op == MODE6_OP_SAVECONFIG;
}

static void check_control(const uint8_t *req, size_t len, const struct sockaddr *from,
                          const struct control_reply *out, size_t n, const uint64_t *before)
{
	struct mode6_request rq;

	CHECK(n <= CONTROL_MAX_FRAGS && n == out->n);
	CHECK(delta(before, SERVE_STAT_RECEIVED) == 1);
	CHECK(outcome_delta(before) == 1);
	CHECK(delta(before, SERVE_STAT_CONTROL) + delta(before, SERVE_STAT_CONTROL_DENIED) == (n > 0));
	CHECK(delta(before, SERVE_STAT_CONTROL_FRAGS) == n);
	if (n == 0)
		return;

	uint32_t res = restrict_match(cfg.restrict_table, from);
	CHECK(!(res & (CONF_RES_IGNORE | CONF_RES_NOQUERY)));
	CHECK(len <= NTP_MAX_PACKET && mode6_parse_request(req, len, &rq) == MODE6_PARSE_OK);
	/* Which key signs: any trusted key whose MAC verifies. */
	const struct symkey *k = NULL;
	if (rq.has_mac && rq.keyid && rq.keyid <= CONF_KEYID_MAX &&
	    (cfg.trusted[rq.keyid / 8] >> (rq.keyid % 8) & 1)) {
		k = keyfile_get(cfg.keys, rq.keyid);
		if (k && !mac_verify(hmac, k->alg, k->key, k->len, req, rq.mac_offset, rq.mac, rq.mac_len))
			k = NULL;
	}
	CHECK(delta(before, SERVE_STAT_CONTROL_AUTH) == (k != NULL));
	if (modifies(rq.opcode))
		CHECK(out->denied == !(k && rq.keyid == cfg.controlkey && !(res & CONF_RES_NOMODIFY)));
	else
		CHECK(!out->denied);
	CHECK(!out->denied || out->error);

	size_t offset = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *f = out->frag[i];
		size_t flen = out->len[i];
		CHECK(flen >= MODE6_HEADER_LEN && flen <= CONTROL_FRAG_MAX && flen % 4 == 0);
		CHECK((f[0] & 7) == 6 && ((f[0] >> 3) & 7) == rq.version);
		CHECK((f[1] & 0x80) && (f[1] & 0x1f) == rq.opcode);
		CHECK(!!(f[1] & 0x40) == out->error && !!(f[1] & 0x20) == (i + 1 < n));
		CHECK(load_be16(f + 2) == rq.sequence && load_be16(f + 6) == rq.associd);
		size_t count = load_be16(f + 10);
		CHECK(load_be16(f + 8) == offset && count <= MODE6_MAX_DATA &&
		      MODE6_HEADER_LEN + count <= flen);
		offset += count;
		if (k) {
			size_t dlen = rq.mac_len, body = flen - 4 - dlen;
			CHECK(flen >= MODE6_HEADER_LEN + 4 + dlen && body % 8 == 0 &&
			      body >= MODE6_HEADER_LEN + count);
			CHECK(load_be32(f + body) == rq.keyid);
			CHECK(mac_verify(hmac, k->alg, k->key, k->len, f, body, f + body + 4, dlen));
		} else {
			CHECK(flen == pad4(MODE6_HEADER_LEN + count));
		}
		/* Variable lists are text: printable ASCII, CRLF between lines. */
		bool text = !out->error && (rq.opcode == MODE6_OP_READVAR ||
		                            (rq.opcode == MODE6_OP_READSTAT && rq.associd));
		for (size_t j = 0; text && j < count; j++) {
			uint8_t c = f[MODE6_HEADER_LEN + j];
			CHECK((c >= 32 && c < 127) || c == '\r' || c == '\n');
		}
	}
	if (out->error)
		CHECK(n == 1 && offset == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t dgram[4096]; /* built, then cut to what a socket delivers */
	static uint64_t before[SERVE_STAT_COUNT];
	static struct control_reply ctl;
	struct in in = { data, size };
	uint8_t how = in_u8(&in), src = in_u8(&in);
	bool fixup = how & 4, exact = how & 8;
	unsigned repeats = 1 + ((how >> 4) & 3);
	uint64_t step = steps_ns[how >> 6];
	size_t len;

	switch (how & 3) {
	case 0:
		len = in.n < MAXDGRAM ? in.n : MAXDGRAM;
		in_bytes(&in, dgram, len);
		if (fixup && len)
			dgram[0] = (uint8_t)((dgram[0] & 0xc0) | 4 << 3 | NTP_MODE_CLIENT);
		break;
	case 1:
		len = build_nts(&in, fixup, dgram, sizeof(dgram));
		break;
	case 2:
		len = build_mac(&in, fixup, dgram, sizeof(dgram));
		break;
	default:
		len = build_control(&in, fixup, dgram, sizeof(dgram));
		break;
	}
	if (len > sizeof(dgram))
		abort();
	if (len > MAXDGRAM)
		len = MAXDGRAM;

	/* Exact-size copies so reads and writes past the ends are caught. */
	uint8_t *req = malloc(len ? len : 1);
	size_t outmax = exact && len >= NTP_HEADER_LEN ? len : NTP_MAX_PACKET;
	uint8_t *out = malloc(outmax);
	if (!req || !out)
		abort();
	memcpy(req, dgram, len);
	const struct sockaddr *from = (const struct sockaddr *)&from_addr[src & 15][(src >> 4) & 3];
	cur = (src & 0x40) ? &w_off : &w;

	fake_mono += 3600ull * 1000000000ull; /* the rate limiter forgets */
	for (unsigned r = 0; r < repeats; r++) {
		fake_mono += step;
		snapshot(before);
		if (serve_is_control(req, len)) {
			size_t nf = serve_control(cur, &cfg, &ctl_sys, ctl_peers, 6, req, len, from, &ctl);
			check_control(req, len, from, &ctl, nf, before);
		} else {
			size_t n = serve_packet(cur, &cfg, &sys, req, len, from, FAKE_RX, out, outmax);
			check_packet(req, len, from, out, n, outmax, before);
		}
	}
	free(req);
	free(out);
	return 0;
}
