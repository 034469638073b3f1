/* NTS-KE record codec (RFC 8915 §4): every record type, every request
 * error with its code and text, critical bits, split messages, round
 * trips, AEAD choice, the real chrony and NTPsec responses, and a
 * randomised garbage/bit-flip loop (seed printed; KE_SEED=n replays). */
#include "config.h"
#include "keyexchange/ke_record.h"
#include "keyexchange/tls.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "nts_vectors.h"
#include "tap.h"

#define AEAD_SIV_256 15
#define AEAD_SIV_384 16
#define AEAD_SIV_512 17
#define AEAD_GCM_SIV_128 30

/* A message assembled record by record, independently of the codec. */
struct msg {
	uint8_t b[KE_MAX_MESSAGE + 64];
	size_t n;
};

static void add(struct msg *m, uint16_t type, bool critical, const void *body, size_t len)
{
	uint16_t t = (uint16_t)(type | (critical ? 0x8000 : 0));
	if (m->n + 4 + len > sizeof(m->b))
		abort();
	m->b[m->n++] = (uint8_t)(t >> 8);
	m->b[m->n++] = (uint8_t)t;
	m->b[m->n++] = (uint8_t)(len >> 8);
	m->b[m->n++] = (uint8_t)len;
	if (len)
		memcpy(m->b + m->n, body, len);
	m->n += len;
}

static void add_list(struct msg *m, uint16_t type, bool critical, const uint16_t *v, size_t n)
{
	uint8_t body[128];
	for (size_t i = 0; i < n; i++) {
		body[2 * i] = (uint8_t)(v[i] >> 8);
		body[2 * i + 1] = (uint8_t)v[i];
	}
	add(m, type, critical, body, 2 * n);
}

static void add_u16(struct msg *m, uint16_t type, bool critical, uint16_t v)
{
	add_list(m, type, critical, &v, 1);
}

static void add_str(struct msg *m, uint16_t type, bool critical, const char *s)
{
	add(m, type, critical, s, strlen(s));
}

static void add_end(struct msg *m)
{
	add(m, 0, true, NULL, 0);
}

/* Next Protocol {NTPv4} and AEAD {15}, critical, without End. */
static void start_request(struct msg *m)
{
	m->n = 0;
	add_u16(m, 1, true, 0);
	add_u16(m, 4, true, AEAD_SIV_256);
}

/* A request with every record a client may send, and an ignored one. */
static void full_request(struct msg *m)
{
	uint8_t junk[7] = { 1, 2, 3, 4, 5, 6, 7 };
	start_request(m);
	add_str(m, 6, false, "ntp.example.org");
	add_u16(m, 7, false, 1123);
	add(m, 0x4321, false, junk, sizeof(junk));
	add_end(m);
}

/* ---- records and constants ---- */

