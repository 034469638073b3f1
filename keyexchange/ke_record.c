/* NTS-KE record codec (RFC 8915 §4). Both parsers take the whole message
 * received so far and are stateless: the caller re-parses when more bytes
 * arrive, which costs nothing worth saving at KE_MAX_MESSAGE bytes and keeps
 * "incomplete" and "bad" easy to tell apart. */
#include "config.h"
#include "keyexchange/ke_record.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/buf.h"

struct rec {
	uint16_t type; /* without the critical bit */
	bool critical;
	uint16_t len;
	const uint8_t *body;
};

enum next { NEXT_RECORD, NEXT_INCOMPLETE, NEXT_TOO_LONG };

/* The next whole record. A record that would end past KE_MAX_MESSAGE is
 * refused at once, so a peer cannot make us wait for bytes we would not
 * accept anyway. */
static enum next next_record(struct buf *b, struct rec *r)
{
	uint16_t th = 0;

	if (buf_left(b) < 4)
		return b->pos + 4 > KE_MAX_MESSAGE ? NEXT_TOO_LONG : NEXT_INCOMPLETE;
	buf_get_u16(b, &th);
	buf_get_u16(b, &r->len);
	if (b->pos + r->len > KE_MAX_MESSAGE)
		return NEXT_TOO_LONG;
	if (buf_left(b) < r->len)
		return NEXT_INCOMPLETE;
	r->body = buf_take(b, r->len);
	r->type = th & (uint16_t)~KE_CRITICAL_BIT;
	r->critical = (th & KE_CRITICAL_BIT) != 0;
	return NEXT_RECORD;
}

__attribute__((format(printf, 2, 3))) static void detail(char *dst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, KE_DETAIL_LEN, fmt, ap);
	va_end(ap);
}

/* An NTPv4 Server Negotiation body (§4.1.7): an FQDN in A-label form or an
 * IPv4/IPv6 literal without zone identifier, so letters, digits and
 * ".-:" (plus "_", seen in internal names) are all it can hold. Refusing
 * anything else keeps odd bytes out of resolvers and logs. */
static bool host_ok(const uint8_t *p, size_t n)
{
	if (n == 0 || n > KE_MAX_HOST)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (!alnum && c != '.' && c != '-' && c != ':' && c != '_')
			return false;
	}
	return true;
}

static bool host_str_ok(const char *s)
{
	return host_ok((const uint8_t *)s, strnlen(s, KE_MAX_HOST + 1));
}

/* A list of u16 (§4.1.2, §4.1.5): keeps the first max, says if it dropped
 * any. False for an odd length. */
static bool get_list(const struct rec *r, uint16_t *out, size_t max, size_t *n, bool *truncated)
{
	if (r->len % 2)
		return false;
	*n = 0;
	*truncated = (size_t)r->len / 2 > max;
	for (size_t i = 0; i < r->len / 2 && i < max; i++)
		out[(*n)++] = load_be16(r->body + 2 * i);
	return true;
}

static enum ke_parse rq_fail(struct ke_request *rq, uint16_t code, const char *what)
{
	rq->error = code;
	detail(rq->error_detail, "%s", what);
	return KE_PARSE_ERROR;
}

