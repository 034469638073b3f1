/* Offset estimate from several NTP samples of one server (RFC 5905 §8
 * offset and delay). Each sample is split into its two one-way halves,
 * outbound t2 - t1 = offset + delay/2 and return t4 - t3 = delay/2 - offset;
 * in each direction the values near that direction's minimum are averaged,
 * and the offset is half the difference of the two averages. This is the
 * mean of all samples on symmetric jitter, the minimum-delay sample on
 * one-way queueing, and it never uses a one-way value far above its
 * direction's minimum (an outlier). Pure: no I/O, no allocation, hot-path
 * safe. */
#ifndef NTSD_PROTOCOL_ESTIMATE_H
#define NTSD_PROTOCOL_ESTIMATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ESTIMATE_MAX_SAMPLES 64 /* the used_* masks have one bit per sample */
#define ESTIMATE_MAX_SECONDS 1e10 /* larger values are refused (NTP eras are 4.3e9 s) */

struct estimate_sample {
	double offset;     /* s, RFC 5905 theta: ((t2 - t1) + (t3 - t4)) / 2 */
	double delay;      /* s, RFC 5905 delta: (t4 - t1) - (t3 - t2) */
	double dispersion; /* s, >= 0: error the sample may have gained (age); 0 if none */
};

struct estimate {
	double offset;  /* s, the combined offset */
	double delay;   /* s, the smallest delay among the samples */
	double jitter;  /* s, symmetric one-way jitter: the quieter direction's spread
	                 * (median - minimum); 0 on pure one-way queueing */
	double error;   /* s, standard error of the averaging; asymmetry not included */
	double bound;   /* s, |true offset - offset| <= bound if no one-way delay is
	                 * negative: the samples' intervals offset +- delay/2 intersected */
	double window_out, window_back; /* s, values more than this above their
	                                 * direction's minimum are unused */
	uint64_t used_out, used_back; /* bit i: sample i's outbound / return half was used */
	int n_out, n_back;            /* how many halves were used in each direction */
};

/* Combines samples s[0..n-1] into *out. Returns false (out untouched) when
 * n is 0 or above ESTIMATE_MAX_SAMPLES, or a value is not finite or beyond
 * +-ESTIMATE_MAX_SECONDS, or a dispersion is negative. n == 1 gives that
 * sample's offset. */
bool estimate_offset(const struct estimate_sample *s, size_t n, struct estimate *out);

#endif
