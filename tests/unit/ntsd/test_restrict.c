/* restrict_table: table-driven checks of ntpd `restrict` matching, then a
 * randomised cross-check against a brute-force reference (seed printed;
 * set NTSD_TEST_SEED to replay). */
#include "ntsd/restrict.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#define F(x) CONF_RES_##x
#define HOST (-1)

/* A rule as written in ntp.conf: addr is "default4", "default6",
 * "source" or a numeric address; prefix HOST means all ones; mask, if
 * set, is an explicit (possibly non-contiguous) `mask`. */
struct rdef {
	const char *addr;
	int prefix;
	uint32_t flags;
	const char *mask;
};

struct probe {
	const char *addr;
	uint16_t port;
	uint32_t want;
};

struct tcase {
	const char *name;
	const struct rdef *rules;
	size_t n_rules;
	const struct probe *probes;
	size_t n_probes;
};

static void set_prefix(uint8_t *mask, unsigned bits)
{
	memset(mask, 0, 16);
	for (unsigned i = 0; i < bits; i++)
		mask[i / 8] |= (uint8_t)(0x80u >> (i % 8));
}

static unsigned count_bits(const uint8_t *mask)
{
	unsigned n = 0;
	for (int i = 0; i < 16; i++)
		for (int b = 0; b < 8; b++)
			n += (mask[i] >> b) & 1u;
	return n;
}

static struct conf_restrict make_rule(const struct rdef *d)
{
	struct conf_restrict r;

	memset(&r, 0, sizeof(r));
	r.flags = d->flags;
	if (strcmp(d->addr, "default4") == 0 || strcmp(d->addr, "default6") == 0) {
		r.family = d->addr[7] == '4' ? AF_INET : AF_INET6;
		r.is_default = true;
		return r;
	}
	if (strcmp(d->addr, "source") == 0) {
		r.family = AF_INET;
		r.is_source = true;
		return r;
	}
	if (inet_pton(AF_INET, d->addr, r.addr) == 1) {
		r.family = AF_INET;
		if (d->mask)
			inet_pton(AF_INET, d->mask, r.mask);
		else
			set_prefix(r.mask, d->prefix == HOST ? 32 : (unsigned)d->prefix);
	} else if (inet_pton(AF_INET6, d->addr, r.addr) == 1) {
		r.family = AF_INET6;
		if (d->mask)
			inet_pton(AF_INET6, d->mask, r.mask);
		else
			set_prefix(r.mask, d->prefix == HOST ? 128 : (unsigned)d->prefix);
	} else {
		fprintf(stderr, "bad test address %s\n", d->addr);
		abort();
	}
	r.prefix = count_bits(r.mask);
	return r;
}

static struct sockaddr_storage make_sa(const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
	} else {
		fprintf(stderr, "bad test address %s\n", addr);
		abort();
	}
	return ss;
}

static uint32_t match_at(const struct restrict_table *t, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss = make_sa(addr, port);
	return restrict_match(t, (const struct sockaddr *)&ss);
}

/* Runs a case with the rules in the written order and reversed: matching
 * must not depend on order (duplicates merge with a commutative OR). */
