/* libFuzzer harness for the client's checks of server responses:
 * ntp_client_response (ntsd/ntp_client.c: origin, mode, KoD, legacy MAC)
 * and nts_client_response (ntsd/nts_client.c: unique id, authenticator,
 * encrypted cookies), behind a real request built first by the client
 * code. Not built by meson:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I<builddir> -I. \
 *     tests/fuzz/fuzz_client.c ntsd/ntp_client.c ntsd/nts_client.c \
 *     ntsd/codec.c ntsd/clock.c crypto/secret.c crypto/keyfile.c \
 *     crypto/mac_openssl.c crypto/aead_openssl.c crypto/cmac_openssl.c \
 *     -lsodium -lcrypto -lm -o fuzz_client
 *   ./fuzz_client -max_len=1400 -rss_limit_mb=2048 CORPUS_DIR
 * (GnuTLS: crypto/mac_gnutls.c crypto/aead_gnutls.c, no cmac_openssl.c,
 * -lgnutls -lnettle instead of -lcrypto.)
 *
 * Input: byte 0 picks the authentication (none; a key: MD5, SHA1,
 * AES128CMAC, SHA256 or a key the response is signed with by mistake;
 * NTS with AEAD 15 or 17) and the version sent; byte 1 whether the
 * request's transmit timestamp is spliced into the response's origin
 * (else an off-path guess), whether the response is made here (a legacy
 * MAC computed with the key, or an NTS authenticator sealed with the S2C
 * key around encrypted fields: up to 15 cookies of a chosen length, then
 * the input's bytes) or taken raw, whether mode and
 * version are fixed up, and whether the response is replayed and a second
 * request follows; byte 2 the cookie jar the NTS client starts with (1..8
 * cookies, lengths including 11 (too short), 12, odd, 256, and 0/257 that are
 * skipped) and whether it comes from nts_client_init (else, to run ten
 * times faster, the jar of a client built once is refilled the same
 * way). The rest is the response (or its parts).
 *
 * Checked (abort() on failure), besides memory safety and leaks:
 *  - nts_client_init succeeds iff one cookie is usable, and a refused
 *    one holds nothing;
 *  - the request: it builds, is pending, carries the transmit timestamp
 *    remembered, mode 3, the version; a keyed one verifies with the key; an
 *    NTS one has one unique id, one cookie (the jar's oldest), placeholders
 *    refilling the jar to 8 with the cookie field's length, the
 *    authenticator last, verifying with C2S; the jar loses that cookie;
 *  - the result is one of the documented values, with a name and a text;
 *    BOGUS for anything but a mode 4, v1..4 answer echoing our origin, and
 *    for a time answer (no kiss, synchronized) with rec or xmt zero;
 *    BOGUS and AUTH_FAIL leave the exchange pending, the rest end it;
 *  - OK: synchronized stratum 1..15, the four timestamps are t1 / rec /
 *    xmt / rx, finite offset, delay >= 0, dispersion > 0; authenticated
 *    iff auth was asked, and then the response's MAC verifies with the key
 *    (same id) or its NTS authenticator carries our unique id and opens
 *    with S2C; AUTH_FAIL only when auth was asked; a KoD only for stratum
 *    0 with its code (NTSN also from the NTS check), UNSYNC only for LI=3,
 *    stratum >= 16 or a non-kiss stratum 0;
 *  - the cookie jar: never more than KE_MAX_COOKIES, head in range, every
 *    held cookie 12..KE_CLIENT_COOKIE_MAX bytes; a response only adds, and
 *    only one that verified; one the client ignores (BAD from
 *    nts_client_response, the exchange stays pending) leaves it untouched;
 *  - a replayed response is BOGUS once the exchange ended, and gets the
 *    same verdict otherwise;
 *  - a second request from the jar the response refilled builds as above.
 * Crashing inputs become cases in tests/unit/ntsd/test_ntp_client.c or
 * test_nts_client.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/buf.h"
#include "crypto/keyfile.h"
#include "crypto/mac.h"
#include "crypto/secret.h"
#include "protocol/ntp_packet.h"
#include "protocol/ntp_client.h"
#include "ntsd/nts.h"
#include "protocol/nts_client.h"
#include "tests/fuzz/fuzz_input.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T1 0xeeb0de0f80000000ull


/* nts_client.c keeps cookies of 12..KE_CLIENT_COOKIE_MAX bytes: a shorter
 * one's Cookie field would be under RFC 7822's 16 bytes. */
