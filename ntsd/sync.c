/* The synchronization engine: sources, RFC 5905 selection and the system
 * variables. See sync.h for the API.
 *
 * Departures from RFC 5905, and why:
 *  - a source is selectable after SYNC_MIN_SAMPLES (2) valid samples, not
 *    after the filter has filled: with iburst (2 s apart) the system is
 *    synchronized about 2 s after the first answer instead of minutes
 *    (chrony needs 1-4 samples); the clock filter and the regression in the
 *    discipline keep refining afterwards;
 *  - the filters store offsets plus the phase the discipline slewed since
 *    the start, so samples taken before and after a correction compare
 *    (popcorn, jitter), and the output is brought to "now" by subtracting
 *    the phase slewed so far (RFC 5905 ignores this);
 *  - with no selectable source the system is unsynchronized at once (or
 *    serves the local clock with local_stratum); the reach register already
 *    keeps a silent source selectable for 8 polls. */
#include "config.h"

#include "ntsd/sync.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntsd/discipline.h"
#include "ntsd/filter.h"
#include "ntsd/select.h"

#define SYNC_MIN_SAMPLES 2
#define MINDISP 0.01   /* s, RFC 5905 */
#define POLL_LIMIT 30  /* RFC 5905 LIMIT for the poll-adjust counter */
#define POLL_PGATE 4.0 /* RFC 5905 PGATE */
#define POLL_INIT 6
#define JITTER_FLOOR 2e-6 /* s, a typical precision */
#define BURST_SAMPLES 6 /* enough for a first frequency estimate */
#define BURST_TRIES 10

struct src {
	char name[SYNC_NAME_MAX];
	uint32_t refid_out;
	unsigned flags;
	int minpoll, maxpoll;
	uint8_t reach;
	struct filter f;
	int stratum, leap;
	uint32_t refid;
	double root_delay, root_disp, reftime;
	double last_t; /* local time of the last valid sample, when nvalid */
	int nvalid;
	int burst_tries;
	int burst_from; /* nvalid when the current burst started */
	bool burst_done;
	double used_t; /* filter output time last used in a clock update */
	enum sync_select sel;
	const char *why;
	unsigned long ignored;
};

struct sync {
	struct sync_opts o;
	struct discipline d;
	struct src src[SYNC_MAX_SOURCES];
	int n;
	int poll, poll_count;
	int sys_peer;
	bool synced, panic;
	int leap, stratum;
	uint32_t refid;
	double root_delay, root_disp, reftime, offset, jitter;
	const char *why_not;
	char whybuf[128];
};

static double clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void sync_opts_default(struct sync_opts *o)
{
	*o = (struct sync_opts){
		.step_threshold = 0.128,
		.panic_threshold = 1000,
		.allow_first_step = false,
		.minsane = 1,
		.maxdist = 1.5,
		.local_stratum = 0,
	};
}

struct sync *sync_new(const struct sync_opts *o, const struct clockctl_ops *clk,
		      double initial_freq_ppm)
{
	struct sync *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->o = *o;
	if (s->o.minsane < 1)
		s->o.minsane = 1;
	if (!(s->o.maxdist > 0))
		s->o.maxdist = 1.5;
	discipline_init(&s->d, clk, o->step_threshold, o->panic_threshold, o->allow_first_step,
			initial_freq_ppm, initial_freq_ppm != 0, clk->now(clk->arg));
	s->poll = POLL_INIT;
	s->sys_peer = -1;
	s->leap = SYNC_LEAP_UNSYNC;
	s->stratum = SYNC_STRATUM_UNSPEC;
	s->why_not = "no sources configured";
	return s;
}

void sync_free(struct sync *s)
{
	free(s);
}

size_t sync_source_count(const struct sync *s)
{
	return (size_t)s->n;
}

void sync_set_refid(struct sync *s, int src, uint32_t refid)
{
	if (src >= 0 && src < (int)s->n)
		s->src[src].refid_out = refid;
}