static void test_constants(void)
{
	/* RFC 8915 §7.6 (record types), §7.7 (protocol), §7.8 (errors). */
	static const struct {
		int have, want;
		const char *name;
	} c[] = {
		{ KE_REC_END, 0, "End of Message" },
		{ KE_REC_NEXT_PROTOCOL, 1, "NTS Next Protocol Negotiation" },
		{ KE_REC_ERROR, 2, "Error" },
		{ KE_REC_WARNING, 3, "Warning" },
		{ KE_REC_AEAD, 4, "AEAD Algorithm Negotiation" },
		{ KE_REC_NEW_COOKIE, 5, "New Cookie for NTPv4" },
		{ KE_REC_NTP_SERVER, 6, "NTPv4 Server Negotiation" },
		{ KE_REC_NTP_PORT, 7, "NTPv4 Port Negotiation" },
		{ KE_ERR_UNRECOGNIZED_CRITICAL, 0, "Unrecognized Critical Record" },
		{ KE_ERR_BAD_REQUEST, 1, "Bad Request" },
		{ KE_ERR_INTERNAL, 2, "Internal Server Error" },
		{ KE_PROTO_NTPV4, 0, "NTPv4 protocol ID" },
		{ KE_CRITICAL_BIT, 0x8000, "critical bit" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		tap_ok(c[i].have == c[i].want, "constant %s = %d", c[i].name, c[i].want);
}

/* ---- request parsing ---- */

static void test_request_ok(void)
{
	struct msg m;
	struct ke_request rq;

	start_request(&m);
	add_end(&m);
	tap_ok(ke_request_parse(m.b, m.n, &rq) == KE_PARSE_OK, "minimal request parses");
	tap_ok(rq.has_protos && rq.n_protos == 1 && rq.protos[0] == KE_PROTO_NTPV4, "protos {0}");
	tap_ok(rq.has_aeads && rq.n_aeads == 1 && rq.aeads[0] == AEAD_SIV_256, "aeads {15}");
	tap_ok(!rq.has_server && !rq.has_port, "no server, no port");
	tap_ok(rq.consumed == m.n, "consumed %zu of %zu", rq.consumed, m.n);

	full_request(&m);
	tap_ok(ke_request_parse(m.b, m.n, &rq) == KE_PARSE_OK, "request with server, port, unknown non-critical");
	tap_ok(rq.has_server && !strcmp(rq.server, "ntp.example.org"), "server '%s'", rq.server);
	tap_ok(rq.has_port && rq.port == 1123, "port %u", rq.port);
	tap_ok(rq.consumed == m.n, "consumed the whole request");

	/* Server and Port records with the critical bit (clients MUST NOT set
	 * it, but the record is known, so the bit changes nothing). */
	start_request(&m);
	add_str(&m, 6, true, "192.0.2.1");
	add_u16(&m, 7, true, 123);
	add_end(&m);
	tap_ok(ke_request_parse(m.b, m.n, &rq) == KE_PARSE_OK && !strcmp(rq.server, "192.0.2.1") &&
	           rq.port == 123,
	       "critical Server/Port records from a client are accepted");

	/* Address literals and the longest host name. */
	static const char *hosts[] = { "2001:db8::1", "::ffff:192.0.2.1", "xn--bcher-kva.example", "a_b.internal" };
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		start_request(&m);
		add_str(&m, 6, false, hosts[i]);
		add_end(&m);
		tap_ok(ke_request_parse(m.b, m.n, &rq) == KE_PARSE_OK && !strcmp(rq.server, hosts[i]),
		       "server '%s' accepted", hosts[i]);
	}
	char longest[KE_MAX_HOST + 1];
	memset(longest, 'a', KE_MAX_HOST);
	longest[KE_MAX_HOST] = '\0';
	start_request(&m);
	add_str(&m, 6, false, longest);
	add_end(&m);
	tap_ok(ke_request_parse(m.b, m.n, &rq) == KE_PARSE_OK && strlen(rq.server) == KE_MAX_HOST,
	       "server of %d bytes accepted", KE_MAX_HOST);

	/* Records in another order, several protocols and AEADs. */
	uint16_t protos[] = { 0x8001, 0 }, aeads[] = { AEAD_SIV_512, AEAD_GCM_SIV_128, AEAD_SIV_256 };
	m.n = 0;
	add_list(&m, 4, false, aeads, 3);
	add_list(&m, 1, true, protos, 2);
	add_end(&m);
	tap_ok(ke_request_parse(m.b, m.n, &rq) == KE_PARSE_OK && rq.n_protos == 2 &&
	           rq.protos[0] == 0x8001 && rq.protos[1] == 0 && rq.n_aeads == 3 &&
	           rq.aeads[0] == AEAD_SIV_512 && rq.aeads[2] == AEAD_SIV_256 && !rq.aeads_truncated,
	       "AEAD before Next Protocol, non-critical AEAD, lists kept in order");

	/* A client that does not offer NTPv4 need not send an AEAD record. */
	m.n = 0;
	add_u16(&m, 1, true, 0x8001);
	add_end(&m);
	tap_ok(ke_request_parse(m.b, m.n, &rq) == KE_PARSE_OK && !rq.has_aeads,
	       "non-NTPv4 request without AEAD record parses");

	/* More AEADs than we keep: the first KE_MAX_AEADS, in order. */
	uint16_t many[KE_MAX_AEADS + 4];
	for (size_t i = 0; i < KE_MAX_AEADS + 4; i++)
		many[i] = (uint16_t)(100 + i);
	m.n = 0;
	add_u16(&m, 1, true, 0);
	add_list(&m, 4, true, many, KE_MAX_AEADS + 4);
	add_end(&m);
	bool in_order = true;
	enum ke_parse p = ke_request_parse(m.b, m.n, &rq);
	for (size_t i = 0; i < rq.n_aeads; i++)
		in_order = in_order && rq.aeads[i] == many[i];
	tap_ok(p == KE_PARSE_OK && rq.n_aeads == KE_MAX_AEADS && rq.aeads_truncated && in_order,
	       "%d AEADs: first %d kept, truncation noted", KE_MAX_AEADS + 4, KE_MAX_AEADS);
	m.n = 0;
	add_list(&m, 1, true, many, KE_MAX_PROTOS + 1);
	add_end(&m);
	tap_ok(ke_request_parse(m.b, m.n, &rq) == KE_PARSE_OK && rq.n_protos == KE_MAX_PROTOS &&
	           rq.protos_truncated,
	       "%d protocols: first %d kept, truncation noted", KE_MAX_PROTOS + 1, KE_MAX_PROTOS);
}

/* Each malformed request: the Error code to send and the debug text. */
static void expect_error(const struct msg *m, uint16_t code, const char *text, const char *what)
{
	struct ke_request rq;
	enum ke_parse p = ke_request_parse(m->b, m->n, &rq);
	tap_ok(p == KE_PARSE_ERROR && rq.error == code && !strcmp(rq.error_detail, text),
	       "%s: error %u '%s' (got %d, %u '%s')", what, code, text, (int)p, rq.error,
	       p == KE_PARSE_ERROR ? rq.error_detail : "");
}

static void test_request_errors(void)
{
	struct msg m;
	uint8_t body[300];

	memset(body, 'x', sizeof(body));
	start_request(&m);
	add(&m, 1234, true, body, 3);
	add_end(&m);
	expect_error(&m, KE_ERR_UNRECOGNIZED_CRITICAL, "unknown critical record type 1234", "unknown critical record");

	m.n = 0;
	add(&m, 0x7fff, true, NULL, 0);
	add_u16(&m, 1, true, 0);
	add_end(&m);
	expect_error(&m, KE_ERR_UNRECOGNIZED_CRITICAL, "unknown critical record type 32767",
	             "unknown critical record before Next Protocol");

	start_request(&m);
	add(&m, 1234, false, body, 3);
	add_end(&m);
	struct ke_request rq;
	tap_ok(ke_request_parse(m.b, m.n, &rq) == KE_PARSE_OK, "same record without critical bit is ignored");

	start_request(&m);
	add_end(&m);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "data after End of Message", "record after End of Message");
	start_request(&m);
	add_end(&m);
	m.b[m.n++] = 0;
	expect_error(&m, KE_ERR_BAD_REQUEST, "data after End of Message", "one byte after End of Message");

	m.n = 0;
	add_u16(&m, 4, true, AEAD_SIV_256);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "no Next Protocol record", "Next Protocol missing");

	start_request(&m);
	add_u16(&m, 1, true, 0);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "repeated Next Protocol record", "Next Protocol repeated");

	m.n = 0;
	add_u16(&m, 1, false, 0);
	add_u16(&m, 4, true, AEAD_SIV_256);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "Next Protocol record not critical", "Next Protocol without critical bit");

	m.n = 0;
	add(&m, 1, true, NULL, 0);
	add_u16(&m, 4, true, AEAD_SIV_256);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "bad Next Protocol list length", "empty Next Protocol list");

	m.n = 0;
	add(&m, 1, true, "\0\0\0", 3);
	add_u16(&m, 4, true, AEAD_SIV_256);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "bad Next Protocol list length", "odd Next Protocol list");

	start_request(&m);
	add_u16(&m, 4, true, AEAD_SIV_256);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "repeated AEAD record", "AEAD repeated");

	m.n = 0;
	add_u16(&m, 1, true, 0);
	add(&m, 4, true, "\0\x0f\0", 3);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "bad AEAD list length", "odd AEAD list");

	m.n = 0;
	add_u16(&m, 1, true, 0);
	add(&m, 4, true, NULL, 0);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "bad AEAD list length", "empty AEAD list");

	m.n = 0;
	add_u16(&m, 1, true, 0);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "no AEAD record", "NTPv4 offered without AEAD record");

	start_request(&m);
	add(&m, 0, true, "\0", 1);
	expect_error(&m, KE_ERR_BAD_REQUEST, "bad End of Message record", "End of Message with a body");
	start_request(&m);
	add(&m, 0, false, NULL, 0);
	expect_error(&m, KE_ERR_BAD_REQUEST, "bad End of Message record", "End of Message without critical bit");

	start_request(&m);
	add(&m, 5, false, body, 100);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "New Cookie record in a request", "New Cookie from a client");
	start_request(&m);
	add_u16(&m, 2, true, KE_ERR_INTERNAL);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "Error record in a request", "Error record in a request");
	start_request(&m);
	add_u16(&m, 3, true, 0);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "Warning record in a request", "Warning record in a request");

	static const struct {
		const char *body;
		size_t len;
		const char *what;
	} bad_hosts[] = {
		{ "", 0, "empty" },
		{ "ntp\x01.example", 12, "control character" },
		{ "ntp example", 11, "space" },
		{ "fe80::1%eth0", 12, "zone identifier" },
		{ "ntp.example\0", 12, "NUL" },
		{ "\xc3\xa9.example", 10, "non-ASCII" },
		{ "[2001:db8::1]", 13, "brackets" },
	};
	for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
		start_request(&m);
		add(&m, 6, false, bad_hosts[i].body, bad_hosts[i].len);
		add_end(&m);
		char what[64];
		snprintf(what, sizeof(what), "Server record: %s", bad_hosts[i].what);
		expect_error(&m, KE_ERR_BAD_REQUEST, "bad NTPv4 Server record", what);
	}
	start_request(&m);
	add(&m, 6, false, body, KE_MAX_HOST + 1);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "bad NTPv4 Server record", "Server record of 256 bytes");
	start_request(&m);
	add_str(&m, 6, false, "a.example");
	add_str(&m, 6, false, "b.example");
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "repeated NTPv4 Server record", "Server record repeated");

	static const size_t port_lens[] = { 0, 1, 3, 4 };
	for (size_t i = 0; i < sizeof(port_lens) / sizeof(port_lens[0]); i++) {
		start_request(&m);
		add(&m, 7, false, "\0\x7b\0\0", port_lens[i]);
		add_end(&m);
		char what[64];
		snprintf(what, sizeof(what), "Port record of %zu bytes", port_lens[i]);
		expect_error(&m, KE_ERR_BAD_REQUEST, "bad NTPv4 Port record", what);
	}
	start_request(&m);
	add_u16(&m, 7, false, 0);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "bad NTPv4 Port record", "Port 0");
	start_request(&m);
	add_u16(&m, 7, false, 123);
	add_u16(&m, 7, false, 123);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "repeated NTPv4 Port record", "Port record repeated");
}

