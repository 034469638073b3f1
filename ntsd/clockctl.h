/* The clock the discipline steers. Two implementations: the real one
 * (clock_adjtime on CLOCK_REALTIME; never used by tests) and a read-only one
 * for `disable ntp` / -x that reads CLOCK_REALTIME and only records what it
 * would have done. The simulator in tests/unit/ntsd/sim.c is a third. */
#ifndef NTSD_NTSD_CLOCKCTL_H
#define NTSD_NTSD_CLOCKCTL_H

#include <stdbool.h>

#define CLOCKCTL_MAX_FREQ_PPM 500.0 /* the kernel's limit (MAXFREQ) */
#define CLOCKCTL_SLEW_RATE 500e-6   /* adjtime()-style slew rate, s/s */

/* Offsets are "add this to the clock": positive means the clock is behind.
 * Return 0 on success, -1 with errno set on failure. */
struct clockctl_ops {
	double (*now)(void *arg);                 /* seconds, the disciplined clock */
	int (*step)(void *arg, double offset);    /* jump by offset seconds */
	int (*slew)(void *arg, double offset);    /* replace any outstanding slew;
	                                             runs at CLOCKCTL_SLEW_RATE */
	int (*set_freq)(void *arg, double ppm);   /* |ppm| <= CLOCKCTL_MAX_FREQ_PPM */
	double (*get_freq)(void *arg);            /* ppm */
	void *arg;
};

/* Real clock: clock_adjtime(CLOCK_REALTIME) with ADJ_SETOFFSET (step),
 * ADJ_OFFSET_SINGLESHOT (slew) and ADJ_FREQUENCY; now() is CLOCK_REALTIME
 * in seconds since 1970. Needs CAP_SYS_TIME. */
void clockctl_real(struct clockctl_ops *ops);

/* Read-only clock: now() reads CLOCK_REALTIME, the rest only record. */
struct clockctl_readonly {
	double freq_ppm;      /* last set_freq */
	double last_step;     /* last step requested, s */
	double last_slew;     /* last slew requested, s */
	unsigned steps, slews, freq_sets;
};
void clockctl_readonly_init(struct clockctl_readonly *ro, struct clockctl_ops *ops);

#endif
