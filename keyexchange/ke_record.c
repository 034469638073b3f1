#include "config.h"
#include "keyexchange/ke_record.h"

#include <string.h>

#include "crypto/buf.h"

static enum ke_parse fail(struct ke_request *rq, uint16_t code, const char *why)
{
	rq->error = code;
	rq->error_detail = why;
	return KE_PARSE_ERROR;
}

static bool host_ok(const uint8_t *p, size_t n)
{
	if (n == 0 || n > KE_MAX_HOST)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return false;
	return true;
}

static bool get_list(const uint8_t *body, size_t blen, uint16_t *out, size_t max, size_t *n)
{
	if (blen % 2)
		return false;
	*n = 0;
	for (size_t i = 0; i + 1 < blen; i += 2)
		if (*n < max)
			out[(*n)++] = load_be16(body + i);
	return true;
}

enum ke_parse ke_request_parse(const uint8_t *msg, size_t len, struct ke_request *rq)
{
	struct buf b = buf_reader(msg, len);

	memset(rq, 0, sizeof(*rq));
	for (;;) {
		uint16_t th = 0, blen = 0;
		const uint8_t *body;
		if (buf_left(&b) < 4)
			return KE_PARSE_INCOMPLETE;
		buf_get_u16(&b, &th);
		buf_get_u16(&b, &blen);
		if (buf_left(&b) < blen)
			return len >= KE_MAX_MESSAGE ? fail(rq, KE_ERR_BAD_REQUEST, "request too long")
			                             : KE_PARSE_INCOMPLETE;
		body = buf_take(&b, blen);
		bool critical = th & KE_CRITICAL_BIT;
		switch (th & ~KE_CRITICAL_BIT) {
		case KE_REC_END:
			if (blen != 0 || !critical)
				return fail(rq, KE_ERR_BAD_REQUEST, "bad End of Message record");
			if (buf_left(&b) != 0)
				return fail(rq, KE_ERR_BAD_REQUEST, "data after End of Message");
			if (!rq->has_protos)
				return fail(rq, KE_ERR_BAD_REQUEST, "no Next Protocol Negotiation record");
			rq->consumed = b.pos;
			return KE_PARSE_OK;
		case KE_REC_NEXT_PROTOCOL:
			if (rq->has_protos || !critical ||
			    !get_list(body, blen, rq->protos, KE_MAX_PROTOS, &rq->n_protos))
				return fail(rq, KE_ERR_BAD_REQUEST, "bad or repeated Next Protocol record");
			rq->has_protos = true;
			break;
		case KE_REC_AEAD:
			if (rq->has_aeads || !get_list(body, blen, rq->aeads, KE_MAX_AEADS, &rq->n_aeads))
				return fail(rq, KE_ERR_BAD_REQUEST, "bad or repeated AEAD record");
			rq->has_aeads = true;
			break;
		case KE_REC_NTP_SERVER:
			if (rq->has_server || !host_ok(body, blen))
				return fail(rq, KE_ERR_BAD_REQUEST, "bad NTPv4 Server Negotiation record");
			memcpy(rq->server, body, blen);
			rq->server[blen] = '\0';
			rq->has_server = true;
			break;
		case KE_REC_NTP_PORT:
			if (rq->has_port || blen != 2)
				return fail(rq, KE_ERR_BAD_REQUEST, "bad NTPv4 Port Negotiation record");
			rq->port = load_be16(body);
			rq->has_port = true;
			break;
		case KE_REC_ERROR:
		case KE_REC_WARNING:
		case KE_REC_NEW_COOKIE:
			return fail(rq, KE_ERR_BAD_REQUEST, "server-only record in a request");
		default:
			if (critical)
				return fail(rq, KE_ERR_UNRECOGNIZED_CRITICAL, "unknown critical record");
			break; /* unknown non-critical records are ignored (§4) */
		}
	}
}

enum ke_choice ke_request_choose(const struct ke_request *rq, const uint16_t *supported,
                                 size_t n_supported, uint16_t *aead)
{
	bool ntpv4 = false;

	for (size_t i = 0; i < rq->n_protos; i++)
		ntpv4 = ntpv4 || rq->protos[i] == KE_PROTO_NTPV4;
	if (!ntpv4)
		return KE_CHOICE_NO_PROTOCOL;
	for (size_t i = 0; i < rq->n_aeads; i++)
		for (size_t k = 0; k < n_supported; k++)
			if (rq->aeads[i] == supported[k]) {
				*aead = supported[k];
				return KE_CHOICE_OK;
			}
	return KE_CHOICE_NO_AEAD;
}

static void put_record(struct buf *b, uint16_t type, bool critical, const void *body, size_t len)
{
	buf_put_u16(b, (uint16_t)(type | (critical ? KE_CRITICAL_BIT : 0)));
	buf_put_u16(b, (uint16_t)len);
	buf_put(b, body, len);
}