/* One request record; KE_PARSE_INCOMPLETE means "fine, go on". */
static enum ke_parse rq_record(struct ke_request *rq, const struct rec *r)
{
	switch (r->type) {
	case KE_REC_NEXT_PROTOCOL:
		/* §4.1.2: exactly once, critical, at least one protocol. */
		if (rq->has_protos)
			return rq_fail(rq, KE_ERR_BAD_REQUEST, "repeated Next Protocol record");
		if (!r->critical)
			return rq_fail(rq, KE_ERR_BAD_REQUEST, "Next Protocol record not critical");
		if (r->len == 0 ||
		    !get_list(r, rq->protos, KE_MAX_PROTOS, &rq->n_protos, &rq->protos_truncated))
			return rq_fail(rq, KE_ERR_BAD_REQUEST, "bad Next Protocol list length");
		rq->has_protos = true;
		return KE_PARSE_INCOMPLETE;
	case KE_REC_AEAD:
		/* §4.1.5: at most once, at least one algorithm in a request. */
		if (rq->has_aeads)
			return rq_fail(rq, KE_ERR_BAD_REQUEST, "repeated AEAD record");
		if (r->len == 0 ||
		    !get_list(r, rq->aeads, KE_MAX_AEADS, &rq->n_aeads, &rq->aeads_truncated))
			return rq_fail(rq, KE_ERR_BAD_REQUEST, "bad AEAD list length");
		rq->has_aeads = true;
		return KE_PARSE_INCOMPLETE;
	case KE_REC_NTP_SERVER:
		/* §4.1.7: a client sends at most one. Its critical bit ("clients
		 * MUST NOT" set it) is not checked: we know the record. */
		if (rq->has_server)
			return rq_fail(rq, KE_ERR_BAD_REQUEST, "repeated NTPv4 Server record");
		if (!host_ok(r->body, r->len))
			return rq_fail(rq, KE_ERR_BAD_REQUEST, "bad NTPv4 Server record");
		memcpy(rq->server, r->body, r->len);
		rq->server[r->len] = '\0';
		rq->has_server = true;
		return KE_PARSE_INCOMPLETE;
	case KE_REC_NTP_PORT:
		/* §4.1.8: at most one, a u16 UDP port (0 is none). */
		if (rq->has_port)
			return rq_fail(rq, KE_ERR_BAD_REQUEST, "repeated NTPv4 Port record");
		if (r->len != 2 || load_be16(r->body) == 0)
			return rq_fail(rq, KE_ERR_BAD_REQUEST, "bad NTPv4 Port record");
		rq->port = load_be16(r->body);
		rq->has_port = true;
		return KE_PARSE_INCOMPLETE;
	case KE_REC_ERROR:
		/* §4.1.3, §4.1.4, §4.1.6: clients MUST NOT send these. */
		return rq_fail(rq, KE_ERR_BAD_REQUEST, "Error record in a request");
	case KE_REC_WARNING:
		return rq_fail(rq, KE_ERR_BAD_REQUEST, "Warning record in a request");
	case KE_REC_NEW_COOKIE:
		return rq_fail(rq, KE_ERR_BAD_REQUEST, "New Cookie record in a request");
	default:
		/* §4: unknown critical records are an error, others ignored. */
		if (r->critical) {
			rq->error = KE_ERR_UNRECOGNIZED_CRITICAL;
			detail(rq->error_detail, "unknown critical record type %u", (unsigned)r->type);
			return KE_PARSE_ERROR;
		}
		return KE_PARSE_INCOMPLETE;
	}
}

/* End of Message (§4.1.1) closes the request: it must be critical and
 * empty, be the last bytes (one request per connection, §4), and the
 * request must have had its Next Protocol record (§4) and, when NTPv4 is
 * offered, its AEAD record (§4.1.5). */
static enum ke_parse rq_end(struct ke_request *rq, const struct rec *r, const struct buf *b)
{
	bool ntpv4 = false;

	if (r->len != 0 || !r->critical)
		return rq_fail(rq, KE_ERR_BAD_REQUEST, "bad End of Message record");
	if (buf_left(b) != 0)
		return rq_fail(rq, KE_ERR_BAD_REQUEST, "data after End of Message");
	if (!rq->has_protos)
		return rq_fail(rq, KE_ERR_BAD_REQUEST, "no Next Protocol record");
	for (size_t i = 0; i < rq->n_protos; i++)
		ntpv4 = ntpv4 || rq->protos[i] == KE_PROTO_NTPV4;
	if (ntpv4 && !rq->has_aeads)
		return rq_fail(rq, KE_ERR_BAD_REQUEST, "no AEAD record");
	rq->consumed = b->pos;
	return KE_PARSE_OK;
}

enum ke_parse ke_request_parse(const uint8_t *msg, size_t len, struct ke_request *rq)
{
	struct buf b = buf_reader(msg, len);
	struct rec r;

