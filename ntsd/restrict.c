/* ntpd `restrict` matching.
 *
 * ntpd keeps each family's list sorted by descending address, then
 * descending mask, then descending match flags, and takes the first match
 * (NTPsec ntp_restrict.c, init_restrict()). For contiguous masks the first
 * match in that order is the longest matching prefix, because every entry
 * that matches an address is a prefix of it. We sort by the number of mask
 * bits instead, which gives the same answer for contiguous masks and a
 * defined one (more mask bits win) for the rare non-contiguous `mask`.
 *
 * `ntpport` is a match modifier in ntpd (RESM_NTPONLY), not a flag: an
 * entry carrying it only matches source port 123, and it sorts before the
 * entry with the same address and mask without it. It does not outrank a
 * longer prefix: 10.1.0.0/16 beats `10.0.0.0/8 ntpport` for 10.1.2.3:123,
 * as in ntpd where the match flags are the last sort key.
 *
 * Duplicates (same address, mask and ntpport) are merged by OR-ing the
 * flags: hack_restrict(RESTRICT_FLAGS) in both ntpd 4.2.8 and NTPsec does
 * `res->flags |= flags`, and NTPsec's access-commands documentation says
 * "a second restrict line with the same address/mask does not replace the
 * first one. The flags are merged." Merging also means an included file can
 * only add restrictions, never silently drop `limited` from a default.
 *
 * The default entry is simply address 0 mask 0, so `restrict default` and
 * `restrict 0.0.0.0 mask 0.0.0.0` are the same entry, as in ntpd.
 *
 * Matching is a linear scan with masked compares on one 32-bit (IPv4) or
 * two 64-bit (IPv6) words; configurations have tens of entries, and the
 * scan touches one small contiguous array. */
#include "config.h"

#include "ntsd/restrict.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NTP_PORT 123

struct rule4 {
	uint32_t addr, mask; /* host order, addr already masked */
	uint32_t flags;
	bool ntpport;
};

struct rule6 {
	uint64_t addr[2], mask[2]; /* native loads of the network-order bytes */
	uint32_t flags;
	bool ntpport;
};

struct restrict_table {
	struct rule4 *v4;
	size_t n4;
	struct rule6 *v6;
	size_t n6;
};

/* One rule during the build, normalised for sorting and merging. */
struct pending {
	int family;
	uint8_t addr[16], mask[16];
	unsigned bits;
	bool ntpport;
	uint32_t flags;
};

static unsigned popcount8(uint8_t b)
{
	unsigned n = 0;
	for (; b; b &= (uint8_t)(b - 1))
		n++;
	return n;
}

static bool normalise(const struct conf_restrict *r, struct pending *p)
{
	size_t len;

	if (r->is_source)
		return false;
	if (r->family == AF_INET)
		len = 4;
	else if (r->family == AF_INET6)
		len = 16;
	else
		return false;
	memset(p, 0, sizeof(*p));
	p->family = r->family;
	p->ntpport = (r->flags & CONF_RES_NTPPORT) != 0;
	p->flags = r->flags & ~(uint32_t)CONF_RES_NTPPORT;
	if (r->is_default)
		return true;
	for (size_t i = 0; i < len; i++) {
		p->mask[i] = r->mask[i];
		p->addr[i] = (uint8_t)(r->addr[i] & r->mask[i]);
		p->bits += popcount8(r->mask[i]);
	}
	return true;
}

/* Most specific first: more mask bits, then ntpport, then larger mask and
 * address (only to make equal keys adjacent). Family first so that each
 * family is one run. */
static int cmp_pending(const void *va, const void *vb)
{
	const struct pending *a = va, *b = vb;
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->bits != b->bits)
		return a->bits > b->bits ? -1 : 1;
	if (a->ntpport != b->ntpport)
		return a->ntpport ? -1 : 1;
	c = memcmp(a->mask, b->mask, sizeof(a->mask));
	if (c)
		return -c;
	return -memcmp(a->addr, b->addr, sizeof(a->addr));
}

