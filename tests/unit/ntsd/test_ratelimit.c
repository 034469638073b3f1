/* ratelimit: leaky bucket, minimum spacing, KoD limits and the LRU table,
 * driven with a synthetic monotonic clock; then a randomised multi-client
 * run checking invariants (seed printed; NTSD_TEST_SEED to replay). */
#include "ntsd/ratelimit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define T0 (1000 * SEC) /* an arbitrary start on the monotonic clock */

static struct sockaddr_storage sa_v4(uint32_t host_order, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	in->sin_addr.s_addr = htonl(host_order);
	return ss;
}

static struct sockaddr_storage sa_str(const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
	} else {
		abort();
	}
	return ss;
}

/* Client number i: 10.0.0.0/8 for even i, 2001:db8::/64 for odd i. */
static struct sockaddr_storage client(uint32_t i)
{
	if (i % 2 == 0)
		return sa_v4(0x0a000000u | (i / 2), 40000);
	struct sockaddr_storage ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	memset(&ss, 0, sizeof(ss));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(40000);
	inet_pton(AF_INET6, "2001:db8::", &in6->sin6_addr);
	for (int b = 0; b < 4; b++)
		in6->sin6_addr.s6_addr[12 + b] = (uint8_t)((i / 2) >> (24 - 8 * b));
	return ss;
}

static enum ratelimit_verdict check(struct ratelimit *rl, const struct sockaddr_storage *ss, uint64_t t,
                                    bool kod)
{
	return ratelimit_check(rl, (const struct sockaddr *)ss, t, kod);
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n) for n > 0. */
static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

static void test_compliant(void)
{
	static const int averages[] = {0, 1, 3, 6};

	for (size_t k = 0; k < sizeof(averages) / sizeof(averages[0]); k++) {
		int a = averages[k];
		struct ratelimit *rl = ratelimit_new(64, a, 2);
		struct sockaddr_storage c = client(1);
		unsigned limited = 0;
		if (!tap_ok(rl != NULL, "average %d: created", a))
			continue;
		for (uint64_t i = 0; i < 1000; i++)
			limited += check(rl, &c, T0 + i * (SEC << a), true) != RATELIMIT_PASS;
		tap_ok(limited == 0, "average %d: 1000 packets every 2^%d s never limited (%u)", a, a, limited);
		ratelimit_free(rl);
	}

	/* Jitter around a compliant grid: intervals from 6 s to 10 s. */
	struct ratelimit *rl = ratelimit_new(64, 3, 2);
	struct sockaddr_storage c = client(2);
	unsigned limited = 0;
	for (uint64_t i = 0; i < 1000; i++) {
		uint64_t jitter = rnd_below(2000) * MS;
		limited += check(rl, &c, T0 + i * 8 * SEC + jitter, false) != RATELIMIT_PASS;
	}
	tap_ok(limited == 0, "1000 packets every 8 s +- 1 s jitter never limited (%u)", limited);
	ratelimit_free(rl);
}

