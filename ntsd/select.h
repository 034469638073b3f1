/* Source selection, RFC 5905 §11.2: the intersection algorithm (Marzullo,
 * as refined by Mills) separating truechimers from falsetickers, clustering
 * away outliers, and combining the survivors weighted by root distance.
 * Pure functions over caller-owned arrays; no allocation. */
#ifndef NTSD_NTSD_SELECT_H
#define NTSD_NTSD_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#define SELECT_MAX 32  /* candidates at most (SYNC_MAX_SOURCES) */
#define SELECT_NMIN 3  /* clustering stops at this many survivors */

struct select_cand {
	double offset;   /* s */
	double rootdist; /* lambda, s: the correctness interval half-width */
	double jitter;   /* peer jitter, s */
	int stratum;
	bool truechimer; /* out of select_intersect */
	bool survivor;   /* out of select_cluster */
};

/* Intersection: finds the smallest interval [*low, *high] containing the
 * midpoints of the most candidates, allowing f falsetickers for f < n/2.
 * Marks truechimer on candidates whose interval overlaps it. Returns the
 * number of falsetickers allowed (>= 0) or -1 when there is no majority
 * (then nothing is a truechimer). n <= SELECT_MAX. */
int select_intersect(struct select_cand *c, size_t n, double *low, double *high);

/* Clustering among the truechimers: repeatedly drops the one with the
 * largest selection jitter while more than nmin remain and that jitter
 * exceeds the smallest peer jitter. Marks survivor; returns their count. */
size_t select_cluster(struct select_cand *c, size_t n, size_t nmin);

/* Combines the survivors weighted by 1/rootdist. *jitter is the RMS of the
 * survivors' offsets about ref_offset (the system peer's), weighted the
 * same way (RFC 5905 §11.2.3 Psi_s). Returns false with no survivors. */
bool select_combine(const struct select_cand *c, size_t n, double ref_offset, double *offset,
		    double *jitter);

#endif
