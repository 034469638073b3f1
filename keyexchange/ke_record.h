/* NTS-KE records (RFC 8915 §4): the codec for requests and responses.
 * A record is: critical bit + 15-bit type, 16-bit body length, body; a
 * message is a sequence of records ending with End of Message. Pure codec:
 * no I/O, no logging, no allocation; every function is hot-path safe. */
#ifndef NTSD_KEYEXCHANGE_KE_RECORD_H
#define NTSD_KEYEXCHANGE_KE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Record types, RFC 8915 §4.1.1-§4.1.8 (IANA "NTS Key Establishment
 * Record Types"). */
enum {
	KE_REC_END = 0,           /* End of Message, critical, empty */
	KE_REC_NEXT_PROTOCOL = 1, /* NTS Next Protocol Negotiation, critical */
	KE_REC_ERROR = 2,         /* Error, critical, u16 code */
	KE_REC_WARNING = 3,       /* Warning, critical, u16 code */
	KE_REC_AEAD = 4,          /* AEAD Algorithm Negotiation, critical optional */
	KE_REC_NEW_COOKIE = 5,    /* New Cookie for NTPv4, never critical */
	KE_REC_NTP_SERVER = 6,    /* NTPv4 Server Negotiation, ASCII */
	KE_REC_NTP_PORT = 7,      /* NTPv4 Port Negotiation, u16 */
};

/* Error codes, RFC 8915 §4.1.3. */
enum { KE_ERR_UNRECOGNIZED_CRITICAL = 0, KE_ERR_BAD_REQUEST = 1, KE_ERR_INTERNAL = 2 };

#define KE_CRITICAL_BIT 0x8000
#define KE_PROTO_NTPV4 0 /* Next Protocol ID, RFC 8915 §7.7 */

#define KE_MAX_MESSAGE 16384  /* bytes we accept in one message */
#define KE_MAX_COOKIES 8      /* cookies sent and kept (§4.1.6 "SHOULD send eight") */
#define KE_MAX_COOKIE_LEN 512 /* longest cookie we send or accept */
#define KE_MAX_AEADS 16       /* AEAD IDs kept from a request */
#define KE_MAX_PROTOS 16      /* Next Protocol IDs kept */
#define KE_MAX_HOST 255       /* NTPv4 Server Negotiation body */
#define KE_DETAIL_LEN 64      /* error_detail, NUL included */

enum ke_parse {
	KE_PARSE_OK,         /* a complete message ending in End of Message */
	KE_PARSE_INCOMPLETE, /* no End of Message yet, nothing wrong so far */
	KE_PARSE_ERROR,      /* malformed: see error / error_detail */
};

/* A parsed client request. */
struct ke_request {
	uint16_t protos[KE_MAX_PROTOS]; /* first KE_MAX_PROTOS IDs, client order */
	size_t n_protos;
	bool has_protos;
	bool protos_truncated; /* the client listed more */
	uint16_t aeads[KE_MAX_AEADS]; /* first KE_MAX_AEADS IDs, client preference order */
	size_t n_aeads;
	bool has_aeads;
	bool aeads_truncated; /* the client listed more */
	bool has_server, has_port;
	char server[KE_MAX_HOST + 1]; /* NUL-terminated */
	uint16_t port;
	size_t consumed;                   /* bytes up to and including End of Message */
	uint16_t error;                    /* on KE_PARSE_ERROR: the Error code to send */
	char error_detail[KE_DETAIL_LEN];  /* on KE_PARSE_ERROR: text for debug logs */
};

/* Parses a client request from the start of msg (call again with the whole
 * buffer when more bytes arrive). INCOMPLETE: read more. ERROR: send an Error
 * record with rq->error; also for more than KE_MAX_MESSAGE bytes. */
enum ke_parse ke_request_parse(const uint8_t *msg, size_t len, struct ke_request *rq);

enum ke_choice {
	KE_CHOICE_OK,          /* NTPv4 and an AEAD agreed: send cookies */
	KE_CHOICE_NO_PROTOCOL, /* NTPv4 not offered: empty Next Protocol record */
	KE_CHOICE_NO_AEAD,     /* no common AEAD: empty AEAD record, no cookies */
};

