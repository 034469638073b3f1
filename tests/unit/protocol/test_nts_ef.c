/* NTS extension fields (protocol/nts_ef.h): the authenticator's layout
 * with every length sweep, and the encrypted-field reader. */
#include <string.h>

#include "crypto/buf.h"
#include "protocol/nts_ef.h"
#include "tap.h"

/* An authenticator field: nonce length nl, ciphertext length cl, both
 * padded, in a field of len octets (header included). */
static size_t make_auth(uint8_t *f, uint16_t nl, uint16_t cl, struct ntp_ef *ef)
{
	size_t len = 8 + nts_ef_pad4(nl) + nts_ef_pad4(cl);

	memset(f, 0xcc, len);
	store_be16(f, NTS_EF_AUTH);
	store_be16(f + 2, (uint16_t)len);
	store_be16(f + 4, nl);
	store_be16(f + 6, cl);
	*ef = (struct ntp_ef){ .type = NTS_EF_AUTH, .len = (uint16_t)len, .start = f, .body = f + 4 };
	return len;
}

static void test_auth(void)
{
	uint8_t f[256];
	struct ntp_ef ef;
	struct nts_ef_auth a;
	bool all = true;

	make_auth(f, 16, 16, &ef);
	tap_ok(nts_ef_parse_auth(&ef, 16, &a) && a.nonce == f + 8 && a.nonce_len == 16 &&
	           a.ct == f + 24 && a.ct_len == 16,
	       "16-octet nonce and bare tag");
	make_auth(f, 15, 16, &ef);
	tap_ok(!nts_ef_parse_auth(&ef, 16, &a), "a 15-octet nonce is refused (RFC 8915 5.6)");
	make_auth(f, 16, 15, &ef);
	tap_ok(!nts_ef_parse_auth(&ef, 16, &a), "a ciphertext shorter than the tag is refused");
	for (uint16_t nl = 16; nl < 40; nl++)
		for (uint16_t cl = 16; cl < 80; cl++) {
			size_t len = make_auth(f, nl, cl, &ef);
			all = all && nts_ef_parse_auth(&ef, 16, &a) && a.nonce_len == nl &&
			      a.ct_len == cl && a.ct + nts_ef_pad4(cl) == f + len;
			ef.len = (uint16_t)(len - 4); /* one word short */
			all = all && !nts_ef_parse_auth(&ef, 16, &a);
		}
	tap_ok(all, "nonce 16..39 x ciphertext 16..79: exact fit parses, one word short fails");
}

static void test_next(void)
{
	uint8_t pt[64];
	struct buf w = buf_writer(pt, sizeof(pt));
	const uint8_t *body;
	size_t blen;
	uint16_t type;

	buf_put_u16(&w, NTS_EF_COOKIE);
	buf_put_u16(&w, 12);
	buf_put(&w, "abcdefgh", 8);
	buf_put_u16(&w, NTS_EF_PLACEHOLDER);
	buf_put_u16(&w, 4);
	struct buf b = buf_reader(pt, w.pos);
	tap_ok(nts_ef_next(&b, &type, &body, &blen) == 1 && type == NTS_EF_COOKIE && blen == 8 &&
	           !memcmp(body, "abcdefgh", 8),
	       "first field: an 8-octet cookie");
	tap_ok(nts_ef_next(&b, &type, &body, &blen) == 1 && type == NTS_EF_PLACEHOLDER && blen == 0,
	       "second field: an empty placeholder");
	tap_ok(nts_ef_next(&b, &type, &body, &blen) == 0, "then a clean end");
	store_be16(pt + 2, 10);
	b = buf_reader(pt, w.pos);
	tap_ok(nts_ef_next(&b, &type, &body, &blen) == -1, "a length not a multiple of 4 is refused");
	store_be16(pt + 2, 3);
	b = buf_reader(pt, w.pos);
	tap_ok(nts_ef_next(&b, &type, &body, &blen) == -1, "a length under 4 is refused");
	store_be16(pt + 2, 60);
	b = buf_reader(pt, w.pos);
	tap_ok(nts_ef_next(&b, &type, &body, &blen) == -1, "a field past the end is refused");
	b = buf_reader(pt, 2);
	tap_ok(nts_ef_next(&b, &type, &body, &blen) == -1, "a truncated header is refused");
}

int main(void)
{
	test_auth();
	test_next();
	return tap_done();
}
