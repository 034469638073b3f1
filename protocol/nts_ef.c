#include "config.h"
#include "protocol/nts_ef.h"

bool nts_ef_parse_auth(const struct ntp_ef *ef, size_t tag_len, struct nts_ef_auth *out)
{
	struct buf b = buf_reader(ef->body, (size_t)ef->len - 4);
	uint16_t nl, cl;

	if (!buf_get_u16(&b, &nl) || !buf_get_u16(&b, &cl))
		return false;
	out->nonce = buf_take(&b, nts_ef_pad4(nl));
	out->ct = buf_take(&b, nts_ef_pad4(cl));
	if (!out->nonce || !out->ct || nl < NTS_NONCE_LEN || cl < tag_len)
		return false;
	out->nonce_len = nl;
	out->ct_len = cl;
	return true;
}

int nts_ef_next(struct buf *b, uint16_t *type, const uint8_t **body, size_t *body_len)
{
	uint16_t len;

	if (buf_left(b) == 0)
		return 0;
	if (!buf_get_u16(b, type) || !buf_get_u16(b, &len) || len < 4 || len % 4 ||
	    !(*body = buf_take(b, (size_t)len - 4)))
		return -1;
	*body_len = (size_t)len - 4;
	return 1;
}