/* KE_MAX_MESSAGE: a request of exactly that size parses; one byte more
 * (or a record that would end past it) is refused without waiting. */
static void test_request_size(void)
{
	static struct msg m;
	struct ke_request rq;
	static uint8_t pad[KE_MAX_MESSAGE];
	size_t fill;

	start_request(&m);
	fill = KE_MAX_MESSAGE - m.n - 4 - 4; /* pad record header, End */
	add(&m, 0x4000, false, pad, fill);
	add_end(&m);
	tap_ok(m.n == KE_MAX_MESSAGE && ke_request_parse(m.b, m.n, &rq) == KE_PARSE_OK,
	       "request of exactly %d bytes parses", KE_MAX_MESSAGE);

	start_request(&m);
	add(&m, 0x4000, false, pad, fill + 1);
	add_end(&m);
	expect_error(&m, KE_ERR_BAD_REQUEST, "request longer than 16384 bytes", "request of 16385 bytes");

	/* A record whose own end is past the limit, cut right after its
	 * header: already an error, no point waiting for the body. */
	start_request(&m);
	size_t hdr = m.n;
	add(&m, 0x4000, false, pad, KE_MAX_MESSAGE - (hdr + 4) + 1);
	m.n = hdr + 4;
	expect_error(&m, KE_ERR_BAD_REQUEST, "request longer than 16384 bytes",
	             "record announced past 16384 bytes, before its body arrives");
	start_request(&m);
	add(&m, 0x4000, false, pad, KE_MAX_MESSAGE - (hdr + 4));
	m.n = hdr + 4;
	tap_ok(ke_request_parse(m.b, m.n, &rq) == KE_PARSE_INCOMPLETE,
	       "a record ending exactly at 16384 bytes, cut after its header: INCOMPLETE");

	/* 16384 bytes of records and no End of Message. */
	start_request(&m);
	add(&m, 0x4000, false, pad, KE_MAX_MESSAGE - m.n - 4);
	tap_ok(m.n == KE_MAX_MESSAGE, "built 16384 bytes without End");
	expect_error(&m, KE_ERR_BAD_REQUEST, "request longer than 16384 bytes", "16384 bytes without End of Message");
}

/* Every proper prefix of a valid message needs more bytes. */
static void test_request_prefixes(void)
{
	struct msg m;
	struct ke_request rq;
	size_t bad = 0;

	full_request(&m);
	for (size_t n = 0; n < m.n; n++)
		if (ke_request_parse(m.b, n, &rq) != KE_PARSE_INCOMPLETE) {
			if (!bad)
				tap_diag("prefix of %zu bytes not INCOMPLETE", n);
			bad++;
		}
	tap_ok(bad == 0, "all %zu prefixes of a request are INCOMPLETE", m.n);
	tap_ok(ke_request_parse(m.b, m.n, &rq) == KE_PARSE_OK, "the whole request is OK");
}

/* ---- choosing ---- */

static void test_choose(void)
{
	struct ke_request rq = { .n_protos = 1, .has_protos = true };
	uint16_t aead = 0xffff;
	static const uint16_t ours[] = { AEAD_SIV_256, AEAD_SIV_512 };

	rq.protos[0] = KE_PROTO_NTPV4;
	rq.aeads[0] = AEAD_SIV_512;
	rq.aeads[1] = AEAD_SIV_256;
	rq.n_aeads = 2;
	tap_ok(ke_request_choose(&rq, ours, 2, &aead) == KE_CHOICE_OK && aead == AEAD_SIV_512,
	       "client prefers 17 over 15, we list 15 first: 17 (got %u)", aead);
	rq.aeads[0] = AEAD_SIV_256;
	rq.aeads[1] = AEAD_SIV_512;
	tap_ok(ke_request_choose(&rq, ours, 2, &aead) == KE_CHOICE_OK && aead == AEAD_SIV_256,
	       "client prefers 15 over 17: 15 (got %u)", aead);
	rq.aeads[0] = AEAD_GCM_SIV_128;
	rq.aeads[1] = AEAD_SIV_384;
	rq.aeads[2] = AEAD_SIV_256;
	rq.n_aeads = 3;
	tap_ok(ke_request_choose(&rq, ours, 2, &aead) == KE_CHOICE_OK && aead == AEAD_SIV_256,
	       "unsupported ones skipped: 15 (got %u)", aead);

	aead = 0xffff;
	rq.n_aeads = 2;
	tap_ok(ke_request_choose(&rq, ours, 2, &aead) == KE_CHOICE_NO_AEAD && aead == 0xffff,
	       "no common AEAD: NO_AEAD, aead untouched");
	tap_ok(ke_request_choose(&rq, ours, 0, &aead) == KE_CHOICE_NO_AEAD, "nothing supported: NO_AEAD");

	rq.protos[0] = 0x8001;
	tap_ok(ke_request_choose(&rq, ours, 2, &aead) == KE_CHOICE_NO_PROTOCOL && aead == 0xffff,
	       "NTPv4 not offered: NO_PROTOCOL");
	rq.protos[1] = KE_PROTO_NTPV4;
	rq.n_protos = 2;
	rq.n_aeads = 3;
	tap_ok(ke_request_choose(&rq, ours, 2, &aead) == KE_CHOICE_OK && aead == AEAD_SIV_256,
	       "NTPv4 second in the protocol list: OK");
}

