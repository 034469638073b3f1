/* estsim: the offline, seeded simulation of the exchange behind the
 * estimator benchmark (tools/bench/estimator.sh). Run k draws its one-way
 * delays exactly as delayproxy does with --seed SEED+k, takes N samples
 * (true offset 0) and prints the median, 90th percentile and maximum of
 * |offset error| of:
 *   bound-mean  per direction, the mean of the values without an outlier
 *               (an oracle that knows which they are); on symmetric jitter
 *               the mean of the samples, the best possible there
 *   bound-min   the minimum-delay sample: on one-way queueing the best
 *               possible without knowing the base delay
 *   mean        the mean of all samples
 *   estimate    protocol/estimate.c
 * Not installed. Usage: estsim --out SPEC --back SPEC [--runs N]
 * [--seed S] [--samples N] [--noise US] [--runs-out FILE] */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/estimate.h"
#include "tools/bench/delaymodel.h"

enum { E_BOUND_MEAN, E_BOUND_MIN, E_MEAN, E_ESTIMATE, E_COUNT };
static const char *const names[E_COUNT] = { "bound-mean", "bound-min", "mean", "estimate" };

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Linear interpolation between order statistics (numpy's default). */
static double pct(double *v, size_t n, double p)
{
	double k = (double)(n - 1) * p;
	size_t f = (size_t)k;
	size_t c = f + 1 < n ? f + 1 : f;
	return v[f] + (v[c] - v[f]) * (k - (double)f);
}

static bool parse_ul(const char *s, unsigned long lo, unsigned long hi, unsigned long *v)
{
	char *end;
	*v = strtoul(s, &end, 10);
	return *s && !*end && *v >= lo && *v <= hi;
}

/* One run: fills err[E_*] with the signed errors; counts in *bad_used the
 * outlier halves the estimate used when each direction had a clean one. */
static void one_run(const struct dm_dist *d, uint64_t seed, size_t n, double noise,
                    double *err, unsigned long *bad_used)
{
	uint64_t bad_o = 0, bad_b = 0;
	struct dm_rng ro, rb, rn;
	struct estimate_sample s[ESTIMATE_MAX_SAMPLES];
	struct estimate e;
	double so = 0, sb = 0, sum = 0;
	int no = 0, nb = 0;
	size_t best = 0;

	dm_seed(&ro, seed, 0);
	dm_seed(&rb, seed, 1);
	dm_seed(&rn, seed ^ UINT64_C(0x6e6f697365), 2);
	for (size_t i = 0; i < n; i++) {
		bool oo, ob;
		struct dm_dist z = { .kind = DM_GAUSS, .b = noise };
		double o = dm_draw(&d[0], &ro, &oo), r = dm_draw(&d[1], &rb, &ob);
		/* Measurement noise may be negative: not through dm_draw's clamp. */
		double no_ = noise > 0 ? dm_draw(&z, &rn, NULL) - dm_draw(&z, &rn, NULL) : 0;
		double nb_ = noise > 0 ? dm_draw(&z, &rn, NULL) - dm_draw(&z, &rn, NULL) : 0;
		o += no_;
		r += nb_;
		s[i] = (struct estimate_sample){ .offset = (o - r) / 2, .delay = o + r };
		if (!oo) {
			so += o;
			no++;
		}
		if (!ob) {
			sb += r;
			nb++;
		}
		bad_o |= (uint64_t)oo << i;
		bad_b |= (uint64_t)ob << i;
		sum += s[i].offset;
		if (s[i].delay < s[best].delay)
			best = i;
	}
	err[E_BOUND_MEAN] = no && nb ? (so / no - sb / nb) / 2 : NAN;
	err[E_BOUND_MIN] = s[best].offset;
	err[E_MEAN] = sum / (double)n;
	err[E_ESTIMATE] = estimate_offset(s, n, &e) ? e.offset : NAN;
	if (!isnan(err[E_ESTIMATE]) && no && nb) /* else unavoidable: skipped */
		*bad_used += (unsigned long)(__builtin_popcountll(e.used_out & bad_o) +
		                             __builtin_popcountll(e.used_back & bad_b));
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "out", required_argument, NULL, 'o' },      { "back", required_argument, NULL, 'b' },
		{ "runs", required_argument, NULL, 'r' },     { "seed", required_argument, NULL, 's' },
		{ "samples", required_argument, NULL, 'n' },  { "noise", required_argument, NULL, 'z' },
		{ "runs-out", required_argument, NULL, 'w' }, { NULL, 0, NULL, 0 },
	};
	struct dm_dist d[2];
	bool have[2] = { false, false };
	unsigned long runs = 10000, seed = 1, n = 8;
	double noise = 0;
	const char *runs_out = NULL;
	char err[256];
	int opt;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'o':
		case 'b':
			if (!dm_parse(optarg, &d[opt == 'b'], err, sizeof(err))) {
				fprintf(stderr, "estsim: %s\n", err);
				return 1;
			}
			have[opt == 'b'] = true;
			break;
		case 'r':
			if (!parse_ul(optarg, 1, 10000000, &runs))
				goto usage;
			break;
		case 's':
			if (!parse_ul(optarg, 0, ~0UL, &seed))
				goto usage;
			break;
		case 'n':
			if (!parse_ul(optarg, 1, ESTIMATE_MAX_SAMPLES, &n))
				goto usage;
			break;
		case 'z':
			noise = strtod(optarg, NULL) * 1e-6;
			break;
		case 'w':
			runs_out = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (!have[0] || !have[1] || optind != argc)
		goto usage;

	double *e[E_COUNT];
	for (int k = 0; k < E_COUNT; k++)
		if (!(e[k] = calloc(runs, sizeof(double)))) {
			fprintf(stderr, "estsim: out of memory\n");
			return 1;
		}
	FILE *rf = runs_out ? fopen(runs_out, "w") : NULL;
	if (runs_out && !rf) {
		perror(runs_out);
		return 1;
	}
	size_t m = 0;
	unsigned long bad_used = 0;
	for (unsigned long r = 0; r < runs; r++) {
		double x[E_COUNT];
		one_run(d, seed + r, n, noise, x, &bad_used);
		if (rf)
			fprintf(rf, "%lu %.9f %.9f %.9f %.9f\n", seed + r, x[0], x[1], x[2], x[3]);
		if (isnan(x[E_BOUND_MEAN]) || isnan(x[E_ESTIMATE]))
			continue; /* every value of a direction was an outlier */
		for (int k = 0; k < E_COUNT; k++)
			e[k][m] = fabs(x[k]);
		m++;
	}
	if (rf)
		fclose(rf);
	printf("# %lu runs (seeds %lu..%lu, %lu skipped: a direction all outliers), %lu samples, "
	       "noise %.1f us; |error| in us\n",
	       runs, seed, seed + runs - 1, runs - (unsigned long)m, n, noise * 1e6);
	printf("%-12s %8s %8s %8s\n", "estimator", "median", "p90", "max");
	for (int k = 0; k < E_COUNT && m > 0; k++) {
		qsort(e[k], m, sizeof(double), cmp);
		printf("%-12s %8.0f %8.0f %8.0f\n", names[k], pct(e[k], m, 0.5) * 1e6,
		       pct(e[k], m, 0.9) * 1e6, e[k][m - 1] * 1e6);
	}
	printf("# outlier halves the estimate used: %lu\n", bad_used);
	for (int k = 0; k < E_COUNT; k++)
		free(e[k]);
	return 0;
usage:
	fprintf(stderr, "usage: estsim --out SPEC --back SPEC [--runs N] [--seed S] [--samples N] "
	                "[--noise US] [--runs-out FILE]\n"
	                "SPEC (ms): fixed,D | gauss,MEAN,SD | exp,BASE,MEAN | gexp,MEAN,SD,EXPMEAN,\n"
	                "then optionally ,outlier=P:MS\n");
	return 1;
}