/* Negotiates with a parsed request: *aead = the first AEAD in the client's
 * order that is in supported (set only for KE_CHOICE_OK). A refusal is not
 * an Error record but an empty list (RFC 8915 §4.1.2, §4.1.5). */
enum ke_choice ke_request_choose(const struct ke_request *rq, const uint16_t *supported,
                                 size_t n_supported, uint16_t *aead);

/* What the server answers to a well-formed request. */
struct ke_response {
	enum ke_choice choice; /* not OK: the empty record, nothing else */
	uint16_t aead;         /* for KE_CHOICE_OK */
	const uint8_t *cookies[KE_MAX_COOKIES];
	size_t cookie_len[KE_MAX_COOKIES]; /* each 1..KE_MAX_COOKIE_LEN */
	size_t n_cookies;                  /* 1..KE_MAX_COOKIES for KE_CHOICE_OK */
	const char *server; /* NULL: no NTPv4 Server Negotiation record */
	int port;           /* -1: no NTPv4 Port Negotiation record, else 1..65535 */
};

/* Server response: Next Protocol, AEAD, [Server], [Port], cookies, End of
 * Message. Returns its length, or 0 if it does not fit in outmax or r is
 * invalid (cookie count or lengths, host name, port). */
size_t ke_response_build(uint8_t *out, size_t outmax, const struct ke_response *r);

/* Error response: an Error record with code, then End of Message (an error
 * response carries no Next Protocol record). Returns its length or 0. */
size_t ke_error_build(uint8_t *out, size_t outmax, uint16_t code);

/* TLS exporter (RFC 8915 §5.1; label TLS_EXPORTER_LABEL): the 5-byte context for the
 * C2S (s2c false) or S2C key: Protocol ID 0 (NTPv4, 2 bytes), the AEAD
 * algorithm ID (2 bytes), then 0x00 for C2S or 0x01 for S2C. */
#define KE_EXPORTER_CONTEXT_LEN 5
void ke_exporter_context(uint16_t aead, bool s2c, uint8_t out[KE_EXPORTER_CONTEXT_LEN]);

/* Client request: Next Protocol (NTPv4), AEAD (1..KE_MAX_AEADS IDs in
 * preference order), optional Server (NULL: none) and Port (-1: none), End of
 * Message. Returns its length, or 0 if it does not fit or an argument is bad. */
size_t ke_request_build(uint8_t *out, size_t outmax, const uint16_t *aeads, size_t n_aeads,
                        const char *server_or_null, int port_or_minus1);

/* A parsed server response; cookies point into the parsed message. */
struct ke_response_parsed {
	uint16_t protos[KE_MAX_PROTOS];
	size_t n_protos;
	bool has_protos, ntpv4; /* ntpv4: the server accepted NTPv4 */
	bool has_aead_record;   /* present, possibly empty (no common AEAD) */
	bool has_aead;          /* the server chose aead */
	uint16_t aead;
	const uint8_t *cookies[KE_MAX_COOKIES];
	size_t cookie_len[KE_MAX_COOKIES];
	size_t n_cookies;
	bool cookies_unequal;  /* NTPsec's client would refuse these */
	bool too_many_cookies; /* more than KE_MAX_COOKIES; the first ones kept */
	bool has_server, has_port, has_error;
	bool has_warning; /* §4.1.4: unknown warning codes (all, today) are errors */
	char server[KE_MAX_HOST + 1];
	uint16_t port, error, warning; /* the first Error / Warning record's code */
	size_t consumed;
	char error_detail[KE_DETAIL_LEN]; /* on KE_PARSE_ERROR */
};

/* Parses a server response. OK means well-formed, not successful: check
 * has_error, ntpv4, has_aead and n_cookies. ERROR: a malformed response
 * (unknown critical record, two AEADs, ...), described in error_detail. */
enum ke_parse ke_response_parse(const uint8_t *msg, size_t len, struct ke_response_parsed *r);

#endif
