/* select: intersection (Marzullo / RFC 5905 §11.2.1) cases, clustering,
 * combining. */
#include "ntsd/select.h"

#include <math.h>
#include <stdio.h>

#include "tap.h"

#define MS 1e-3

static struct select_cand C(double off_ms, double dist_ms, double jit_ms)
{
	return (struct select_cand){.offset = off_ms * MS, .rootdist = dist_ms * MS, .jitter = jit_ms * MS,
				    .stratum = 1};
}

int main(void)
{
	double lo, hi, off, jit;

	/* all agree */
	struct select_cand a[3] = {C(1, 10, 1), C(2, 10, 1), C(-1, 10, 1)};
	int f = select_intersect(a, 3, &lo, &hi);
	tap_ok(f == 0, "all agree: no falseticker (%d)", f);
	tap_ok(a[0].truechimer && a[1].truechimer && a[2].truechimer, "all agree: all truechimers");
	tap_ok(lo <= -1 * MS && hi >= 2 * MS, "interval contains all midpoints [%.1f, %.1f] ms", lo / MS, hi / MS);

	/* one falseticker among four */
	struct select_cand b[4] = {C(1, 5, 1), C(2, 5, 1), C(0, 5, 1), C(200, 5, 1)};
	f = select_intersect(b, 4, &lo, &hi);
	tap_ok(f == 1, "one falseticker of 4: f = 1 (%d)", f);
	tap_ok(b[0].truechimer && b[1].truechimer && b[2].truechimer && !b[3].truechimer,
	       "the 200 ms source is the falseticker");
	tap_ok(hi < 200 * MS - 5 * MS, "interval excludes it (high %.1f ms)", hi / MS);

	/* no majority: two disagreeing, and three all disagreeing */
	struct select_cand c[2] = {C(0, 5, 1), C(300, 5, 1)};
	tap_ok(select_intersect(c, 2, &lo, &hi) < 0 && !c[0].truechimer && !c[1].truechimer,
	       "two disagreeing: no majority");
	struct select_cand d[3] = {C(0, 5, 1), C(100, 5, 1), C(200, 5, 1)};
	tap_ok(select_intersect(d, 3, &lo, &hi) < 0, "three disagreeing: no majority");
	/* two of three agree: the third is a falseticker */
	struct select_cand e[3] = {C(0, 5, 1), C(3, 5, 1), C(200, 5, 1)};
	f = select_intersect(e, 3, &lo, &hi);
	tap_ok(f == 1 && e[0].truechimer && e[1].truechimer && !e[2].truechimer, "2 of 3 agree: majority");
	/* overlapping only through large root distances counts as agreement */
	struct select_cand g[2] = {C(0, 100, 1), C(50, 100, 1)};
	tap_ok(select_intersect(g, 2, &lo, &hi) == 0, "wide intervals overlap: both truechimers");
	/* one source */
	struct select_cand h[1] = {C(7, 5, 1)};
	tap_ok(select_intersect(h, 1, &lo, &hi) == 0 && h[0].truechimer, "a single source is its own majority");
	tap_ok(select_intersect(h, 0, &lo, &hi) < 0, "zero candidates: -1");

	/* clustering: the outlier among 5 truechimers is dropped down to NMIN */
	struct select_cand k[5] = {C(0, 50, 0.1), C(0.2, 50, 0.1), C(-0.1, 50, 0.1), C(0.1, 50, 0.1),
				   C(20, 50, 0.1)};
	select_intersect(k, 5, &lo, &hi);
	size_t n = select_cluster(k, 5, SELECT_NMIN);
	tap_ok(n >= SELECT_NMIN && n < 5 && !k[4].survivor, "cluster: the 20 ms outlier dropped (%zu left)", n);
	/* stops at NMIN */
	struct select_cand m[3] = {C(0, 50, 0.1), C(10, 50, 0.1), C(20, 50, 0.1)};
	select_intersect(m, 3, &lo, &hi);
	tap_ok(select_cluster(m, 3, SELECT_NMIN) == 3, "cluster keeps at least NMIN");

	/* combining: weights 1/rootdist */
	struct select_cand w[2] = {C(0, 10, 1), C(3, 20, 1)};
	w[0].survivor = w[1].survivor = true;
	tap_ok(select_combine(w, 2, 0, &off, &jit), "combine ok");
	tap_ok(fabs(off - 1 * MS) < 1e-9, "weighted offset 1 ms (%.6f ms)", off / MS);
	tap_ok(fabs(jit - sqrt(9e-6 / 3)) < 1e-9, "weighted jitter about the peer (%.6f ms)", jit / MS);
	w[0].survivor = w[1].survivor = false;
	tap_ok(!select_combine(w, 2, 0, &off, &jit), "no survivors: false");
	return tap_done();
}