/* One packet per second against the defaults (average 3, minimum 2). */
static void test_fast_client(void)
{
	struct ratelimit *rl = ratelimit_new(64, 3, 2);
	struct sockaddr_storage c = client(3);
	uint64_t t = T0;
	unsigned passes = 0, late_passes = 0, kods = 0;
	int first_limit = -1;

	for (int i = 0; i < 120; i++, t += SEC) {
		enum ratelimit_verdict v = check(rl, &c, t, false);
		kods += v == RATELIMIT_KOD;
		if (v == RATELIMIT_PASS) {
			passes++;
			if (first_limit >= 0)
				late_passes++;
		} else if (first_limit < 0) {
			first_limit = i;
		}
	}
	tap_diag("1 pkt/s: %u passes, first limited packet #%d", passes, first_limit);
	tap_ok(first_limit >= RATELIMIT_BURST / 2, "1 pkt/s: a burst is allowed before limiting (#%d)",
	       first_limit);
	tap_ok(passes >= RATELIMIT_BURST / 2 && passes <= RATELIMIT_BURST + 2,
	       "1 pkt/s: about one burst passes (%u)", passes);
	tap_ok(late_passes == 0, "1 pkt/s: nothing passes once limited (%u)", late_passes);
	tap_ok(kods == 0, "no KoD without want_kod");

	/* Pausing one average interval is not enough, two are. */
	t += 8 * SEC - SEC;
	tap_ok(check(rl, &c, t, false) == RATELIMIT_DROP, "still limited after pausing 8 s");
	t += 2 * 8 * SEC + SEC;
	tap_ok(check(rl, &c, t, false) == RATELIMIT_PASS, "recovers after pausing 17 s");
	unsigned limited = 0;
	for (int i = 1; i <= 100; i++)
		limited += check(rl, &c, t + (uint64_t)i * 8 * SEC, false) != RATELIMIT_PASS;
	tap_ok(limited == 0, "recovered client polling every 8 s is served (%u limited)", limited);

	/* A client that slows to just below the average rate recovers too. */
	struct sockaddr_storage d = client(5);
	t += 100 * SEC;
	for (int i = 0; i < 60; i++, t += SEC)
		check(rl, &d, t, false);
	unsigned first_pass = 0;
	for (unsigned i = 1; i <= 100 && !first_pass; i++) {
		t += 9 * SEC;
		if (check(rl, &d, t, false) == RATELIMIT_PASS)
			first_pass = i;
	}
	tap_ok(first_pass > 1 && first_pass <= 30,
	       "a client slowing to one per 9 s is served again (after %u packets)", first_pass);
	ratelimit_free(rl);
}

static void test_minimum(void)
{
	/* average 0 (1 s) so that only the minimum matters at >= 1 s spacing */
	struct ratelimit *rl = ratelimit_new(64, 0, 4);
	struct sockaddr_storage a = client(10), b = client(11), c = client(12), d = client(13);
	unsigned bad = 0;

	for (uint64_t i = 0; i < 100; i++)
		bad += check(rl, &a, T0 + i * 3500 * MS, false) != RATELIMIT_PASS;
	tap_ok(bad == 0, "minimum 4: 3.5 s spacing passes (1 s grace) (%u limited)", bad);
	bad = 0;
	for (uint64_t i = 0; i < 100; i++)
		bad += check(rl, &b, T0 + i * 3 * SEC, false) != RATELIMIT_PASS;
	tap_ok(bad == 0, "minimum 4: exactly 3 s spacing passes (%u limited)", bad);
	tap_ok(check(rl, &c, T0, false) == RATELIMIT_PASS, "minimum 4: first packet passes");
	bad = 0;
	for (uint64_t i = 1; i < 100; i++)
		bad += check(rl, &c, T0 + i * (3 * SEC - 1), false) != RATELIMIT_DROP;
	tap_ok(bad == 0, "minimum 4: every packet 3 s - 1 ns after the previous is dropped (%u)", bad);
	/* Drops count as the previous packet: a client retrying every 2 s
	 * never gets through, even though 4 s pass between its passes. */
	check(rl, &d, T0, false);
	bad = 0;
	for (uint64_t i = 1; i < 50; i++)
		bad += check(rl, &d, T0 + i * 2 * SEC, false) == RATELIMIT_PASS;
	tap_ok(bad == 0, "minimum 4: retrying every 2 s never passes (%u)", bad);
	ratelimit_free(rl);

	/* minimum 0: a back-to-back burst gets exactly the burst allowance */
	rl = ratelimit_new(64, 3, 0);
	unsigned passes = 0;
	for (int i = 0; i < 3 * RATELIMIT_BURST; i++)
		passes += check(rl, &a, T0, false) == RATELIMIT_PASS;
	tap_ok(passes == RATELIMIT_BURST, "minimum 0: %u of a back-to-back burst pass (want %d)", passes,
	       RATELIMIT_BURST);
	ratelimit_free(rl);

	/* minimum 2, the default: 1 s grace, as ntpd */
	rl = ratelimit_new(64, 0, 2);
	tap_ok(check(rl, &a, T0, false) == RATELIMIT_PASS && check(rl, &a, T0 + SEC, false) == RATELIMIT_PASS &&
	           check(rl, &a, T0 + 2 * SEC - 1, false) == RATELIMIT_DROP,
	       "minimum 2: 1 s spacing passes, 1 s - 1 ns does not");
	ratelimit_free(rl);
}

