#include "config.h"
#include "ntsd/nts.h"

#include <string.h>

#include "crypto/aead.h"
#include "crypto/buf.h"
#include "crypto/secret.h"

bool nts_worker_init(struct nts_worker *w, const struct masterkey_set *set)
{
	static const uint8_t zero[AEAD_MAX_KEY];

	memset(w, 0, sizeof(*w));
	/* Per-packet keys come from cookies; these contexts are only rekeyed
	 * on the hot path, never allocated there. */
	w->c2s = aead_ctx_new(AEAD_AES_SIV_CMAC_256, zero, aead_key_len(AEAD_AES_SIV_CMAC_256));
	w->s2c = aead_ctx_new(AEAD_AES_SIV_CMAC_256, zero, aead_key_len(AEAD_AES_SIV_CMAC_256));
	w->rng = secret_rng_new();
	if (!w->c2s || !w->s2c || !w->rng || !nts_worker_set_keys(w, set)) {
		nts_worker_destroy(w);
		return false;
	}
	return true;
}

bool nts_worker_set_keys(struct nts_worker *w, const struct masterkey_set *set)
{
	struct cookie_ctx *c = NULL;

	if (set) {
		c = cookie_ctx_new(set);
		if (!c)
			return false;
	}
	cookie_ctx_free(w->cookies);
	w->cookies = c;
	return true;
}

void nts_worker_destroy(struct nts_worker *w)
{
	cookie_ctx_free(w->cookies);
	aead_ctx_free(w->c2s);
	aead_ctx_free(w->s2c);
	secret_rng_free(w->rng);
	memset(w, 0, sizeof(*w));
}

void nts_request_done(struct nts_request *r)
{
	secret_wipe(&r->keys, sizeof(r->keys));
}

/* Encrypted extension fields (RFC 8915 §5.7): count the placeholders. */
static bool count_encrypted_placeholders(const uint8_t *pt, size_t len, size_t *n)
{
	struct buf b = buf_reader(pt, len);
	const uint8_t *body;
	size_t body_len;
	uint16_t type;
	int r;

	while ((r = nts_ef_next(&b, &type, &body, &body_len)) > 0)
		if (type == NTS_EF_PLACEHOLDER)
			(*n)++;
	return r == 0;
}

enum nts_verdict nts_check_request(struct nts_worker *w, const uint8_t *req, size_t len,
                                   const struct ntp_tail *t, struct nts_request *r)
{
	const struct ntp_ef *cookie = NULL, *auth = NULL;
	size_t placeholders = 0, placeholder_len = 0;
	bool any = false, placeholders_ok = true;
	uint8_t pt[NTP_MAX_PACKET];
	struct nts_ef_auth a;
	size_t ptlen;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < t->n_ef; i++) {
		const struct ntp_ef *ef = &t->ef[i];
		switch (ef->type) {
		case NTS_EF_UNIQUE_ID:
			any = true;
			if (r->uid)
				return NTS_MALFORMED;
			r->uid = ef;
			break;
		case NTS_EF_COOKIE:
			any = true;
			if (cookie)
				return NTS_MALFORMED;
			cookie = ef;
			break;
		case NTS_EF_PLACEHOLDER:
			any = true;
			placeholders++;
			if (placeholder_len && ef->len != placeholder_len)
				placeholders_ok = false;
			placeholder_len = ef->len;
			break;
		case NTS_EF_AUTH:
			any = true;
			/* The authenticator must be the last field (§5.6). */
			if (auth || i != t->n_ef - 1)
				return NTS_MALFORMED;
			auth = ef;
			break;
		default:
			break; /* RFC 7822: unknown fields are ignored */
		}
	}
	if (!any)
		return NTS_NONE;
	/* Never mix NTS with a legacy MAC; all three fields are required;
	 * placeholders match the cookie's length (§5.7). */
	if (t->has_mac || !r->uid || !cookie || !auth || !placeholders_ok ||
	    (placeholders && placeholder_len != cookie->len) ||
	    (size_t)r->uid->len - 4 < NTS_MIN_UNIQUE_ID)
		return NTS_MALFORMED;
	if (!w->cookies)
		return NTS_BAD_COOKIE;
	if (!nts_ef_parse_auth(auth, AEAD_TAG_LEN, &a))
		return NTS_MALFORMED;

	/* The cookie field's body may carry padding after the cookie; the
	 * cookie module knows the exact cookie length. */
	if (cookie_open(w->cookies, cookie->body, (size_t)cookie->len - 4, &r->keys) != COOKIE_OK)
		return NTS_BAD_COOKIE;
	if (!aead_ctx_rekey(w->c2s, r->keys.aead, r->keys.c2s, r->keys.key_len))
		goto bad_auth;
	struct aead_ad ad = { req, (size_t)(auth->start - req) };
	if (!aead_open(w->c2s, &ad, 1, a.nonce, a.nonce_len, a.ct, a.ct_len, pt, sizeof(pt), &ptlen))
		goto bad_auth;
	bool ok = count_encrypted_placeholders(pt, ptlen, &placeholders);
	secret_wipe(pt, ptlen);
	if (!ok)
		goto malformed;
	(void)len;
	r->cookie_ef_len = cookie->len;
	r->cookies_wanted = 1 + placeholders;
	if (r->cookies_wanted > NTS_MAX_COOKIES)
		r->cookies_wanted = NTS_MAX_COOKIES;
	return NTS_VALID;
