/* NTS client side (RFC 8915 §5) against our own server code: requests
 * carry a fresh unique id, one cookie never reused and placeholders that
 * refill the jar to 8; responses verify, refill the jar, and anything else
 * (tampered, truncated, replayed, other uid) is refused; NTSN is seen. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/aead.h"
#include "crypto/buf.h"
#include "crypto/cookie.h"
#include "crypto/masterkey.h"
#include "crypto/secret.h"
#include "protocol/ntp_packet.h"
#include "ntsd/nts.h"
#include "protocol/nts_client.h"
#include "ntsd/restrict.h"
#include "ntsd/serve.h"
#include "tap.h"

static struct serve_worker w;
static struct serve_config cfg;
static struct sockaddr_in from;
static const struct serve_sys sys = { .stratum = 10, .precision = -20,
	                              .refid = NTP_REFID('L', 'O', 'C', 'L') };

static size_t serve(const uint8_t *req, size_t len, uint8_t *out)
{
	return serve_packet(&w, &cfg, &sys, req, len, (const struct sockaddr *)&from, 0, out,
	                    NTP_MAX_PACKET);
}

static size_t header(uint8_t *p)
{
	memset(p, 0, NTP_HEADER_LEN);
	p[0] = 0x23;
	secret_random(p + 40, 8);
	return NTP_HEADER_LEN;
}

/* The request's fields: counts and the cookie bytes. */
static bool fields(const uint8_t *p, size_t len, size_t *n_uid, size_t *n_cookie, size_t *n_ph,
                   const uint8_t **cookie, size_t *cookie_len, bool *auth_last)
{
	struct ntp_header h;
	struct ntp_tail t;

	*n_uid = *n_cookie = *n_ph = 0;
	*auth_last = false;
	if (ntp_packet_parse(p, len, &h, &t) != NTP_PARSE_OK)
		return false;
	for (size_t i = 0; i < t.n_ef; i++) {
		switch (t.ef[i].type) {
		case NTS_EF_UNIQUE_ID:
			(*n_uid)++;
			break;
		case NTS_EF_COOKIE:
			(*n_cookie)++;
			*cookie = t.ef[i].body;
			*cookie_len = t.ef[i].len - 4u;
			break;
		case NTS_EF_PLACEHOLDER:
			(*n_ph)++;
			break;
		case NTS_EF_AUTH:
			*auth_last = i == t.n_ef - 1;
			break;
		}
	}
	return true;
}