static void run_case(const struct tcase *c)
{
	struct conf_restrict rules[64];

	if (c->n_rules > 64)
		abort();
	for (int rev = 0; rev < 2; rev++) {
		for (size_t i = 0; i < c->n_rules; i++)
			rules[i] = make_rule(&c->rules[rev ? c->n_rules - 1 - i : i]);
		struct restrict_table *t = restrict_table_new(c->n_rules ? rules : NULL, c->n_rules);
		if (!tap_ok(t != NULL, "%s%s: table built", c->name, rev ? " (reversed)" : ""))
			continue;
		for (size_t i = 0; i < c->n_probes; i++) {
			const struct probe *p = &c->probes[i];
			uint32_t got = match_at(t, p->addr, p->port);
			tap_ok(got == p->want, "%s%s: %s port %u -> 0x%x (want 0x%x)", c->name,
			       rev ? " (reversed)" : "", p->addr, p->port, got, p->want);
		}
		restrict_table_free(t);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define CASE(name, r, p) {name, r, N(r), p, N(p)}

/* --- the cases ---------------------------------------------------------- */

static const struct rdef overlap4_r[] = {
	{"10.0.0.0", 8, F(NOSERVE), NULL},
	{"10.1.0.0", 16, F(KOD), NULL},
	{"10.1.2.3", HOST, F(NOMODIFY), NULL},
	{"default4", 0, F(IGNORE), NULL},
};
static const struct probe overlap4_p[] = {
	{"10.1.2.3", 40000, F(NOMODIFY)},
	{"10.1.2.4", 40000, F(KOD)},
	{"10.1.2.2", 40000, F(KOD)},
	{"10.1.255.255", 40000, F(KOD)},
	{"10.2.0.1", 40000, F(NOSERVE)},
	{"10.0.0.0", 40000, F(NOSERVE)},
	{"10.255.255.255", 40000, F(NOSERVE)},
	{"9.255.255.255", 40000, F(IGNORE)},
	{"11.0.0.0", 40000, F(IGNORE)},
	{"0.0.0.0", 40000, F(IGNORE)},
	{"::ffff:10.1.2.3", 40000, F(NOMODIFY)},
	{"::ffff:10.1.9.9", 40000, F(KOD)},
	{"::ffff:11.0.0.1", 40000, F(IGNORE)},
	{"2001:db8::1", 40000, 0},     /* no IPv6 rules at all */
	{"::10.1.2.3", 40000, 0},      /* v4-compatible is not v4-mapped */
	{"::1", 123, 0},
};

static const struct rdef overlap6_r[] = {
	{"2001:db8::", 32, F(NOSERVE), NULL},
	{"2001:db8:1::", 48, F(KOD), NULL},
	{"2001:db8:1::5", HOST, F(NOMODIFY), NULL},
	{"default6", 0, F(IGNORE), NULL},
	{"::ffff:0:0", 96, F(NOTRUST), NULL}, /* never sees mapped sources */
};
static const struct probe overlap6_p[] = {
	{"2001:db8:1::5", 1, F(NOMODIFY)},
	{"2001:db8:1::4", 1, F(KOD)},
	{"2001:db8:1::6", 1, F(KOD)},
	{"2001:db8:1:ffff:ffff:ffff:ffff:ffff", 1, F(KOD)},
	{"2001:db8:2::5", 1, F(NOSERVE)},
	{"2001:db8:ffff::", 1, F(NOSERVE)},
	{"2001:db9::", 1, F(IGNORE)},
	{"2001:db7:ffff::", 1, F(IGNORE)},
	{"::", 1, F(IGNORE)},
	{"::ffff:1.2.3.4", 1, 0},      /* mapped: IPv4 rules, and there are none */
	{"192.0.2.1", 1, 0},           /* no IPv4 rules at all */
};

static const struct rdef ntpport_r[] = {
	{"default4", 0, F(NOQUERY), NULL},
	{"default4", 0, F(IGNORE) | F(NTPPORT), NULL},
	{"192.0.2.0", 24, F(LIMITED), NULL},
	{"192.0.2.1", HOST, F(KOD) | F(NTPPORT), NULL},
	{"10.0.0.0", 8, F(NOPEER) | F(NTPPORT), NULL},
	{"10.1.0.0", 16, F(NOTRAP), NULL},
	{"default6", 0, F(NOQUERY), NULL},
	{"2001:db8::", 32, F(VERSION) | F(NTPPORT), NULL},
};
static const struct probe ntpport_p[] = {
	{"198.51.100.1", 123, F(IGNORE)},
	{"198.51.100.1", 124, F(NOQUERY)},
	{"198.51.100.1", 0, F(NOQUERY)},
	{"192.0.2.1", 123, F(KOD)},
	{"192.0.2.1", 5000, F(LIMITED)},
	{"192.0.2.2", 123, F(LIMITED)},   /* the /24 beats `default ntpport` */
	{"::ffff:192.0.2.1", 123, F(KOD)},
	{"::ffff:192.0.2.1", 1230, F(LIMITED)},
	{"10.1.2.3", 123, F(NOTRAP)},     /* longer prefix beats ntpport */
	{"10.2.0.0", 123, F(NOPEER)},
	{"10.2.0.0", 124, F(NOQUERY)},
	{"2001:db8::1", 123, F(VERSION)},
	{"2001:db8::1", 31488, F(NOQUERY)}, /* 123 << 8: port byte order */
	{"2001:db9::1", 123, F(NOQUERY)},
};

static const struct rdef dup_r[] = {
	{"default4", 0, F(KOD), NULL},
	{"default4", 0, F(LIMITED), NULL},
	{"0.0.0.0", 0, F(VERSION), NULL},          /* is the default entry */
	{"10.0.0.0", 8, F(NOPEER), NULL},
	{"10.9.9.9", 8, F(NOTRUST), NULL},         /* host bits: same entry */
	{"10.0.0.0", 8, F(NOQUERY) | F(NTPPORT), NULL}, /* a different entry */
	{"2001:db8::", 64, F(NOMODIFY), NULL},
	{"2001:db8::1:2:3:4", 64, F(NOTRAP), NULL},
	{"2001:db8::", 63, F(NOEPEER), NULL},      /* different mask */
};
static const struct probe dup_p[] = {
	{"192.0.2.1", 1, F(KOD) | F(LIMITED) | F(VERSION)},
	{"10.1.1.1", 1, F(NOPEER) | F(NOTRUST)},
	{"10.1.1.1", 123, F(NOQUERY)},
	{"2001:db8::9", 1, F(NOMODIFY) | F(NOTRAP)},
	{"2001:db8:0:1::9", 1, F(NOEPEER)},
	{"2001:db8:0:2::9", 1, 0},
};

static const struct rdef nodefault_r[] = {
	{"10.0.0.0", 8, F(KOD), NULL},
	{"fd00::", 8, F(LIMITED), NULL},
};
static const struct probe nodefault_p[] = {
	{"10.0.0.1", 1, F(KOD)},
	{"11.0.0.1", 1, 0},
	{"fd12::1", 1, F(LIMITED)},
	{"fe80::1", 1, 0},
};

static const struct rdef empty_r[1] = {{"default4", 0, 0, NULL}}; /* unused: n 0 */
static const struct probe empty_p[] = {
	{"192.0.2.1", 123, 0},
	{"2001:db8::1", 123, 0},
	{"::ffff:192.0.2.1", 123, 0},
};

static const struct rdef slash0_r[] = {
	{"192.0.2.1", 0, F(NOMODIFY), NULL}, /* a /0 that is not `default` */
	{"2001:db8::1", 0, F(NOTRAP), NULL},
	{"192.0.2.0", 24, F(KOD), NULL},
};
static const struct probe slash0_p[] = {
	{"203.0.113.7", 1, F(NOMODIFY)},
	{"192.0.2.77", 1, F(KOD)},
	{"2001:db9::7", 1, F(NOTRAP)},
};

static const struct rdef hosts_r[] = {
	{"192.0.2.1", HOST, F(IGNORE), NULL},
	{"192.0.2.128", 25, F(KOD), NULL},
	{"2001:db8::1", HOST, F(IGNORE), NULL},
	{"2001:db8::", 127, F(NOPEER), NULL},
	{"2001:db8::8000:0:0:0", 65, F(NOTRUST), NULL},
};
static const struct probe hosts_p[] = {
	{"192.0.2.1", 1, F(IGNORE)},
	{"192.0.2.0", 1, 0},
	{"192.0.2.2", 1, 0},
	{"193.0.2.1", 1, 0},
	{"192.0.2.127", 1, 0},
	{"192.0.2.128", 1, F(KOD)},
	{"192.0.2.255", 1, F(KOD)},
	{"2001:db8::1", 1, F(IGNORE)},
	{"2001:db8::", 1, F(NOPEER)},
	{"2001:db8::2", 1, 0},
	{"2001:db8::1:0:0:1", 1, 0},
	{"2001:db8:0:0:8000::", 1, F(NOTRUST)},
	{"2001:db8:0:0:7fff:ffff:ffff:ffff", 1, 0},
	{"2001:db8:0:1:8000::", 1, 0},
};

static const struct rdef source_r[] = {
	{"source", 0, F(IGNORE), NULL},
	{"default4", 0, F(KOD), NULL},
};
static const struct probe source_p[] = {
	{"192.0.2.1", 1, F(KOD)},
	{"2001:db8::1", 1, 0},
};

static const struct rdef multicast_r[] = {
	{"default4", 0, F(KOD), NULL},
	{"224.0.0.0", 4, F(NOTRAP), NULL},
	{"ff00::", 8, F(NOTRAP), NULL},
};
static const struct probe multicast_p[] = {
	{"224.0.0.1", 1, F(IGNORE)},
	{"239.255.255.255", 1, F(IGNORE)},
	{"223.255.255.255", 1, F(KOD)},
	{"240.0.0.1", 1, F(KOD)},
	{"ff02::1", 1, F(IGNORE)},
	{"::ffff:239.1.1.1", 1, F(IGNORE)},
	{"fe80::1", 1, 0},
};

static const struct rdef nonctg_r[] = {
	{"10.0.0.1", 0, F(KOD), "255.0.0.255"},
	{"10.0.0.0", 8, F(NOPEER), NULL},
};
static const struct probe nonctg_p[] = {
	{"10.5.5.1", 1, F(KOD)},   /* 16 mask bits beat 8 */
	{"10.5.5.2", 1, F(NOPEER)},
	{"11.5.5.1", 1, 0},
};

/* Every flag on its own, both families. */
static void check_every_flag(void)
{
	for (unsigned bit = 0; bit < 32; bit++) {
		uint32_t flag = 1u << bit;
		char a4[32], a6[64];
		if (flag > CONF_RES_NTPPORT)
			break;
		if (flag == CONF_RES_NTPPORT)
			continue;
		snprintf(a4, sizeof(a4), "192.0.2.%u", bit + 1);
		snprintf(a6, sizeof(a6), "2001:db8::%x", bit + 1);
		struct rdef defs[] = {{a4, HOST, flag, NULL}, {a6, HOST, flag, NULL}};
		struct conf_restrict rules[2] = {make_rule(&defs[0]), make_rule(&defs[1])};
		struct restrict_table *t = restrict_table_new(rules, 2);
		if (!tap_ok(t != NULL, "flag 0x%x: table built", flag))
			continue;
		uint32_t g4 = match_at(t, a4, 1), g6 = match_at(t, a6, 1);
		uint32_t o4 = match_at(t, "192.0.2.100", 1), o6 = match_at(t, "2001:db8::100", 1);
		tap_ok(g4 == flag && g6 == flag && o4 == 0 && o6 == 0,
		       "flag 0x%x: v4 0x%x v6 0x%x, others 0x%x 0x%x", flag, g4, g6, o4, o6);
		restrict_table_free(t);
	}
}

/* ntpport alone: the modifier never leaks into the result. */
static void check_ntpport_stripped(void)
{
	struct rdef d = {"default4", 0, F(NTPPORT), NULL};
	struct conf_restrict r = make_rule(&d);
	struct restrict_table *t = restrict_table_new(&r, 1);
	tap_ok(t && match_at(t, "192.0.2.1", 123) == 0 && match_at(t, "192.0.2.1", 1) == 0,
	       "bare ntpport entry yields no flags");
	restrict_table_free(t);
}

static void check_odd_inputs(void)
{
	struct restrict_table *t = restrict_table_new(NULL, 0);
	struct sockaddr_un un;
	struct conf_restrict bad;

	tap_ok(t != NULL, "empty table from NULL, 0");
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	tap_ok(restrict_match(t, (const struct sockaddr *)&un) == CONF_RES_IGNORE,
	       "unknown address family is ignored");
	tap_ok(restrict_match(t, NULL) == CONF_RES_IGNORE, "NULL address is ignored");
	tap_ok(match_at(NULL, "192.0.2.1", 123) == 0, "NULL table restricts nothing");
	tap_ok(match_at(NULL, "224.0.0.1", 123) == CONF_RES_IGNORE,
	       "NULL table still ignores multicast sources");
	restrict_table_free(t);
	restrict_table_free(NULL);

	memset(&bad, 0, sizeof(bad));
	bad.family = AF_UNIX;
	bad.is_default = true;
	bad.flags = CONF_RES_IGNORE;
	t = restrict_table_new(&bad, 1);
	tap_ok(t && match_at(t, "192.0.2.1", 1) == 0 && match_at(t, "2001:db8::1", 1) == 0,
	       "rule with an unknown family is skipped");
	restrict_table_free(t);
}

/* The rules are copied: the conf may be freed and reused afterwards. */
static void check_copy(void)
{
	struct rdef d = {"10.0.0.0", 8, F(KOD), NULL};
	struct conf_restrict *r = malloc(sizeof(*r));
	if (!r)
		abort();
	*r = make_rule(&d);
	struct restrict_table *t = restrict_table_new(r, 1);
	memset(r, 0xff, sizeof(*r));
	free(r);
	tap_ok(t && match_at(t, "10.0.0.1", 1) == F(KOD), "rules are copied at build time");
	restrict_table_free(t);
}

/* --- randomised cross-check ---------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the printed seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static bool ref_matches(const struct conf_restrict *r, int family, const uint8_t *a, uint16_t port)
{
	if (r->is_source || r->family != family)
		return false;
	if ((r->flags & CONF_RES_NTPPORT) && port != 123)
		return false;
	if (r->is_default)
		return true;
	for (int i = 0; i < 16; i++)
		if ((a[i] & r->mask[i]) != (r->addr[i] & r->mask[i]))
			return false;
	return true;
}

static bool ref_same_entry(const struct conf_restrict *x, const struct conf_restrict *y)
{
	uint8_t zero[16] = {0};
	const uint8_t *mx = x->is_default ? zero : x->mask, *my = y->is_default ? zero : y->mask;
	if (x->is_source || y->is_source)
		return false;
	if (x->family != y->family || ((x->flags ^ y->flags) & CONF_RES_NTPPORT) || memcmp(mx, my, 16))
		return false;
	for (int i = 0; i < 16; i++)
		if ((x->addr[i] & mx[i]) != (y->addr[i] & my[i]))
			return false;
	return true;
}

/* Brute force: the longest matching mask, ntpport before plain on a tie,
 * flags OR-ed over every rule that is the same entry. */
static uint32_t ref_match(const struct conf_restrict *rules, size_t n, int family, const uint8_t *a,
                          uint16_t port)
{
	const struct conf_restrict *best = NULL;
	unsigned best_bits = 0;
	uint32_t flags = 0;

	if ((family == AF_INET && (a[0] & 0xf0) == 0xe0) || (family == AF_INET6 && a[0] == 0xff))
		return CONF_RES_IGNORE;
	for (size_t i = 0; i < n; i++) {
		const struct conf_restrict *r = &rules[i];
		if (!ref_matches(r, family, a, port))
			continue;
		unsigned bits = r->is_default ? 0 : count_bits(r->mask);
		if (!best || bits > best_bits ||
		    (bits == best_bits && (r->flags & CONF_RES_NTPPORT) && !(best->flags & CONF_RES_NTPPORT))) {
			best = r;
			best_bits = bits;
		}
	}
	if (!best)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (ref_same_entry(&rules[i], best))
			flags |= rules[i].flags;
	return flags & ~(uint32_t)CONF_RES_NTPPORT;
}

static void random_rule(struct conf_restrict *r, const uint8_t *base4, const uint8_t *base6)
{
	static const unsigned p4[] = {0, 8, 16, 23, 24, 25, 31, 32};
	static const unsigned p6[] = {0, 32, 48, 63, 64, 65, 127, 128};

	memset(r, 0, sizeof(*r));
	r->family = rnd() % 2 ? AF_INET : AF_INET6;
	r->flags = (uint32_t)rnd() & ((CONF_RES_NTPPORT << 1) - 1);
	if (rnd() % 3)
		r->flags &= ~(uint32_t)CONF_RES_NTPPORT;
	switch (rnd() % 16) {
	case 0:
		r->is_default = true;
		return;
	case 1:
		r->is_source = true;
		return;
	default:
		break;
	}
	/* Addresses near a common base so that rules overlap. */
	memcpy(r->addr, r->family == AF_INET ? base4 : base6, 16);
	size_t len = r->family == AF_INET ? 4 : 16;
	for (size_t i = len / 2; i < len; i++)
		if (rnd() % 2)
			r->addr[i] = (uint8_t)rnd();
	set_prefix(r->mask, r->family == AF_INET ? p4[rnd() % 8] : p6[rnd() % 8]);
	r->prefix = count_bits(r->mask);
}

static void check_random(void)
{
	const char *env = getenv("NTSD_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	const uint8_t base4[16] = {10, 20, 0, 0};
	const uint8_t base6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	unsigned tables = 0, probes = 0, bad = 0;

	tap_diag("random seed %llu (NTSD_TEST_SEED to replay)", (unsigned long long)seed);
	rng_state = seed ? seed : 1;
	for (int round = 0; round < 300; round++) {
		struct conf_restrict rules[40];
		size_t n = (size_t)(rnd() % 40);
		for (size_t i = 0; i < n; i++) {
			random_rule(&rules[i], base4, base6);
			if (i && rnd() % 8 == 0) { /* a duplicate with other flags */
				uint32_t f = (uint32_t)rnd() & (CONF_RES_NTPPORT - 1);
				rules[i] = rules[rnd() % i];
				rules[i].flags = (rules[i].flags & CONF_RES_NTPPORT) | f;
			}
		}
		struct restrict_table *t = restrict_table_new(rules, n);
		if (!t) {
			bad++;
			continue;
		}
		tables++;
		for (int k = 0; k < 200; k++) {
			struct sockaddr_storage ss;
			uint8_t a[16];
			int family = rnd() % 2 ? AF_INET : AF_INET6;
			uint16_t port = rnd() % 2 ? 123 : (uint16_t)rnd();
			bool mapped = family == AF_INET && rnd() % 4 == 0;
			memcpy(a, family == AF_INET ? base4 : base6, 16);
			if (n && rnd() % 2) { /* near a rule's address */
				const struct conf_restrict *r = &rules[rnd() % n];
				if (r->family == family && !r->is_default && !r->is_source)
					memcpy(a, r->addr, 16);
			}
			size_t len = family == AF_INET ? 4 : 16;
			if (rnd() % 2)
				a[len - 1 - rnd() % 2] ^= (uint8_t)(1u << (rnd() % 8));
			if (rnd() % 16 == 0)
				a[0] = family == AF_INET ? 224 : 0xff;
			memset(&ss, 0, sizeof(ss));
			if (family == AF_INET && !mapped) {
				struct sockaddr_in *in = (struct sockaddr_in *)&ss;
				in->sin_family = AF_INET;
				in->sin_port = htons(port);
				memcpy(&in->sin_addr, a, 4);
			} else {
				struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
				in6->sin6_family = AF_INET6;
				in6->sin6_port = htons(port);
				if (mapped) {
					in6->sin6_addr.s6_addr[10] = 0xff;
					in6->sin6_addr.s6_addr[11] = 0xff;
					memcpy(&in6->sin6_addr.s6_addr[12], a, 4);
				} else {
					memcpy(&in6->sin6_addr, a, 16);
				}
			}
			uint32_t got = restrict_match(t, (const struct sockaddr *)&ss);
			uint32_t want = ref_match(rules, n, family, a, port);
			probes++;
			if (got != want && bad++ < 5)
				tap_diag("round %d probe %d: family %d port %u got 0x%x want 0x%x", round, k,
				         family, port, got, want);
		}
		restrict_table_free(t);
	}
	tap_ok(tables == 300 && probes == 300u * 200u, "random: %u tables, %u probes", tables, probes);
	tap_ok(bad == 0, "random: matches brute-force reference (%u mismatches)", bad);
}

int main(void)
{
	static const struct tcase cases[] = {
		CASE("overlap v4", overlap4_r, overlap4_p),
		CASE("overlap v6", overlap6_r, overlap6_p),
		CASE("ntpport", ntpport_r, ntpport_p),
		CASE("duplicates", dup_r, dup_p),
		CASE("no default", nodefault_r, nodefault_p),
		{"empty", empty_r, 0, empty_p, N(empty_p)},
		CASE("/0 non-default", slash0_r, slash0_p),
		CASE("hosts", hosts_r, hosts_p),
		CASE("source", source_r, source_p),
		CASE("multicast", multicast_r, multicast_p),
		CASE("non-contiguous mask", nonctg_r, nonctg_p),
	};

	for (size_t i = 0; i < N(cases); i++)
		run_case(&cases[i]);
	check_every_flag();
	check_ntpport_stripped();
	check_odd_inputs();
	check_copy();
	check_random();
	return tap_done();
}