int sync_add_source(struct sync *s, const char *name, uint32_t refid, unsigned flags,
		    int minpoll, int maxpoll)
{
	if (s->n >= SYNC_MAX_SOURCES || !name || strlen(name) >= SYNC_NAME_MAX)
		return -1;
	struct src *p = &s->src[s->n];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->refid_out = refid;
	p->flags = flags;
	p->minpoll = clampi(minpoll, 3, 17);
	p->maxpoll = clampi(maxpoll, p->minpoll, 17);
	p->stratum = SYNC_STRATUM_UNSPEC;
	p->leap = SYNC_LEAP_UNSYNC;
	p->used_t = -INFINITY;
	p->why = "never answered";
	filter_init(&p->f);
	if (s->n == 0)
		s->why_not = "no source reachable";
	return s->n++;
}

static bool valid_src(const struct sync *s, int i)
{
	return i >= 0 && i < s->n;
}

void sync_poll_done(struct sync *s, int src, bool got_answer)
{
	if (!valid_src(s, src))
		return;
	struct src *p = &s->src[src];
	p->reach = (uint8_t)(p->reach << 1 | (got_answer ? 1 : 0));
	/* RFC 5905 §13: three silent polls in a row shift a dummy into the
	 * filter, so the dispersion of a dying source grows. */
	if (!(p->reach & 7) && p->nvalid > 0)
		filter_miss(&p->f);
	if ((p->flags & SYNC_IBURST) && !p->burst_done && ++p->burst_tries >= BURST_TRIES)
		p->burst_done = true;
}

void sync_sample(struct sync *s, int src, const struct sync_sample *m, double now)
{
	if (!valid_src(s, src))
		return;
	struct src *p = &s->src[src];
	if (m->stratum < 1 || m->stratum > 15 || m->leap < 0 || m->leap > 2 || !(m->delay >= 0) ||
	    !isfinite(m->offset) || !(m->dispersion >= 0) || !(m->root_delay >= 0) ||
	    !(m->root_disp >= 0)) {
		p->ignored++;
		return;
	}
	p->stratum = m->stratum;
	p->leap = m->leap;
	p->refid = m->refid;
	p->root_delay = m->root_delay;
	p->root_disp = m->root_disp;
	p->reftime = m->reftime;
	p->last_t = now;
	if (p->nvalid < 1000)
		p->nvalid++;
	if (p->nvalid - p->burst_from >= BURST_SAMPLES)
		p->burst_done = true;
	/* stored normalised: plus what we slewed since the start (sync.c top) */
	filter_add(&p->f, m->offset + discipline_slewed(&s->d, now), m->delay, m->dispersion,
		   discipline_skew(&s->d, now), now);
}

static double rootdist(const struct src *p, double now)
{
	double d = p->root_delay + p->f.delay;

	return (d > MINDISP ? d : MINDISP) / 2 + p->root_disp + filter_disp(&p->f, now) + p->f.jitter;
}

/* RFC 5905 §11.2 fit(): why p cannot be a candidate, NULL when it can. */
static const char *unfit(const struct sync *s, const struct src *p, double now)
{
	if (p->flags & SYNC_NOSELECT)
		return "noselect";
	if (!p->reach)
		return p->nvalid ? "unreachable" : "never answered";
	if (p->nvalid < SYNC_MIN_SAMPLES || !p->f.have)
		return "waiting for samples";
	if (p->leap == SYNC_LEAP_UNSYNC || p->stratum >= SYNC_STRATUM_UNSPEC)
		return "server unsynchronized";
	if (rootdist(p, now) > s->o.maxdist)
		return "root distance beyond maxdist";
	return NULL;
}

static void set_unsync(struct sync *s, const char *why)
{
	s->sys_peer = -1;
	s->synced = false;
	s->why_not = why;
	if (s->o.local_stratum > 0 && !s->panic) {
		/* serve the local clock (like ntpd's orphan/local clock) */
		s->leap = 0;
		s->stratum = s->o.local_stratum;
		memcpy(&s->refid, "LOCL", 4);
		s->root_delay = 0;
		s->root_disp = MINDISP;
		s->synced = true;
		if (why != s->whybuf) {
			snprintf(s->whybuf, sizeof(s->whybuf), "serving the local clock: %s", why);
			s->why_not = s->whybuf;
		}
		return;
	}
	s->leap = SYNC_LEAP_UNSYNC;
	s->stratum = SYNC_STRATUM_UNSPEC;
	s->refid = 0;
	memcpy(&s->refid, "INIT", 4);
}

