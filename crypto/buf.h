/* Bounds-checked cursor for every wire format (NTP packets, extension
 * fields, NTS-KE records, mode 6). Each get/put checks the space left and
 * returns false when it does not fit; a failed operation also marks the
 * cursor bad, so a sequence of puts can be checked once at the end.
 * Header-only: everything is static inline and allocation-free (hot-path
 * safe). Multi-byte integers are big-endian (network order). */
#ifndef NTSD_CRYPTO_BUF_H
#define NTSD_CRYPTO_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
	const uint8_t *rd; /* set for a read cursor */
	uint8_t *wr;       /* set for a write cursor */
	size_t len;        /* total size of the underlying memory */
	size_t pos;        /* bytes consumed or produced so far */
	bool bad;          /* an operation did not fit */
};

static inline struct buf buf_reader(const void *p, size_t len)
{
	return (struct buf){ .rd = p, .len = len };
}

static inline struct buf buf_writer(void *p, size_t len)
{
	return (struct buf){ .rd = p, .wr = p, .len = len };
}

static inline size_t buf_left(const struct buf *b)
{
	return b->bad ? 0 : b->len - b->pos;
}

static inline bool buf_ok(const struct buf *b)
{
	return !b->bad;
}

/* Pointer to the current position (reading), or NULL when n bytes are not
 * available; on success the cursor advances by n. */
static inline const uint8_t *buf_take(struct buf *b, size_t n)
{
	if (b->bad || n > b->len - b->pos) {
		b->bad = true;
		return NULL;
	}
	const uint8_t *p = b->rd + b->pos;
	b->pos += n;
	return p;
}

/* Writable room for n bytes at the current position, or NULL. */
static inline uint8_t *buf_reserve(struct buf *b, size_t n)
{
	if (b->bad || !b->wr || n > b->len - b->pos) {
		b->bad = true;
		return NULL;
	}
	uint8_t *p = b->wr + b->pos;
	b->pos += n;
	return p;
}

static inline bool buf_get(struct buf *b, void *out, size_t n)
{
	const uint8_t *p = buf_take(b, n);
	if (!p)
		return false;
	if (n)
		memcpy(out, p, n);
	return true;
}

static inline bool buf_skip(struct buf *b, size_t n)
{
	return buf_take(b, n) != NULL;
}

static inline bool buf_get_u8(struct buf *b, uint8_t *v)
{
	const uint8_t *p = buf_take(b, 1);
	if (!p)
		return false;
	*v = p[0];
	return true;
}

static inline bool buf_get_u16(struct buf *b, uint16_t *v)
{
	const uint8_t *p = buf_take(b, 2);
	if (!p)
		return false;
	*v = (uint16_t)((unsigned)p[0] << 8 | p[1]);
	return true;
}

static inline bool buf_get_u32(struct buf *b, uint32_t *v)
{
	const uint8_t *p = buf_take(b, 4);
	if (!p)
		return false;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return true;
}

static inline bool buf_get_u64(struct buf *b, uint64_t *v)
{
	uint32_t hi, lo;
	if (!buf_get_u32(b, &hi) || !buf_get_u32(b, &lo))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

static inline bool buf_put(struct buf *b, const void *src, size_t n)
{
	uint8_t *p = buf_reserve(b, n);
	if (!p)
		return false;
	if (n)
		memcpy(p, src, n);
	return true;
}

static inline bool buf_put_zero(struct buf *b, size_t n)
{
	uint8_t *p = buf_reserve(b, n);
	if (!p)
		return false;
	if (n)
		memset(p, 0, n);
	return true;
}

static inline bool buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_put(b, &v, 1);
}

static inline bool buf_put_u16(struct buf *b, uint16_t v)
{
	uint8_t p[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	return buf_put(b, p, 2);
}

static inline bool buf_put_u32(struct buf *b, uint32_t v)
{
	uint8_t p[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	return buf_put(b, p, 4);
}

static inline bool buf_put_u64(struct buf *b, uint64_t v)
{
	return buf_put_u32(b, (uint32_t)(v >> 32)) && buf_put_u32(b, (uint32_t)v);
}

/* Big-endian loads and stores on raw memory, for fixed layouts. */
static inline uint16_t load_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t load_be64(const uint8_t *p)
{
	return (uint64_t)load_be32(p) << 32 | load_be32(p + 4);
}

static inline void store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void store_be64(uint8_t *p, uint64_t v)
{
	store_be32(p, (uint32_t)(v >> 32));
	store_be32(p + 4, (uint32_t)v);
}

/* Value of one hex digit (either case), or -1. For text formats that
 * carry binary data (key files). */
static inline int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