static void test_kod(void)
{
	static const uint64_t periods[] = {SEC, 10 * MS, 3 * SEC};

	for (size_t k = 0; k < sizeof(periods) / sizeof(periods[0]); k++) {
		uint64_t period = periods[k], head = 8 * SEC, span = 200 * SEC;
		struct ratelimit *rl = ratelimit_new(64, 3, 2);
		struct sockaddr_storage c = client(20);
		uint64_t last_kod = 0, first_kod = 0, min_gap = UINT64_MAX, last_t = 0;
		unsigned kods = 0, passes_after_kod = 0, drops_before_kod = 0;
		for (uint64_t t = T0; t < T0 + span; t += period) {
			enum ratelimit_verdict v = check(rl, &c, t, true);
			last_t = t;
			if (v == RATELIMIT_DROP && !kods)
				drops_before_kod++;
			if (v == RATELIMIT_KOD) {
				if (!kods)
					first_kod = t;
				if (kods && t - last_kod < min_gap)
					min_gap = t - last_kod;
				last_kod = t;
				kods++;
			} else if (v == RATELIMIT_PASS && kods) {
				passes_after_kod++;
			}
		}
		/* Flooding keeps every packet over the limit, so a KoD goes out
		 * with the first packet at least 8 s after the previous one. */
		uint64_t gap = (head + period - 1) / period * period;
		unsigned want = kods ? (unsigned)((last_t - first_kod) / gap) + 1 : 0;
		tap_ok(kods > 0 && drops_before_kod == 0, "period %llu ms: the first limited packet draws a KoD",
		       (unsigned long long)(period / MS));
		tap_ok(kods == want, "period %llu ms: %u KoDs in 200 s, one per %llu ms (want %u)",
		       (unsigned long long)(period / MS), kods, (unsigned long long)(gap / MS), want);
		tap_ok(kods < 2 || min_gap >= head, "period %llu ms: KoDs at least 8 s apart (min %llu ms)",
		       (unsigned long long)(period / MS), (unsigned long long)(min_gap / MS));
		tap_ok(passes_after_kod == 0, "period %llu ms: nothing served while flooding (%u)",
		       (unsigned long long)(period / MS), passes_after_kod);
		ratelimit_free(rl);
	}
}

/* n new clients (numbered from *next) each send two packets 1 ms apart at
 * t; returns the KoDs given. */
static unsigned spoofed_burst(struct ratelimit *rl, uint32_t *next, unsigned n, uint64_t t)
{
	unsigned kods = 0;
	for (unsigned i = 0; i < n; i++) {
		struct sockaddr_storage c = client((*next)++);
		kods += check(rl, &c, t, true) == RATELIMIT_KOD;
		kods += check(rl, &c, t + MS, true) == RATELIMIT_KOD;
	}
	return kods;
}