/* ---- building ---- */

/* Walks a built message: the records' types and critical bits. */
static size_t walk(const uint8_t *b, size_t n, uint16_t *types, bool *crit, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i + 4 <= n && k < max;) {
		uint16_t t = (uint16_t)(b[i] << 8 | b[i + 1]), l = (uint16_t)(b[i + 2] << 8 | b[i + 3]);
		types[k] = t & 0x7fff;
		crit[k++] = t & 0x8000;
		i += 4u + l;
	}
	return k;
}

static void test_response_build(void)
{
	uint8_t out[4096], cookie[KE_MAX_COOKIES][KE_MAX_COOKIE_LEN + 1];
	struct ke_response r = { .choice = KE_CHOICE_OK, .aead = AEAD_SIV_256, .port = -1 };
	struct ke_response_parsed p;
	uint16_t types[16];
	bool crit[16];
	size_t n, k;

	for (size_t i = 0; i < KE_MAX_COOKIES; i++) {
		memset(cookie[i], (int)(0xa0 + i), sizeof(cookie[i]));
		r.cookies[i] = cookie[i];
		r.cookie_len[i] = 104;
	}
	r.n_cookies = KE_MAX_COOKIES;
	n = ke_response_build(out, sizeof(out), &r);
	tap_diag("response with 8 cookies of 104 bytes: %zu bytes", n);
	tap_ok(n == 6 + 6 + 8 * (4 + 104) + 4, "8 x 104-byte cookies: %zu bytes = records' sum", n);
	tap_ok(n > 0 && n < 1024, "well under NTPsec's 2 KB read (%zu < 1024)", n);
	k = walk(out, n, types, crit, 16);
	static const uint16_t want[] = { 1, 4, 5, 5, 5, 5, 5, 5, 5, 5, 0 };
	bool order = k == 11;
	for (size_t i = 0; order && i < k; i++)
		order = types[i] == want[i] && crit[i] == (types[i] != 5);
	tap_ok(order, "order Next Protocol, AEAD, 8 cookies, End; all critical but cookies");
	tap_ok(ke_response_parse(out, n, &p) == KE_PARSE_OK && p.ntpv4 && p.has_aead &&
	           p.aead == AEAD_SIV_256 && p.n_cookies == 8 && !p.cookies_unequal &&
	           !p.too_many_cookies && !p.has_server && !p.has_port && !p.has_error && p.consumed == n,
	       "round trip through ke_response_parse");
	bool same = p.n_cookies == 8;
	for (size_t i = 0; same && i < 8; i++)
		same = p.cookie_len[i] == 104 && !memcmp(p.cookies[i], cookie[i], 104);
	tap_ok(same, "cookies come back in order, byte for byte");

	/* Every buffer too small fails; exactly enough works. */
	size_t fits = 0, need = n;
	for (size_t max = 0; max < need; max++)
		fits += ke_response_build(out, max, &r) != 0;
	tap_ok(fits == 0, "every outmax below %zu returns 0", need);
	tap_ok(ke_response_build(out, need, &r) == need, "outmax = %zu fits", need);

	r.server = "ntp2.example.org";
	r.port = 4123;
	n = ke_response_build(out, sizeof(out), &r);
	k = walk(out, n, types, crit, 16);
	tap_ok(k == 13 && types[2] == 6 && crit[2] && types[3] == 7 && crit[3] && types[4] == 5,
	       "Server and Port after AEAD, before cookies, critical");
	tap_ok(ke_response_parse(out, n, &p) == KE_PARSE_OK && p.has_server &&
	           !strcmp(p.server, "ntp2.example.org") && p.has_port && p.port == 4123,
	       "Server and Port round trip");

	/* Refusals (§4.1.2, §4.1.5): empty lists, no cookies. */
	r.choice = KE_CHOICE_NO_PROTOCOL;
	n = ke_response_build(out, sizeof(out), &r);
	static const uint8_t no_proto[] = { 0x80, 1, 0, 0, 0x80, 0, 0, 0 };
	tap_ok(n == sizeof(no_proto) && !memcmp(out, no_proto, n), "NO_PROTOCOL: empty Next Protocol, End");
	tap_ok(ke_response_parse(out, n, &p) == KE_PARSE_OK && p.has_protos && p.n_protos == 0 &&
	           !p.ntpv4 && p.n_cookies == 0,
	       "NO_PROTOCOL response parses: no NTPv4");
	r.choice = KE_CHOICE_NO_AEAD;
	n = ke_response_build(out, sizeof(out), &r);
	static const uint8_t no_aead[] = { 0x80, 1, 0, 2, 0, 0, 0x80, 4, 0, 0, 0x80, 0, 0, 0 };
	tap_ok(n == sizeof(no_aead) && !memcmp(out, no_aead, n), "NO_AEAD: Next Protocol {0}, empty AEAD, End");
	tap_ok(ke_response_parse(out, n, &p) == KE_PARSE_OK && p.ntpv4 && p.has_aead_record &&
	           !p.has_aead && p.n_cookies == 0,
	       "NO_AEAD response parses: AEAD record, no AEAD");

	/* Invalid responses are not built. */
	r.choice = KE_CHOICE_OK;
	r.server = NULL;
	r.port = -1;
	r.n_cookies = 0;
	tap_ok(ke_response_build(out, sizeof(out), &r) == 0, "no cookies: 0 (§4.1.6 at least one)");
	r.n_cookies = KE_MAX_COOKIES + 1;
	tap_ok(ke_response_build(out, sizeof(out), &r) == 0, "9 cookies: 0");
	r.n_cookies = 2;
	r.cookie_len[1] = 0;
	tap_ok(ke_response_build(out, sizeof(out), &r) == 0, "empty cookie: 0");
	r.cookie_len[1] = KE_MAX_COOKIE_LEN + 1;
	tap_ok(ke_response_build(out, sizeof(out), &r) == 0, "cookie of 513 bytes: 0");
	r.cookie_len[1] = KE_MAX_COOKIE_LEN;
	tap_ok(ke_response_build(out, sizeof(out), &r) > 0, "cookie of 512 bytes: built");
	r.cookies[1] = NULL;
	tap_ok(ke_response_build(out, sizeof(out), &r) == 0, "NULL cookie: 0");
	r.cookies[1] = cookie[1];
	static const int bad_ports[] = { -2, 0, 65536 };
	for (size_t i = 0; i < 3; i++) {
		r.port = bad_ports[i];
		tap_ok(ke_response_build(out, sizeof(out), &r) == 0, "port %d: 0", bad_ports[i]);
	}
	r.port = 65535;
	tap_ok(ke_response_build(out, sizeof(out), &r) > 0, "port 65535: built");
	r.port = -1;
	r.server = "bad host";
	tap_ok(ke_response_build(out, sizeof(out), &r) == 0, "server 'bad host': 0");
	r.server = "";
	tap_ok(ke_response_build(out, sizeof(out), &r) == 0, "empty server: 0");
	r.choice = (enum ke_choice)7;
	tap_ok(ke_response_build(out, sizeof(out), &r) == 0, "unknown choice: 0");
}