int main(void)
{
	uint8_t req[NTP_MAX_PACKET], out[NTP_MAX_PACKET], bad[NTP_MAX_PACKET];
	static uint8_t seen[64][KE_CLIENT_COOKIE_MAX];
	size_t n_seen = 0, len, n, nu, nc, np, clen = 0;
	const uint8_t *cookie = NULL;
	bool auth_last;
	struct ke_client_result r;
	struct cookie_keys keys;
	struct nts_client c;

	secret_init();
	unsigned seed = (unsigned)time(NULL);
	tap_diag("seed %u", seed);
	srand(seed);
	from = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(4000) };
	inet_pton(AF_INET, "192.0.2.7", &from.sin_addr);
	cfg.restrict_table = restrict_table_new(NULL, 0);
	struct masterkey_set *set = masterkey_set_new();
	masterkey_generate(set, 1000);
	struct cookie_ctx *cctx = cookie_ctx_new(set);
	if (!cfg.restrict_table || !serve_worker_init(&w, 64, &cfg) ||
	    !nts_worker_set_keys(&w.nts, set) || !cctx) {
		tap_ok(false, "setup");
		return tap_done();
	}

	/* What NTS-KE would have produced. */
	memset(&r, 0, sizeof(r));
	keys.aead = r.aead = AEAD_AES_SIV_CMAC_256;
	keys.key_len = r.key_len = 32;
	secret_random(keys.c2s, 32);
	secret_random(keys.s2c, 32);
	memcpy(r.c2s, keys.c2s, 32);
	memcpy(r.s2c, keys.s2c, 32);
	for (size_t i = 0; i < 8; i++)
		r.cookie_len[i] = cookie_seal(cctx, &keys, r.cookies[i], KE_CLIENT_COOKIE_MAX);
	r.n_cookies = 8;

	struct ke_client_result unsupported = r;
	unsupported.aead = 99;
	tap_ok(!nts_client_init(&c, &unsupported), "an unsupported AEAD is refused");
	struct ke_client_result none = r;
	none.n_cookies = 0;
	tap_ok(!nts_client_init(&c, &none), "a KE result without cookies is refused");
	struct ke_client_result shorts = r;
	shorts.cookie_len[0] = 8;
	shorts.cookie_len[1] = 11;
	shorts.n_cookies = 2;
	tap_ok(!nts_client_init(&c, &shorts),
	       "cookies of 8 and 11 bytes are refused (their field would be under 16 bytes)");
	shorts.cookie_len[1] = 12;
	tap_ok(nts_client_init(&c, &shorts) && nts_client_cookies(&c) == 1,
	       "of cookies of 8 and 12 bytes, the 12-byte one is kept");
	nts_client_wipe(&c);
	ke_client_result_wipe(&shorts);
	tap_ok(nts_client_init(&c, &r) && nts_client_cookies(&c) == 8, "init: 8 cookies in the jar");

	len = nts_client_request(&c, req, header(req), 100);
	tap_ok(len == 0 && nts_client_cookies(&c) == 8, "no room: 0, and the cookie is kept");

	/* A full exchange: 1 cookie out, 0 placeholders, 1 cookie back. */
	len = nts_client_request(&c, req, header(req), sizeof(req));
	tap_ok(len > 0 && fields(req, len, &nu, &nc, &np, &cookie, &clen, &auth_last) && nu == 1 &&
	               nc == 1 && np == 0 && auth_last,
	       "request: unique id, one cookie, no placeholder with a full jar, authenticator last");
	tap_ok(nts_client_cookies(&c) == 7, "the cookie sent left the jar");
	n = serve(req, len, out);
	tap_ok(n > 0 && nts_client_response(&c, out, n) == NTS_CLIENT_OK,
	       "our server accepts the request; its response verifies");
	tap_ok(nts_client_cookies(&c) == 8, "the jar is full again");
	tap_ok(nts_client_response(&c, out, n) == NTS_CLIENT_BAD, "the same response replayed: refused");

	/* Drain the jar without answers: placeholders grow, cookies all differ. */
	size_t last_len = 0;
	bool ph_ok = true, distinct = true;
	for (size_t i = 0; i < 8; i++) {
		len = nts_client_request(&c, req, header(req), sizeof(req));
		if (!len || !fields(req, len, &nu, &nc, &np, &cookie, &clen, &auth_last) || np != i)
			ph_ok = false;
		for (size_t k = 0; k < n_seen; k++)
			if (!memcmp(seen[k], cookie, clen < KE_CLIENT_COOKIE_MAX ? clen : 0))
				distinct = false;
		if (len && n_seen < 64)
			memcpy(seen[n_seen++], cookie, clen < KE_CLIENT_COOKIE_MAX ? clen : 0);
		last_len = len;
	}
	tap_ok(ph_ok, "request k carries k placeholders (refill to 8)");
	tap_ok(distinct, "8 requests used 8 different cookies");
	tap_ok(nts_client_cookies(&c) == 0 && nts_client_request(&c, bad, header(bad), sizeof(bad)) == 0,
	       "an empty jar: request returns 0 (new key exchange needed)");
	/* The refused request left the outstanding one (7 placeholders) valid. */
	n = serve(req, last_len, out);
	tap_ok(n > 0 && nts_client_response(&c, out, n) == NTS_CLIENT_OK &&
	               nts_client_cookies(&c) == 8,
	       "an answer to 1 cookie + 7 placeholders refills the jar from 0 to 8");

	/* Responses for an earlier request are refused (its uid is gone). */
	len = nts_client_request(&c, req, header(req), sizeof(req));
	n = serve(req, len, out);
	uint8_t old[NTP_MAX_PACKET];
	size_t oldn = n;
	memcpy(old, out, n);
	len = nts_client_request(&c, req, header(req), sizeof(req));
	tap_ok(nts_client_response(&c, old, oldn) == NTS_CLIENT_BAD,
	       "the response to an earlier request (other unique id): refused");

	/* Tampering: every truncation and random flips must be refused. */
	n = serve(req, len, out);
	bool trunc_ok = true;
	for (size_t k = 0; k < n; k++)
		if (nts_client_response(&c, out, k) != NTS_CLIENT_BAD)
			trunc_ok = false;
	tap_ok(trunc_ok, "every truncation of a valid response (0..%zu bytes): refused", n - 1);
	bool flip_ok = true;
	for (int k = 0; k < 2000; k++) {
		memcpy(bad, out, n);
		size_t at = (size_t)rand() % n;
		bad[at] ^= (uint8_t)(1 + rand() % 255);
		if (nts_client_response(&c, bad, n) != NTS_CLIENT_BAD) {
			flip_ok = false;
			tap_diag("flip at %zu accepted", at);
			break;
		}
	}
	tap_ok(flip_ok, "2000 random byte changes in a valid response: all refused");
	tap_ok(nts_client_response(&c, out, n) == NTS_CLIENT_OK, "the untouched response still verifies");

	/* NTSN: the server no longer knows our cookies' key. */
	struct masterkey_set *other = masterkey_set_new();
	masterkey_generate(other, 1000);
	nts_worker_set_keys(&w.nts, other);
	len = nts_client_request(&c, req, header(req), sizeof(req));
	n = serve(req, len, out);
	memcpy(bad, out, n);
	bad[50] ^= 1; /* in the unique id */
	tap_ok(nts_client_response(&c, bad, n) == NTS_CLIENT_BAD,
	       "an NTSN with another unique id: refused");
	tap_ok(nts_client_response(&c, out, n) == NTS_CLIENT_NTSN, "an NTSN with our unique id: NTSN");

	nts_client_wipe(&c);
	tap_ok(nts_client_cookies(&c) == 0 && c.c2s == NULL, "wipe clears the jar and the keys");

	ke_client_result_wipe(&r);
	cookie_ctx_free(cctx);
	masterkey_set_free(set);
	masterkey_set_free(other);
	serve_worker_destroy(&w);
	restrict_table_free(cfg.restrict_table);
	return tap_done();
}