static bool same_key(const struct pending *a, const struct pending *b)
{
	return a->family == b->family && a->ntpport == b->ntpport &&
	       memcmp(a->mask, b->mask, sizeof(a->mask)) == 0 &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* ntpd semantics for a repeated address/mask; see the top comment. */
static void merge_duplicate(struct pending *kept, const struct pending *later)
{
	kept->flags |= later->flags;
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void emit(struct restrict_table *t, const struct pending *p)
{
	if (p->family == AF_INET) {
		struct rule4 *r = &t->v4[t->n4++];
		r->addr = load_be32(p->addr);
		r->mask = load_be32(p->mask);
		r->flags = p->flags;
		r->ntpport = p->ntpport;
	} else {
		struct rule6 *r = &t->v6[t->n6++];
		memcpy(r->addr, p->addr, 16);
		memcpy(r->mask, p->mask, 16);
		r->flags = p->flags;
		r->ntpport = p->ntpport;
	}
}

struct restrict_table *restrict_table_new(const struct conf_restrict *rules, size_t n)
{
	struct restrict_table *t;
	struct pending *p = NULL;
	size_t np = 0, nout = 0, n4 = 0, n6 = 0, i;

	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (n == 0 || !rules)
		return t;
	p = calloc(n, sizeof(*p));
	if (!p)
		goto fail;
	for (i = 0; i < n; i++)
		if (normalise(&rules[i], &p[np]))
			np++;
	qsort(p, np, sizeof(*p), cmp_pending);
	/* Equal keys are adjacent: collapse each run into its first slot. The
	 * OR is commutative, so qsort not being stable does not matter. */
	for (i = 0; i < np;) {
		struct pending m = p[i];
		size_t j = i + 1;
		for (; j < np && same_key(&m, &p[j]); j++)
			merge_duplicate(&m, &p[j]);
		if (m.family == AF_INET)
			n4++;
		else
			n6++;
		p[nout++] = m;
		i = j;
	}
	t->v4 = n4 ? calloc(n4, sizeof(*t->v4)) : NULL;
	t->v6 = n6 ? calloc(n6, sizeof(*t->v6)) : NULL;
	if ((n4 && !t->v4) || (n6 && !t->v6))
		goto fail;
	for (i = 0; i < nout; i++)
		emit(t, &p[i]);
	free(p);
	return t;
fail:
	free(p);
	restrict_table_free(t);
	return NULL;
}

void restrict_table_free(struct restrict_table *t)
{
	if (!t)
		return;
	free(t->v4);
	free(t->v6);
	free(t);
}

static uint32_t match4(const struct restrict_table *t, uint32_t a, uint16_t port)
{
	/* ntpd ignores packets from multicast sources outright: they can
	 * only be forged. */
	if ((a & 0xf0000000u) == 0xe0000000u)
		return CONF_RES_IGNORE;
	for (size_t i = 0; i < t->n4; i++) {
		const struct rule4 *r = &t->v4[i];
		if ((a & r->mask) == r->addr && (!r->ntpport || port == NTP_PORT))
			return r->flags;
	}
	return 0;
}

static uint32_t match6(const struct restrict_table *t, const uint8_t *bytes, uint16_t port)
{
	uint64_t a[2];

	if (bytes[0] == 0xff)
		return CONF_RES_IGNORE;
	memcpy(a, bytes, 16);
	for (size_t i = 0; i < t->n6; i++) {
		const struct rule6 *r = &t->v6[i];
		if ((a[0] & r->mask[0]) == r->addr[0] && (a[1] & r->mask[1]) == r->addr[1] &&
		    (!r->ntpport || port == NTP_PORT))
			return r->flags;
	}
	return 0;
}

uint32_t restrict_match(const struct restrict_table *t, const struct sockaddr *sa)
{
	static const struct restrict_table empty;
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (!t)
		t = &empty;
	if (!sa)
		return CONF_RES_IGNORE;
	/* Copy out of the caller's storage rather than cast, so the
	 * sockaddr may live in any properly sized buffer. */
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in in;
		memcpy(&in, sa, sizeof(in));
		return match4(t, ntohl(in.sin_addr.s_addr), ntohs(in.sin_port));
	}
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 in6;
		const uint8_t *b;
		memcpy(&in6, sa, sizeof(in6));
		b = in6.sin6_addr.s6_addr;
		if (memcmp(b, v4mapped, sizeof(v4mapped)) == 0)
			return match4(t, load_be32(b + 12), ntohs(in6.sin6_port));
		return match6(t, b, ntohs(in6.sin6_port));
	}
	return CONF_RES_IGNORE;
}