static void test_global_kod_cap(void)
{
	struct ratelimit *rl = ratelimit_new(1u << 16, 3, 2);
	uint32_t next = 100000;
	unsigned k;

	k = spoofed_burst(rl, &next, 1000, T0);
	tap_ok(k == RATELIMIT_KOD_PER_S, "global cap: %u KoDs for 1000 sources at once (want %d)", k,
	       RATELIMIT_KOD_PER_S);
	k = spoofed_burst(rl, &next, 1000, T0 + 500 * MS);
	tap_ok(k == RATELIMIT_KOD_PER_S / 2, "global cap: %u KoDs half a second later (want %d)", k,
	       RATELIMIT_KOD_PER_S / 2);
	k = spoofed_burst(rl, &next, 1000, T0 + 60 * SEC);
	tap_ok(k == RATELIMIT_KOD_PER_S, "global cap: the burst does not grow when idle (%u)", k);

	/* A 20 s flood of 5000 forged sources per second. */
	unsigned total = 0;
	uint64_t start = T0 + 120 * SEC;
	for (uint64_t t = start; t < start + 20 * SEC; t += 10 * MS)
		total += spoofed_burst(rl, &next, 50, t);
	unsigned most = RATELIMIT_KOD_PER_S * 21;
	tap_ok(total <= most && total >= RATELIMIT_KOD_PER_S * 19,
	       "global cap: %u KoDs in a 20 s flood (at most %u)", total, most);

	/* Unlimited clients are unaffected by the cap being exhausted. */
	struct sockaddr_storage c = client(7);
	tap_ok(check(rl, &c, start + 20 * SEC, true) == RATELIMIT_PASS, "global cap: new client served");
	ratelimit_free(rl);
}

/* A table of one set (RATELIMIT_WAYS entries). */
static void test_lru(size_t entries)
{
	struct ratelimit *rl = ratelimit_new(entries, 3, 2);
	struct sockaddr_storage c[RATELIMIT_WAYS + 1];
	uint64_t t = T0;
	unsigned bad = 0;

	if (!tap_ok(rl != NULL, "lru(%zu): created", entries))
		return;
	for (int i = 0; i <= RATELIMIT_WAYS; i++)
		c[i] = client(200 + (uint32_t)i);
	/* Fill the set with limited clients, c[0] seen least recently. */
	for (int i = 0; i < RATELIMIT_WAYS; i++) {
		check(rl, &c[i], t, false);
		t += MS;
		bad += check(rl, &c[i], t, false) != RATELIMIT_DROP;
		t += MS;
	}
	tap_ok(bad == 0, "lru(%zu): %d clients limited", entries, RATELIMIT_WAYS);
	bad = 0;
	for (int i = 1; i < RATELIMIT_WAYS; i++, t += MS)
		bad += check(rl, &c[i], t, false) != RATELIMIT_DROP;
	tap_ok(bad == 0, "lru(%zu): all still remembered (the table holds %d)", entries, RATELIMIT_WAYS);
	/* A new client evicts c[0], the least recently seen. */
	tap_ok(check(rl, &c[RATELIMIT_WAYS], t, false) == RATELIMIT_PASS, "lru(%zu): new client served",
	       entries);
	t += MS;
	tap_ok(check(rl, &c[0], t, false) == RATELIMIT_PASS,
	       "lru(%zu): least recently seen client was evicted (clean score)", entries);
	t += MS;
	/* c[0]'s return evicted c[1]; c[2..] are still limited. */
	bad = 0;
	for (int i = 2; i < RATELIMIT_WAYS; i++, t += MS)
		bad += check(rl, &c[i], t, false) != RATELIMIT_DROP;
	tap_ok(bad == 0, "lru(%zu): more recently seen clients kept (%u lost)", entries, bad);
	tap_ok(check(rl, &c[1], t, false) == RATELIMIT_PASS, "lru(%zu): next least recent evicted next",
	       entries);
	ratelimit_free(rl);
}