#define COOKIE_MIN 12

static bool usable(size_t len)
{
	return len >= COOKIE_MIN && len <= KE_CLIENT_COOKIE_MAX;
}


static struct keyfile *keys;
static struct mac_ctx *mac;

/* NTS sessions with fixed keys; s2c/c2s contexts to make and check
 * packets with. */
struct session {
	uint16_t aead;
	size_t key_len;
	uint8_t c2s[AEAD_MAX_KEY], s2c[AEAD_MAX_KEY];
	struct aead_ctx *c2s_ctx, *s2c_ctx;
	struct nts_client base; /* built once; its jar is refilled per input */
};
static struct session sess[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct keyfile_errors errs;
	static const uint16_t aeads[2] = { AEAD_AES_SIV_CMAC_256, AEAD_AES_SIV_CMAC_512 };

	(void)argc;
	(void)argv;
	if (!secret_init())
		abort();
	keys = keyfile_parse(fuzz_key_text, strlen(fuzz_key_text), &errs);
	mac = mac_ctx_new();
	if (!keys || !mac)
		abort();
	for (size_t s = 0; s < 2; s++) {
		struct session *x = &sess[s];
		x->aead = aeads[s];
		x->key_len = aead_key_len(x->aead);
		for (size_t i = 0; i < x->key_len; i++) {
			x->c2s[i] = (uint8_t)(0x10 * s + i);
			x->s2c[i] = (uint8_t)(0x90 + 0x10 * s + i);
		}
		x->c2s_ctx = aead_ctx_new(x->aead, x->c2s, x->key_len);
		x->s2c_ctx = aead_ctx_new(x->aead, x->s2c, x->key_len);
		if (!x->key_len || !x->c2s_ctx || !x->s2c_ctx)
			abort();
		static struct ke_client_result kr;
		memset(&kr, 0, sizeof(kr));
		kr.aead = x->aead;
		kr.key_len = x->key_len;
		memcpy(kr.c2s, x->c2s, x->key_len);
		memcpy(kr.s2c, x->s2c, x->key_len);
		kr.n_cookies = 1;
		kr.cookie_len[0] = COOKIE_MIN;
		if (!nts_client_init(&x->base, &kr))
			abort();
	}
	return 0;
}

/* ---- the cookie jar ---- */

struct jar {
	size_t n, head;
	size_t len[KE_MAX_COOKIES];
	uint8_t cookies[KE_MAX_COOKIES][KE_CLIENT_COOKIE_MAX];
};

static void check_jar(const struct nts_client *c)
{
	CHECK(c->n <= KE_MAX_COOKIES && c->head < KE_MAX_COOKIES && nts_client_cookies(c) == c->n);
	for (size_t i = 0; i < c->n; i++) {
		size_t slot = (c->head + i) % KE_MAX_COOKIES;
		CHECK(usable(c->cookie_len[slot]));
	}
}

static void save_jar(const struct nts_client *c, struct jar *j)
{
	memset(j, 0, sizeof(*j));
	j->n = c->n;
	j->head = c->head;
	for (size_t i = 0; i < c->n; i++) {
		size_t slot = (c->head + i) % KE_MAX_COOKIES;
		j->len[i] = c->cookie_len[slot];
		memcpy(j->cookies[i], c->cookies[slot], c->cookie_len[slot]);
	}
}

static bool same_jar(const struct nts_client *c, const struct jar *j)
{
	if (c->n != j->n)
		return false;
	for (size_t i = 0; i < c->n; i++) {
		size_t slot = (c->head + i) % KE_MAX_COOKIES;
		if (c->cookie_len[slot] != j->len[i] || memcmp(c->cookies[slot], j->cookies[i], j->len[i]))
			return false;
	}
	return true;
}

/* ---- requests ---- */

/* A request as the client built it: header fields, and for NTS every
 * field in place, the oldest cookie of `before` sent, the authenticator
 * verifying. */
