/* Per-source clock filter, RFC 5905 §10: a shift register of the last 8
 * samples; the one with the least delay (penalised by its age) is the
 * output, when it is newer than the last output, unless it is a popcorn
 * spike. No allocation, no I/O. Departure from RFC 5905: stages never
 * filled do not count MAXDISP in the filter dispersion (the weights are
 * renormalised over the filled ones), so a source is usable after 2
 * samples; missed polls do count MAXDISP. */
#ifndef NTSD_NTSD_FILTER_H
#define NTSD_NTSD_FILTER_H

#include <stdbool.h>

#define FILTER_NSTAGES 8
#define FILTER_PHI 15e-6      /* frequency tolerance, s/s (RFC 5905) */
#define FILTER_MAXDISP 16.0   /* s */
#define FILTER_SGATE 3.0      /* spike gate, times the jitter */

struct filter_stage {
	double offset, delay, disp, t; /* s; t is the local time of the sample */
	bool valid;
	bool miss;     /* a dummy from filter_miss: counts MAXDISP */
};

struct filter {
	struct filter_stage st[FILTER_NSTAGES]; /* st[0] newest */
	int count;          /* valid stages */
	double offset, delay, disp, jitter; /* current output (RFC 5905 p.*) */
	double t;           /* time of the output sample, when have */
	bool have;          /* there is an output */
	int spikes;         /* consecutive suppressed spikes */
	unsigned long nspikes; /* total suppressed, for statistics */
};

void filter_init(struct filter *f);
/* Adds a sample at local time now. The output is the stage with the least
 * delay/2 + (PHI + skew) * age, skew (s/s) being the caller's frequency
 * uncertainty (0: RFC 5905's plain min-delay pick up to PHI). Returns true
 * when the output changed to a new sample; false when the chosen stage is
 * not newer than the last output or was a spike (suppressed unless it
 * persists for 3 samples: a real step is accepted). */
bool filter_add(struct filter *f, double offset, double delay, double disp, double skew, double now);
/* Output dispersion at now (aged by PHI since the output sample). */
double filter_disp(const struct filter *f, double now);
/* Shifts in a dummy (unreachable poll): dispersion MAXDISP, RFC 5905
 * §10 "clock_filter(p, 0, 0, MAXDISP)". Does not change the output. */
void filter_miss(struct filter *f);
/* The clock was stepped by delta (added to the clock): every stored offset
 * and the output move by -delta, their local times by +delta, so old
 * samples stay comparable. */
void filter_clock_stepped(struct filter *f, double delta);

#endif