bad_auth:
	nts_request_done(r);
	return NTS_BAD_AUTH;
malformed:
	nts_request_done(r);
	return NTS_MALFORMED;
}

size_t nts_finish_nak(const struct ntp_ef *uid, uint8_t *out, size_t outmax)
{
	struct buf b = buf_writer(out, outmax);

	buf_reserve(&b, NTP_HEADER_LEN);
	if (uid)
		buf_put(&b, uid->start, uid->len);
	return buf_ok(&b) ? b.pos : NTP_HEADER_LEN;
}

size_t nts_finish_response(struct nts_worker *w, struct nts_request *r, uint8_t *out,
                           size_t outmax, size_t reqlen)
{
	uint8_t pt[NTS_MAX_COOKIES * (4 + COOKIE_MAX_LEN)];
	uint8_t nonce[NTS_NONCE_LEN];
	size_t n = r->cookies_wanted, ptlen = 0, ctlen = 0, total = 0;
	size_t cookie_len = cookie_size(r->keys.aead);
	size_t ef_len = 4 + nts_ef_pad4(cookie_len);
	size_t fixed = NTP_HEADER_LEN + r->uid->len + 4 + 4 + NTS_NONCE_LEN + AEAD_TAG_LEN;

	/* Never answer with more bytes than the request had (§5.7, and no
	 * amplification): give fewer cookies if ours are larger. */
	while (n > 0 && fixed + n * ef_len > reqlen)
		n--;
	if (cookie_len == 0 || fixed > reqlen || fixed + n * ef_len > outmax)
		return 0;

	struct buf p = buf_writer(pt, sizeof(pt));
	for (size_t i = 0; i < n; i++) {
		uint8_t *c;
		buf_put_u16(&p, NTS_EF_COOKIE);
		buf_put_u16(&p, (uint16_t)ef_len);
		c = buf_reserve(&p, nts_ef_pad4(cookie_len));
		if (!c || cookie_seal(w->cookies, &r->keys, c, cookie_len) != cookie_len)
			goto out;
		memset(c + cookie_len, 0, nts_ef_pad4(cookie_len) - cookie_len);
	}
	if (!buf_ok(&p))
		goto out;
	ptlen = p.pos;

	size_t auth_start = NTP_HEADER_LEN + r->uid->len;
	memcpy(out + NTP_HEADER_LEN, r->uid->start, r->uid->len);
	secret_rng_bytes(w->rng, nonce, sizeof(nonce));
	uint8_t *a = out + auth_start;
	store_be16(a, NTS_EF_AUTH);
	store_be16(a + 4, NTS_NONCE_LEN);
	memcpy(a + 8, nonce, NTS_NONCE_LEN);
	struct aead_ad ad = { out, auth_start };
	if (!aead_ctx_rekey(w->s2c, r->keys.aead, r->keys.s2c, r->keys.key_len) ||
	    !aead_seal(w->s2c, &ad, 1, nonce, NTS_NONCE_LEN, pt, ptlen, a + 8 + NTS_NONCE_LEN,
	               outmax - auth_start - 8 - NTS_NONCE_LEN, &ctlen))
		goto out;
	store_be16(a + 6, (uint16_t)ctlen);
	store_be16(a + 2, (uint16_t)(8 + NTS_NONCE_LEN + nts_ef_pad4(ctlen)));
	memset(a + 8 + NTS_NONCE_LEN + ctlen, 0, nts_ef_pad4(ctlen) - ctlen);
	total = auth_start + 8 + NTS_NONCE_LEN + nts_ef_pad4(ctlen);
out:
	/* pt holds sealed cookies only, which go on the wire anyway. */
	return total;
}
