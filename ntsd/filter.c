/* Clock filter, after RFC 5905 §10 and Appendix A.5.2. Departure: misses
 * (filter_miss) do not take part in the min-delay pick but only age out old
 * samples, and a spike that persists for 3 samples is accepted, so a real
 * offset change (e.g. the server stepped) is followed within 3 polls. */
#include "config.h"

#include "ntsd/filter.h"

#include <math.h>
#include <string.h>

void filter_init(struct filter *f)
{
	memset(f, 0, sizeof(*f));
}

static void shift(struct filter *f, const struct filter_stage *s)
{
	memmove(&f->st[1], &f->st[0], sizeof(f->st[0]) * (FILTER_NSTAGES - 1));
	f->st[0] = *s;
	f->count = 0;
	for (int i = 0; i < FILTER_NSTAGES; i++)
		f->count += f->st[i].valid;
}

void filter_miss(struct filter *f)
{
	struct filter_stage s = {.disp = FILTER_MAXDISP, .valid = false, .miss = true};

	shift(f, &s);
}

double filter_disp(const struct filter *f, double now)
{
	if (!f->have)
		return FILTER_MAXDISP;
	double d = f->disp + FILTER_PHI * (now - f->t);
	return d > FILTER_MAXDISP ? FILTER_MAXDISP : d;
}

bool filter_add(struct filter *f, double offset, double delay, double disp, double skew, double now)
{
	struct filter_stage s = {.offset = offset, .delay = delay, .disp = disp, .t = now, .valid = true};
	int best = -1;

	shift(f, &s);
	/* Min-delay pick; the stage dispersions age (RFC 5905: disp += PHI*dt). */
	for (int i = 0; i < FILTER_NSTAGES; i++) {
		if (!f->st[i].valid)
			continue;
		if (best < 0 || f->st[i].delay < f->st[best].delay)
			best = i;
	}
	/* Filter dispersion: weighted sum over the stages sorted by delay, the
	 * invalid ones counting MAXDISP (RFC 5905 §10 epsilon). Jitter: RMS of
	 * the offsets of the valid stages from the chosen one. */
	int order[FILTER_NSTAGES], n = 0;
	for (int i = 0; i < FILTER_NSTAGES; i++)
		if (f->st[i].valid)
			order[n++] = i;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && f->st[order[j]].delay < f->st[order[j - 1]].delay; j--) {
			int tmp = order[j];
			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}
	int nmiss = 0;
	for (int i = 0; i < FILTER_NSTAGES; i++)
		nmiss += f->st[i].miss;
	double edisp = 0, w = 0.5, wsum = 0, jit = 0;
	for (int i = 0; i < n + nmiss; i++, w *= 0.5) {
		double d = i < n ? f->st[order[i]].disp + FILTER_PHI * (now - f->st[order[i]].t)
				 : FILTER_MAXDISP;
		edisp += (d > FILTER_MAXDISP ? FILTER_MAXDISP : d) * w;
		wsum += w;
	}
	edisp /= wsum;
	for (int i = 0; i < n; i++) {
		double d = f->st[order[i]].offset - f->st[best].offset;
		jit += d * d;
	}
	jit = n > 1 ? sqrt(jit / (n - 1)) : 0;

	/* Among the stages, the one with the least error bound: half its
	 * delay plus what its age may have added (frequency tolerance PHI plus
	 * the caller's frequency uncertainty). With a well-known frequency this
	 * is RFC 5905's min-delay pick; while the frequency is unknown it
	 * prefers fresh samples, which a regression needs. */
	double rate = FILTER_PHI + (skew > 0 ? skew : 0), bm = INFINITY;
	for (int i = 0; i < FILTER_NSTAGES; i++) {
		if (!f->st[i].valid)
			continue;
		double m = f->st[i].delay / 2 + rate * (now - f->st[i].t);
		if (m < bm) {
			bm = m;
			best = i;
		}
	}
	const struct filter_stage *b = &f->st[best];
	if (f->have && b->t <= f->t)
		return false; /* nothing newer than the last output */
	/* Popcorn spike suppressor (RFC 5905 A.5.2): an output far from the
	 * previous one, beyond SGATE times the jitter, is held back; only once
	 * 4 stages make the jitter meaningful. */
	if (f->have && n >= 4 && fabs(b->offset - f->offset) > FILTER_SGATE * f->jitter &&
	    f->spikes < 2) {
		f->spikes++;
		f->nspikes++;
		return false;
	}
	f->spikes = 0;
	f->offset = b->offset;
	f->delay = b->delay;
	f->disp = edisp;
	f->jitter = jit > 1e-9 ? jit : 1e-9; /* RFC 5905 floors jitter at precision */
	f->t = b->t;
	f->have = true;
	return true;
}

void filter_clock_stepped(struct filter *f, double delta)
{
	for (int i = 0; i < FILTER_NSTAGES; i++) {
		f->st[i].offset -= delta;
		f->st[i].t += delta;
	}
	f->offset -= delta;
	f->t += delta;
}