static void test_error_build(void)
{
	uint8_t out[64];
	struct ke_response_parsed p;
	static const uint8_t want[] = { 0x80, 2, 0, 2, 0, 1, 0x80, 0, 0, 0 };
	size_t n = ke_error_build(out, sizeof(out), KE_ERR_BAD_REQUEST);

	tap_ok(n == sizeof(want) && !memcmp(out, want, n), "Bad Request: critical Error {1}, End");
	for (uint16_t code = 0; code <= 2; code++) {
		n = ke_error_build(out, sizeof(out), code);
		tap_ok(ke_response_parse(out, n, &p) == KE_PARSE_OK && p.has_error && p.error == code &&
		           !p.has_protos && p.n_cookies == 0,
		       "error %u response parses as an error", code);
	}
	size_t fits = 0;
	for (size_t max = 0; max < sizeof(want); max++)
		fits += ke_error_build(out, max, 1) != 0;
	tap_ok(fits == 0 && ke_error_build(out, sizeof(want), 1) == sizeof(want),
	       "error response: 0 below %zu bytes, built at exactly %zu", sizeof(want), sizeof(want));
}

static void test_request_build(void)
{
	uint8_t out[512];
	struct ke_request rq;
	uint16_t types[8];
	bool crit[8];
	static const uint16_t aeads[] = { AEAD_SIV_512, AEAD_SIV_256 };
	size_t n = ke_request_build(out, sizeof(out), aeads, 2, "ntp.example.net", 4123), k;

	tap_ok(n == 6 + 8 + 4 + 15 + 6 + 4, "request with server and port: %zu bytes", n);
	tap_ok(ke_request_parse(out, n, &rq) == KE_PARSE_OK && rq.n_protos == 1 &&
	           rq.protos[0] == KE_PROTO_NTPV4 && rq.n_aeads == 2 && rq.aeads[0] == AEAD_SIV_512 &&
	           rq.aeads[1] == AEAD_SIV_256 && !strcmp(rq.server, "ntp.example.net") &&
	           rq.port == 4123,
	       "request round trip");
	k = walk(out, n, types, crit, 8);
	tap_ok(k == 5 && types[0] == 1 && crit[0] && types[1] == 4 && crit[1] && types[2] == 6 &&
	           !crit[2] && types[3] == 7 && !crit[3] && types[4] == 0 && crit[4],
	       "request records and critical bits (Server/Port clear, §4.1.7/§4.1.8)");

	n = ke_request_build(out, sizeof(out), aeads, 1, NULL, -1);
	static const uint8_t minimal[] = { 0x80, 1, 0, 2, 0, 0, 0x80, 4, 0, 2, 0, 17, 0x80, 0, 0, 0 };
	tap_ok(n == sizeof(minimal) && !memcmp(out, minimal, n), "minimal request bytes");
	size_t fits = 0;
	for (size_t max = 0; max < sizeof(minimal); max++)
		fits += ke_request_build(out, max, aeads, 1, NULL, -1) != 0;
	tap_ok(fits == 0, "request: every outmax below %zu returns 0", sizeof(minimal));

	uint16_t many[KE_MAX_AEADS + 1] = { 0 };
	tap_ok(ke_request_build(out, sizeof(out), many, KE_MAX_AEADS, NULL, -1) > 0, "%d AEADs: built", KE_MAX_AEADS);
	tap_ok(ke_request_build(out, sizeof(out), many, KE_MAX_AEADS + 1, NULL, -1) == 0, "%d AEADs: 0",
	       KE_MAX_AEADS + 1);
	tap_ok(ke_request_build(out, sizeof(out), aeads, 0, NULL, -1) == 0, "no AEAD: 0 (§4.1.5 at least one)");
	tap_ok(ke_request_build(out, sizeof(out), NULL, 1, NULL, -1) == 0, "NULL aeads: 0");
	tap_ok(ke_request_build(out, sizeof(out), aeads, 1, "a b", -1) == 0, "bad server: 0");
	tap_ok(ke_request_build(out, sizeof(out), aeads, 1, NULL, 0) == 0, "port 0: 0");
	tap_ok(ke_request_build(out, sizeof(out), aeads, 1, NULL, 65536) == 0, "port 65536: 0");
	tap_ok(ke_request_build(out, sizeof(out), aeads, 1, NULL, -2) == 0, "port -2: 0");
}

/* ---- response parsing ---- */

static void start_response(struct msg *m)
{
	m->n = 0;
	add_u16(m, 1, true, 0);
	add_u16(m, 4, true, AEAD_SIV_256);
}

static void expect_bad_response(const struct msg *m, const char *text, const char *what)
{
	struct ke_response_parsed p;
	enum ke_parse r = ke_response_parse(m->b, m->n, &p);
	tap_ok(r == KE_PARSE_ERROR && !strcmp(p.error_detail, text), "response %s: '%s' (got %d '%s')", what,
	       text, (int)r, r == KE_PARSE_ERROR ? p.error_detail : "");
}

