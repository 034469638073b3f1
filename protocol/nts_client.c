#include "config.h"
#include "protocol/nts_client.h"

#include <string.h>

#include "crypto/aead.h"
#include "crypto/buf.h"
#include "crypto/secret.h"
#include "protocol/ntp_packet.h"
#include "protocol/nts_ef.h"

/* A Cookie field is 4 + the cookie padded to 4; RFC 7822 §3 wants at
 * least 16 bytes, so a cookie under 12 bytes could only go out in a
 * field every server (ntsd's codec included) drops. Such cookies, and
 * empty or oversized ones, are not used. */
#define COOKIE_MIN 12

static bool cookie_usable(size_t len)
{
	return len >= COOKIE_MIN && len <= KE_CLIENT_COOKIE_MAX;
}

bool nts_client_init(struct nts_client *c, const struct ke_client_result *r)
{
	memset(c, 0, sizeof(*c));
	if (r->n_cookies == 0 || r->n_cookies > KE_MAX_COOKIES)
		return false;
	c->c2s = aead_ctx_new(r->aead, r->c2s, r->key_len);
	c->s2c = aead_ctx_new(r->aead, r->s2c, r->key_len);
	if (!c->c2s || !c->s2c) {
		nts_client_wipe(c);
		return false;
	}
	for (size_t i = 0; i < r->n_cookies; i++) {
		if (!cookie_usable(r->cookie_len[i]))
			continue;
		memcpy(c->cookies[c->n], r->cookies[i], r->cookie_len[i]);
		c->cookie_len[c->n++] = r->cookie_len[i];
	}
	if (c->n == 0) {
		/* No usable cookie: refused like the other failures, holding
		 * nothing (the AEAD contexts would leak otherwise). */
		nts_client_wipe(c);
		return false;
	}
	return true;
}

size_t nts_client_cookies(const struct nts_client *c)
{
	return c->n;
}

void nts_client_wipe(struct nts_client *c)
{
	aead_ctx_free(c->c2s);
	aead_ctx_free(c->s2c);
	secret_wipe(c, sizeof(*c));
}

static void push_cookie(struct nts_client *c, const uint8_t *p, size_t len)
{
	size_t slot;

	if (!cookie_usable(len))
		return;
	if (c->n == KE_MAX_COOKIES) { /* full: drop the oldest */
		secret_wipe(c->cookies[c->head], KE_CLIENT_COOKIE_MAX);
		c->head = (c->head + 1) % KE_MAX_COOKIES;
		c->n--;
	}
	slot = (c->head + c->n) % KE_MAX_COOKIES;
	memcpy(c->cookies[slot], p, len);
	c->cookie_len[slot] = len;
	c->n++;
}

size_t nts_client_request(struct nts_client *c, uint8_t *pkt, size_t hdr_len, size_t max)
{
	uint8_t nonce[NTS_NONCE_LEN], uid[sizeof(c->uid)];
	size_t ctlen = 0;

	/* On failure nothing changes: an outstanding request stays valid. */
	if (c->n == 0 || !c->c2s)
		return 0;
	size_t clen = c->cookie_len[c->head];
	size_t ef_len = 4 + nts_ef_pad4(clen);
	/* RFC 8915 §5.7: one placeholder per missing cookie, each as long as
	 * the cookie field, so the response refills the jar. */
	size_t placeholders = KE_MAX_COOKIES - c->n;
	size_t limit = max < NTP_MAX_PACKET ? max : NTP_MAX_PACKET;
	size_t fixed = hdr_len + 4 + sizeof(c->uid) + ef_len + 4 + 4 + NTS_NONCE_LEN + AEAD_TAG_LEN;
	if (fixed > limit)
		return 0;
	/* Large cookies: ask for as many as fit rather than not at all. */
	if (placeholders > (limit - fixed) / ef_len)
		placeholders = (limit - fixed) / ef_len;

	struct buf b = buf_writer(pkt, max);
	buf_reserve(&b, hdr_len);
	secret_random(uid, sizeof(uid));
	buf_put_u16(&b, NTS_EF_UNIQUE_ID);
	buf_put_u16(&b, 4 + sizeof(uid));
	buf_put(&b, uid, sizeof(uid));
	buf_put_u16(&b, NTS_EF_COOKIE);
	buf_put_u16(&b, (uint16_t)ef_len);
	buf_put(&b, c->cookies[c->head], clen);
	buf_put_zero(&b, nts_ef_pad4(clen) - clen);
	for (size_t i = 0; i < placeholders; i++) {
		buf_put_u16(&b, NTS_EF_PLACEHOLDER);
		buf_put_u16(&b, (uint16_t)ef_len);
		buf_put_zero(&b, ef_len - 4);
	}
	size_t auth_start = b.pos;
	uint8_t *a = buf_reserve(&b, 8 + NTS_NONCE_LEN + AEAD_TAG_LEN);
	if (!buf_ok(&b) || !a)
		return 0;
	secret_random(nonce, sizeof(nonce));
	store_be16(a, NTS_EF_AUTH);
	store_be16(a + 2, 8 + NTS_NONCE_LEN + AEAD_TAG_LEN);
	store_be16(a + 4, NTS_NONCE_LEN);
	memcpy(a + 8, nonce, NTS_NONCE_LEN);
	struct aead_ad ad = { pkt, auth_start };
	if (!aead_seal(c->c2s, &ad, 1, nonce, NTS_NONCE_LEN, NULL, 0, a + 8 + NTS_NONCE_LEN,
	               AEAD_TAG_LEN, &ctlen) ||
	    ctlen != AEAD_TAG_LEN)
		return 0;
	store_be16(a + 6, (uint16_t)ctlen);
	/* The cookie is on its way: it is never used again (RFC 8915 §5.7). */
	secret_wipe(c->cookies[c->head], KE_CLIENT_COOKIE_MAX);
	c->cookie_len[c->head] = 0;
	c->head = (c->head + 1) % KE_MAX_COOKIES;
	c->n--;
	memcpy(c->uid, uid, sizeof(uid));
	c->pending = true;
	return b.pos;
}

