/* Per-client rate limiting (`restrict ... limited`, `discard`).
 *
 * What ntpd does (NTPsec ntp_monitor.c, ntp_monitor()): each client has a
 * "leak" counter in seconds that drains at 1 s/s. With head = 2^average
 * and limit = NTP_SHIFT (8) * head, a packet passes if it came at least
 * `minimum` s after the previous one (with a 1 s grace, on intervals
 * rounded to whole seconds) and leak + head < limit; a passing packet adds
 * head (less a 2 s grace). A failing packet while leak < limit sets leak to
 * limit + head and may draw a KoD; while leak >= limit it changes nothing
 * and draws no KoD, which limits KoDs to about one per head seconds.
 *
 * What we do: the same leaky bucket, in nanoseconds, stated as a rule on
 * every packet rather than a penalty jump:
 *   - the score drains at 1 s/s; every packet, passing or not, adds head;
 *   - a packet is over the limit if it follows the previous packet (of any
 *     verdict) by less than minimum - 1 s (ntpd's grace; it keeps an iburst
 *     at exactly `minimum` spacing with network jitter from being cut), or
 *     if score + head would exceed RATELIMIT_BURST * head;
 *   - the score of an over-limit packet is capped at limit + head, ntpd's
 *     penalty level. So a client sending faster than one packet per head
 *     stays blocked (as in ntpd), one that slows below it drains the
 *     excess, and one that pauses for 2 * head is served again: the cap
 *     bounds how long a flood is remembered.
 * We drop ntpd's 2 s grace on the average: with the burst allowance of 8
 * intervals, jitter around a compliant poll interval never accumulates.
 *
 * KoD: per client at most one RATELIMIT_KOD per head seconds (the time of
 * the last one is kept, so it does not depend on the score), and per
 * instance at most RATELIMIT_KOD_PER_S per second from a token bucket of
 * as many. Source addresses of UDP packets are trivially forged: without
 * the global cap a flood from many spoofed sources would have us send a
 * KoD for each at line rate, a reflector aimed at the forged victims.
 *
 * Table: set-associative, RATELIMIT_WAYS entries per set, the set chosen
 * by SipHash-2-4 (crypto_shorthash) of the full 16-byte address under a
 * random key, so a client cannot choose addresses that collide in one set
 * to flush someone's history. On a miss the least recently seen entry of
 * the set is replaced and the new client starts with a clean score. */
#include "config.h"

#include "ntsd/ratelimit.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define NS_PER_S 1000000000ull
#define MINIMUM_GRACE_NS NS_PER_S
#define KOD_COST_NS (NS_PER_S / RATELIMIT_KOD_PER_S)
#define KOD_BUCKET_NS (KOD_COST_NS * RATELIMIT_KOD_PER_S)

struct client {
	uint8_t addr[16]; /* IPv4 as ::ffff:a.b.c.d */
	uint64_t last_ns;  /* last packet, any verdict */
	uint64_t score_ns; /* leaky bucket level at last_ns */
	uint64_t kod_ns;   /* last RATELIMIT_KOD, if kod_sent */
	bool used, kod_sent;
};

struct ratelimit {
	struct client *slots;
	size_t set_mask; /* number of sets - 1 */
	uint64_t head_ns, limit_ns, cap_ns, guard_ns;
	uint64_t kod_credit_ns, kod_last_ns;
	unsigned char key[crypto_shorthash_KEYBYTES];
};

static uint64_t elapsed(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void ratelimit_set(struct ratelimit *rl, int average_log2, int minimum_s)
{
	uint64_t minimum_ns;

	if (!rl)
		return;
	rl->head_ns = NS_PER_S << clamp(average_log2, 0, RATELIMIT_AVERAGE_MAX);
	rl->limit_ns = RATELIMIT_BURST * rl->head_ns;
	rl->cap_ns = rl->limit_ns + rl->head_ns;
	minimum_ns = (uint64_t)clamp(minimum_s, 0, RATELIMIT_MINIMUM_MAX) * NS_PER_S;
	rl->guard_ns = minimum_ns > MINIMUM_GRACE_NS ? minimum_ns - MINIMUM_GRACE_NS : 0;
}

struct ratelimit *ratelimit_new(size_t entries, int average_log2, int minimum_s)
{
	struct ratelimit *rl;
	size_t n = RATELIMIT_WAYS;

	while (n < entries) {
		if (n > SIZE_MAX / 2)
			return NULL;
		n <<= 1;
	}
	if (sodium_init() < 0)
		return NULL;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->slots = calloc(n, sizeof(*rl->slots));
	if (!rl->slots) {
		free(rl);
		return NULL;
	}
	rl->set_mask = n / RATELIMIT_WAYS - 1;
	rl->kod_credit_ns = KOD_BUCKET_NS;
	randombytes_buf(rl->key, sizeof(rl->key));
	ratelimit_set(rl, average_log2, minimum_s);
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->slots);
	sodium_memzero(rl, sizeof(*rl));
	free(rl);
}

