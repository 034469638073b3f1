/* NTS on the serve path (RFC 8915 §5): a valid request gets an
 * authenticated response with fresh cookies, never larger than the
 * request; a flipped byte in the cookie, the authenticator or the unique
 * identifier gets an NTSN kiss-o'-death; malformed NTS is dropped. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/buf.h"
#include "crypto/cookie.h"
#include "crypto/masterkey.h"
#include "crypto/secret.h"
#include "protocol/ntp_packet.h"
#include "ntsd/restrict.h"
#include "ntsd/serve.h"
#include "tap.h"

static struct serve_worker w;
static struct serve_config cfg;
static struct sockaddr_in from;
static struct cookie_keys keys;
static struct cookie_ctx *cctx;
static const struct serve_sys sys = { .stratum = 10, .precision = -20, .refid = NTP_REFID('L', 'O', 'C', 'L') };

static size_t put_ef(uint8_t *p, uint16_t type, const uint8_t *body, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;
	store_be16(p, type);
	store_be16(p + 2, (uint16_t)(4 + padded));
	memset(p + 4, 0, padded);
	if (body)
		memcpy(p + 4, body, len);
	return 4 + padded;
}

/* A request as chrony sends it: unique id, cookie, placeholders, and an
 * authenticator over everything before it with an empty plaintext. */
static size_t build_request(uint8_t *p, size_t placeholders, bool with_uid, bool with_auth)
{
	uint8_t uid[32], cookie[COOKIE_MAX_LEN], nonce[16], tag[16];
	size_t n = NTP_HEADER_LEN, clen, tl;

	memset(p, 0, NTP_HEADER_LEN);
	p[0] = 0x23;
	secret_random(p + 40, 8);
	secret_random(uid, sizeof(uid));
	if (with_uid)
		n += put_ef(p + n, 0x0104, uid, sizeof(uid));
	clen = cookie_seal(cctx, &keys, cookie, sizeof(cookie));
	n += put_ef(p + n, 0x0204, cookie, clen);
	for (size_t i = 0; i < placeholders; i++)
		n += put_ef(p + n, 0x0304, NULL, clen);
	if (!with_auth)
		return n;
	secret_random(nonce, sizeof(nonce));
	struct aead_ctx *a = aead_ctx_new(keys.aead, keys.c2s, keys.key_len);
	struct aead_ad ad = { p, n };
	aead_seal(a, &ad, 1, nonce, 16, NULL, 0, tag, sizeof(tag), &tl);
	aead_ctx_free(a);
	store_be16(p + n, 0x0404);
	store_be16(p + n + 2, 40);
	store_be16(p + n + 4, 16);
	store_be16(p + n + 6, 16);
	memcpy(p + n + 8, nonce, 16);
	memcpy(p + n + 24, tag, 16);
	return n + 40;
}

static size_t serve(const uint8_t *req, size_t len, uint8_t *out)
{
	return serve_packet(&w, &cfg, &sys, req, len, (const struct sockaddr *)&from, 0, out, NTP_MAX_PACKET);
}

static uint64_t stat(enum serve_stat s)
{
	return atomic_load(&w.stats[s]);
}

/* Checks a response: unique id echoed, authenticator opens with S2C and
 * holds `want` cookies that open to the session keys. */
static bool check_response(const uint8_t *req, size_t reqlen, const uint8_t *out, size_t n, size_t want)
{
	struct ntp_header h;
	struct ntp_tail t;
	uint8_t pt[NTP_MAX_PACKET];
	size_t ptl, cookies = 0;

	if (n == 0 || n > reqlen || ntp_packet_parse(out, n, &h, &t) != NTP_PARSE_OK || t.n_ef != 2 ||
	    h.mode != 4 || h.stratum != 10 || t.ef[0].type != 0x0104 || memcmp(t.ef[0].start, req + 48, 36) ||
	    t.ef[1].type != 0x0404)
		return false;
	const uint8_t *b = t.ef[1].body;
	size_t nl = load_be16(b), cl = load_be16(b + 2);
	struct aead_ctx *a = aead_ctx_new(keys.aead, keys.s2c, keys.key_len);
	struct aead_ad ad = { out, (size_t)(t.ef[1].start - out) };
	bool ok = aead_open(a, &ad, 1, b + 4, nl, b + 4 + nl, cl, pt, sizeof(pt), &ptl);
	aead_ctx_free(a);
	for (size_t p = 0; ok && p + 4 <= ptl;) {
		size_t type = load_be16(pt + p), len = load_be16(pt + p + 2);
		struct cookie_keys got;
		if (type != 0x0204 || len < 4 || cookie_open(cctx, pt + p + 4, len - 4, &got) != COOKIE_OK ||
		    memcmp(got.c2s, keys.c2s, keys.key_len) || memcmp(got.s2c, keys.s2c, keys.key_len))
			return false;
		cookies++;
		p += len;
	}
	return ok && cookies == want;
}