static void check_request(const struct ntp_client_state *st, const struct ntp_client_auth *a,
                          const struct session *s, const struct jar *before,
                          const struct nts_client *c, const uint8_t *p, size_t len)
{
	struct ntp_header h;
	struct ntp_tail t;

	CHECK(len >= NTP_HEADER_LEN && len <= NTP_MAX_PACKET && st->pending && st->t1 == T1);
	ntp_header_decode(p, &h);
	CHECK(h.mode == NTP_MODE_CLIENT && h.version == (st->version ? st->version : 4) &&
	      h.xmt == st->xmt && h.poll == st->poll);
	if (a->kind == NTP_AUTH_NONE) {
		CHECK(len == NTP_HEADER_LEN);
		return;
	}
	if (a->kind == NTP_AUTH_KEY) {
		size_t dl = mac_digest_len(a->key->alg);
		CHECK(ntp_packet_parse(p, len, &h, &t) == NTP_PARSE_OK);
		CHECK(t.has_mac && t.keyid == a->key->id && t.mac_offset == NTP_HEADER_LEN &&
		      t.digest_len == (dl > 20 ? 20 : dl));
		CHECK(mac_verify(mac, a->key->alg, a->key->key, a->key->len, p, NTP_HEADER_LEN, t.digest,
		                 t.digest_len));
		return;
	}
	/* NTS: the fields tile the packet (walked here, not by the codec). */
	size_t uids = 0, cookies = 0, placeholders = 0, ef_len = 4 + pad4(before->len[0]);
	t.n_ef = 0;
	t.has_mac = false;
	for (size_t off = NTP_HEADER_LEN; off < len;) {
		CHECK(len - off >= 4 && t.n_ef < NTP_MAX_EFS);
		struct ntp_ef *ef = &t.ef[t.n_ef++];
		ef->type = load_be16(p + off);
		ef->len = load_be16(p + off + 2);
		ef->start = p + off;
		ef->body = p + off + 4;
		CHECK(ef->len >= 4 && ef->len % 4 == 0 && ef->len <= len - off);
		off += ef->len;
	}
	/* ntsd's own codec (and its server) reads it the same way: cookies
	 * under 12 bytes, whose field would be under RFC 7822's 16, never
	 * enter the jar (found by this harness). */
	struct ntp_tail t2;
	CHECK(ef_len >= NTP_MIN_EF_LEN && ntp_packet_parse(p, len, &h, &t2) == NTP_PARSE_OK &&
	      t2.n_ef == t.n_ef && !t2.has_mac);
	CHECK(t.n_ef >= 3 && c->pending && c->n == before->n - 1);
	for (size_t i = 0; i < t.n_ef; i++) {
		const struct ntp_ef *ef = &t.ef[i];
		switch (ef->type) {
		case NTS_EF_UNIQUE_ID:
			uids++;
			CHECK(ef->len == 4 + sizeof(c->uid) && !memcmp(ef->body, c->uid, sizeof(c->uid)));
			break;
		case NTS_EF_COOKIE:
			cookies++;
			CHECK(ef->len == ef_len && !memcmp(ef->body, before->cookies[0], before->len[0]));
			for (size_t k = before->len[0]; k < ef_len - 4; k++)
				CHECK(ef->body[k] == 0);
			break;
		case NTS_EF_PLACEHOLDER:
			placeholders++;
			CHECK(ef->len == ef_len);
			break;
		case NTS_EF_AUTH: {
			CHECK(i == t.n_ef - 1 && ef->start + ef->len == p + len);
			size_t nl = load_be16(ef->body), cl = load_be16(ef->body + 2);
			uint8_t pt[16];
			size_t ptlen = 0;
			struct aead_ad ad = { p, (size_t)(ef->start - p) };
			CHECK(ef->len == 8 + pad4(nl) + pad4(cl) && nl >= NTS_NONCE_LEN);
			CHECK(aead_open(s->c2s_ctx, &ad, 1, ef->body + 4, nl, ef->body + 4 + pad4(nl), cl, pt,
			                sizeof(pt), &ptlen) &&
			      ptlen == 0);
			break;
		}
		default:
			fuzz_fail("an unknown field in our own request");
		}
	}
	/* The answer brings one cookie per placeholder plus one: as many as
	 * the jar misses now that this one left, as far as they fit in a
	 * datagram. */
	size_t wanted = KE_MAX_COOKIES - c->n - 1;
	CHECK(uids == 1 && cookies == 1 && placeholders <= wanted);
	CHECK(placeholders == wanted || len + ef_len > NTP_MAX_PACKET);
}

