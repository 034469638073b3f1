/* The synchronization engine of ntsd as a client of upstream servers: a
 * set of sources, each with a clock filter (filter.h), RFC 5905 selection,
 * clustering and combining (select.h), the clock discipline (discipline.h)
 * and the system variables ntsd serves (stratum, refid, root delay and
 * dispersion, leap). Pure algorithm: no sockets, no threads, no logging; the
 * caller (source.c) polls the servers and feeds results in. Not thread-safe.
 *
 * Time: `now` is always seconds of the local, disciplined clock (the
 * clockctl's now()), as double; offsets are server minus local, seconds
 * (positive: the local clock is behind). */
#ifndef NTSD_NTSD_SYNC_H
#define NTSD_NTSD_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntsd/clockctl.h"

#define SYNC_MAX_SOURCES 32
#define SYNC_NAME_MAX 64
#define SYNC_STRATUM_UNSPEC 16
#define SYNC_LEAP_UNSYNC 3
#define SYNC_BURST_INTERVAL 2.0 /* s between iburst polls */

/* sync_add_source flags */
#define SYNC_PREFER 0x1u
#define SYNC_NOSELECT 0x2u
#define SYNC_IBURST 0x4u
#define SYNC_AUTH 0x8u /* source is authenticated (NTS or key): ctl status bit */

struct sync_opts {
	double step_threshold;  /* s; default 0.128; 0: never step after the first */
	double panic_threshold; /* s; default 1000; 0: no panic check */
	bool allow_first_step;  /* -g: the first correction may exceed panic */
	int minsane;            /* survivors needed to synchronize, default 1 */
	double maxdist;         /* root distance limit, s, default 1.5 */
	int local_stratum;      /* 0: none; else serve the local clock at this
	                           stratum (refid "LOCL") with no selected source */
};

/* Fills the defaults listed above. */
void sync_opts_default(struct sync_opts *o);

struct sync;

/* Creates the engine. clk is copied (its arg must outlive the engine);
 * initial_freq_ppm (e.g. from the drift file, 0 without) is set on the clock
 * at once. Returns NULL when out of memory. */
struct sync *sync_new(const struct sync_opts *o, const struct clockctl_ops *clk,
		      double initial_freq_ppm);
void sync_free(struct sync *s);

/* Adds a source; refid is what our clients see when it is the system peer
 * (IPv4 address in network byte order as a uint32 read with memcpy, or the
 * first 4 bytes of the MD5 of an IPv6 address). minpoll/maxpoll are log2 s,
 * clamped to 3..17. Returns the source index, or -1 (full, bad name). */
int sync_add_source(struct sync *s, const char *name, uint32_t refid, unsigned flags,
		    int minpoll, int maxpoll);

/* Changes the refid clients see for src (an NTS source learns its NTP
 * address only after the key exchange). */
void sync_set_refid(struct sync *s, int src, uint32_t refid);

/* After each poll of source src: got_answer false shifts a 0 into the reach
 * register (true shifts a 1). Call it whether or not sync_sample was. */
void sync_poll_done(struct sync *s, int src, bool got_answer);

/* A valid sample from ntp_client (authenticated when it had to be). */
struct sync_sample {
	double offset, delay;      /* s, as RFC 5905 theta and delta */
	double dispersion;         /* s, epsilon of this sample (precisions + PHI*delay) */
	double root_delay, root_disp; /* s, from the server's packet */
	int stratum;               /* 1..15 */
	int leap;                  /* 0..3 */
	uint32_t refid;            /* the server's refid */
	double reftime;            /* server's reference time, local timescale s */
	int poll;                  /* the poll exponent used */
};
/* Records a sample taken at local time now. Samples with stratum 0 or >= 16,
 * leap 3, or delay < 0 are counted and ignored. Allocates nothing. */
void sync_sample(struct sync *s, int src, const struct sync_sample *smp, double now);

/* Runs selection, clustering, combining and, when there is a new sample
 * from the chosen sources, the discipline (step, slew, frequency). Returns
 * true when the system state changed (a new update or a new status).
 * Call after each sync_sample / sync_poll_done batch, and at least once per
 * second is fine (it does nothing without news). */
bool sync_update(struct sync *s, double now);

/* The next poll interval of src as log2 s, between its minpoll and maxpoll,
 * adapted to the system's stability (RFC 5905 §13 style). */
int sync_poll_exponent(const struct sync *s, int src);

/* True while src is in its initial iburst: poll again SYNC_BURST_INTERVAL
 * seconds after the last poll instead of 2^poll. Ends after 6 good samples
 * or 10 tries; starts again after the clock was stepped. */
bool sync_want_burst(const struct sync *s, int src);

struct sync_system {
	int leap;                 /* 0..3; 3 when unsynchronized */
	int stratum;              /* 1..16 */
	uint32_t refid;           /* sys peer's refid as seen by clients, or "LOCL" */
	double root_delay, root_disp; /* s, for the packets we serve */
	double reftime;           /* local s of the last clock update, 0 never */
	int sys_peer;             /* source index, -1 none */
	double offset;            /* last combined offset, s */
	double jitter;            /* system jitter, s */
	double freq_ppm;          /* frequency correction applied */
	double wander;            /* frequency wander estimate, ppm */
	int poll;                 /* system poll exponent */
	bool synchronized;        /* leap != 3: serve as synchronized */
	const char *why_not;      /* NULL when synchronized to a source; else
	                             a static or engine-owned explanation, valid
	                             until the next sync_update */
};
/* The system variables at local time now (root dispersion grows with age).
 * Allocates nothing. */
void sync_system(const struct sync *s, double now, struct sync_system *out);

/* RFC 9327 / ntpq peer select codes (bits 8-10 of the peer status word). */
enum sync_select {
	SYNC_SEL_REJECT = 0,
	SYNC_SEL_FALSETICK = 1,
	SYNC_SEL_EXCESS = 2,
	SYNC_SEL_OUTLIER = 3,
	SYNC_SEL_CANDIDATE = 4,
	SYNC_SEL_BACKUP = 5,
	SYNC_SEL_SYSPEER = 6,
	SYNC_SEL_PPS = 7,
};

struct sync_source_status {
	char name[SYNC_NAME_MAX];
	uint8_t reach;            /* shift register, newest poll in bit 0 */
	int stratum;              /* 16 before the first sample */
	int leap;
	uint32_t refid;           /* the server's refid */
	double offset, delay, jitter, disp; /* s, clock filter output */
	double root_delay, root_disp; /* s, last sample */
	int poll;                 /* current poll exponent */
	int nsamples;             /* valid samples in the filter (0..8) */
	double last_sample_age;   /* s; < 0 when never */
	unsigned long ignored;    /* invalid samples dropped by sync_sample */
	char tally;               /* ' ' 'x' '.' '-' '+' '#' '*' as ntpq */
	enum sync_select select;
	uint16_t ctl_status;      /* RFC 9327 peer status word: configured,
	                             authenable/authentic (SYNC_AUTH), reachable,
	                             select field; no event counter */
	const char *why_not;      /* static text when not a candidate, else NULL */
};
/* Fills out for src (0 <= src < sync_source_count). Allocates nothing. */
void sync_source_status(const struct sync *s, int src, double now,
			struct sync_source_status *out);
size_t sync_source_count(const struct sync *s);

#endif