/* The order of preference among survivors: stratum, then root distance
 * (RFC 5905 §11.2.3). */
static double metric(const struct sync *s, const struct src *p, double now)
{
	return p->stratum * s->o.maxdist + rootdist(p, now);
}

static int pick_peer(const struct sync *s, const struct select_cand *c, const int *idx, int nc,
		     double now)
{
	int best = -1, prefer = -1;
	double bm = INFINITY;

	for (int k = 0; k < nc; k++) {
		if (!c[k].survivor)
			continue;
		const struct src *p = &s->src[idx[k]];
		if ((p->flags & SYNC_PREFER) && prefer < 0)
			prefer = idx[k];
		double m = metric(s, p, now);
		if (m < bm) {
			bm = m;
			best = idx[k];
		}
	}
	if (prefer >= 0)
		return prefer;
	/* keep the current sys peer while it survives: avoids clock hopping
	 * between equally good sources, unless a lower stratum appeared */
	for (int k = 0; k < nc; k++)
		if (c[k].survivor && idx[k] == s->sys_peer && best >= 0 &&
		    s->src[idx[k]].stratum <= s->src[best].stratum)
			return s->sys_peer;
	return best;
}

static void adapt_poll(struct sync *s, double offset)
{
	int minp = 17, maxp = 3;
	double jit = s->jitter > JITTER_FLOOR ? s->jitter : JITTER_FLOOR;

	for (int i = 0; i < s->n; i++) {
		if (s->src[i].minpoll < minp)
			minp = s->src[i].minpoll;
		if (s->src[i].maxpoll > maxp)
			maxp = s->src[i].maxpoll;
	}
	/* RFC 5905 §13 poll_update via the clock-adjust counter */
	if (fabs(offset) < POLL_PGATE * jit) {
		s->poll_count += s->poll;
		if (s->poll_count > POLL_LIMIT) {
			s->poll_count = POLL_LIMIT;
			if (s->poll < maxp) {
				s->poll_count = 0;
				s->poll++;
			}
		}
	} else {
		s->poll_count -= 2 * s->poll;
		if (s->poll_count < -POLL_LIMIT) {
			s->poll_count = -POLL_LIMIT;
			if (s->poll > minp) {
				s->poll_count = 0;
				s->poll--;
			}
		}
	}
	s->poll = clampi(s->poll, minp < maxp ? minp : maxp, maxp);
}

static int majority_leap(const struct sync *s, const struct select_cand *c, const int *idx, int nc)
{
	int n = 0, ins = 0, del = 0;

	for (int k = 0; k < nc; k++) {
		if (!c[k].survivor)
			continue;
		n++;
		ins += s->src[idx[k]].leap == 1;
		del += s->src[idx[k]].leap == 2;
	}
	return 2 * ins > n ? 1 : 2 * del > n ? 2 : 0;
}

