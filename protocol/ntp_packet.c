#include "config.h"
#include "protocol/ntp_packet.h"

#include <string.h>

#include "crypto/buf.h"

void ntp_header_decode(const uint8_t p[NTP_HEADER_LEN], struct ntp_header *h)
{
	h->leap = p[0] >> 6;
	h->version = (p[0] >> 3) & 7;
	h->mode = p[0] & 7;
	h->stratum = p[1];
	h->poll = (int8_t)p[2];
	h->precision = (int8_t)p[3];
	h->root_delay = load_be32(p + 4);
	h->root_disp = load_be32(p + 8);
	h->refid = load_be32(p + 12);
	h->reftime = load_be64(p + 16);
	h->org = load_be64(p + 24);
	h->rec = load_be64(p + 32);
	h->xmt = load_be64(p + 40);
}

void ntp_header_encode(const struct ntp_header *h, uint8_t p[NTP_HEADER_LEN])
{
	p[0] = (uint8_t)((h->leap & 3) << 6 | (h->version & 7) << 3 | (h->mode & 7));
	p[1] = h->stratum;
	p[2] = (uint8_t)h->poll;
	p[3] = (uint8_t)h->precision;
	store_be32(p + 4, h->root_delay);
	store_be32(p + 8, h->root_disp);
	store_be32(p + 12, h->refid);
	store_be64(p + 16, h->reftime);
	store_be64(p + 24, h->org);
	store_be64(p + 32, h->rec);
	store_be64(p + 40, h->xmt);
}

bool ntp_mac_digest_len_ok(size_t dlen)
{
	/* MD5/CMAC 16, SHA1 (and NTPsec's truncated SHA-2) 20, then full
	 * SHA-224/256/384/512 as chrony sends them. */
	return dlen == 16 || dlen == 20 || dlen == 28 || dlen == 32 || dlen == 48 || dlen == 64;
}

static bool take_mac(const uint8_t *pkt, size_t off, size_t left, struct ntp_tail *t)
{
	if (left == NTP_CRYPTO_NAK_LEN) {
		if (load_be32(pkt + off) != 0)
			return false;
		t->digest = NULL;
		t->digest_len = 0;
	} else {
		if (left < 4 || !ntp_mac_digest_len_ok(left - 4))
			return false;
		t->digest = pkt + off + 4;
		t->digest_len = left - 4;
	}
	t->has_mac = true;
	t->keyid = load_be32(pkt + off);
	t->mac_offset = off;
	return true;
}

/* Length of a well-formed field at off, or 0. */
static size_t ef_len_at(const uint8_t *pkt, size_t off, size_t left)
{
	if (left < NTP_MIN_EF_LEN)
		return 0;
	/* Type 0 is not an assigned field type, but it is what the key id of
	 * a legacy MAC (ids up to 65535) looks like: treat it as a MAC. */
	if (load_be16(pkt + off) == 0)
		return 0;
	size_t len = load_be16(pkt + off + 2);
	if (len < NTP_MIN_EF_LEN || len % 4 != 0 || len > left)
		return 0;
	return len;
}

enum ntp_parse_status ntp_packet_parse(const uint8_t *p, size_t len, struct ntp_header *h,
                                       struct ntp_tail *t)
{
	size_t off = NTP_HEADER_LEN;

	if (len < NTP_HEADER_LEN)
		return NTP_PARSE_SHORT;
	ntp_header_decode(p, h);
	t->n_ef = 0;
	t->has_mac = false;
	t->keyid = 0;
	t->digest = NULL;
	t->digest_len = 0;
	t->mac_offset = len;

	while (off < len) {
		size_t left = len - off;
		/* RFC 7822 §7: 20 and 24 bytes after the header or the last
		 * field can only be a MAC; so can a crypto-NAK. */
		if (left == 4 || left == 20 || left == 24)
			return take_mac(p, off, left, t) ? NTP_PARSE_OK : NTP_PARSE_TAIL;
		size_t eflen = ef_len_at(p, off, left);
		/* A field must either fill the rest or leave room for another
		 * field or a MAC; a tail that is not a field may be a longer
		 * (SHA-2) MAC. */
		if (eflen == 0 || (eflen != left && left - eflen < 4))
			return take_mac(p, off, left, t) ? NTP_PARSE_OK : NTP_PARSE_TAIL;
		if (t->n_ef == NTP_MAX_EFS)
			return NTP_PARSE_TOO_MANY;
		struct ntp_ef *ef = &t->ef[t->n_ef++];
		ef->type = load_be16(p + off);
		ef->len = (uint16_t)eflen;
		ef->start = p + off;
		ef->body = p + off + 4;
		off += eflen;
	}
	return NTP_PARSE_OK;
}
