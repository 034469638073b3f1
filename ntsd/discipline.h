/* Clock discipline: turns the combined offset of the selected sources into
 * steps, slews and frequency corrections of a clockctl. A chrony-like
 * design (linear regression of the offsets over time gives the frequency;
 * the phase is removed with an adjtime-style slew) rather than RFC 5905's
 * PLL/FLL: see discipline.c for why. No allocation, no I/O beyond the
 * clockctl calls. */
#ifndef NTSD_NTSD_DISCIPLINE_H
#define NTSD_NTSD_DISCIPLINE_H

#include <stdbool.h>

#include "ntsd/clockctl.h"

#define DISC_NHIST 16  /* regression points kept */
#define DISC_NBREAK 64 /* remembered clock adjustments */

enum disc_result {
	DISC_SLEW,   /* offset (and frequency) corrected by slewing */
	DISC_STEP,   /* offset beyond the step threshold: clock stepped */
	DISC_PANIC,  /* offset beyond the panic threshold: clock left alone */
	DISC_ERROR,  /* the clockctl call failed (errno set) */
};

struct disc_break {
	double t, p, s;  /* local time; phase applied since init; of which steps */
	double q;        /* of which slews (not steps, not frequency) */
	double rf;       /* (freq - freq_ref) * 1e-6 from t on */
	double srate;    /* slew rate from t to send, s/s */
	double send;
};

struct discipline {
	struct clockctl_ops clk;
	double step_threshold, panic_threshold;
	bool allow_first_step;
	double freq_ref;   /* ppm at init: the regression works relative to it */
	double freq;       /* ppm, the current correction */
	double skew;       /* ppm, uncertainty of freq */
	double skew_t;     /* when skew was set */
	double wander;     /* ppm, RMS of frequency changes */
	double hist_t[DISC_NHIST], hist_u[DISC_NHIST];
	int nhist, hhead;
	struct disc_break br[DISC_NBREAK];
	int nbr, bhead;
	unsigned updates, steps;
	double last_offset; /* the last offset removed */
};

/* Initialises d and sets initial_freq_ppm on the clock. freq_known: the
 * frequency comes from a drift file (lower initial uncertainty). */
void discipline_init(struct discipline *d, const struct clockctl_ops *clk, double step_threshold,
		     double panic_threshold, bool allow_first_step, double initial_freq_ppm,
		     bool freq_known, double now);

/* One clock update at local time now (read before any step; after a
 * DISC_STEP the caller moves its own stored local times by +offset) with the combined offset as of now
 * (see discipline_slewed); t_sample is the (mean) local time at which the
 * underlying samples were taken, for the frequency regression. */
enum disc_result discipline_update(struct discipline *d, double offset, double t_sample, double now);

/* Phase the discipline added to the clock by slewing (not by steps, not
 * by the frequency correction, which only cancels the clock's own drift)
 * since discipline_init, up to local time t. An offset measured at t1,
 * minus (discipline_slewed(t2) - discipline_slewed(t1)), is that offset as
 * of t2 up to the residual frequency error; filter.c stores offsets so. */
double discipline_slewed(const struct discipline *d, double t);

/* Current frequency uncertainty at now, s/s (for filter_add). */
double discipline_skew(const struct discipline *d, double now);

#endif
