/* Clock discipline.
 *
 * Why not RFC 5905's PLL/FLL: its time constant is tied to the poll
 * interval, so a fresh daemon with a 300 ppm frequency error needs tens of
 * minutes to hours to settle, and a frequency error near 500 ppm leaves no
 * room to remove the phase when the same kernel frequency register (limited
 * to +-500 ppm) carries both. Instead, like chrony:
 *  - frequency: a least-squares line through the last DISC_NHIST offsets,
 *    each made independent of our own corrections by adding back the phase
 *    we applied since init (u = offset + P(t)); its slope is the frequency
 *    error, its standard error the skew. A new estimate replaces the current
 *    one when its skew is smaller than the (aging) skew of the current one.
 *  - phase: the whole predicted offset is removed at once with an
 *    adjtime()-style slew (500 ppm on top of the frequency; replaces any
 *    outstanding slew), so the frequency register stays within +-500 ppm
 *    even for a clock that is 500 ppm off, and phase and frequency are
 *    decoupled.
 * We know exactly what we asked of the clock, so P(t) is computed from a
 * log of the adjustments (struct disc_break), not read back. */
#include "config.h"

#include "ntsd/discipline.h"

#include <math.h>
#include <string.h>

#define SKEW_AGING 1e-3   /* ppm/s: the current estimate loses confidence */
#define SKEW_FLOOR 0.001  /* ppm */

static const struct disc_break *brk_at(const struct discipline *d, double t)
{
	/* newest breakpoint with br.t <= t; the oldest one if none */
	const struct disc_break *best = NULL;

	for (int i = 0; i < d->nbr; i++) {
		const struct disc_break *b = &d->br[(d->bhead - 1 - i + DISC_NBREAK) % DISC_NBREAK];
		best = b;
		if (b->t <= t)
			break;
	}
	return best;
}

static double phase_at(const struct discipline *d, double t, double *steps, double *slews)
{
	const struct disc_break *b = brk_at(d, t);

	if (!b) {
		*steps = *slews = 0;
		return 0;
	}
	double dt = t > b->t ? t - b->t : 0;
	double ds = (t < b->send ? t : b->send) - b->t;
	double sl = b->srate * (ds > 0 ? ds : 0);
	*steps = b->s;
	*slews = b->q + sl;
	return b->p + b->rf * dt + sl;
}

static void add_break(struct discipline *d, double now, double step, double slew)
{
	double s, q, p = phase_at(d, now, &s, &q);
	struct disc_break *b = &d->br[d->bhead];

	b->t = now;
	b->p = p + step;
	b->s = s + step;
	b->q = q;
	b->rf = (d->freq - d->freq_ref) * 1e-6;
	b->srate = slew >= 0 ? CLOCKCTL_SLEW_RATE : -CLOCKCTL_SLEW_RATE;
	b->send = now + fabs(slew) / CLOCKCTL_SLEW_RATE;
	d->bhead = (d->bhead + 1) % DISC_NBREAK;
	if (d->nbr < DISC_NBREAK)
		d->nbr++;
}

double discipline_slewed(const struct discipline *d, double t)
{
	double st, sl;

	phase_at(d, t, &st, &sl);
	return sl;
}

double discipline_skew(const struct discipline *d, double now)
{
	double a = now > d->skew_t ? now - d->skew_t : 0;

	return (d->skew + SKEW_AGING * a) * 1e-6;
}

void discipline_init(struct discipline *d, const struct clockctl_ops *clk, double step_threshold,
		     double panic_threshold, bool allow_first_step, double initial_freq_ppm,
		     bool freq_known, double now)
{
	memset(d, 0, sizeof(*d));
	d->clk = *clk;
	d->step_threshold = step_threshold;
	d->panic_threshold = panic_threshold;
	d->allow_first_step = allow_first_step;
	if (initial_freq_ppm > CLOCKCTL_MAX_FREQ_PPM)
		initial_freq_ppm = CLOCKCTL_MAX_FREQ_PPM;
	if (initial_freq_ppm < -CLOCKCTL_MAX_FREQ_PPM)
		initial_freq_ppm = -CLOCKCTL_MAX_FREQ_PPM;
	d->freq_ref = d->freq = initial_freq_ppm;
	d->skew = freq_known ? 5.0 : 2 * CLOCKCTL_MAX_FREQ_PPM;
	d->skew_t = now;
	if (d->clk.set_freq)
		d->clk.set_freq(d->clk.arg, d->freq);
	add_break(d, now, 0, 0);
}

