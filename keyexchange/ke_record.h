/* NTS-KE records (RFC 8915 §4): codec only, no I/O, no allocation.
 * A record is: critical bit + 15-bit type, 16-bit body length, body. */
#ifndef NTSD_KEYEXCHANGE_KE_RECORD_H
#define NTSD_KEYEXCHANGE_KE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	KE_REC_END = 0,
	KE_REC_NEXT_PROTOCOL = 1,
	KE_REC_ERROR = 2,
	KE_REC_WARNING = 3,
	KE_REC_AEAD = 4,
	KE_REC_NEW_COOKIE = 5,
	KE_REC_NTP_SERVER = 6,
	KE_REC_NTP_PORT = 7,
};

enum { KE_ERR_UNRECOGNIZED_CRITICAL = 0, KE_ERR_BAD_REQUEST = 1, KE_ERR_INTERNAL = 2 };

#define KE_CRITICAL_BIT 0x8000
#define KE_PROTO_NTPV4 0
#define KE_MAX_MESSAGE 16384
#define KE_MAX_COOKIES 8
#define KE_MAX_COOKIE_LEN 512
#define KE_MAX_AEADS 16
#define KE_MAX_PROTOS 16
#define KE_MAX_HOST 255

enum ke_parse { KE_PARSE_OK, KE_PARSE_INCOMPLETE, KE_PARSE_ERROR };

struct ke_request {
	uint16_t protos[KE_MAX_PROTOS];
	size_t n_protos;
	bool has_protos;
	uint16_t aeads[KE_MAX_AEADS];
	size_t n_aeads;
	bool has_aeads;
	bool has_server, has_port;
	char server[KE_MAX_HOST + 1];
	uint16_t port;
	size_t consumed;          /* bytes up to and including End of Message */
	uint16_t error;           /* on KE_PARSE_ERROR: the error code to send */
	const char *error_detail; /* static text for debug logs */
};

/* Parses a client request (RFC 8915 §4.1). INCOMPLETE: no End of Message
 * yet and nothing wrong so far (read more). ERROR: rq->error says which
 * error record to send. Unknown non-critical records are ignored. */
enum ke_parse ke_request_parse(const uint8_t *msg, size_t len, struct ke_request *rq);

enum ke_choice { KE_CHOICE_OK, KE_CHOICE_NO_PROTOCOL, KE_CHOICE_NO_AEAD };

/* Picks the AEAD: the first of the client's list (its preference order)
 * that is in supported. When NTPv4 is not offered the response carries an
 * empty Next Protocol record (§4.1.2); when no AEAD is acceptable, an empty
 * AEAD record and no cookies (§4.1.5). */
enum ke_choice ke_request_choose(const struct ke_request *rq, const uint16_t *supported,
                                 size_t n_supported, uint16_t *aead);

struct ke_response {
	enum ke_choice choice; /* not OK: empty record, no cookies */
	uint16_t aead;
	const uint8_t *cookies[KE_MAX_COOKIES];
	size_t cookie_len[KE_MAX_COOKIES];
	size_t n_cookies;
	const char *server; /* NULL: no NTPv4 Server Negotiation record */
	int port;           /* -1: no NTPv4 Port Negotiation record */
};

/* Server response: Next Protocol (NTPv4), AEAD, [Server], [Port], cookies,
 * End of Message. Returns its length, 0 if it does not fit. */
size_t ke_response_build(uint8_t *out, size_t outmax, const struct ke_response *r);
/* Error response: Error record with code, End of Message. */
size_t ke_error_build(uint8_t *out, size_t outmax, uint16_t code);

/* Client side: a request offering NTPv4 and aeads (in preference order). */
size_t ke_request_build(uint8_t *out, size_t outmax, const uint16_t *aeads, size_t n_aeads);

struct ke_response_parsed {
	bool has_protos, ntpv4;
	uint16_t aead;
	bool has_aead;
	const uint8_t *cookies[KE_MAX_COOKIES];
	size_t cookie_len[KE_MAX_COOKIES];
	size_t n_cookies;
	bool cookies_unequal, too_many_cookies;
	bool has_server, has_port, has_error, has_warning;
	char server[KE_MAX_HOST + 1];
	uint16_t port, error, warning;
	const char *error_detail;
};
/* Parses a server response (pointers into msg). */
enum ke_parse ke_response_parse(const uint8_t *msg, size_t len, struct ke_response_parsed *r);

#endif