/* ---- responses ---- */

static const uint32_t key_ids[8] = { 1, 2, 3, 4, 1, 2, 5, 99 };

/* A response from the input; returns its length. */
static size_t build_response(struct in *in, const struct ntp_client_state *st,
                             const struct ntp_client_auth *a, const struct session *s,
                             const struct nts_client *c, uint8_t flags, uint8_t *p, size_t cap)
{
	bool splice = flags & 1, make = flags & 2, fixup = flags & 4;
	size_t n;

	if (!make) {
		n = in->n < cap ? in->n : cap;
		in_bytes(in, p, n);
		if (splice && n >= 32)
			store_be64(p + 24, st->xmt);
		if (fixup && n >= 1)
			p[0] = (uint8_t)((p[0] & 0xc0) | 4 << 3 | NTP_MODE_SERVER);
		return n;
	}
	uint8_t f = in_u8(in);
	in_bytes(in, p, NTP_HEADER_LEN);
	if (splice)
		store_be64(p + 24, st->xmt);
	if (fixup)
		p[0] = (uint8_t)((p[0] & 0xc0) | 4 << 3 | NTP_MODE_SERVER);
	n = NTP_HEADER_LEN;

	if (a->kind != NTP_AUTH_NTS) {
		/* Fields or junk, then a MAC with a chosen key and length. */
		static const size_t lens[8] = { 0, 20, 16, 28, 32, 48, 64, 0 };
		uint8_t mid = in_u8(in);
		in_bytes(in, p + n, mid);
		n += mid;
		const struct symkey *k = keyfile_get(keys, key_ids[f & 7]);
		if (a->kind == NTP_AUTH_KEY && (f & 0x80))
			k = a->key;
		if ((f & 0x40) || !k)
			return n; /* no MAC */
		size_t dl = mac_digest_len(k->alg), want = lens[(f >> 3) & 7];
		uint8_t d[MAC_MAX_DIGEST] = { 0 };
		if (!want || want > dl)
			want = dl;
		if (mac_compute(mac, k->alg, k->key, k->len, p, n, d) != dl)
			abort();
		store_be32(p + n, k->id);
		memcpy(p + n + 4, d, want);
		n += 4 + want;
		return n;
	}

	/* NTS: unique id, other fields, the authenticator sealed with S2C
	 * around the input's encrypted fields, then anything. */
	uint8_t g = in_u8(in), hi = in_u8(in), lo = in_u8(in);
	uint16_t tamper_at = (uint16_t)(in_u8(in) << 8);
	tamper_at |= in_u8(in);
	uint8_t tamper_xor = in_u8(in), gen = in_u8(in);
	static const size_t nonce_lens[8] = { 16, 0, 4, 17, 32, 16, 16, 64 };
	static const size_t gen_lens[8] = { 104, 168, 0, 1, 256, 257, 300, 12 };
	size_t nonce_len = nonce_lens[g & 7], ptlen = 0;
	uint8_t nonce[64], pt[1200], ct[1200 + AEAD_TAG_LEN];
	size_t ctlen = 0;
	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(0xa5 ^ i);
	/* Encrypted fields: up to 15 cookies made here (lengths the jar must
	 * take, or refuse: 0, 257, 300), then the input's bytes. */
	for (size_t i = 0; i < (gen & 15u); i++) {
		size_t cl = gen_lens[(gen >> 4) & 7], el = 4 + pad4(cl);
		if (ptlen + el > sizeof(pt))
			break;
		store_be16(pt + ptlen, NTS_EF_COOKIE);
		store_be16(pt + ptlen + 2, (uint16_t)el);
		for (size_t j = 0; j < el - 4; j++)
			pt[ptlen + 4 + j] = (uint8_t)(i * 41 + j);
		ptlen += el;
	}
	size_t more = ((size_t)hi << 8 | lo) % (sizeof(pt) - ptlen + 1);
	in_bytes(in, pt + ptlen, more);
	ptlen += more;

	size_t uid_len = (f & 0x20) ? sizeof(c->uid) + 8 : sizeof(c->uid);
	if (!(f & 1)) {
		store_be16(p + n, NTS_EF_UNIQUE_ID);
		store_be16(p + n + 2, (uint16_t)(4 + uid_len));
		memset(p + n + 4, 0, uid_len);
		memcpy(p + n + 4, c->uid, sizeof(c->uid));
		if (f & 2)
			p[n + 4 + 31] ^= 1; /* another request's */
		n += 4 + uid_len;
		if (f & 4) {
			memcpy(p + n, p + n - 4 - uid_len, 4 + uid_len);
			n += 4 + uid_len;
		}
	}
	if (f & 0x10) {
		store_be16(p + n, 0x7f01); /* unknown, before the authenticator */
		store_be16(p + n + 2, 16);
		memset(p + n + 4, 0x33, 12);
		n += 16;
	}
	if (!(f & 0x40)) {
		struct aead_ad ad = { p, n };
		if (!aead_seal(s->s2c_ctx, &ad, 1, nonce, nonce_len, pt, ptlen, ct, sizeof(ct), &ctlen))
			abort();
		if (n + auth_ef_len(nonce_len, ctlen) <= cap)
			n += put_auth_ef(p + n, nonce, nonce_len, ct, ctlen);
	}
	if (f & 0x08) {
		store_be16(p + n, 0x7f02); /* after the authenticator */
		store_be16(p + n + 2, 16);
		memset(p + n + 4, 0x44, 12);
		n += 16;
	}
	size_t extra = in->n < cap - n ? in->n : cap - n;
	in_bytes(in, p + n, extra);
	n += extra;
	if (tamper_xor && (f & 0x80) && n)
		p[tamper_at % n] ^= tamper_xor;
	return n;
}

