/* The NTS extension fields of NTPv4 (RFC 8915 §5.3-5.7), shared by the
 * server (ntsd/nts.c) and the client (protocol/nts_client.c): field types,
 * the NTS Authenticator's layout, and a reader for the fields inside its
 * decrypted ciphertext. Pure codec: no I/O, no allocation. Hot-path safe. */
#ifndef NTSD_PROTOCOL_NTS_EF_H
#define NTSD_PROTOCOL_NTS_EF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/buf.h"
#include "protocol/ntp_packet.h"

/* Extension field types (RFC 8915 §7.5). */
#define NTS_EF_UNIQUE_ID 0x0104
#define NTS_EF_COOKIE 0x0204
#define NTS_EF_PLACEHOLDER 0x0304
#define NTS_EF_AUTH 0x0404

#define NTS_MIN_UNIQUE_ID 32  /* RFC 8915 §5.3 */
#define NTS_NONCE_LEN 16      /* what we send; at least this is required */

/* n rounded up to a multiple of 4 (fields and their parts are 4-aligned). */
static inline size_t nts_ef_pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* The parts of an NTS Authenticator field (§5.6). */
struct nts_ef_auth {
	const uint8_t *nonce;
	size_t nonce_len;
	const uint8_t *ct;  /* SIV tag ‖ ciphertext */
	size_t ct_len;
};

/* Splits ef (an NTS_EF_AUTH field) into nonce and ciphertext. False when
 * the lengths overrun the field, the nonce is shorter than NTS_NONCE_LEN
 * (§5.6: AES-SIV nonces of at least 16 octets, on both sides) or the
 * ciphertext cannot hold a tag_len-byte tag. */
bool nts_ef_parse_auth(const struct ntp_ef *ef, size_t tag_len, struct nts_ef_auth *out);

/* Reads the next extension field from a decrypted plaintext (§5.7: the
 * encrypted fields are a plain sequence of RFC 7822 fields). Returns 1 with
 * type/body/body_len set, 0 at a clean end, -1 when the rest is not a
 * field (length under 4 or not a multiple of 4, or past the end). */
int nts_ef_next(struct buf *b, uint16_t *type, const uint8_t **body, size_t *body_len);

#endif