/* One client per host: a v4-mapped address is the IPv4 host, and the port
 * is ignored (ntpd keys its MRU list on the address only, so that a cron'ed
 * ntpdate with a fresh port each time cannot evade `limited`). */
static bool client_key(const struct sockaddr *sa, uint8_t key[16])
{
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in in;
		memcpy(&in, sa, sizeof(in));
		memset(key, 0, 10);
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &in.sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 in6;
		memcpy(&in6, sa, sizeof(in6));
		memcpy(key, &in6.sin6_addr, 16);
		return true;
	}
	return false;
}

/* The client's entry; on a miss, the least recently seen entry of the set
 * (a free one first) is reset for it and *fresh is set. */
static struct client *lookup(struct ratelimit *rl, const uint8_t key[16], uint64_t now, bool *fresh)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t hv;
	struct client *set, *victim = NULL;

	crypto_shorthash(h, key, 16, rl->key);
	memcpy(&hv, h, sizeof(hv));
	set = &rl->slots[(size_t)(hv & rl->set_mask) * RATELIMIT_WAYS];
	for (size_t i = 0; i < RATELIMIT_WAYS; i++) {
		struct client *c = &set[i];
		if (c->used && memcmp(c->addr, key, 16) == 0) {
			*fresh = false;
			return c;
		}
		if (!victim || (victim->used && (!c->used || c->last_ns < victim->last_ns)))
			victim = c;
	}
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->addr, key, 16);
	victim->used = true;
	victim->last_ns = now;
	*fresh = true;
	return victim;
}

static bool kod_allowed(struct ratelimit *rl, uint64_t now)
{
	uint64_t refill = min_u64(KOD_BUCKET_NS, elapsed(now, rl->kod_last_ns));

	rl->kod_credit_ns = min_u64(KOD_BUCKET_NS, rl->kod_credit_ns + refill);
	if (now > rl->kod_last_ns)
		rl->kod_last_ns = now;
	if (rl->kod_credit_ns < KOD_COST_NS)
		return false;
	rl->kod_credit_ns -= KOD_COST_NS;
	return true;
}

enum ratelimit_verdict ratelimit_check(struct ratelimit *rl, const struct sockaddr *sa,
                                       uint64_t now_ns, bool want_kod)
{
	uint8_t key[16];
	struct client *c;
	uint64_t interval;
	bool fresh, over;

	if (!rl || !sa || !client_key(sa, key))
		return RATELIMIT_DROP;
	c = lookup(rl, key, now_ns, &fresh);
	interval = elapsed(now_ns, c->last_ns);
	if (now_ns > c->last_ns)
		c->last_ns = now_ns;
	c->score_ns = c->score_ns > interval ? c->score_ns - interval : 0;

	over = (!fresh && interval < rl->guard_ns) || c->score_ns + rl->head_ns > rl->limit_ns;
	if (!over) {
		c->score_ns += rl->head_ns;
		return RATELIMIT_PASS;
	}
	c->score_ns = min_u64(c->score_ns + rl->head_ns, rl->cap_ns);
	if (!want_kod)
		return RATELIMIT_DROP;
	if (c->kod_sent && elapsed(now_ns, c->kod_ns) < rl->head_ns)
		return RATELIMIT_DROP;
	if (!kod_allowed(rl, now_ns))
		return RATELIMIT_DROP;
	c->kod_sent = true;
	c->kod_ns = now_ns;
	return RATELIMIT_KOD;
}