static void test_response_parse(void)
{
	struct msg m;
	struct ke_response_parsed p;
	uint8_t c[600];

	memset(c, 0x5a, sizeof(c));
	start_response(&m);
	for (int i = 0; i < 10; i++)
		add(&m, 5, false, c, 100);
	add_end(&m);
	tap_ok(ke_response_parse(m.b, m.n, &p) == KE_PARSE_OK && p.n_cookies == KE_MAX_COOKIES &&
	           p.too_many_cookies,
	       "10 cookies: 8 kept, too_many_cookies");

	start_response(&m);
	add(&m, 5, false, c, 100);
	add(&m, 5, false, c, 104);
	add_end(&m);
	tap_ok(ke_response_parse(m.b, m.n, &p) == KE_PARSE_OK && p.n_cookies == 2 && p.cookies_unequal,
	       "cookies of 100 and 104 bytes: cookies_unequal");

	start_response(&m);
	add(&m, 5, true, c, 100);
	add(&m, 0x4000, false, c, 9);
	add_u16(&m, 3, true, 7);
	add_end(&m);
	tap_ok(ke_response_parse(m.b, m.n, &p) == KE_PARSE_OK && p.n_cookies == 1 && p.has_warning &&
	           p.warning == 7,
	       "critical cookie, unknown non-critical record and a Warning are accepted");

	start_response(&m);
	add_u16(&m, 4, true, AEAD_SIV_256);
	add(&m, 5, false, c, 100);
	add_end(&m);
	expect_bad_response(&m, "repeated AEAD record", "with two AEAD records");
	m.n = 0;
	add_u16(&m, 1, true, 0);
	uint16_t two[] = { AEAD_SIV_256, AEAD_SIV_512 };
	add_list(&m, 4, true, two, 2);
	add_end(&m);
	expect_bad_response(&m, "server must choose at most one AEAD", "AEAD record with two IDs");
	m.n = 0;
	add_u16(&m, 1, true, 0);
	add(&m, 4, true, "\0", 1);
	add_end(&m);
	expect_bad_response(&m, "server must choose at most one AEAD", "AEAD record of 1 byte");
	start_response(&m);
	add(&m, 999, true, NULL, 0);
	add_end(&m);
	expect_bad_response(&m, "unknown critical record type 999", "unknown critical record");
	start_response(&m);
	add(&m, 5, false, NULL, 0);
	add_end(&m);
	expect_bad_response(&m, "bad cookie length 0", "empty cookie");
	start_response(&m);
	add(&m, 5, false, c, KE_MAX_COOKIE_LEN + 1);
	add_end(&m);
	expect_bad_response(&m, "bad cookie length 513", "cookie of 513 bytes");
	m.n = 0;
	add_u16(&m, 4, true, AEAD_SIV_256);
	add(&m, 5, false, c, 100);
	add_end(&m);
	expect_bad_response(&m, "no Next Protocol record", "without Next Protocol");
	m.n = 0;
	add_u16(&m, 1, true, 0);
	add(&m, 5, false, c, 100);
	add_end(&m);
	expect_bad_response(&m, "no AEAD record", "NTPv4 without AEAD record");
	start_response(&m);
	add_u16(&m, 1, true, 0);
	add_end(&m);
	expect_bad_response(&m, "repeated Next Protocol record", "two Next Protocol records");
	m.n = 0;
	add_u16(&m, 1, false, 0);
	add_u16(&m, 4, true, AEAD_SIV_256);
	add_end(&m);
	expect_bad_response(&m, "Next Protocol record not critical", "non-critical Next Protocol");
	m.n = 0;
	add(&m, 1, true, "\0", 1);
	add_end(&m);
	expect_bad_response(&m, "bad Next Protocol list length", "odd Next Protocol");
	start_response(&m);
	add(&m, 2, true, "\0", 1);
	add_end(&m);
	expect_bad_response(&m, "bad Error record length", "Error of 1 byte");
	start_response(&m);
	add(&m, 3, true, "\0\0\0", 3);
	add_end(&m);
	expect_bad_response(&m, "bad Warning record length", "Warning of 3 bytes");
	start_response(&m);
	add_str(&m, 6, true, "a.example");
	add_str(&m, 6, true, "b.example");
	add_end(&m);
	expect_bad_response(&m, "repeated NTPv4 Server record", "two Server records");
	start_response(&m);
	add_str(&m, 6, true, "a example");
	add_end(&m);
	expect_bad_response(&m, "bad NTPv4 Server record", "Server with a space");
	start_response(&m);
	add_u16(&m, 7, true, 123);
	add_u16(&m, 7, true, 123);
	add_end(&m);
	expect_bad_response(&m, "repeated NTPv4 Port record", "two Port records");
	start_response(&m);
	add_u16(&m, 7, true, 0);
	add_end(&m);
	expect_bad_response(&m, "bad NTPv4 Port record", "Port 0");
	start_response(&m);
	add_end(&m);
	add_end(&m);
	expect_bad_response(&m, "data after End of Message", "record after End");
	start_response(&m);
	add(&m, 0, true, "\0\0", 2);
	expect_bad_response(&m, "bad End of Message record", "End with a body");
	start_response(&m);
	add(&m, 0, false, NULL, 0);
	expect_bad_response(&m, "bad End of Message record", "End without critical bit");

	/* An Error response with other records: the first code is kept. */
	m.n = 0;
	add_u16(&m, 2, true, KE_ERR_INTERNAL);
	add_u16(&m, 2, true, KE_ERR_BAD_REQUEST);
	add_end(&m);
	tap_ok(ke_response_parse(m.b, m.n, &p) == KE_PARSE_OK && p.has_error && p.error == KE_ERR_INTERNAL,
	       "two Error records: first code kept");

	/* Size limit: 16384 bytes of cookies and no End of Message. */
	start_response(&m);
	while (m.n + 4 + 500 <= KE_MAX_MESSAGE)
		add(&m, 5, false, c, 500);
	add(&m, 0x4000, false, c, KE_MAX_MESSAGE - m.n - 4);
	tap_ok(m.n == KE_MAX_MESSAGE && ke_response_parse(m.b, m.n - 1, &p) == KE_PARSE_INCOMPLETE,
	       "response of 16383 bytes without End: INCOMPLETE");
	expect_bad_response(&m, "response longer than 16384 bytes", "of 16384 bytes without End");
}

/* ---- real responses ---- */

struct vec_rec {
	uint16_t type;
	bool critical;
	const char *body;
};