static bool is_result(enum ntp_client_result r)
{
	return r >= NTP_CLIENT_OK && r <= NTP_CLIENT_UNSYNC;
}

/* What the response must have been for result r. */
static void check_result(enum ntp_client_result r, const struct ntp_client_state *st,
                         const struct ntp_client_auth *a, const struct session *s,
                         const uint8_t *uid, const uint8_t *p, size_t len, uint64_t rx,
                         const struct ntp_sample *out)
{
	struct ntp_header h;
	struct ntp_tail t;

	CHECK(is_result(r));
	CHECK(strcmp(ntp_client_result_name(r), "?") && strcmp(ntp_client_result_str(r), "?"));
	CHECK(st->pending == (r == NTP_CLIENT_BOGUS || r == NTP_CLIENT_AUTH_FAIL));
	if (ntp_packet_parse(p, len, &h, &t) != NTP_PARSE_OK || h.mode != NTP_MODE_SERVER ||
	    h.org != st->xmt || h.version < 1 || h.version > 4) {
		CHECK(r == NTP_CLIENT_BOGUS);
		return;
	}
	bool kiss_or_unsync =
	    h.stratum == 0 || h.leap == NTP_LEAP_UNSYNC || h.stratum >= NTP_STRATUM_UNSYNC;
	if (!kiss_or_unsync && (h.rec == 0 || h.xmt == 0)) {
		CHECK(r == NTP_CLIENT_BOGUS); /* a time answer without time */
		return;
	}
	if (r == NTP_CLIENT_AUTH_FAIL)
		CHECK(a->kind != NTP_AUTH_NONE);
	switch (r) {
	case NTP_CLIENT_OK:
		CHECK(h.stratum >= 1 && h.stratum < NTP_STRATUM_UNSYNC && h.leap != NTP_LEAP_UNSYNC);
		CHECK(out->t1 == T1 && out->t2 == h.rec && out->t3 == h.xmt && out->t4 == rx && h.rec &&
		      h.xmt && out->stratum == h.stratum && out->refid == h.refid);
		CHECK(isfinite(out->offset) && isfinite(out->delay) && isfinite(out->dispersion) &&
		      out->delay >= 0 && out->dispersion > 0 && isfinite(out->root_delay) &&
		      isfinite(out->root_disp));
		CHECK(out->authenticated == (a->kind != NTP_AUTH_NONE));
		if (a->kind == NTP_AUTH_KEY) {
			CHECK(t.has_mac && t.digest && t.keyid == a->key->id);
			CHECK(mac_verify(mac, a->key->alg, a->key->key, a->key->len, p, t.mac_offset,
			                 t.digest, t.digest_len));
		} else if (a->kind == NTP_AUTH_NTS) {
			const struct ntp_ef *u = NULL, *au = NULL;
			for (size_t i = 0; i < t.n_ef; i++) {
				if (t.ef[i].type == NTS_EF_UNIQUE_ID)
					u = &t.ef[i];
				if (t.ef[i].type == NTS_EF_AUTH)
					au = &t.ef[i];
			}
			CHECK(u && au && !t.has_mac && au == &t.ef[t.n_ef - 1]);
			CHECK(u->len >= 4 + 32 && !memcmp(u->body, uid, 32));
			size_t nl = load_be16(au->body), cl = load_be16(au->body + 2), ptlen = 0;
			static uint8_t pt[NTP_MAX_PACKET];
			struct aead_ad ad = { p, (size_t)(au->start - p) };
			CHECK(8 + pad4(nl) + pad4(cl) <= au->len);
			CHECK(aead_open(s->s2c_ctx, &ad, 1, au->body + 4, nl, au->body + 4 + pad4(nl), cl, pt,
			                sizeof(pt), &ptlen));
		}
		break;
	case NTP_CLIENT_KOD_RATE:
	case NTP_CLIENT_KOD_DENY:
	case NTP_CLIENT_KOD_RSTR:
	case NTP_CLIENT_KOD_OTHER:
		CHECK(h.stratum == 0 && out->stratum == 0 && out->refid == h.refid);
		CHECK(r != NTP_CLIENT_KOD_RATE || h.refid == NTP_KISS_RATE);
		CHECK(r != NTP_CLIENT_KOD_DENY || h.refid == NTP_KISS_DENY);
		CHECK(r != NTP_CLIENT_KOD_RSTR || h.refid == NTP_KISS_RSTR);
		CHECK(r != NTP_CLIENT_KOD_OTHER ||
		      (h.refid != 0 && h.refid != NTP_KISS_RATE && h.refid != NTP_KISS_DENY &&
		       h.refid != NTP_KISS_RSTR && h.refid != NTP_KISS_NTSN));
		break;
	case NTP_CLIENT_KOD_NTSN:
		CHECK(h.stratum == 0 && h.refid == NTP_KISS_NTSN);
		break;
	case NTP_CLIENT_UNSYNC:
		CHECK(h.leap == NTP_LEAP_UNSYNC || h.stratum >= NTP_STRATUM_UNSYNC ||
		      (h.stratum == 0 && (h.refid == 0 || h.refid == NTP_REFID('I', 'N', 'I', 'T') ||
		                          h.refid == NTP_REFID('S', 'T', 'E', 'P'))));
		break;
	case NTP_CLIENT_BOGUS:
	case NTP_CLIENT_AUTH_FAIL:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t req[NTP_MAX_PACKET], req2[NTP_MAX_PACKET], built[4096];
	static struct ke_client_result kr;
	static struct nts_client c;
	static struct jar before, after_req;
	static const size_t cookie_lens[8] = { 104, 168, 11, 12, 255, 256, 257, 0 };
	struct in in = { data, size };
	uint8_t a0 = in_u8(&in), a1 = in_u8(&in), a2 = in_u8(&in), rxb = in_u8(&in);
	struct ntp_client_state st = { .poll = 6, .version = (a0 & 0x20) ? 3 : 0 };
	bool fresh = a2 & 0x80; /* NTS: nts_client_init for this input */
	struct ntp_client_auth auth = { .kind = NTP_AUTH_NONE };
	const struct session *s = &sess[(a0 & 3) == 3];
	struct ntp_sample out;
	uint8_t uid[32];
	uint64_t rx = T1 + ((uint64_t)rxb << 24);

	switch (a0 & 3) {
	case 0:
		break;
	case 1:
		auth.kind = NTP_AUTH_KEY;
		auth.key = keyfile_get(keys, key_ids[(a0 >> 2) & 3]);
		auth.mac = mac;
		break;
	default: {
		/* What NTS-KE would have given: 1..8 cookies. */
		memset(&kr, 0, sizeof(kr));
		kr.aead = s->aead;
		kr.key_len = s->key_len;
		memcpy(kr.c2s, s->c2s, s->key_len);
		memcpy(kr.s2c, s->s2c, s->key_len);
		kr.n_cookies = 1 + (a2 & 7);
		for (size_t i = 0; i < kr.n_cookies; i++) {
			size_t l = cookie_lens[(a2 & 0x40) ? ((a2 >> 3) + i) & 7 : (a2 >> 3) & 7];
			kr.cookie_len[i] = l;
			for (size_t j = 0; j < KE_CLIENT_COOKIE_MAX; j++)
				kr.cookies[i][j] = (uint8_t)(i * 37 + j);
		}
		bool any = false;
		for (size_t i = 0; i < kr.n_cookies; i++)
			any = any || usable(kr.cookie_len[i]);
		if (fresh) {
			bool ok = nts_client_init(&c, &kr);
			CHECK(ok == any);
			if (!ok) {
				/* Refused: it holds nothing (no wipe needed). */
				CHECK(!c.c2s && !c.s2c && c.n == 0);
				return 0;
			}
		} else {
			/* Fast path (nts_client_init allocates secret memory:
			 * mmap and mprotect): the session's contexts, and the
			 * jar filled as nts_client_init fills it. */
			c = s->base;
			memset(c.cookies, 0, sizeof(c.cookies));
			memset(c.cookie_len, 0, sizeof(c.cookie_len));
			memset(c.uid, 0, sizeof(c.uid));
			c.head = c.n = 0;
			c.pending = false;
			for (size_t i = 0; i < kr.n_cookies; i++) {
				if (!usable(kr.cookie_len[i]))
					continue;
				memcpy(c.cookies[c.n], kr.cookies[i], kr.cookie_len[i]);
				c.cookie_len[c.n++] = kr.cookie_len[i];
			}
			if (!any)
				return 0;
		}
		check_jar(&c);
		auth.kind = NTP_AUTH_NTS;
		auth.nts = &c;
		break;
	}
	}

	if (auth.kind == NTP_AUTH_NTS)
		save_jar(&c, &before);
	size_t len = ntp_client_request(&st, &auth, T1, req, sizeof(req));
	CHECK(len > 0);
	check_request(&st, &auth, s, &before, &c, req, len);
	if (auth.kind == NTP_AUTH_NTS) {
		check_jar(&c);
		memcpy(uid, c.uid, sizeof(uid));
		save_jar(&c, &after_req);
	}

	/* The response, in an exact-size copy so reads past it are caught. */
	size_t rlen = build_response(&in, &st, &auth, s, &c, a1, built, sizeof(built));
	if (rlen > NTP_MAX_PACKET)
		rlen = NTP_MAX_PACKET;
	uint8_t *resp = malloc(rlen ? rlen : 1);
	if (!resp)
		abort();
	memcpy(resp, built, rlen);

	enum ntp_client_result r = ntp_client_response(&st, &auth, resp, rlen, rx, &out);
	check_result(r, &st, &auth, s, uid, resp, rlen, rx, &out);
	if (auth.kind == NTP_AUTH_NTS) {
		check_jar(&c);
		/* Only a response that verified (it ends the NTS exchange)
		 * adds cookies; none removes any. One nts_client_response
		 * refused (BAD: the exchange stays pending) changes nothing. */
		if (!same_jar(&c, &after_req))
			CHECK(!c.pending && c.n >= after_req.n);
		if (r == NTP_CLIENT_OK)
			CHECK(!c.pending);
	}

	if (a1 & 8) {
		struct ntp_sample again;
		enum ntp_client_result r2 = ntp_client_response(&st, &auth, resp, rlen, rx, &again);
		if (r == NTP_CLIENT_BOGUS || r == NTP_CLIENT_AUTH_FAIL)
			CHECK(r2 == r);
		else
			CHECK(r2 == NTP_CLIENT_BOGUS);
		if (auth.kind == NTP_AUTH_NTS)
			check_jar(&c);
	}

	if ((a1 & 0x10) && auth.kind == NTP_AUTH_NTS && c.n > 0) {
		struct ntp_client_state st2 = { .poll = 7 };
		save_jar(&c, &before);
		size_t len2 = ntp_client_request(&st2, &auth, T1, req2, sizeof(req2));
		CHECK(len2 > 0);
		check_request(&st2, &auth, s, &before, &c, req2, len2);
		check_jar(&c);
	}
	free(resp);
	if (auth.kind == NTP_AUTH_NTS && fresh)
		nts_client_wipe(&c);
	return 0;
}
