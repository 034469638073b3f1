/* Seeded one-way delay models for the estimator benchmark, shared by the
 * delaying proxy (delayproxy.c) and the offline simulation (estsim.c), so
 * that a seed gives the same delays in both: the i-th datagram of a
 * direction always consumes the same three uniform draws. */
#ifndef NTSD_TOOLS_BENCH_DELAYMODEL_H
#define NTSD_TOOLS_BENCH_DELAYMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dm_kind { DM_FIXED, DM_GAUSS, DM_EXP, DM_GEXP };

/* One direction: base distribution plus independent outliers. */
struct dm_dist {
	enum dm_kind kind;
	double a, b, c;       /* s: fixed a; gauss mean a, sd b; exp base a + mean b;
	                       * gexp gauss mean a, sd b plus exp mean c */
	double outlier_p;     /* probability that a datagram gets outlier_size more */
	double outlier_size;  /* s */
};

struct dm_rng {
	uint64_t s[4];
};

/* Parses "fixed,MS", "gauss,MEAN_MS,SD_MS", "exp,BASE_MS,MEAN_MS" or
 * "gexp,MEAN_MS,SD_MS,EXP_MEAN_MS" (jitter plus queueing); an optional
 * ",outlier=P:MS" adds outliers. False with a message in err. */
bool dm_parse(const char *spec, struct dm_dist *d, char *err, size_t errlen);

/* Seeds the stream of one direction (0 outbound, 1 return) of run seed. */
void dm_seed(struct dm_rng *r, uint64_t seed, unsigned direction);

/* Next delay of the direction, s (>= 0); *outlier tells whether an
 * outlier was added (may be NULL). */
double dm_draw(const struct dm_dist *d, struct dm_rng *r, bool *outlier);

#endif