static void test_heavy_hitter(void)
{
	struct ratelimit *rl = ratelimit_new(RATELIMIT_WAYS, 3, 2);
	struct sockaddr_storage h = client(300);
	uint32_t next = 1000;
	unsigned h_passes = 0, others_limited = 0;

	for (uint64_t t = T0; t < T0 + 100 * SEC; t += 100 * MS) {
		h_passes += check(rl, &h, t, false) == RATELIMIT_PASS;
		for (int i = 0; i < RATELIMIT_WAYS - 3; i++) {
			struct sockaddr_storage o = client(next++);
			others_limited += check(rl, &o, t + (uint64_t)i + 1, false) != RATELIMIT_PASS;
		}
	}
	tap_ok(h_passes <= 2, "full table: 10 pkt/s client stays limited among %u others (%u passes)", next - 1000,
	       h_passes);
	tap_ok(others_limited == 0, "full table: one-off clients all served (%u limited)", others_limited);
	ratelimit_free(rl);

	/* Many more clients than entries: churn without trouble. */
	rl = ratelimit_new(1000, 3, 2); /* rounds to 1024 */
	unsigned first_limited = 0, again_limited = 0;
	for (uint32_t i = 0; i < 200000; i++) {
		struct sockaddr_storage o = client(i);
		first_limited += check(rl, &o, T0 + i * 1000ull, false) != RATELIMIT_PASS;
	}
	/* The last few hundred are still in the table and now too fast. */
	for (uint32_t i = 200000 - 100; i < 200000; i++) {
		struct sockaddr_storage o = client(i);
		again_limited += check(rl, &o, T0 + 200000ull * 1000 + i, false) == RATELIMIT_DROP;
	}
	tap_ok(first_limited == 0, "churn: 200000 clients through 1024 entries, all new (%u limited)",
	       first_limited);
	tap_ok(again_limited == 100, "churn: the most recent 100 are remembered (%u)", again_limited);
	ratelimit_free(rl);
}

static void test_families(void)
{
	struct ratelimit *rl = ratelimit_new(256, 3, 2);
	struct sockaddr_storage v4 = sa_str("192.0.2.1", 123), v4port = sa_str("192.0.2.1", 5555),
				mapped = sa_str("::ffff:192.0.2.1", 123);
	static const char *const others[] = {"2001:db8::1", "::192.0.2.1", "2001:db8::c000:201", "::ffff:192.0.2.2",
					     "192.0.2.3", "2001:db8::2"};

	check(rl, &v4, T0, false);
	check(rl, &v4, T0 + MS, false);
	tap_ok(check(rl, &v4port, T0 + 2 * MS, false) == RATELIMIT_DROP, "same address, other port: same client");
	tap_ok(check(rl, &mapped, T0 + 3 * MS, false) == RATELIMIT_DROP, "v4-mapped v6: same client as v4");
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		struct sockaddr_storage o = sa_str(others[i], 123);
		tap_ok(check(rl, &o, T0 + 4 * MS, false) == RATELIMIT_PASS && check(rl, &o, T0 + 5 * MS, false) == RATELIMIT_DROP,
		       "%s is a separate client", others[i]);
	}

	struct sockaddr_un un;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	tap_ok(ratelimit_check(rl, (const struct sockaddr *)&un, T0, true) == RATELIMIT_DROP,
	       "unknown family dropped");
	tap_ok(ratelimit_check(rl, NULL, T0, true) == RATELIMIT_DROP, "NULL address dropped");
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