size_t ke_response_build(uint8_t *out, size_t outmax, const struct ke_response *r)
{
	struct buf b = buf_writer(out, outmax);
	uint8_t v[2];

	store_be16(v, KE_PROTO_NTPV4);
	if (r->choice == KE_CHOICE_NO_PROTOCOL) {
		put_record(&b, KE_REC_NEXT_PROTOCOL, true, NULL, 0);
		put_record(&b, KE_REC_END, true, NULL, 0);
		return buf_ok(&b) ? b.pos : 0;
	}
	put_record(&b, KE_REC_NEXT_PROTOCOL, true, v, 2);
	store_be16(v, r->aead);
	put_record(&b, KE_REC_AEAD, true, v, r->choice == KE_CHOICE_NO_AEAD ? 0 : 2);
	if (r->choice == KE_CHOICE_NO_AEAD) {
		put_record(&b, KE_REC_END, true, NULL, 0);
		return buf_ok(&b) ? b.pos : 0;
	}
	if (r->server)
		put_record(&b, KE_REC_NTP_SERVER, true, r->server, strlen(r->server));
	if (r->port >= 0) {
		store_be16(v, (uint16_t)r->port);
		put_record(&b, KE_REC_NTP_PORT, true, v, 2);
	}
	for (size_t i = 0; i < r->n_cookies && i < KE_MAX_COOKIES; i++)
		put_record(&b, KE_REC_NEW_COOKIE, false, r->cookies[i], r->cookie_len[i]);
	put_record(&b, KE_REC_END, true, NULL, 0);
	return buf_ok(&b) ? b.pos : 0;
}

size_t ke_error_build(uint8_t *out, size_t outmax, uint16_t code)
{
	struct buf b = buf_writer(out, outmax);
	uint8_t v[2];

	store_be16(v, code);
	put_record(&b, KE_REC_ERROR, true, v, 2);
	put_record(&b, KE_REC_END, true, NULL, 0);
	return buf_ok(&b) ? b.pos : 0;
}

size_t ke_request_build(uint8_t *out, size_t outmax, const uint16_t *aeads, size_t n_aeads)
{
	struct buf b = buf_writer(out, outmax);
	uint8_t v[2 * KE_MAX_AEADS];

	store_be16(v, KE_PROTO_NTPV4);
	put_record(&b, KE_REC_NEXT_PROTOCOL, true, v, 2);
	if (n_aeads > KE_MAX_AEADS)
		n_aeads = KE_MAX_AEADS;
	for (size_t i = 0; i < n_aeads; i++)
		store_be16(v + 2 * i, aeads[i]);
	put_record(&b, KE_REC_AEAD, true, v, 2 * n_aeads);
	put_record(&b, KE_REC_END, true, NULL, 0);
	return buf_ok(&b) ? b.pos : 0;
}

enum ke_parse ke_response_parse(const uint8_t *msg, size_t len, struct ke_response_parsed *r)
{
	struct buf b = buf_reader(msg, len);

	memset(r, 0, sizeof(*r));
	for (;;) {
		uint16_t th = 0, blen = 0, list[KE_MAX_PROTOS];
		size_t n;
		const uint8_t *body;
		if (buf_left(&b) < 4)
			return KE_PARSE_INCOMPLETE;
		buf_get_u16(&b, &th);
		buf_get_u16(&b, &blen);
		if (buf_left(&b) < blen)
			return KE_PARSE_INCOMPLETE;
		body = buf_take(&b, blen);
		switch (th & ~KE_CRITICAL_BIT) {
		case KE_REC_END:
			return blen == 0 ? KE_PARSE_OK : (r->error_detail = "bad End of Message", KE_PARSE_ERROR);
		case KE_REC_NEXT_PROTOCOL:
			if (!get_list(body, blen, list, KE_MAX_PROTOS, &n))
				return r->error_detail = "bad Next Protocol record", KE_PARSE_ERROR;
			r->has_protos = true;
			for (size_t i = 0; i < n; i++)
				r->ntpv4 = r->ntpv4 || list[i] == KE_PROTO_NTPV4;
			break;
		case KE_REC_AEAD:
			if (blen != 2 || r->has_aead)
				return r->error_detail = "server must choose exactly one AEAD", KE_PARSE_ERROR;
			r->aead = load_be16(body);
			r->has_aead = true;
			break;
		case KE_REC_NEW_COOKIE:
			if (r->n_cookies == KE_MAX_COOKIES) {
				r->too_many_cookies = true;
				break;
			}
			if (r->n_cookies && blen != r->cookie_len[0])
				r->cookies_unequal = true;
			r->cookies[r->n_cookies] = body;
			r->cookie_len[r->n_cookies++] = blen;
			break;
		case KE_REC_ERROR:
		case KE_REC_WARNING:
			if (blen != 2)
				return r->error_detail = "bad Error/Warning record", KE_PARSE_ERROR;
			if ((th & ~KE_CRITICAL_BIT) == KE_REC_ERROR) {
				r->has_error = true;
				r->error = load_be16(body);
			} else {
				r->has_warning = true;
				r->warning = load_be16(body);
			}
			break;
		case KE_REC_NTP_SERVER:
			if (!host_ok(body, blen))
				return r->error_detail = "bad NTPv4 Server record", KE_PARSE_ERROR;
			memcpy(r->server, body, blen);
			r->server[blen] = '\0';
			r->has_server = true;
			break;
		case KE_REC_NTP_PORT:
			if (blen != 2)
				return r->error_detail = "bad NTPv4 Port record", KE_PARSE_ERROR;
			r->port = load_be16(body);
			r->has_port = true;
			break;
		default:
			if (th & KE_CRITICAL_BIT)
				return r->error_detail = "unknown critical record", KE_PARSE_ERROR;
			break;
		}
	}
}