static void clock_update(struct sync *s, const struct select_cand *c, const int *idx, int nc,
			 double now)
{
	double off, jit;
	const struct src *p = &s->src[s->sys_peer];
	double poff = 0;

	for (int k = 0; k < nc; k++)
		if (idx[k] == s->sys_peer)
			poff = c[k].offset;
	if (!select_combine(c, (size_t)nc, poff, &off, &jit))
		return;
	double wt = 0, ws = 0;
	for (int k = 0; k < nc; k++)
		if (c[k].survivor) {
			double w = 1.0 / (c[k].rootdist > 1e-9 ? c[k].rootdist : 1e-9);
			wt += w * (s->src[idx[k]].f.t - now); /* relative: precision */
			ws += w;
		}
	s->jitter = sqrt(jit * jit + p->f.jitter * p->f.jitter);
	enum disc_result r = discipline_update(&s->d, off, now + wt / ws, now);
	if (r == DISC_PANIC) {
		s->panic = true;
		snprintf(s->whybuf, sizeof(s->whybuf),
			 "offset %+.3f s beyond the panic threshold %.0f s (start with -g to allow)", off,
			 s->o.panic_threshold);
		set_unsync(s, s->whybuf);
		return;
	}
	if (r == DISC_ERROR) {
		set_unsync(s, "the clock could not be adjusted");
		return;
	}
	s->panic = false;
	if (r == DISC_STEP)
		for (int i = 0; i < s->n; i++) {
			struct src *q = &s->src[i];
			filter_clock_stepped(&q->f, off);
			q->last_t += off;
			q->used_t += off;
			/* burst again: the frequency is still to be learnt */
			if (q->flags & SYNC_IBURST) {
				q->burst_done = false;
				q->burst_tries = 0;
				q->burst_from = q->nvalid;
			}
		}
	for (int k = 0; k < nc; k++)
		if (c[k].survivor)
			s->src[idx[k]].used_t = s->src[idx[k]].f.t;
	if (r == DISC_STEP)
		now += off; /* the clock reads later (or earlier) now */
	s->offset = off;
	s->reftime = now;
	s->synced = true;
	s->why_not = NULL;
	s->leap = majority_leap(s, c, idx, nc);
	s->stratum = p->stratum + 1 < SYNC_STRATUM_UNSPEC ? p->stratum + 1 : SYNC_STRATUM_UNSPEC;
	s->refid = p->refid_out;
	s->root_delay = p->root_delay + p->f.delay;
	s->root_disp = p->root_disp + filter_disp(&p->f, now) + s->jitter +
		       (r == DISC_STEP ? 0 : fabs(off));
	if (r == DISC_SLEW)
		adapt_poll(s, off);
}

struct snapshot {
	int sys_peer, leap, stratum;
	uint32_t refid;
	bool synced;
	double reftime;
	unsigned char sel[SYNC_MAX_SOURCES];
};

static void snap(const struct sync *s, struct snapshot *x)
{
	memset(x, 0, sizeof(*x));
	x->sys_peer = s->sys_peer;
	x->leap = s->leap;
	x->stratum = s->stratum;
	x->refid = s->refid;
	x->synced = s->synced;
	x->reftime = s->reftime;
	for (int i = 0; i < s->n; i++)
		x->sel[i] = (unsigned char)s->src[i].sel;
}

/* Candidates (fit sources), their offsets brought forward to now. */
static int candidates(struct sync *s, double now, struct select_cand *c, int *idx,
		      const char **why)
{
	int nc = 0;

	*why = s->n ? NULL : "no sources configured";
	for (int i = 0; i < s->n; i++) {
		struct src *p = &s->src[i];
		p->why = unfit(s, p, now);
		p->sel = SYNC_SEL_REJECT;
		if (p->why) {
			/* the most advanced reason wins for the system why_not */
			if (!*why || (p->reach && strcmp(*why, "no source reachable") == 0))
				*why = p->reach ? p->why : "no source reachable";
			continue;
		}
		c[nc] = (struct select_cand){
			.offset = p->f.offset - discipline_slewed(&s->d, now),
			.rootdist = rootdist(p, now),
			.jitter = p->f.jitter,
			.stratum = p->stratum,
		};
		idx[nc++] = i;
	}
	return nc;
}

