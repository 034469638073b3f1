/* Why one-way halves: a sample's offset error is (o - r) / 2 for outbound
 * and return delays o and r, and the two halves t2 - t1 = theta + o and
 * t4 - t3 = r - theta are each known exactly up to the unknown theta. So
 * each direction can be filtered on its own: queueing in one direction
 * shows up as a spread of that direction's values only, while the other
 * direction stays tight. The classic min-delay pick (RFC 5905 §10) throws
 * away all but one sample even when the spread is symmetric noise, where
 * averaging n samples would be sqrt(n) better; the plain mean is ruined by
 * queueing, which only ever adds delay.
 *
 * The window: symmetric jitter J is the spread of the quieter direction's
 * lower half (robust to queueing and outliers, which only add delay). In
 * each direction, values within WINDOW_K * J of that direction's minimum
 * are averaged, with weights falling from 1 at the minimum to 0 at the
 * window's edge (Epanechnikov). On symmetric jitter the window covers the
 * whole spread of a direction and the result is close to the mean; on
 * one-way queueing the quiet direction makes J (and the window) about the
 * measurement noise, so the queued direction keeps only its minimum. On
 * symmetric jitter plus one-way queueing, J is the jitter, and the queued
 * direction's own spread S exceeds it: beyond R = 1 + 16/n times J (rare
 * for symmetric jitter: R is 3 for 8 samples, 5 for 4), that direction's
 * window shrinks by (R * J / S)^2, towards its minimum. A window never exceeds
 * WINDOW_RTT_CAP times the shortest round trip made of the best halves:
 * jitter larger than the round trip itself is not jitter, and this keeps
 * outliers out even when they are half the samples. The constants were
 * tuned by simulation: the window against the mean's efficiency on
 * symmetric jitter, the ratio against the min-delay pick on jitter plus
 * queueing (tools/bench/estsim.c, README).
 *
 * Every sample says theta is within [offset - delay/2, offset + delay/2]
 * (no negative one-way delay); the result is kept within the intersection
 * of those intervals, widened by each sample's dispersion. */
#include "protocol/estimate.h"

#include <math.h>

#define WINDOW_K 5.0       /* window = WINDOW_K * J */
#define QUEUE_MIN_N 4      /* fewer samples: no queueing test (a spread of 1 or 2 gaps) */
#define WINDOW_RTT_CAP 2.0 /* window <= WINDOW_RTT_CAP * (min outbound + min return) */
#define WINDOW_MIN 1e-9    /* s: values closer than this are equal (rounding, not jitter) */

struct half {
	double x[ESTIMATE_MAX_SAMPLES]; /* one-way value, s */
	double a[ESTIMATE_MAX_SAMPLES]; /* value + dispersion: what the weights look at */
	double min_a;
	double spread; /* lower-half spread of a */
};

static void sort(double *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j] < v[j - 1]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

static void half_stats(struct half *h, size_t n)
{
	double s[ESTIMATE_MAX_SAMPLES];

	for (size_t i = 0; i < n; i++)
		s[i] = h->a[i];
	sort(s, n);
	h->min_a = s[0];
	h->spread = s[n / 2] - s[0];
}

/* The window of a direction whose lower-half spread is spread, of n
 * samples. Under symmetric jitter the ratio of the two directions'
 * spreads exceeds 1 + 16/n in about 8% of runs (n = 4..16). */
static double window(double jitter, double spread, size_t n, double cap)
{
	double w = WINDOW_K * jitter, ratio = 1 + 16.0 / (double)n;

	if (n >= QUEUE_MIN_N && spread > ratio * jitter) {
		double r = ratio * jitter / spread;
		w *= r * r;
	}
	return fmax(fmin(w, cap), WINDOW_MIN);
}

/* Weighted mean of the values within the window; sets *used, *count and
 * *var (weighted variance over the effective sample size). */
static double combine(const struct half *h, size_t n, double window, uint64_t *used, int *count,
                      double *var)
{
	double sw = 0, swx = 0, sww = 0, m, ss = 0;

	*used = 0;
	*count = 0;
	for (size_t i = 0; i < n; i++) {
		double e = h->a[i] - h->min_a;
		double w = 1 - (e / window) * (e / window);
		if (w <= 0)
			continue;
		sw += w;
		swx += w * h->x[i];
		sww += w * w;
		*used |= UINT64_C(1) << i;
		(*count)++;
	}
	m = swx / sw; /* the minimum itself always has weight 1 */
	for (size_t i = 0; i < n; i++)
		if (*used & (UINT64_C(1) << i)) {
			double e = h->a[i] - h->min_a;
			double w = 1 - (e / window) * (e / window);
			ss += w * (h->x[i] - m) * (h->x[i] - m);
		}
	/* Var of a weighted mean: sum w^2 var / (sum w)^2, var ~ ss / sum w. */
	*var = (ss / sw) * sww / (sw * sw);
	return m;
}

bool estimate_offset(const struct estimate_sample *s, size_t n, struct estimate *out)
{
	struct half o, b;
	double var_o, var_b;

	if (n == 0 || n > ESTIMATE_MAX_SAMPLES)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(fabs(s[i].offset) <= ESTIMATE_MAX_SECONDS) ||
		    !(fabs(s[i].delay) <= ESTIMATE_MAX_SECONDS) ||
		    !(s[i].dispersion >= 0 && s[i].dispersion <= ESTIMATE_MAX_SECONDS))
			return false; /* NaN fails every comparison */

	struct estimate r = { .delay = s[0].delay };
	for (size_t i = 0; i < n; i++) {
		o.x[i] = s[i].offset + s[i].delay / 2;
		b.x[i] = s[i].delay / 2 - s[i].offset;
		o.a[i] = o.x[i] + s[i].dispersion;
		b.a[i] = b.x[i] + s[i].dispersion;
		if (s[i].delay < r.delay)
			r.delay = s[i].delay;
	}
	half_stats(&o, n);
	half_stats(&b, n);
	r.jitter = fmin(o.spread, b.spread);
	double cap = WINDOW_RTT_CAP * (o.min_a + b.min_a);
	r.window_out = window(r.jitter, o.spread, n, cap);
	r.window_back = window(r.jitter, b.spread, n, cap);

	double lo = -b.min_a, hi = o.min_a;
	double mo = combine(&o, n, r.window_out, &r.used_out, &r.n_out, &var_o);
	double mb = combine(&b, n, r.window_back, &r.used_back, &r.n_back, &var_b);
	r.offset = (mo - mb) / 2;
	if (lo <= hi)
		r.offset = fmin(fmax(r.offset, lo), hi);
	r.error = sqrt(var_o + var_b) / 2;
	r.bound = fmax(hi - r.offset, r.offset - lo);
	*out = r;
	return true;
}
