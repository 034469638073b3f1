/* NTS for NTPv4 on the client side (RFC 8915 §5): a cookie jar and the
 * C2S/S2C keys of one association, request extension fields and response
 * verification. No I/O, no logging, no allocation per packet. */
#ifndef NTSD_PROTOCOL_NTS_CLIENT_H
#define NTSD_PROTOCOL_NTS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyexchange/ke_client.h"

struct aead_ctx;

struct nts_client {
	struct aead_ctx *c2s, *s2c; /* built once per KE */
	uint8_t cookies[KE_MAX_COOKIES][KE_CLIENT_COOKIE_MAX]; /* FIFO */
	size_t cookie_len[KE_MAX_COOKIES];
	size_t head, n; /* oldest cookie index, number held */
	uint8_t uid[32]; /* unique id of the outstanding request */
	bool pending;    /* a request is outstanding (uid valid) */
};

enum nts_client_verdict {
	NTS_CLIENT_OK,   /* authenticated; new cookies stored */
	NTS_CLIENT_NTSN, /* NTSN kiss with our unique id: re-run KE */
	NTS_CLIENT_BAD,  /* wrong uid, bad authenticator, malformed: ignore */
};

/* Sets up keys and cookies from a KE result (copied; r may be wiped after).
 * False on an unsupported AEAD or allocation failure. Not hot path. */
bool nts_client_init(struct nts_client *c, const struct ke_client_result *r);

/* Appends unique id, one cookie (removed from the jar, never reused),
 * placeholders so that the jar refills to KE_MAX_COOKIES, and the
 * authenticator to the hdr_len-byte header in pkt. Returns the total length,
 * or 0 when no cookie is left (run KE again) or max is too small. */
size_t nts_client_request(struct nts_client *c, uint8_t *pkt, size_t hdr_len, size_t max);

/* Checks a response to the last request (the whole packet). */
enum nts_client_verdict nts_client_response(struct nts_client *c, const uint8_t *pkt,
                                            size_t len);

/* Cookies in the jar. */
size_t nts_client_cookies(const struct nts_client *c);

/* Wipes cookies, frees the AEAD contexts. */
void nts_client_wipe(struct nts_client *c);

#endif
