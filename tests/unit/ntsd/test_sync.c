/* sync API: input validation, minsane, noselect, prefer, iburst length,
 * poll clamping, source status fields (tally, ctl status, ages). Uses the
 * simulated clock of sim.c so nothing touches a real clock. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ntsd/sync.h"
#include "sim.h"
#include "tap.h"

#define MS 1e-3

static struct sync *mk(struct sim_clock *c, const struct sync_opts *o)
{
	struct clockctl_ops ops;

	sim_clock_ops(c, &ops);
	return sync_new(o, &ops, 0);
}

static struct sync_sample smp(double off)
{
	return (struct sync_sample){.offset = off, .delay = 10 * MS, .dispersion = 1e-6, .root_delay = 0,
				    .root_disp = 1 * MS, .stratum = 1, .leap = 0, .refid = 0x47505300, .poll = 6};
}

int main(void)
{
	struct sim_clock c;
	struct sync_opts o;
	struct sync_system sy;
	struct sync_source_status st;

	sim_clock_init(&c, 0, 0);
	sync_opts_default(&o);
	tap_ok(o.step_threshold == 0.128 && o.panic_threshold == 1000 && o.minsane == 1 && o.maxdist == 1.5 &&
		       !o.allow_first_step && o.local_stratum == 0,
	       "defaults: 0.128 s, 1000 s, minsane 1, maxdist 1.5");

	/* argument checks */
	struct sync *s = mk(&c, &o);
	char longname[SYNC_NAME_MAX + 5];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	tap_ok(sync_add_source(s, longname, 1, 0, 6, 10) == -1, "too long a name refused");
	int a = sync_add_source(s, "a", 1, SYNC_IBURST, 1, 99);
	tap_ok(a == 0 && sync_source_count(s) == 1, "source added");
	tap_ok(sync_poll_exponent(s, a) == 6, "poll starts at 6 within clamped 3..17");
	tap_ok(sync_poll_exponent(s, 7) == 6 && !sync_want_burst(s, 7), "bad index: defaults, no crash");
	sync_poll_done(s, 7, true);
	sync_sample(s, -1, &(struct sync_sample){0}, 0);

	/* invalid samples are ignored: stratum 16, leap 3, negative delay, NaN */
	struct sync_sample bad = smp(0);
	bad.stratum = 16;
	sync_sample(s, a, &bad, sim_local(&c));
	bad = smp(0);
	bad.leap = 3;
	sync_sample(s, a, &bad, sim_local(&c));
	bad = smp(0);
	bad.delay = -1;
	sync_sample(s, a, &bad, sim_local(&c));
	bad = smp(NAN);
	sync_sample(s, a, &bad, sim_local(&c));
	sync_source_status(s, a, sim_local(&c), &st);
	tap_ok(st.nsamples == 0 && st.stratum == 16 && st.last_sample_age < 0 && st.ignored == 4,
	       "invalid samples ignored and counted (%lu)", st.ignored);

	/* iburst: ends after 6 good samples */
	int n = 0;
	while (sync_want_burst(s, a) && n < 20) {
		sim_advance(&c, 2);
		struct sync_sample g = smp(0);
		sync_sample(s, a, &g, sim_local(&c));
		sync_poll_done(s, a, true);
		sync_update(s, sim_local(&c));
		n++;
	}
	tap_ok(n == 6, "iburst: 6 polls (%d)", n);
	sim_advance(&c, 3);
	sync_source_status(s, a, sim_local(&c), &st);
	sync_system(s, sim_local(&c), &sy);
	tap_ok(st.reach == 0x3f && st.tally == '*' && st.select == SYNC_SEL_SYSPEER, "status: reach 077, '*'");
	tap_ok(st.ctl_status == (0x8000 | 0x1000 | (SYNC_SEL_SYSPEER << 8)),
	       "ctl status: configured, reachable, sys.peer (%#x)", st.ctl_status);
	tap_ok(fabs(st.last_sample_age - 3) < 1e-6 && strcmp(st.name, "a") == 0 && st.stratum == 1,
	       "status: name, stratum, age %.1f s", st.last_sample_age);
	tap_ok(sy.synchronized && sy.stratum == 2 && sy.refid == 1 && sy.leap == 0 && sy.sys_peer == a &&
		       sy.why_not == NULL,
	       "system: stratum 2, refid as given, leap 0");
	double rd0 = sy.root_disp;
	sync_system(s, sim_local(&c) + 1000, &sy);
	tap_ok(sy.root_disp > rd0 + 0.014, "root dispersion grows with age (%.4f -> %.4f)", rd0, sy.root_disp);
	sync_free(s);

	/* minsane 2 with one source: not synchronized, says why */
	o.minsane = 2;
	s = mk(&c, &o);
	a = sync_add_source(s, "a", 1, 0, 6, 10);
	for (int i = 0; i < 3; i++) {
		sim_advance(&c, 64);
		struct sync_sample g = smp(0);
		sync_sample(s, a, &g, sim_local(&c));
		sync_poll_done(s, a, true);
	}
	sync_update(s, sim_local(&c));
	sync_system(s, sim_local(&c), &sy);
	tap_ok(!sy.synchronized && sy.why_not && strstr(sy.why_not, "minsane"), "minsane 2: '%s'",
	       sy.why_not ? sy.why_not : "(null)");
	sync_free(s);

	/* noselect is never selected; prefer wins over a lower root distance;
	 * leap from the majority */
	o.minsane = 1;
	s = mk(&c, &o);
	int p = sync_add_source(s, "p", 11, SYNC_PREFER, 6, 10);
	int q = sync_add_source(s, "q", 12, 0, 6, 10);
	int r = sync_add_source(s, "r", 13, SYNC_NOSELECT | SYNC_AUTH, 6, 10);
	for (int i = 0; i < 3; i++) {
		sim_advance(&c, 64);
		struct sync_sample g = smp(0);
		g.delay = 30 * MS;
		g.leap = 1;
		sync_sample(s, p, &g, sim_local(&c));
		g.delay = 5 * MS;
		sync_sample(s, q, &g, sim_local(&c));
		g.leap = 0;
		sync_sample(s, r, &g, sim_local(&c));
		sync_poll_done(s, p, true);
		sync_poll_done(s, q, true);
		sync_poll_done(s, r, true);
		sync_update(s, sim_local(&c));
	}
	sync_system(s, sim_local(&c), &sy);
	tap_ok(sy.sys_peer == p && sy.refid == 11, "prefer wins (peer %d)", sy.sys_peer);
	tap_ok(sy.leap == 1, "leap insert from the majority of survivors (%d)", sy.leap);
	sync_source_status(s, r, sim_local(&c), &st);
	tap_ok(st.tally == ' ' && st.why_not && strcmp(st.why_not, "noselect") == 0, "noselect: ' ', '%s'",
	       st.why_not ? st.why_not : "(null)");
	tap_ok((st.ctl_status & 0x6000) == 0x6000, "SYNC_AUTH sets authenable/authentic (%#x)", st.ctl_status);
	sync_source_status(s, q, sim_local(&c), &st);
	tap_ok(st.tally == '+', "the other survivor is '+' ('%c')", st.tally);
	/* all three stop answering: 8 polls later, unsynchronized */
	for (int i = 0; i < 8; i++) {
		sim_advance(&c, 64);
		sync_poll_done(s, p, false);
		sync_poll_done(s, q, false);
		sync_poll_done(s, r, false);
		sync_update(s, sim_local(&c));
	}
	sync_system(s, sim_local(&c), &sy);
	tap_ok(!sy.synchronized && sy.leap == 3 && sy.stratum == 16 && sy.sys_peer == -1 && sy.why_not &&
		       strcmp(sy.why_not, "no source reachable") == 0,
	       "all silent for 8 polls: '%s'", sy.why_not ? sy.why_not : "(null)");
	sync_free(s);
	return tap_done();
}
