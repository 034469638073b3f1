/* NTPv4 client exchange (RFC 5905 §8): random transmit timestamps, origin
 * and mode checks, offset/delay arithmetic, KoD and unsynchronized
 * answers, symmetric-key MACs (SHA1, AES128CMAC) and NTS, each checked
 * against our own server code where it can be. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/buf.h"
#include "crypto/cookie.h"
#include "crypto/keyfile.h"
#include "crypto/mac.h"
#include "crypto/masterkey.h"
#include "crypto/secret.h"
#include "protocol/clock.h"
#include "protocol/ntp_packet.h"
#include "protocol/ntp_client.h"
#include "ntsd/nts.h"
#include "protocol/nts_client.h"
#include "ntsd/restrict.h"
#include "ntsd/serve.h"
#include "tap.h"

static struct serve_worker w;
static struct serve_config cfg;
static struct sockaddr_in from;
static struct serve_sys sys = { .stratum = 3, .precision = -20, .refid = 0xc0000201 };

static size_t serve(const uint8_t *req, size_t len, uint8_t *out)
{
	return serve_packet(&w, &cfg, &sys, req, len, (const struct sockaddr *)&from, clock_ntp_now(), out,
	                    NTP_MAX_PACKET);
}

static const uint64_t S = (uint64_t)1 << 32; /* one second as an NTP timestamp */

/* A hand-made answer to st: the server's timestamps are given. */
static size_t answer(const struct ntp_client_state *st, uint8_t *p, uint8_t leap, uint8_t stratum,
                     uint32_t refid, uint64_t t2, uint64_t t3)
{
	struct ntp_header h = { .leap = leap, .version = 4, .mode = NTP_MODE_SERVER,
		                .stratum = stratum, .precision = -20, .refid = refid,
		                .org = st->xmt, .rec = t2, .xmt = t3, .reftime = t2 };
	ntp_header_encode(&h, p);
	return NTP_HEADER_LEN;
}

/* A hand-made NTS answer to the outstanding request of c: our unique id,
 * then an authenticator sealed with the S2C key around pt. */
