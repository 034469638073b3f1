/* RFC 5905 §11.2.1-§11.2.3 and Appendix A.5.5. */
#include "config.h"

#include "ntsd/select.h"

#include <math.h>
#include <stdlib.h>

struct edge {
	double v;
	int type; /* -1 lower end, 0 midpoint, +1 upper end */
};

static int edge_cmp(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	if (x->v < y->v)
		return -1;
	if (x->v > y->v)
		return 1;
	return x->type - y->type; /* lower ends first at equal values */
}

int select_intersect(struct select_cand *c, size_t n, double *low, double *high)
{
	struct edge e[3 * SELECT_MAX];
	size_t ne = 0;

	for (size_t i = 0; i < n; i++)
		c[i].truechimer = false;
	if (n == 0 || n > SELECT_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		e[ne++] = (struct edge){c[i].offset - c[i].rootdist, -1};
		e[ne++] = (struct edge){c[i].offset, 0};
		e[ne++] = (struct edge){c[i].offset + c[i].rootdist, +1};
	}
	qsort(e, ne, sizeof(e[0]), edge_cmp);

	/* For f = 0, 1, ... falsetickers allowed, scan from below for the point
	 * where n - f intervals overlap (low) and from above (high); midpoints
	 * outside count against f (RFC 5905 A.5.5.1). */
	for (int f = 0; 2 * f < (int)n; f++) {
		int found = 0, cnt = 0;
		double lo = 0, hi = 0;
		bool have_lo = false, have_hi = false;

		for (size_t i = 0; i < ne; i++) {
			cnt -= e[i].type;
			if (cnt >= (int)n - f) {
				lo = e[i].v;
				have_lo = true;
				break;
			}
			if (e[i].type == 0)
				found++;
		}
		cnt = 0;
		for (size_t i = ne; i-- > 0;) {
			cnt += e[i].type;
			if (cnt >= (int)n - f) {
				hi = e[i].v;
				have_hi = true;
				break;
			}
			if (e[i].type == 0)
				found++;
		}
		if (found > f || !have_lo || !have_hi || lo > hi)
			continue;
		for (size_t i = 0; i < n; i++)
			c[i].truechimer = !(c[i].offset + c[i].rootdist < lo || c[i].offset - c[i].rootdist > hi);
		*low = lo;
		*high = hi;
		return f;
	}
	return -1;
}

static double sel_jitter(const struct select_cand *c, size_t n, size_t i)
{
	double s = 0;
	int m = 0;

	for (size_t j = 0; j < n; j++) {
		if (!c[j].survivor || j == i)
			continue;
		double d = c[j].offset - c[i].offset;
		s += d * d;
		m++;
	}
	return m ? sqrt(s / m) : 0;
}

size_t select_cluster(struct select_cand *c, size_t n, size_t nmin)
{
	size_t left = 0;

	for (size_t i = 0; i < n; i++) {
		c[i].survivor = c[i].truechimer;
		left += c[i].survivor;
	}
	while (left > nmin) {
		double maxsel = -1, minpeer = INFINITY;
		size_t worst = 0;

		for (size_t i = 0; i < n; i++) {
			if (!c[i].survivor)
				continue;
			double sj = sel_jitter(c, n, i);
			if (sj > maxsel) {
				maxsel = sj;
				worst = i;
			}
			if (c[i].jitter < minpeer)
				minpeer = c[i].jitter;
		}
		if (maxsel <= minpeer)
			break;
		c[worst].survivor = false;
		left--;
	}
	return left;
}

bool select_combine(const struct select_cand *c, size_t n, double ref_offset, double *offset,
		    double *jitter)
{
	double x = 0, y = 0, z = 0;

	for (size_t i = 0; i < n; i++) {
		if (!c[i].survivor)
			continue;
		double w = 1.0 / (c[i].rootdist > 1e-9 ? c[i].rootdist : 1e-9);
		double d = c[i].offset - ref_offset;
		x += w;
		y += w * c[i].offset;
		z += w * d * d;
	}
	if (x == 0)
		return false;
	*offset = y / x;
	*jitter = sqrt(z / x);
	return true;
}
