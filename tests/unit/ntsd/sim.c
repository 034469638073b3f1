/* Simulated clock and network for the sync tests: see sim.h. */
#include "sim.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;

void sim_seed(uint64_t seed)
{
	rng = seed ? seed : 88172645463325252ull;
}

double sim_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static double rexp(double mean)
{
	return mean > 0 ? -mean * log(1.0 - sim_rand()) : 0;
}

void sim_clock_init(struct sim_clock *c, double initial_offset, double freq_err_ppm)
{
	memset(c, 0, sizeof(*c));
	c->true_t = 1000.0; /* any start; the local clock may read negative */
	c->off = initial_offset;
	c->freq_err = freq_err_ppm;
}

double sim_local(const struct sim_clock *c)
{
	return c->true_t + c->off;
}

void sim_advance(struct sim_clock *c, double dt)
{
	double s = 0;

	if (c->slew_left != 0) {
		s = CLOCKCTL_SLEW_RATE * dt;
		if (s >= fabs(c->slew_left))
			s = fabs(c->slew_left);
		s = c->slew_left > 0 ? s : -s;
		c->slew_left -= s;
	}
	c->off += (c->freq_err + c->freq_set) * 1e-6 * dt + s;
	c->true_t += dt;
}

static double op_now(void *a)
{
	return sim_local(a);
}

static int op_step(void *a, double o)
{
	struct sim_clock *c = a;

	c->off += o;
	c->steps++;
	return 0;
}

static int op_slew(void *a, double o)
{
	struct sim_clock *c = a;

	c->slew_left = o;
	c->slews++;
	return 0;
}

static int op_set_freq(void *a, double ppm)
{
	struct sim_clock *c = a;

	if (!(fabs(ppm) <= CLOCKCTL_MAX_FREQ_PPM)) {
		c->freq_rejects++;
		errno = ERANGE;
		return -1;
	}
	c->freq_set = ppm;
	c->freq_sets++;
	if (fabs(ppm) > c->max_abs_freq)
		c->max_abs_freq = fabs(ppm);
	return 0;
}

static double op_get_freq(void *a)
{
	return ((struct sim_clock *)a)->freq_set;
}

void sim_clock_ops(struct sim_clock *c, struct clockctl_ops *ops)
{
	*ops = (struct clockctl_ops){op_now, op_step, op_slew, op_set_freq, op_get_freq, c};
}

bool sim_query(const struct sim_clock *c, const struct sim_server *srv, struct sync_sample *smp)
{
	if (srv->dies_at >= 0 && c->true_t >= srv->dies_at)
		return false;
	/* legs of the round trip; the local clock's drift during the exchange
	 * (< 1 s * 1000 ppm) is below a microsecond and ignored */
	double out = srv->delay / 2 + srv->asym / 2 + rexp(srv->jitter);
	double in = srv->delay / 2 - srv->asym / 2 + rexp(srv->jitter);
	double T = c->true_t;
	double t1 = T + c->off;
	double t2 = T + out + srv->offset;
	double t3 = t2 + 10e-6; /* server processing */
	double t4 = T + out + 10e-6 + in + c->off;

	*smp = (struct sync_sample){
		.offset = ((t2 - t1) + (t3 - t4)) / 2,
		.delay = (t4 - t1) - (t3 - t2),
		.dispersion = 2 * 1e-6 + 15e-6 * ((t4 - t1) - (t3 - t2)),
		.root_delay = srv->root_delay,
		.root_disp = srv->root_disp,
		.stratum = srv->stratum,
		.leap = srv->leap,
		.refid = srv->refid,
		.reftime = t1 - 10,
		.poll = 6,
	};
	return true;
}

void sim_run_init(struct sim_run *r, struct sim_clock *clk, struct sync *s,
		  const struct sim_server *srv, int n)
{
	memset(r, 0, sizeof(*r));
	r->clk = clk;
	r->sync = s;
	r->srv = srv;
	r->n = n;
	for (int i = 0; i < n; i++)
		r->next_poll[i] = clk->true_t + 1 + i * 0.25; /* staggered start */
}

void sim_run(struct sim_run *r, double seconds, void (*hook)(void *, const struct sim_run *),
	     void *arg)
{
	double end = r->clk->true_t + seconds;

	while (r->clk->true_t < end - 1e-9) {
		sim_advance(r->clk, 0.25);
		bool polled = false;
		for (int i = 0; i < r->n; i++) {
			if (r->clk->true_t + 1e-9 < r->next_poll[i])
				continue;
			struct sync_sample smp;
			bool ok = sim_query(r->clk, &r->srv[i], &smp);
			if (ok)
				sync_sample(r->sync, i, &smp, sim_local(r->clk));
			sync_poll_done(r->sync, i, ok);
			r->polls[i]++;
			polled = true;
			double iv = sync_want_burst(r->sync, i)
					    ? SYNC_BURST_INTERVAL
					    : ldexp(1.0, sync_poll_exponent(r->sync, i));
			r->next_poll[i] = r->clk->true_t + iv;
		}
		if (polled)
			sync_update(r->sync, sim_local(r->clk));
		if (hook && fmod(r->clk->true_t, 1.0) < 1e-9)
			hook(arg, r);
	}
}