static void test_set(void)
{
	struct ratelimit *rl = ratelimit_new(64, 3, 2);
	struct sockaddr_storage a = client(400), b = client(401);
	uint64_t t = T0;
	unsigned bad = 0;

	check(rl, &a, t, false);
	check(rl, &a, t + MS, false);
	ratelimit_set(rl, 3, 2);
	tap_ok(check(rl, &a, t + 2 * MS, false) == RATELIMIT_DROP, "set: limited client stays limited");

	/* b polls every 8 s: fine at average 3 and 2, limited at 5. */
	for (int i = 0; i < 50; i++, t += 8 * SEC)
		bad += check(rl, &b, t, false) != RATELIMIT_PASS;
	ratelimit_set(rl, 2, 2);
	for (int i = 0; i < 50; i++, t += 8 * SEC)
		bad += check(rl, &b, t, false) != RATELIMIT_PASS;
	tap_ok(bad == 0, "set: 8 s poller served at average 3 and 2 (%u)", bad);
	ratelimit_set(rl, 5, 2);
	unsigned passes = 0;
	for (int i = 0; i < 50; i++, t += 8 * SEC)
		passes += check(rl, &b, t, false) == RATELIMIT_PASS;
	tap_ok(passes > 0 && passes < 50, "set: average 5 limits the 8 s poller (%u of 50 served)", passes);
	ratelimit_set(rl, 3, 10);
	t += 100 * SEC;
	struct sockaddr_storage e = client(404);
	tap_ok(check(rl, &e, t, false) == RATELIMIT_PASS && check(rl, &e, t + 8 * SEC, false) == RATELIMIT_DROP &&
	           check(rl, &e, t + 17 * SEC, false) == RATELIMIT_PASS,
	       "set: minimum 10 applies (9 s with the grace)");
	t += 20 * SEC;

	/* Clamping: a negative average is 0, a huge one RATELIMIT_AVERAGE_MAX. */
	ratelimit_set(rl, -7, -3);
	struct sockaddr_storage c = client(402);
	bad = 0;
	for (int i = 0; i < 100; i++)
		bad += check(rl, &c, t + (uint64_t)i * SEC, false) != RATELIMIT_PASS;
	tap_ok(bad == 0, "set: average -7 acts as 0, minimum -3 as 0 (%u)", bad);
	ratelimit_set(rl, 1000, 0);
	struct sockaddr_storage d = client(403);
	uint64_t big = SEC << RATELIMIT_AVERAGE_MAX;
	bad = 0;
	for (int i = 0; i < 100; i++)
		bad += check(rl, &d, t + (uint64_t)i * big, false) != RATELIMIT_PASS;
	struct sockaddr_storage f = client(405);
	t += 200 * big;
	unsigned limited = 0;
	for (int i = 0; i < 100; i++)
		limited += check(rl, &f, t + (uint64_t)i * (big / 2), false) != RATELIMIT_PASS;
	tap_ok(bad == 0 && limited > 0, "set: average 1000 acts as %d (%u, %u)", RATELIMIT_AVERAGE_MAX, bad,
	       limited);
	ratelimit_set(NULL, 3, 2);
	ratelimit_free(rl);
}

/* Per-client expectations checked in the randomised run. */
struct sim {
	struct sockaddr_storage sa;
	uint64_t next, period, jitter;
	bool want_kod, compliant;
	uint64_t last, last_kod;
	unsigned packets, passes, kods;
	bool seen, kod_seen;
};