static const struct vec_rec chrony_records[] = {
	{ 1, true,
	    "0000" },
	{ 4, true,
	    "000f" },
	{ 5, false,
	    "893f78f7a989b4c3ddb9067f5cd494c803a4ca82ab097689b61f1843f1d6242ba75a036972f34a9ce197198701785512"
	    "b5bcb90a1c623c6d37187cbe5b880a44506480a86b1f4938b768c2fc92ea81791a6fb53664ce4cde02f3afd7cba90fdb"
	    "db9f8d23" },
	{ 5, false,
	    "893f78f7e3a5528df9a2fc4163afa5317fb91373923386242bd65c43263156292a0f3b1dde88153308bf0bc57dd5e7c7"
	    "effb1990134d45e6ac41a4ab8138fd78fc994cd1117d0bf5805ac2adfbf493e89c6f488cc6259f1a6c270a55dbb2efb0"
	    "3a40fddd" },
	{ 5, false,
	    "893f78f7371dfbe49ea5f0746a22582b9c7ffeae23a9c954a53a67bc27fb38c616caede79ad61498b8f32d9eed560b34"
	    "9bf69b6a0cd8fa78585166560ed06a49ec17c646882fb3cb90b424c22ac3caaf93a10f44b8b2f56f17f06309bf2c00c6"
	    "31e4c929" },
	{ 5, false,
	    "893f78f70c012414783bb4fa330d079d31cc12a2419c6c277eb81dd7ec5dc7218242a7634cff578daf0480296b746966"
	    "ed3409d015fda4c9b8773293e68911c50ca9c2c0ebb3f7c1bd74448f96ccb1d638384fc30d17a565238b05a5cc99af63"
	    "5400a0e0" },
	{ 5, false,
	    "893f78f7acc41bb98abd27b0da4d14936a087801676edefd6576a1211f8839b95d4710a1652b3cb10afed8a8d5c52659"
	    "b7466c5e005813cdd0ab00a01fbd8d412c661e2db8532a03b48b34260a7e16b78a41ba52106e25fb88545939ffe78d35"
	    "ff36f312" },
	{ 5, false,
	    "893f78f7074699942f88283c27aa5fa14c9a0cbb0f5d434a310c6f87647c00f1221b7b1a396e70da1969e9cbecebc0f5"
	    "35494aa4e210a448ac3e1ec38eb157f72e0437abfd11bb11ac79ae21f8a0b501d32daa0bbd91bc955ed0a9315d7f566e"
	    "86dcff23" },
	{ 5, false,
	    "893f78f741093e18de7d21fca8d4ad426310e02e597af7683e03c42b6ad6782637fb9be4fab93375221ac2a6398cf2cd"
	    "1e9393c5c4f3dbb94ecee6cc5c57840e8ce7bd8ec1569cbfc07dd334206d7fe6bdb7a08aea7b3d97043ce15d4257b48e"
	    "179bcae3" },
	{ 5, false,
	    "893f78f78b83fe94e7dcf470efaf92acc4dc6bbbc712f747a75abbdee909edb8ddb331a8de981fed89b652522305a919"
	    "773faf82a6020f21cb7845296fb332f23c4c5b8177d6775a97b6300861489630a7b617eb59812dbff7c4402eaf5aa0de"
	    "f51e3199" },
	{ 0, true,
	    "" },
};
static const struct vec_rec ntpsec_records[] = {
	{ 1, true,
	    "0000" },
	{ 4, false,
	    "000f" },
	{ 5, false,
	    "6a23c649c3cfe940090db82c1e6d9f1222f438f02757328001f04c552d91e19780297a8c28b339bd3981d7d4c6bbf20d"
	    "1655e04424ecc5b9967ca590a756792b2dfbef949c1ec6c53256c859754716b13abcc0bfa57927d423f5547c7deb0827"
	    "f3f7ca604389897b" },
	{ 5, false,
	    "6a23c6495af35fda157e3245e1189695fa3b6b7a29a5936d0a42ad68354d22ad10e99cedb4df6c155b20789eecb98909"
	    "92107ef7e1155387e5de7cc2126d40fd706ee3bf9160dc02b94466e2ab0af2f6b4b7f4e72bdeddb38048f73bb066b20b"
	    "cf371d722fea0d2a" },
	{ 5, false,
	    "6a23c6498526e905334bd1d76ec859b5770cd3b4d8f377dc39cdda8175efd8b261c89c14862993db78fca57b6210e1a3"
	    "7dafac4441fc320021a5a1d579f1cd152c785f4135508baea75ebacf1b5b29208db6838a3627c9e50b8b0250137b18ae"
	    "f741441eb7795961" },
	{ 5, false,
	    "6a23c649d7dac87084748ce3e138490c84d22c5161e5521871b03e5ab487178bdddf46c97b61c7564ea7d7c6a12732e4"
	    "066cbc277f5ebed831bfee434d3b87687b00c02e021801c7eee006f5800351246619a3f8b7df18fab01eaf210c5c42eb"
	    "2be8793ec40ca46d" },
	{ 5, false,
	    "6a23c64920e1efb1a3d87dc285f1b5edec920b5fc9b84e64eff073a93fb17fac6f63749b09f847cbb989374f53f9f3c3"
	    "68627827f19f9fb1a76c24e5a819f408982d7e6c9663f9adcd9316d4f0315faa38fb3670e692bad8ec3844063fafe339"
	    "b0138ad455033d11" },
	{ 5, false,
	    "6a23c649c30fb4e5772621e84f01073a9e67aa8d342b72689b3e0de568ad455a39740ec54a683d28f067d606e1c73177"
	    "e2c092a956ddc9b0a111b2b0c0f8a8a5268caf93fc9b779d4abf3e1695bef32bef6a5a6674e8c92edbe6d8ed6470f339"
	    "5c3cbb0e98f90d41" },
	{ 5, false,
	    "6a23c649343f03dc8dae4ed51e61e54f57b05ff868b00cc50b8c4a11b03de1fb6407266aab7614b24cdf99a933456048"
	    "34e13602b59dd93a15bc3ab7d1dc20062ecccec05269233d3677551d163b960e0a7e5be0be691fae801dd953822e6fcf"
	    "9a8c5db360c1cdd2" },
	{ 5, false,
	    "6a23c649b75c9abd0a85ffa69911e30dc2aff8dfb90c3b8d53291a67952a138b586f67ec1f2c0dcb6b0fe92413a42b79"
	    "84017a057e797f6e6dee92b917f8c6c73aa2b609becfb049964aef3451242e0dba8c316a8219902ee8b6032252a01dc2"
	    "90a5bfb8353117cc" },
	{ 0, true,
	    "" },
};

static void encode(struct msg *m, const struct vec_rec *v, size_t n)
{
	uint8_t body[600];
	m->n = 0;
	for (size_t i = 0; i < n; i++)
		add(m, v[i].type, v[i].critical, body, hex_decode(v[i].body, body, sizeof(body)));
}

/* The NTS request of the same session carries the first cookie (an NTS
 * Cookie field, RFC 8915 §5.4). */
static bool cookie_in_request(const char *name, const uint8_t *cookie, size_t len)
{
	static uint8_t pkt[2048];
	for (size_t i = 0; i < sizeof(nts_vectors) / sizeof(nts_vectors[0]); i++)
		if (!strcmp(nts_vectors[i].name, name)) {
			size_t n = hex_decode(nts_vectors[i].request, pkt, sizeof(pkt));
			return memmem(pkt, n, cookie, len) != NULL;
		}
	return false;
}

