/* Deterministic simulation of a local clock and NTP servers, to drive the
 * real sync/filter/select/discipline code (tests only).
 *
 * True time advances in steps of sim_advance(). The local clock reads
 * true + off, where off drifts at (freq_err + freq_set) ppm plus the
 * outstanding adjtime-style slew at 500 ppm. Servers have a clock offset,
 * a delay, an asymmetry and a queueing jitter (exponential, from a seeded
 * xorshift PRNG), and may stop answering at a given time. */
#ifndef NTSD_TESTS_SIM_H
#define NTSD_TESTS_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "ntsd/clockctl.h"
#include "ntsd/sync.h"

struct sim_clock {
	double true_t;      /* s */
	double off;         /* local - true, s */
	double freq_err;    /* ppm, intrinsic */
	double freq_set;    /* ppm, the correction set by the discipline */
	double slew_left;   /* s of slew still to apply */
	unsigned steps, slews, freq_sets, freq_rejects;
	double max_abs_freq;
};

struct sim_server {
	double offset;    /* server clock - true, s */
	double delay;     /* round trip without jitter, s */
	double asym;      /* outbound - inbound delay, s */
	double jitter;    /* mean of the exponential extra delay per leg, s */
	int stratum, leap;
	uint32_t refid;
	double root_delay, root_disp;
	double dies_at;   /* true time at which it stops answering; < 0 never */
};

void sim_clock_init(struct sim_clock *c, double initial_offset, double freq_err_ppm);
void sim_clock_ops(struct sim_clock *c, struct clockctl_ops *ops);
void sim_advance(struct sim_clock *c, double dt);
double sim_local(const struct sim_clock *c);

void sim_seed(uint64_t seed);
double sim_rand(void); /* uniform [0, 1) */

/* One exchange with srv at the current true time. Returns false when the
 * server does not answer; else fills smp as ntp_client would. */
bool sim_query(const struct sim_clock *c, const struct sim_server *srv, struct sync_sample *smp);

/* Runs the poll loop of source.c against n servers for `seconds` of true
 * time in 1 s steps (honouring sync_want_burst / sync_poll_exponent), calling
 * hook(arg, t) after every step when non-NULL. */
struct sim_run {
	struct sim_clock *clk;
	struct sync *sync;
	const struct sim_server *srv;
	int n;
	double next_poll[SYNC_MAX_SOURCES]; /* true time */
	unsigned polls[SYNC_MAX_SOURCES];
};
void sim_run_init(struct sim_run *r, struct sim_clock *clk, struct sync *s,
		  const struct sim_server *srv, int n);
void sim_run(struct sim_run *r, double seconds, void (*hook)(void *, const struct sim_run *),
	     void *arg);

#endif