	memset(rq, 0, sizeof(*rq));
	for (;;) {
		enum ke_parse p;
		switch (next_record(&b, &r)) {
		case NEXT_INCOMPLETE:
			return KE_PARSE_INCOMPLETE;
		case NEXT_TOO_LONG:
			rq->error = KE_ERR_BAD_REQUEST;
			detail(rq->error_detail, "request longer than %d bytes", KE_MAX_MESSAGE);
			return KE_PARSE_ERROR;
		case NEXT_RECORD:
			break;
		}
		if (r.type == KE_REC_END)
			return rq_end(rq, &r, &b);
		p = rq_record(rq, &r);
		if (p != KE_PARSE_INCOMPLETE)
			return p;
	}
}

/* §4.1.5: honouring the client's order is optional; we do honour it, so a
 * client that prefers a stronger AEAD gets it. */
enum ke_choice ke_request_choose(const struct ke_request *rq, const uint16_t *supported,
                                 size_t n_supported, uint16_t *aead)
{
	bool ntpv4 = false;

	for (size_t i = 0; i < rq->n_protos && i < KE_MAX_PROTOS; i++)
		ntpv4 = ntpv4 || rq->protos[i] == KE_PROTO_NTPV4;
	if (!ntpv4)
		return KE_CHOICE_NO_PROTOCOL;
	for (size_t i = 0; i < rq->n_aeads && i < KE_MAX_AEADS; i++)
		for (size_t k = 0; k < n_supported; k++)
			if (rq->aeads[i] == supported[k]) {
				*aead = rq->aeads[i];
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

static void put_u16_record(struct buf *b, uint16_t type, bool critical, uint16_t v)
{
	uint8_t body[2];

	store_be16(body, v);
	put_record(b, type, critical, body, sizeof(body));
}

static size_t finish(struct buf *b)
{
	put_record(b, KE_REC_END, true, NULL, 0);
	return buf_ok(b) ? b->pos : 0;
}

static bool response_ok(const struct ke_response *r)
{
	if (r->choice != KE_CHOICE_OK)
		return r->choice == KE_CHOICE_NO_PROTOCOL || r->choice == KE_CHOICE_NO_AEAD;
	/* §4.1.6: at least one cookie when NTPv4 and an AEAD were agreed. */
	if (r->n_cookies == 0 || r->n_cookies > KE_MAX_COOKIES)
		return false;
	for (size_t i = 0; i < r->n_cookies; i++)
		if (!r->cookies[i] || r->cookie_len[i] == 0 || r->cookie_len[i] > KE_MAX_COOKIE_LEN)
			return false;
	if (r->server && !host_str_ok(r->server))
		return false;
	return r->port == -1 || (r->port >= 1 && r->port <= 65535);
}

/* Critical bits (§4.1): Next Protocol, Error, End always; AEAD "MAY" and we
 * set it, as chrony does; Server and Port "MAY" for servers and we set them,
 * since a client that ignored them would talk to the wrong place; New Cookie
 * never. */
size_t ke_response_build(uint8_t *out, size_t outmax, const struct ke_response *r)
{
	struct buf b = buf_writer(out, outmax);

	if (!response_ok(r))
		return 0;
	if (r->choice == KE_CHOICE_NO_PROTOCOL) {
		/* §4.1.2: the response lists the subset of the client's protocols
		 * we accept: none. No AEAD record, since NTPv4 is not agreed. */
		put_record(&b, KE_REC_NEXT_PROTOCOL, true, NULL, 0);
		return finish(&b);
	}
	put_u16_record(&b, KE_REC_NEXT_PROTOCOL, true, KE_PROTO_NTPV4);
	if (r->choice == KE_CHOICE_NO_AEAD) {
		/* §4.1.5: "empty if the server supports none of the algorithms
		 * offered", and then no cookies (§4.1.6). */
		put_record(&b, KE_REC_AEAD, true, NULL, 0);
		return finish(&b);
	}
	put_u16_record(&b, KE_REC_AEAD, true, r->aead);
	if (r->server)
		put_record(&b, KE_REC_NTP_SERVER, true, r->server, strlen(r->server));
	if (r->port >= 0)
		put_u16_record(&b, KE_REC_NTP_PORT, true, (uint16_t)r->port);
	for (size_t i = 0; i < r->n_cookies; i++)
		put_record(&b, KE_REC_NEW_COOKIE, false, r->cookies[i], r->cookie_len[i]);
	return finish(&b);
}

/* §4: "The request and a non-error response each SHALL include exactly one
 * NTS Next Protocol Negotiation record", so an error response is just the
 * Error record (§4.1.3, critical) and End of Message, as chrony sends. */
void ke_exporter_context(uint16_t aead, bool s2c, uint8_t out[KE_EXPORTER_CONTEXT_LEN])
{
	store_be16(out, KE_PROTO_NTPV4);
	store_be16(out + 2, aead);
	out[4] = s2c ? 1 : 0;
}

size_t ke_error_build(uint8_t *out, size_t outmax, uint16_t code)
{
	struct buf b = buf_writer(out, outmax);

	put_u16_record(&b, KE_REC_ERROR, true, code);
	return finish(&b);
}

/* Critical bits per §4.1: Next Protocol and End set; AEAD set (it "MAY"
 * be, and a server that did not know it could not serve us); Server and
 * Port clear ("clients MUST NOT" set them). */
size_t ke_request_build(uint8_t *out, size_t outmax, const uint16_t *aeads, size_t n_aeads,
                        const char *server_or_null, int port_or_minus1)
{
	struct buf b = buf_writer(out, outmax);
	uint8_t v[2 * KE_MAX_AEADS];

	if (n_aeads == 0 || n_aeads > KE_MAX_AEADS || !aeads)
		return 0;
	if (server_or_null && !host_str_ok(server_or_null))
		return 0;
	if (port_or_minus1 != -1 && (port_or_minus1 < 1 || port_or_minus1 > 65535))
		return 0;
	put_u16_record(&b, KE_REC_NEXT_PROTOCOL, true, KE_PROTO_NTPV4);
	for (size_t i = 0; i < n_aeads; i++)
		store_be16(v + 2 * i, aeads[i]);
	put_record(&b, KE_REC_AEAD, true, v, 2 * n_aeads);
	if (server_or_null)
		put_record(&b, KE_REC_NTP_SERVER, false, server_or_null, strlen(server_or_null));
	if (port_or_minus1 != -1)
		put_u16_record(&b, KE_REC_NTP_PORT, false, (uint16_t)port_or_minus1);
	return finish(&b);
}

__attribute__((format(printf, 2, 3))) static enum ke_parse rs_fail(struct ke_response_parsed *r,
                                                                   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error_detail, sizeof(r->error_detail), fmt, ap);
	va_end(ap);
	return KE_PARSE_ERROR;
}

static enum ke_parse rs_cookie(struct ke_response_parsed *r, const struct rec *c)
{
	if (c->len == 0 || c->len > KE_MAX_COOKIE_LEN)
		return rs_fail(r, "bad cookie length %u", (unsigned)c->len);
	if (r->n_cookies == KE_MAX_COOKIES) {
		r->too_many_cookies = true;
		return KE_PARSE_INCOMPLETE;
	}
	if (r->n_cookies && c->len != r->cookie_len[0])
		r->cookies_unequal = true;
	r->cookies[r->n_cookies] = c->body;
	r->cookie_len[r->n_cookies++] = c->len;
	return KE_PARSE_INCOMPLETE;
}

/* One response record; KE_PARSE_INCOMPLETE means "fine, go on". */
static enum ke_parse rs_record(struct ke_response_parsed *r, const struct rec *c)
{
	bool truncated;
	uint16_t aead[1];
	size_t n;

	switch (c->type) {
	case KE_REC_NEXT_PROTOCOL:
		if (r->has_protos)
			return rs_fail(r, "repeated Next Protocol record");
		if (!c->critical)
			return rs_fail(r, "Next Protocol record not critical");
		if (!get_list(c, r->protos, KE_MAX_PROTOS, &r->n_protos, &truncated))
			return rs_fail(r, "bad Next Protocol list length");
		r->has_protos = true;
		for (size_t i = 0; i < r->n_protos; i++)
			r->ntpv4 = r->ntpv4 || r->protos[i] == KE_PROTO_NTPV4;
		return KE_PARSE_INCOMPLETE;
	case KE_REC_AEAD:
		/* §4.1.5: "In responses, it MUST include at most one." */
		if (r->has_aead_record)
			return rs_fail(r, "repeated AEAD record");
		if (!get_list(c, aead, 1, &n, &truncated) || truncated)
			return rs_fail(r, "server must choose at most one AEAD");
		r->has_aead_record = true;
		r->has_aead = n == 1;
		r->aead = n == 1 ? aead[0] : 0;
		return KE_PARSE_INCOMPLETE;
	case KE_REC_NEW_COOKIE:
		return rs_cookie(r, c);
	case KE_REC_ERROR:
	case KE_REC_WARNING:
		if (c->len != 2)
			return rs_fail(r, "bad %s record length", c->type == KE_REC_ERROR ? "Error" : "Warning");
		if (c->type == KE_REC_ERROR && !r->has_error) {
			r->has_error = true;
			r->error = load_be16(c->body);
		} else if (c->type == KE_REC_WARNING && !r->has_warning) {
			r->has_warning = true;
			r->warning = load_be16(c->body);
		}
		return KE_PARSE_INCOMPLETE;
	case KE_REC_NTP_SERVER:
		/* §4.1.7: "Servers MUST NOT send more than one". */
		if (r->has_server)
			return rs_fail(r, "repeated NTPv4 Server record");
		if (!host_ok(c->body, c->len))
			return rs_fail(r, "bad NTPv4 Server record");
		memcpy(r->server, c->body, c->len);
		r->server[c->len] = '\0';
		r->has_server = true;
		return KE_PARSE_INCOMPLETE;
	case KE_REC_NTP_PORT:
		if (r->has_port)
			return rs_fail(r, "repeated NTPv4 Port record");
		if (c->len != 2 || load_be16(c->body) == 0)
			return rs_fail(r, "bad NTPv4 Port record");
		r->port = load_be16(c->body);
		r->has_port = true;
		return KE_PARSE_INCOMPLETE;
	default:
		if (c->critical)
			return rs_fail(r, "unknown critical record type %u", (unsigned)c->type);
		return KE_PARSE_INCOMPLETE;
	}
}

/* End of a response: a non-error response has exactly one Next Protocol
 * record (§4) and, when it accepts NTPv4, exactly one AEAD record
 * (§4.1.5). Whether cookies came is for the caller to judge. */
static enum ke_parse rs_end(struct ke_response_parsed *r, const struct rec *c, const struct buf *b)
{
	if (c->len != 0 || !c->critical)
		return rs_fail(r, "bad End of Message record");
	if (buf_left(b) != 0)
		return rs_fail(r, "data after End of Message");
	if (!r->has_error && !r->has_protos)
		return rs_fail(r, "no Next Protocol record");
	if (!r->has_error && r->ntpv4 && !r->has_aead_record)
		return rs_fail(r, "no AEAD record");
	r->consumed = b->pos;
	return KE_PARSE_OK;
}

enum ke_parse ke_response_parse(const uint8_t *msg, size_t len, struct ke_response_parsed *r)
{
	struct buf b = buf_reader(msg, len);
	struct rec c;

	memset(r, 0, sizeof(*r));
	for (;;) {
		enum ke_parse p;
		switch (next_record(&b, &c)) {
		case NEXT_INCOMPLETE:
			return KE_PARSE_INCOMPLETE;
		case NEXT_TOO_LONG:
			return rs_fail(r, "response longer than %d bytes", KE_MAX_MESSAGE);
		case NEXT_RECORD:
			break;
		}
		if (c.type == KE_REC_END)
			return rs_end(r, &c, &b);
		p = rs_record(r, &c);
		if (p != KE_PARSE_INCOMPLETE)
			return p;
	}
}