static void test_vector(const char *name, const struct vec_rec *v, size_t nrec, size_t cookie_len)
{
	static struct msg m;
	struct ke_response_parsed p;
	size_t bad = 0;

	encode(&m, v, nrec);
	tap_ok(ke_response_parse(m.b, m.n, &p) == KE_PARSE_OK, "%s KE response (%zu bytes) parses", name, m.n);
	tap_ok(!p.has_error && !p.has_warning && p.ntpv4 && p.n_protos == 1, "%s: NTPv4, no error", name);
	tap_ok(p.has_aead && p.aead == AEAD_SIV_256, "%s: AEAD 15 (got %u)", name, p.aead);
	tap_ok(p.n_cookies == 8 && !p.too_many_cookies && !p.cookies_unequal, "%s: 8 equal cookies", name);
	bool lens = p.n_cookies == 8;
	for (size_t i = 0; lens && i < p.n_cookies; i++)
		lens = p.cookie_len[i] == cookie_len;
	tap_ok(lens, "%s: cookies of %zu bytes", name, cookie_len);
	tap_ok(p.n_cookies && cookie_in_request(name, p.cookies[0], p.cookie_len[0]),
	       "%s: the first cookie is the one its NTS request carried", name);
	tap_ok(!p.has_server && !p.has_port && p.consumed == m.n, "%s: no Server/Port, all consumed", name);
	for (size_t n = 0; n < m.n; n++)
		bad += ke_response_parse(m.b, n, &p) != KE_PARSE_INCOMPLETE;
	tap_ok(bad == 0, "%s: all %zu prefixes are INCOMPLETE", name, m.n);
}

/* ---- random input ---- */

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static void test_random(void)
{
	static struct msg base[3], m;
	struct ke_request rq;
	struct ke_response_parsed p;
	const char *env = getenv("KE_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	size_t bad_result = 0, bad_fields = 0, counts[3][3] = { { 0 } };
	const int rounds = 50000;

	tap_diag("random seed %llu (replay: KE_SEED=%llu)", (unsigned long long)seed, (unsigned long long)seed);
	rng = seed ? seed : 1;
	full_request(&base[0]);
	encode(&base[1], chrony_records, sizeof(chrony_records) / sizeof(chrony_records[0]));
	encode(&base[2], ntpsec_records, sizeof(ntpsec_records) / sizeof(ntpsec_records[0]));
	for (int i = 0; i < rounds; i++) {
		uint32_t kind = rnd() % 5;
		if (kind == 0) { /* garbage */
			m.n = rnd() % 400;
			for (size_t k = 0; k < m.n; k++)
				m.b[k] = (uint8_t)rnd();
		} else { /* a real message, damaged */
			m = base[rnd() % 3];
			if (kind == 1 || kind == 4) {
				uint32_t flips = 1 + rnd() % 4;
				for (uint32_t f = 0; f < flips; f++)
					m.b[rnd() % m.n] ^= (uint8_t)(1u << (rnd() % 8));
			}
			if (kind == 2 || kind == 4)
				m.n = rnd() % (m.n + 1);
			if (kind == 3) { /* overwrite a record header byte */
				m.b[rnd() % (m.n < 16 ? m.n : 16)] = (uint8_t)rnd();
				m.b[m.n - 1 - rnd() % 4] = (uint8_t)rnd();
			}
		}
		enum ke_parse a = ke_request_parse(m.b, m.n, &rq);
		enum ke_parse b = ke_response_parse(m.b, m.n, &p);
		if (a > KE_PARSE_ERROR || b > KE_PARSE_ERROR) {
			bad_result++;
			continue;
		}
		counts[0][a]++;
		counts[1][b]++;
		if ((a == KE_PARSE_OK && rq.consumed != m.n) || (b == KE_PARSE_OK && p.consumed != m.n) ||
		    (a == KE_PARSE_ERROR && (rq.error > KE_ERR_BAD_REQUEST || !rq.error_detail[0])) ||
		    (b == KE_PARSE_ERROR && !p.error_detail[0]) || rq.n_aeads > KE_MAX_AEADS ||
		    rq.n_protos > KE_MAX_PROTOS || p.n_cookies > KE_MAX_COOKIES ||
		    strnlen(rq.server, sizeof(rq.server)) > KE_MAX_HOST ||
		    strnlen(p.server, sizeof(p.server)) > KE_MAX_HOST) {
			if (!bad_fields)
				tap_diag("first inconsistent result in round %d", i);
			bad_fields++;
		}
		for (size_t k = 0; b == KE_PARSE_OK && k < p.n_cookies; k++)
			if (p.cookies[k] < m.b || p.cookies[k] + p.cookie_len[k] > m.b + m.n)
				bad_fields++;
	}
	tap_diag("request OK/INCOMPLETE/ERROR %zu/%zu/%zu, response %zu/%zu/%zu", counts[0][0], counts[0][1],
	         counts[0][2], counts[1][0], counts[1][1], counts[1][2]);
	tap_ok(bad_result == 0, "%d random inputs: every result is OK, INCOMPLETE or ERROR", rounds);
	tap_ok(bad_fields == 0, "%d random inputs: results consistent (consumed, codes, bounds)", rounds);
	tap_ok(counts[0][0] && counts[0][1] && counts[0][2] && counts[1][0] && counts[1][1] && counts[1][2],
	       "random inputs reached all three outcomes of both parsers");
}

/* RFC 8915 §5.1: context = Protocol ID (0x0000, NTPv4) || AEAD ID ||
 * 0x00 (C2S) or 0x01 (S2C); label from tls.h. */
static void test_exporter_context(void)
{
	static const struct {
		uint16_t aead;
		bool s2c;
		uint8_t want[5];
	} v[] = {
		{ 15, false, { 0x00, 0x00, 0x00, 0x0f, 0x00 } },
		{ 15, true, { 0x00, 0x00, 0x00, 0x0f, 0x01 } },
		{ 16, false, { 0x00, 0x00, 0x00, 0x10, 0x00 } },
		{ 17, true, { 0x00, 0x00, 0x00, 0x11, 0x01 } },
		{ 0x1234, true, { 0x00, 0x00, 0x12, 0x34, 0x01 } },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t ctx[KE_EXPORTER_CONTEXT_LEN];
		memset(ctx, 0xa5, sizeof(ctx));
		ke_exporter_context(v[i].aead, v[i].s2c, ctx);
		tap_ok(memcmp(ctx, v[i].want, sizeof(ctx)) == 0, "exporter context aead %u %s",
		       (unsigned)v[i].aead, v[i].s2c ? "S2C" : "C2S");
	}
	tap_ok(strcmp(TLS_EXPORTER_LABEL, "EXPORTER-network-time-security") == 0, "exporter label");
}

int main(void)
{
	test_constants();
	test_exporter_context();
	test_request_ok();
	test_request_errors();
	test_request_size();
	test_request_prefixes();
	test_choose();
	test_response_build();
	test_error_build();
	test_request_build();
	test_response_parse();
	test_vector("chrony", chrony_records, sizeof(chrony_records) / sizeof(chrony_records[0]), 100);
	test_vector("ntpsec", ntpsec_records, sizeof(ntpsec_records) / sizeof(ntpsec_records[0]), 104);
	test_random();
	return tap_done();
}
