#include "config.h"
#include "protocol/mode6.h"

#include <stdio.h>
#include <string.h>

#include "crypto/buf.h"

static const char tallies[8] = { ' ', 'x', '.', '-', '+', '#', '*', 'o' };

uint16_t mode6_peer_status(uint8_t bits, enum mode6_sel sel, uint8_t events, uint8_t last_event)
{
	return (uint16_t)((bits & 0xf8) << 8 | (sel & 7) << 8 | (events & 0xf) << 4 | (last_event & 0xf));
}

char mode6_tally(uint16_t peer_status)
{
	return tallies[(peer_status >> 8) & 7];
}

void mode6_refid_text(uint32_t refid, bool ascii, char *out, size_t outlen)
{
	uint8_t b[4] = { (uint8_t)(refid >> 24), (uint8_t)(refid >> 16), (uint8_t)(refid >> 8), (uint8_t)refid };

	if (!ascii) {
		snprintf(out, outlen, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < 4 && b[i] && n + 1 < outlen; i++)
		out[n++] = (b[i] > 32 && b[i] < 127 && b[i] != ',' && b[i] != '"' && b[i] != '=') ? (char)b[i] : '.';
	if (outlen)
		out[n < outlen ? n : outlen - 1] = '\0';
}

static const char *const parse_names[] = {
	"ok", "short", "not mode 6", "bad version", "response bits", "fragmented request",
	"count beyond datagram", "trailer is no MAC",
};

const char *mode6_parse_name(enum mode6_parse p)
{
	return (size_t)p < sizeof(parse_names) / sizeof(parse_names[0]) ? parse_names[p] : "?";
}

void mode6_header_decode(const uint8_t p[MODE6_HEADER_LEN], struct mode6_header *h)
{
	h->leap = p[0] >> 6;
	h->version = (p[0] >> 3) & 7;
	h->mode = p[0] & 7;
	h->flags = p[1] & 0xe0;
	h->opcode = p[1] & 0x1f;
	h->sequence = load_be16(p + 2);
	h->status = load_be16(p + 4);
	h->associd = load_be16(p + 6);
	h->offset = load_be16(p + 8);
	h->count = load_be16(p + 10);
}

void mode6_header_encode(const struct mode6_header *h, uint8_t p[MODE6_HEADER_LEN])
{
	p[0] = (uint8_t)((h->leap & 3) << 6 | (h->version & 7) << 3 | (h->mode & 7));
	p[1] = (uint8_t)((h->flags & 0xe0) | (h->opcode & 0x1f));
	store_be16(p + 2, h->sequence);
	store_be16(p + 4, h->status);
	store_be16(p + 6, h->associd);
	store_be16(p + 8, h->offset);
	store_be16(p + 10, h->count);
}

static const char *const errtexts[] = {
	"unspecified error", "permission denied", "bad request format", "unknown opcode",
	"unknown association", "unknown variable", "bad variable value", "administratively prohibited",
};

const char *mode6_errtext(uint8_t code)
{
	return code < sizeof(errtexts) / sizeof(errtexts[0]) ? errtexts[code] : "unknown error code";
}

enum mode6_parse mode6_parse_request(const uint8_t *pkt, size_t len, struct mode6_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	if (len < MODE6_HEADER_LEN)
		return MODE6_PARSE_SHORT;
	if ((pkt[0] & 7) != 6)
		return MODE6_PARSE_NOT_MODE6;
	struct mode6_header h;
	mode6_header_decode(pkt, &h);
	rq->version = h.version;
	if (rq->version == 0 || rq->version > 4)
		return MODE6_PARSE_BAD_VERSION;
	/* R, E and M bits: only a server sends those (RFC 9327 §2). */
	if (h.flags)
		return MODE6_PARSE_RESPONSE;
	rq->opcode = h.opcode;
	rq->sequence = h.sequence;
	rq->status = h.status;
	rq->associd = h.associd;
	rq->offset = h.offset;
	rq->count = h.count;
	if (rq->offset != 0)
		return MODE6_PARSE_OFFSET;
	if (rq->count > len - MODE6_HEADER_LEN || rq->count > MODE6_MAX_DATA)
		return MODE6_PARSE_COUNT;
	rq->data = pkt + MODE6_HEADER_LEN;

	/* A MAC follows the data padded to 8 octets: key id, then a 16 to
	 * 64-octet digest (ntpd's ctl_proc). Zeros alone are padding (ntpq
	 * pads to 4 or 8). */
	size_t end = MODE6_HEADER_LEN + rq->count;
	size_t padded = mode6_pad8(end);
	bool zeros = true;
	for (size_t i = end; i < len && zeros; i++)
		zeros = pkt[i] == 0;
	if (zeros)
		return MODE6_PARSE_OK;
	if (len <= padded)
		return MODE6_PARSE_TRAILER;
	size_t maclen = len - padded;
	if (maclen < 4 + 16 || maclen > 4 + 64)
		return MODE6_PARSE_TRAILER;
	rq->has_mac = true;
	rq->mac_offset = padded;
	rq->keyid = load_be32(pkt + padded);
	rq->mac = pkt + padded + 4;
	rq->mac_len = maclen - 4;
	return MODE6_PARSE_OK;
}