static void hist_add(struct discipline *d, double t, double u)
{
	d->hist_t[d->hhead] = t;
	d->hist_u[d->hhead] = u;
	d->hhead = (d->hhead + 1) % DISC_NHIST;
	if (d->nhist < DISC_NHIST)
		d->nhist++;
}

/* Least squares u = a + b (t - tm). Returns false with fewer than 3 points
 * or no time span. */
static bool regress(const struct discipline *d, double *tm, double *a, double *b, double *sb)
{
	int n = d->nhist;
	double st = 0, su = 0, stt = 0, stu = 0, ss = 0;

	if (n < 3)
		return false;
	for (int i = 0; i < n; i++) {
		st += d->hist_t[i];
		su += d->hist_u[i];
	}
	*tm = st / n;
	*a = su / n;
	for (int i = 0; i < n; i++) {
		double x = d->hist_t[i] - *tm, y = d->hist_u[i] - *a;
		stt += x * x;
		stu += x * y;
	}
	if (stt <= 0)
		return false;
	*b = stu / stt;
	for (int i = 0; i < n; i++) {
		double r = d->hist_u[i] - *a - *b * (d->hist_t[i] - *tm);
		ss += r * r;
	}
	*sb = sqrt(ss / (n - 2) / stt);
	return true;
}

static double clampf(double v, double lim)
{
	return v > lim ? lim : v < -lim ? -lim : v;
}

enum disc_result discipline_update(struct discipline *d, double offset, double t_sample, double now)
{
	double s, q, tm, a, b, sb;

	if (d->step_threshold > 0 && fabs(offset) > d->step_threshold) {
		bool first = d->updates == 0;
		if (d->panic_threshold > 0 && fabs(offset) > d->panic_threshold &&
		    !(first && d->allow_first_step))
			return DISC_PANIC;
		if (d->clk.slew(d->clk.arg, 0) < 0 || d->clk.step(d->clk.arg, offset) < 0)
			return DISC_ERROR;
		/* the local timescale jumped: move the past into the new one */
		for (int i = 0; i < d->nbr; i++) {
			d->br[i].t += offset;
			d->br[i].send += offset;
		}
		for (int i = 0; i < d->nhist; i++)
			d->hist_t[i] += offset;
		d->skew_t += offset;
		now += offset;
		add_break(d, now, offset, 0);
		hist_add(d, now, phase_at(d, now, &s, &q)); /* offset 0 right after */
		d->updates++;
		d->steps++;
		d->last_offset = offset;
		return DISC_STEP;
	}
	/* u at the sample's time: undo the bringing forward (slews between
	 * t_sample and now), add all we applied up to t_sample */
	double q0, p0 = phase_at(d, t_sample, &s, &q0);
	phase_at(d, now, &s, &q);
	hist_add(d, t_sample, offset + (q - q0) + p0);
	double pred = offset;
	if (regress(d, &tm, &a, &b, &sb)) {
		double nf = clampf(d->freq_ref + b * 1e6, CLOCKCTL_MAX_FREQ_PPM);
		double skew = sb * 1e6 > SKEW_FLOOR ? sb * 1e6 : SKEW_FLOOR;
		double cur = d->skew + SKEW_AGING * (now - d->skew_t);
		if (skew < cur) {
			double df = nf - d->freq;
			d->wander = sqrt((d->wander * d->wander * 3 + df * df) / 4);
			d->freq = nf;
			d->skew = skew;
			d->skew_t = now;
			if (d->clk.set_freq(d->clk.arg, d->freq) < 0)
				return DISC_ERROR;
		}
		/* the line's value now, minus what we applied: a smoothed offset */
		if (d->nhist >= 4)
			pred = a + b * (now - tm) - phase_at(d, now, &s, &q);
	}
	if (d->clk.slew(d->clk.arg, pred) < 0)
		return DISC_ERROR;
	add_break(d, now, 0, pred);
	d->updates++;
	d->last_offset = pred;
	return DISC_SLEW;
}