/* Cookies from the decrypted fields (§5.7); other encrypted fields are
 * ignored. False if the plaintext is not a sequence of fields, and then
 * nothing is taken: the first pass only checks, so that a response that
 * is refused (and could be replayed while the request stays pending)
 * never puts a cookie in the jar. */
static bool take_cookies(struct nts_client *c, const uint8_t *pt, size_t len)
{
	for (int pass = 0; pass < 2; pass++) {
		struct buf b = buf_reader(pt, len);
		const uint8_t *body;
		size_t body_len;
		uint16_t type;
		int r;

		while ((r = nts_ef_next(&b, &type, &body, &body_len)) > 0)
			if (pass == 1 && type == NTS_EF_COOKIE)
				push_cookie(c, body, body_len);
		if (r < 0)
			return false;
	}
	return true;
}

enum nts_client_verdict nts_client_response(struct nts_client *c, const uint8_t *pkt,
                                            size_t len)
{
	struct ntp_header h;
	struct ntp_tail t;
	const struct ntp_ef *uid = NULL, *auth = NULL;
	uint8_t pt[NTP_MAX_PACKET];
	struct nts_ef_auth a;
	size_t ptlen = 0;
	enum nts_client_verdict v = NTS_CLIENT_BAD;

	if (!c->pending || !c->s2c || ntp_packet_parse(pkt, len, &h, &t) != NTP_PARSE_OK ||
	    t.has_mac)
		return NTS_CLIENT_BAD;
	for (size_t i = 0; i < t.n_ef; i++) {
		const struct ntp_ef *ef = &t.ef[i];
		if (ef->type == NTS_EF_UNIQUE_ID) {
			if (uid)
				return NTS_CLIENT_BAD;
			uid = ef;
		} else if (ef->type == NTS_EF_AUTH) {
			if (auth)
				return NTS_CLIENT_BAD;
			auth = ef;
		} else if (auth) {
			/* Fields after the authenticator are not covered by it. */
			return NTS_CLIENT_BAD;
		}
	}
	if (!uid || (size_t)uid->len - 4 < sizeof(c->uid) ||
	    !secret_equal(uid->body, c->uid, sizeof(c->uid)))
		return NTS_CLIENT_BAD;
	/* §5.7: an NTSN kiss carries our unique id and no authenticator; it
	 * cannot be authenticated, but the uid shows it is on-path. */
	if (!auth) {
		if (h.stratum == 0 && h.refid == NTP_KISS_NTSN) {
			c->pending = false;
			return NTS_CLIENT_NTSN;
		}
		return NTS_CLIENT_BAD;
	}
	if (!nts_ef_parse_auth(auth, AEAD_TAG_LEN, &a) || a.ct_len - AEAD_TAG_LEN > sizeof(pt))
		return NTS_CLIENT_BAD;
	struct aead_ad ad = { pkt, (size_t)(auth->start - pkt) };
	if (!aead_open(c->s2c, &ad, 1, a.nonce, a.nonce_len, a.ct, a.ct_len, pt, sizeof(pt), &ptlen))
		return NTS_CLIENT_BAD;
	if (take_cookies(c, pt, ptlen)) {
		c->pending = false;
		v = NTS_CLIENT_OK;
	}
	secret_wipe(pt, ptlen);
	return v;
}
