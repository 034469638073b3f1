/* NTS for NTPv4 on the server side (RFC 8915 §5): checks the NTS extension
 * fields of a request (unique identifier, cookie, placeholders,
 * authenticator), and builds the authenticated response with fresh cookies
 * or the NTSN kiss-o'-death. No I/O, no allocation per packet, no logging.
 * One struct nts_worker per worker thread. */
#ifndef NTSD_NTSD_NTS_H
#define NTSD_NTSD_NTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/cookie.h"
#include "protocol/ntp_packet.h"
#include "protocol/nts_ef.h"

#define NTS_MAX_COOKIES 8     /* cookies returned per response at most */

struct masterkey_set;
struct aead_ctx;
struct secret_rng;

struct nts_worker {
	struct cookie_ctx *cookies; /* NULL: NTS is not enabled */
	struct aead_ctx *c2s;       /* rekeyed per packet from the cookie */
	struct aead_ctx *s2c;
	struct secret_rng *rng;     /* response nonces */
};

enum nts_verdict {
	NTS_NONE,       /* no NTS fields: a plain request */
	NTS_VALID,      /* cookie opened and authenticator verified */
	NTS_MALFORMED,  /* fields missing, repeated, misplaced: drop */
	NTS_BAD_COOKIE, /* cookie does not open (unknown key, tampered): NTSN */
	NTS_BAD_AUTH,   /* authenticator does not verify: NTSN */
};

/* What a valid request asked for; keys are wiped by nts_request_done. */
struct nts_request {
	const struct ntp_ef *uid;
	size_t cookies_wanted; /* 1 + placeholders, at most NTS_MAX_COOKIES */
	size_t cookie_ef_len;  /* length of the request's cookie field */
	struct cookie_keys keys;
};

/* Sets up w for a worker; builds the cookie context from set (NULL: NTS
 * off). Returns false on allocation failure. Not for the hot path. */
bool nts_worker_init(struct nts_worker *w, const struct masterkey_set *set);
/* Rebuilds the cookie context after a master key rotation. */
bool nts_worker_set_keys(struct nts_worker *w, const struct masterkey_set *set);
void nts_worker_destroy(struct nts_worker *w);

/* Examines the parsed request (req/len, tail t). On NTS_VALID fills r. */
enum nts_verdict nts_check_request(struct nts_worker *w, const uint8_t *req, size_t len,
                                   const struct ntp_tail *t, struct nts_request *r);

/* Appends the unique identifier and an authenticator holding fresh cookies
 * to the 48-byte header already in out, sealed with the S2C key. Returns
 * the total length, never more than reqlen, or 0 on failure. */
size_t nts_finish_response(struct nts_worker *w, struct nts_request *r, uint8_t *out,
                           size_t outmax, size_t reqlen);
/* Appends the request's unique identifier to a KoD header in out (RFC 8915
 * §5.7: an NTSN carries the unique identifier and no authenticator).
 * uid may be NULL (not found). Returns the total length. */
size_t nts_finish_nak(const struct ntp_ef *uid, uint8_t *out, size_t outmax);
/* Wipes the keys in r. */
void nts_request_done(struct nts_request *r);

#endif