static bool is_ntsn(const uint8_t *out, size_t n, const uint8_t *req)
{
	struct ntp_header h;
	ntp_header_decode(out, &h);
	return n == 48 + 36 && h.stratum == 0 && h.refid == NTP_KISS_NTSN && !memcmp(out + 48, req + 48, 36);
}

int main(void)
{
	uint8_t req[NTP_MAX_PACKET], out[NTP_MAX_PACKET];
	size_t len, n;

	secret_init();
	from = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(4000) };
	inet_pton(AF_INET, "192.0.2.7", &from.sin_addr);
	cfg.restrict_table = restrict_table_new(NULL, 0);
	cfg.discard_average = 3;
	cfg.discard_minimum = 2;
	struct masterkey_set *set = masterkey_set_new();
	masterkey_generate(set, 1000);
	cctx = cookie_ctx_new(set);
	if (!serve_worker_init(&w, 64, &cfg) || !nts_worker_set_keys(&w.nts, set) || !cctx) {
		tap_ok(false, "setup");
		return tap_done();
	}
	keys.aead = AEAD_AES_SIV_CMAC_256;
	keys.key_len = 32;
	secret_random(keys.c2s, 32);
	secret_random(keys.s2c, 32);

	for (size_t ph = 0; ph <= 7; ph++) {
		len = build_request(req, ph, true, true);
		n = serve(req, len, out);
		tap_ok(check_response(req, len, out, n, ph + 1),
		       "%zu placeholders: authenticated response with %zu fresh cookies, %zu <= %zu bytes", ph,
		       ph + 1, n, len);
	}
	tap_ok(stat(SERVE_STAT_NTS_OK) == 8, "nts_ok counted");

	static const struct { const char *what; size_t at; } flips[] = {
		{ "cookie key id", 48 + 36 + 4 }, { "cookie nonce", 48 + 36 + 10 },
		{ "cookie ciphertext", 48 + 36 + 60 }, { "authenticator tag", 48 + 36 + 108 + 24 + 3 },
		{ "authenticator nonce", 48 + 36 + 108 + 8 }, { "unique identifier", 48 + 10 },
		{ "NTP header", 44 },
	};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		len = build_request(req, 0, true, true);
		req[flips[i].at] ^= 0x20;
		n = serve(req, len, out);
		tap_ok(is_ntsn(out, n, req), "flipped byte in the %s: NTSN with the unique id, no time", flips[i].what);
	}
	struct masterkey_set *other = masterkey_set_new();
	masterkey_generate(other, 1000);
	struct cookie_ctx *mine = cctx;
	cctx = cookie_ctx_new(other);
	len = build_request(req, 0, true, true);
	cookie_ctx_free(cctx);
	cctx = mine;
	n = serve(req, len, out);
	tap_ok(is_ntsn(out, n, req) && stat(SERVE_STAT_NTS_BAD_COOKIE) >= 1,
	       "a cookie from another server's keys gets NTSN");

	uint64_t before = stat(SERVE_STAT_NTS_MALFORMED);
	len = build_request(req, 0, false, true);
	tap_ok(serve(req, len, out) == 0, "no unique identifier: dropped");
	len = build_request(req, 0, true, false);
	tap_ok(serve(req, len, out) == 0, "no authenticator: dropped");
	len = build_request(req, 0, true, true);
	memset(req + len, 0, 20);
	tap_ok(serve(req, len + 20, out) == 0, "NTS fields plus a legacy MAC: dropped (never mixed)");
	len = build_request(req, 0, true, true);
	size_t moved = put_ef(req + len, 0x0304, NULL, 104);
	tap_ok(serve(req, len + moved, out) == 0, "a field after the authenticator: dropped");
	len = build_request(req, 1, true, true);
	store_be16(req + 48 + 36 + 108 + 2, 112); /* placeholder longer than the cookie */
	tap_ok(serve(req, len + 4, out) == 0 || stat(SERVE_STAT_NTS_MALFORMED) > before,
	       "a placeholder of another length: dropped");
	tap_ok(stat(SERVE_STAT_NTS_MALFORMED) >= before + 4, "malformed NTS requests are counted");

	nts_worker_set_keys(&w.nts, NULL);
	len = build_request(req, 0, true, true);
	n = serve(req, len, out);
	tap_ok(n == 0 || is_ntsn(out, n, req), "with NTS off no time is given for an NTS request");

	cookie_ctx_free(cctx);
	masterkey_set_free(set);
	masterkey_set_free(other);
	serve_worker_destroy(&w);
	restrict_table_free(cfg.restrict_table);
	return tap_done();
}