bool sync_update(struct sync *s, double now)
{
	struct select_cand c[SYNC_MAX_SOURCES];
	int idx[SYNC_MAX_SOURCES];
	struct snapshot before, after;
	const char *why;
	double lo, hi;

	snap(s, &before);
	int nc = candidates(s, now, c, idx, &why);
	if (nc == 0) {
		set_unsync(s, why ? why : "no source reachable");
		goto out;
	}
	int f = select_intersect(c, (size_t)nc, &lo, &hi);
	if (f < 0) {
		for (int k = 0; k < nc; k++) {
			s->src[idx[k]].sel = SYNC_SEL_FALSETICK;
			s->src[idx[k]].why = "no majority";
		}
		snprintf(s->whybuf, sizeof(s->whybuf),
			 "no majority: the %d candidates do not agree within their root distance", nc);
		set_unsync(s, s->whybuf);
		goto out;
	}
	int nsurv = (int)select_cluster(c, (size_t)nc, SELECT_NMIN);
	for (int k = 0; k < nc; k++) {
		struct src *p = &s->src[idx[k]];
		p->sel = !c[k].truechimer ? SYNC_SEL_FALSETICK
			 : !c[k].survivor ? SYNC_SEL_OUTLIER
					   : SYNC_SEL_CANDIDATE;
		p->why = !c[k].truechimer ? "falseticker" : !c[k].survivor ? "outlier" : NULL;
	}
	if (nsurv < s->o.minsane) {
		snprintf(s->whybuf, sizeof(s->whybuf), "%d of %d candidates survive, minsane is %d",
			 nsurv, nc, s->o.minsane);
		set_unsync(s, s->whybuf);
		goto out;
	}
	s->sys_peer = pick_peer(s, c, idx, nc, now);
	s->src[s->sys_peer].sel = SYNC_SEL_SYSPEER;
	/* a clock update only with a sample not used before */
	bool news = false;
	for (int k = 0; k < nc; k++)
		if (c[k].survivor && s->src[idx[k]].f.t > s->src[idx[k]].used_t)
			news = true;
	if (news || !s->synced || s->why_not)
		clock_update(s, c, idx, nc, now);
out:
	snap(s, &after);
	return memcmp(&before, &after, sizeof(before)) != 0;
}

int sync_poll_exponent(const struct sync *s, int src)
{
	if (!valid_src(s, src))
		return POLL_INIT;
	const struct src *p = &s->src[src];
	return clampi(s->poll, p->minpoll, p->maxpoll);
}

bool sync_want_burst(const struct sync *s, int src)
{
	if (!valid_src(s, src))
		return false;
	const struct src *p = &s->src[src];
	return (p->flags & SYNC_IBURST) && !p->burst_done;
}

void sync_system(const struct sync *s, double now, struct sync_system *out)
{
	*out = (struct sync_system){
		.leap = s->leap,
		.stratum = s->stratum,
		.refid = s->refid,
		.root_delay = s->root_delay,
		.root_disp = s->root_disp,
		.reftime = s->reftime,
		.sys_peer = s->sys_peer,
		.offset = s->offset,
		.jitter = s->jitter,
		.freq_ppm = s->d.freq,
		.wander = s->d.wander,
		.poll = s->poll,
		.synchronized = s->synced,
		.why_not = s->why_not,
	};
	if (s->sys_peer >= 0 && now > s->reftime)
		out->root_disp = clampd(s->root_disp + FILTER_PHI * (now - s->reftime), 0, FILTER_MAXDISP);
}

static const char tallies[] = " x.-+#*o";

void sync_source_status(const struct sync *s, int src, double now, struct sync_source_status *o)
{
	memset(o, 0, sizeof(*o));
	if (!valid_src(s, src))
		return;
	const struct src *p = &s->src[src];
	snprintf(o->name, sizeof(o->name), "%s", p->name);
	o->reach = p->reach;
	o->stratum = p->stratum;
	o->leap = p->leap;
	o->refid = p->refid;
	o->offset = p->f.have ? p->f.offset - discipline_slewed(&s->d, now) : 0;
	o->delay = p->f.delay;
	o->jitter = p->f.jitter;
	o->disp = filter_disp(&p->f, now);
	o->root_delay = p->root_delay;
	o->root_disp = p->root_disp;
	o->poll = sync_poll_exponent(s, src);
	o->nsamples = p->f.count;
	o->last_sample_age = p->nvalid ? now - p->last_t : -1;
	o->ignored = p->ignored;
	o->select = p->sel;
	o->tally = tallies[p->sel];
	o->why_not = p->why;
	o->ctl_status = (uint16_t)(0x8000u | (p->flags & SYNC_AUTH ? 0x6000u : 0) |
				   (p->reach ? 0x1000u : 0) | ((unsigned)p->sel << 8));
}