static size_t nts_answer(const struct ntp_client_state *st, const struct nts_client *c,
                         const struct cookie_keys *k, uint8_t *p, const uint8_t *pt, size_t ptlen)
{
	static const uint8_t nonce[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	uint64_t t = 3900000000ull * S;
	size_t n = answer(st, p, 0, 2, 0x7f000001, t, t), ctlen = 0;

	store_be16(p + n, 0x0104);
	store_be16(p + n + 2, 4 + sizeof(c->uid));
	memcpy(p + n + 4, c->uid, sizeof(c->uid));
	n += 4 + sizeof(c->uid);
	struct aead_ctx *a = aead_ctx_new(k->aead, k->s2c, k->key_len);
	struct aead_ad ad = { p, n };
	if (!a || !aead_seal(a, &ad, 1, nonce, sizeof(nonce), pt, ptlen, p + n + 8 + sizeof(nonce),
	                     NTP_MAX_PACKET - n - 8 - sizeof(nonce), &ctlen)) {
		aead_ctx_free(a);
		return 0;
	}
	aead_ctx_free(a);
	store_be16(p + n, 0x0404);
	store_be16(p + n + 2, (uint16_t)(8 + sizeof(nonce) + ((ctlen + 3) & ~(size_t)3)));
	store_be16(p + n + 4, sizeof(nonce));
	store_be16(p + n + 6, (uint16_t)ctlen);
	memcpy(p + n + 8, nonce, sizeof(nonce));
	memset(p + n + 8 + sizeof(nonce) + ctlen, 0, ((ctlen + 3) & ~(size_t)3) - ctlen);
	return n + 8 + sizeof(nonce) + ((ctlen + 3) & ~(size_t)3);
}

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

int main(void)
{
	uint8_t req[NTP_MAX_PACKET], out[NTP_MAX_PACKET];
	struct ntp_client_state st = { .poll = 6 };
	struct ntp_client_auth none = { .kind = NTP_AUTH_NONE };
	struct ntp_sample s;
	struct ntp_header h;
	size_t len, n;
	uint64_t t1 = 3900000000ull * S;
	enum ntp_client_result res;

	secret_init();
	from = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(4000) };
	inet_pton(AF_INET, "192.0.2.7", &from.sin_addr);
	cfg.restrict_table = restrict_table_new(NULL, 0);
	if (!cfg.restrict_table || !serve_worker_init(&w, 64, &cfg)) {
		tap_ok(false, "setup");
		return tap_done();
	}

	/* Requests. */
	len = ntp_client_request(&st, &none, t1, req, sizeof(req));
	ntp_header_decode(req, &h);
	uint64_t x1 = h.xmt;
	tap_ok(len == 48 && h.mode == 3 && h.version == 4 && h.leap == 3 && h.poll == 6,
	       "a plain request: 48 bytes, mode 3, version 4");
	tap_ok(st.t1 == t1 && st.xmt == h.xmt && st.pending, "t1 and the transmit timestamp sent are remembered");
	tap_ok(h.xmt != t1 && h.org == 0 && h.rec == 0 && h.reftime == 0,
	       "the transmit timestamp is not our clock; org, rec, reftime are zero");
	ntp_client_request(&st, &none, t1, req, sizeof(req));
	ntp_header_decode(req, &h);
	tap_ok(h.xmt != x1, "two requests at the same time carry different transmit timestamps");
	tap_ok(ntp_client_request(&st, &none, t1, req, 47) == 0, "no room for a header: 0");

	/* Arithmetic: t2 = t1 + 1.5 s, t3 = t2 + 0.25 s, t4 = t1 + 0.5 s:
	 * offset ((1.5) + (1.75 - 0.5)) / 2 = 1.375, delay 0.5 - 0.25 = 0.25. */
	ntp_client_request(&st, &none, t1, req, sizeof(req));
	n = answer(&st, out, 0, 2, 0x7f000001, t1 + S + S / 2, t1 + S + 3 * S / 4);
	/* the call first: tap_ok's message arguments may be read before its
	 * condition runs */
	res = ntp_client_response(&st, &none, out, n, t1 + S / 2, &s);
	tap_ok(res == NTP_CLIENT_OK && near(s.offset, 1.375) && near(s.delay, 0.25),
	       "offset %.9f (1.375) and delay %.9f (0.25) per RFC 5905 §8", s.offset, s.delay);
	tap_ok(s.stratum == 2 && s.refid == 0x7f000001 && s.t1 == t1 && s.t4 == t1 + S / 2 &&
	               !s.authenticated,
	       "stratum, refid and timestamps filled; not authenticated");
	tap_ok(s.dispersion > ldexp(1, -20) && s.dispersion < 1e-5,
	       "dispersion from the precisions and PHI * delay (%.3g)", s.dispersion);
	tap_ok(ntp_client_response(&st, &none, out, n, t1 + S / 2, &s) == NTP_CLIENT_BOGUS,
	       "the same answer again (duplicate): BOGUS");

	/* Not ours. */
	ntp_client_request(&st, &none, t1, req, sizeof(req));
	n = answer(&st, out, 0, 2, 0, t1, t1);
	out[24] ^= 1;
	tap_ok(ntp_client_response(&st, &none, out, n, t1, &s) == NTP_CLIENT_BOGUS,
	       "origin not our transmit timestamp (spoof): BOGUS");
	n = answer(&st, out, 0, 2, 0, t1, t1);
	out[0] = (out[0] & ~7) | 3;
	tap_ok(ntp_client_response(&st, &none, out, n, t1, &s) == NTP_CLIENT_BOGUS, "mode 3 answer: BOGUS");
	n = answer(&st, out, 0, 2, 0, t1, t1);
	tap_ok(ntp_client_response(&st, &none, out, 47, t1, &s) == NTP_CLIENT_BOGUS, "47 bytes: BOGUS");
	tap_ok(st.pending, "after BOGUS answers the request is still outstanding");
	n = answer(&st, out, 0, 2, 0, t1, t1);
	tap_ok(ntp_client_response(&st, &none, out, n, t1, &s) == NTP_CLIENT_OK, "then the genuine one is taken");
	/* Found by tests/fuzz/fuzz_client.c (input 00050000 2402 + 46 zero
	 * bytes): an answer with our origin but no receive or transmit
	 * timestamp was BOGUS yet ended the exchange (st.pending false), so
	 * the genuine answer that followed was refused. */
	ntp_client_request(&st, &none, t1, req, sizeof(req));
	n = answer(&st, out, 0, 2, 0, 0, t1);
	enum ntp_client_result r0 = ntp_client_response(&st, &none, out, n, t1, &s);
	n = answer(&st, out, 0, 2, 0, t1, 0);
	enum ntp_client_result r1 = ntp_client_response(&st, &none, out, n, t1, &s);
	tap_ok(r0 == NTP_CLIENT_BOGUS && r1 == NTP_CLIENT_BOGUS && st.pending,
	       "a time answer with rec or xmt zero: BOGUS, the request still outstanding");
	n = answer(&st, out, 0, 2, 0, t1, t1);
	tap_ok(ntp_client_response(&st, &none, out, n, t1, &s) == NTP_CLIENT_OK,
	       "then the genuine one is taken");

	/* KoD and unsynchronized. */
	static const struct {
		uint8_t leap, stratum;
		uint32_t refid;
		enum ntp_client_result want;
		const char *what;
	} k[] = {
		{ 3, 0, NTP_KISS_RATE, NTP_CLIENT_KOD_RATE, "RATE" },
		{ 3, 0, NTP_KISS_DENY, NTP_CLIENT_KOD_DENY, "DENY" },
		{ 3, 0, NTP_KISS_RSTR, NTP_CLIENT_KOD_RSTR, "RSTR" },
		{ 3, 0, NTP_KISS_NTSN, NTP_CLIENT_KOD_NTSN, "NTSN" },
		{ 3, 0, NTP_REFID('X', 'Y', 'Z', 'W'), NTP_CLIENT_KOD_OTHER, "XYZW" },
		{ 3, 16, 0, NTP_CLIENT_UNSYNC, "LI=3 stratum 16" },
		{ 3, 2, 0x7f000001, NTP_CLIENT_UNSYNC, "LI=3 stratum 2" },
		{ 0, 16, 0, NTP_CLIENT_UNSYNC, "LI=0 stratum 16" },
		{ 3, 0, 0, NTP_CLIENT_UNSYNC, "LI=3 stratum 0 refid 0 (chrony)" },
		{ 3, 0, NTP_REFID('I', 'N', 'I', 'T'), NTP_CLIENT_UNSYNC, "stratum 0 INIT (ntpd)" },
		{ 3, 0, NTP_REFID('S', 'T', 'E', 'P'), NTP_CLIENT_UNSYNC, "stratum 0 STEP (ntpd)" },
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		ntp_client_request(&st, &none, t1, req, sizeof(req));
		n = answer(&st, out, k[i].leap, k[i].stratum, k[i].refid, t1, t1);
		enum ntp_client_result r = ntp_client_response(&st, &none, out, n, t1, &s);
		tap_ok(r == k[i].want && s.refid == k[i].refid, "%s: %s", k[i].what,
		       ntp_client_result_name(r));
	}
	tap_ok(strstr(ntp_client_result_str(NTP_CLIENT_UNSYNC),
	              "the server has not finished synchronizing yet; check with ntsq -p") != NULL,
	       "the unsynchronized message says what to do");

	/* Against our server: plain. */
	ntp_client_request(&st, &none, clock_ntp_now(), req, sizeof(req));
	n = serve(req, 48, out);
	res = ntp_client_response(&st, &none, out, n, clock_ntp_now(), &s);
	tap_ok(n == 48 && res == NTP_CLIENT_OK && fabs(s.offset) < 0.01 && s.stratum == 3,
	       "our server's answer: offset %.6f s, stratum %d", s.offset, s.stratum);
	sys.leap = 3;
	sys.stratum = 15;
	ntp_client_request(&st, &none, clock_ntp_now(), req, sizeof(req));
	n = serve(req, 48, out);
	tap_ok(ntp_client_response(&st, &none, out, n, clock_ntp_now(), &s) == NTP_CLIENT_UNSYNC,
	       "our unsynchronized server: UNSYNC");
	sys.leap = 0;
	sys.stratum = 3;

	/* Symmetric keys. */
	static const char keys[] = "1 SHA1 0123456789abcdef0123456789abcdef01234567\n"
	                           "2 AES128CMAC 000102030405060708090a0b0c0d0e0f\n"
	                           "3 MD5 secret\n";
	static const char wrong[] = "1 SHA1 1123456789abcdef0123456789abcdef01234567\n"
	                            "2 AES128CMAC 100102030405060708090a0b0c0d0e0f\n"
	                            "3 MD5 secreT\n";
	struct keyfile_errors errs;
	cfg.keys = keyfile_parse(keys, sizeof(keys) - 1, &errs);
	struct keyfile *wk = keyfile_parse(wrong, sizeof(wrong) - 1, &errs);
	for (uint32_t id = 1; id <= 3; id++)
		cfg.trusted[id / 8] |= (uint8_t)(1u << (id % 8));
	struct mac_ctx *mac = mac_ctx_new();
	for (uint32_t id = 1; id <= 3; id++) {
		struct ntp_client_auth ka = { .kind = NTP_AUTH_KEY, .key = keyfile_get(cfg.keys, id), .mac = mac };
		struct ntp_client_auth bad = { .kind = NTP_AUTH_KEY, .key = keyfile_get(wk, id), .mac = mac };
		const char *alg = mac_alg_name(ka.key ? ka.key->alg : MAC_NONE);

		len = ntp_client_request(&st, &ka, clock_ntp_now(), req, sizeof(req));
		n = serve(req, len, out);
		tap_ok(len == 48 + 4 + (id == 1 ? 20 : 16) && n > 48 &&
		               ntp_client_response(&st, &ka, out, n, clock_ntp_now(), &s) == NTP_CLIENT_OK &&
		               s.authenticated,
		       "key %u (%s): our server accepts the MAC and its answer verifies", id, alg);
		len = ntp_client_request(&st, &bad, clock_ntp_now(), req, sizeof(req));
		n = serve(req, len, out);
		tap_ok(n > 0 && ntp_client_response(&st, &bad, out, n, clock_ntp_now(), &s) == NTP_CLIENT_AUTH_FAIL,
		       "key %u (%s) with the wrong secret: crypto-NAK, AUTH_FAIL", id, alg);
		/* A correct MAC under the server key, checked with the wrong one. */
		len = ntp_client_request(&st, &ka, clock_ntp_now(), req, sizeof(req));
		n = serve(req, len, out);
		tap_ok(ntp_client_response(&st, &bad, out, n, clock_ntp_now(), &s) == NTP_CLIENT_AUTH_FAIL &&
		               st.pending,
		       "key %u: an answer whose MAC does not verify: AUTH_FAIL, still waiting", id);
		len = ntp_client_request(&st, &ka, clock_ntp_now(), req, sizeof(req));
		n = serve(req, 48, out);
		tap_ok(ntp_client_response(&st, &ka, out, n, clock_ntp_now(), &s) == NTP_CLIENT_AUTH_FAIL,
		       "key %u: an unauthenticated answer when a key was asked: AUTH_FAIL", id);
	}
	struct ntp_client_auth ka = { .kind = NTP_AUTH_KEY, .key = keyfile_get(cfg.keys, 1), .mac = mac };
	ntp_client_request(&st, &ka, t1, req, sizeof(req));
	n = answer(&st, out, 3, 0, NTP_KISS_DENY, t1, t1);
	tap_ok(ntp_client_response(&st, &ka, out, n, t1, &s) == NTP_CLIENT_KOD_DENY && !s.authenticated,
	       "an unauthenticated DENY with our origin is reported, marked unauthenticated");

	/* NTS through ntp_client. */
	struct masterkey_set *set = masterkey_set_new();
	masterkey_generate(set, 1000);
	struct cookie_ctx *cctx = cookie_ctx_new(set);
	nts_worker_set_keys(&w.nts, set);
	struct ke_client_result kr;
	struct cookie_keys ck;
	memset(&kr, 0, sizeof(kr));
	ck.aead = kr.aead = AEAD_AES_SIV_CMAC_256;
	ck.key_len = kr.key_len = 32;
	secret_random(ck.c2s, 32);
	secret_random(ck.s2c, 32);
	memcpy(kr.c2s, ck.c2s, 32);
	memcpy(kr.s2c, ck.s2c, 32);
	kr.cookie_len[0] = cookie_seal(cctx, &ck, kr.cookies[0], KE_CLIENT_COOKIE_MAX);
	kr.n_cookies = 1;
	struct nts_client nc;
	nts_client_init(&nc, &kr);
	struct ntp_client_auth na = { .kind = NTP_AUTH_NTS, .nts = &nc };
	len = ntp_client_request(&st, &na, clock_ntp_now(), req, sizeof(req));
	n = serve(req, len, out);
	tap_ok(len > 48 && n > 48 && ntp_client_response(&st, &na, out, n, clock_ntp_now(), &s) == NTP_CLIENT_OK &&
	               s.authenticated && nts_client_cookies(&nc) == 8,
	       "NTS with one cookie: authenticated answer, 7 placeholders gave 8 cookies");
	/* Found by tests/fuzz/fuzz_client.c: an authenticated answer whose
	 * encrypted fields end in a malformed one was refused, but the
	 * cookies before it were taken, and again each time it was replayed
	 * (the request stays outstanding): cookies held twice, then sent
	 * twice. */
	static const uint8_t one_cookie[] = { 0x02, 0x04, 0x00, 0x10, 0xaa, 0xbb, 0xcc, 0xdd,
		                              0xaa, 0xbb, 0xcc, 0xdd, 0xaa, 0xbb, 0xcc, 0xdd };
	static const uint8_t bad_tail[] = { 0x02, 0x04, 0x00, 0x10, 0xaa, 0xbb, 0xcc, 0xdd,
		                            0xaa, 0xbb, 0xcc, 0xdd, 0xaa, 0xbb, 0xcc, 0xdd,
		                            0x00, 0x01, 0x00, 0x02 };
	len = ntp_client_request(&st, &na, clock_ntp_now(), req, sizeof(req));
	size_t held = nts_client_cookies(&nc);
	n = nts_answer(&st, &nc, &ck, out, bad_tail, sizeof(bad_tail));
	enum ntp_client_result b1 = ntp_client_response(&st, &na, out, n, clock_ntp_now(), &s);
	enum ntp_client_result b2 = ntp_client_response(&st, &na, out, n, clock_ntp_now(), &s);
	tap_ok(len > 48 && n > 48 && b1 == NTP_CLIENT_AUTH_FAIL && b2 == NTP_CLIENT_AUTH_FAIL &&
	               st.pending && nts_client_cookies(&nc) == held,
	       "NTS: an authenticated answer with a malformed encrypted field, twice: AUTH_FAIL, no "
	       "cookie taken (%zu held)", nts_client_cookies(&nc));
	n = nts_answer(&st, &nc, &ck, out, one_cookie, sizeof(one_cookie));
	tap_ok(ntp_client_response(&st, &na, out, n, clock_ntp_now(), &s) == NTP_CLIENT_OK &&
	               s.authenticated && nts_client_cookies(&nc) == held + 1,
	       "the same answer well formed: OK, its cookie taken");
	/* Found by tests/fuzz/fuzz_client.c (leak sanitizer): a KE result
	 * with no usable cookie was refused with both AEAD contexts kept. */
	struct ke_client_result unusable = kr;
	unusable.n_cookies = 2;
	unusable.cookie_len[0] = 0;
	unusable.cookie_len[1] = KE_CLIENT_COOKIE_MAX + 1;
	struct nts_client nu;
	tap_ok(!nts_client_init(&nu, &unusable) && !nu.c2s && !nu.s2c && nts_client_cookies(&nu) == 0,
	       "a KE result with no usable cookie is refused, holding nothing");
	ke_client_result_wipe(&unusable);
	len = ntp_client_request(&st, &na, clock_ntp_now(), req, sizeof(req));
	n = serve(req, 48, out);
	tap_ok(ntp_client_response(&st, &na, out, n, clock_ntp_now(), &s) == NTP_CLIENT_AUTH_FAIL,
	       "NTS asked, plain answer: AUTH_FAIL");
	struct masterkey_set *other = masterkey_set_new();
	masterkey_generate(other, 1000);
	nts_worker_set_keys(&w.nts, other);
	len = ntp_client_request(&st, &na, clock_ntp_now(), req, sizeof(req));
	n = serve(req, len, out);
	tap_ok(ntp_client_response(&st, &na, out, n, clock_ntp_now(), &s) == NTP_CLIENT_KOD_NTSN && !st.pending,
	       "server lost our cookie key: KOD_NTSN");
	nts_client_wipe(&nc);
	tap_ok(ntp_client_request(&st, &na, clock_ntp_now(), req, sizeof(req)) == 0,
	       "NTS without cookies: request returns 0 (re-run KE)");

	ke_client_result_wipe(&kr);
	cookie_ctx_free(cctx);
	masterkey_set_free(set);
	masterkey_set_free(other);
	mac_ctx_free(mac);
	keyfile_free(wk);
	keyfile_free(cfg.keys);
	serve_worker_destroy(&w);
	restrict_table_free(cfg.restrict_table);
	return tap_done();
}