static void test_random(void)
{
	const char *env = getenv("NTSD_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	enum { NCLIENT = 512 };
	static struct sim s[NCLIENT];
	uint64_t *kod_times;
	size_t n_kod = 0, kod_cap = 1u << 20;
	unsigned inv_pass = 0, inv_guard = 0, inv_kod = 0, inv_compliant = 0, inv_recover = 0, inv_global = 0;
	unsigned long events = 0;

	tap_diag("random seed %llu (NTSD_TEST_SEED to replay)", (unsigned long long)seed);
	rng_state = seed ? seed : 1;
	int avg = (int)rnd_below(5), min = (int)rnd_below(5);
	uint64_t head = SEC << avg, guard = min > 1 ? (uint64_t)(min - 1) * SEC : 0;
	uint64_t span = 900 * SEC;
	tap_diag("average %d minimum %d", avg, min);
	/* Large enough that no set overflows: nothing is evicted. */
	struct ratelimit *rl = ratelimit_new(1u << 16, avg, min);
	kod_times = malloc(kod_cap * sizeof(*kod_times));
	if (!rl || !kod_times)
		abort();

	for (uint32_t i = 0; i < NCLIENT; i++) {
		struct sim *c = &s[i];
		memset(c, 0, sizeof(*c));
		c->sa = client((uint32_t)rnd_below(1u << 30));
		c->want_kod = rnd() % 2;
		switch (i % 3) {
		case 0: /* compliant: never faster than the average or minimum */
			c->compliant = true;
			c->period = (head > guard ? head : guard) + rnd_below(4 * SEC);
			break;
		case 1: /* abusive */
			c->period = 50 * MS + rnd_below(head / 2);
			break;
		default: /* erratic */
			c->period = 100 * MS;
			c->jitter = 3 * head;
			break;
		}
		c->next = T0 + rnd_below(10 * SEC);
	}
	/* Duplicate addresses would merge two simulated clients into one. */
	for (uint32_t i = 0; i < NCLIENT; i++)
		for (uint32_t j = 0; j < i; j++)
			if (memcmp(&s[i].sa, &s[j].sa, sizeof(s[i].sa)) == 0)
				s[i].sa = client(0x40000000u + i);

	for (;;) {
		struct sim *c = NULL;
		for (uint32_t i = 0; i < NCLIENT; i++)
			if (!c || s[i].next < c->next)
				c = &s[i];
		if (c->next >= T0 + span)
			break;
		uint64_t t = c->next;
		enum ratelimit_verdict v = check(rl, &c->sa, t, c->want_kod);
		events++;
		if (v == RATELIMIT_PASS) {
			c->passes++;
			if (c->seen && t - c->last < guard)
				inv_guard++;
		} else if (c->compliant) {
			inv_compliant++;
		}
		if (v == RATELIMIT_KOD) {
			if (!c->want_kod || (c->kod_seen && t - c->last_kod < head))
				inv_kod++;
			c->kod_seen = true;
			c->last_kod = t;
			c->kods++;
			if (n_kod < kod_cap)
				kod_times[n_kod++] = t;
		}
		c->packets++;
		c->seen = true;
		c->last = t;
		c->next = t + c->period + (c->jitter ? rnd_below(c->jitter) : 0);
	}
	for (uint32_t i = 0; i < NCLIENT; i++) {
		/* Leaky bucket bound: each pass adds head, and the score never
		 * exceeds the burst allowance plus what drained. */
		uint64_t most = RATELIMIT_BURST + span / head + 1;
		if (s[i].passes > most)
			inv_pass++;
		/* Anyone pausing 2 * head (and the minimum) is served again. */
		uint64_t pause = 2 * head + guard + SEC;
		if (check(rl, &s[i].sa, T0 + span + pause + i, false) != RATELIMIT_PASS)
			inv_recover++;
	}
	/* Token bucket: any one-second window holds at most two seconds' worth. */
	for (size_t i = 0, j = 0; i < n_kod; i++) {
		while (kod_times[i] - kod_times[j] > SEC)
			j++;
		if (i - j + 1 > 2 * RATELIMIT_KOD_PER_S)
			inv_global++;
	}
	tap_diag("%lu packets, %zu KoDs", events, n_kod);
	tap_ok(events > 10000, "random: enough traffic (%lu packets)", events);
	tap_ok(inv_pass == 0, "random: passes bounded by burst + span / 2^average (%u over)", inv_pass);
	tap_ok(inv_guard == 0, "random: no pass closer than minimum - 1 s to the previous packet (%u)",
	       inv_guard);
	tap_ok(inv_kod == 0, "random: KoDs only if wanted, at most one per 2^average s (%u)", inv_kod);
	tap_ok(inv_compliant == 0, "random: compliant clients never limited (%u)", inv_compliant);
	tap_ok(inv_recover == 0, "random: every client served after a pause (%u)", inv_recover);
	tap_ok(inv_global == 0, "random: global KoD rate bounded (%u)", inv_global);
	free(kod_times);
	ratelimit_free(rl);
}

int main(void)
{
	rng_state = 0x9e3779b97f4a7c15ull; /* fixed for the deterministic tests */
	test_compliant();
	test_fast_client();
	test_minimum();
	test_kod();
	test_global_kod_cap();
	test_lru(0);
	test_lru(5);
	test_lru(RATELIMIT_WAYS);
	test_heavy_hitter();
	test_families();
	test_set();
	test_random();
	return tap_done();
}
