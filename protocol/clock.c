#include "config.h"
#include "protocol/clock.h"

#include <math.h>

uint64_t clock_ntp_from_timespec(const struct timespec *ts)
{
	uint64_t sec = (uint64_t)((int64_t)ts->tv_sec + NTP_UNIX_OFFSET) & 0xffffffffu;
	/* ns * 2^32 / 1e9, rounded; ns < 1e9 so the product fits in 64 bits */
	uint64_t frac = ((uint64_t)ts->tv_nsec << 32) / 1000000000u;
	return sec << 32 | (frac & 0xffffffffu);
}

uint64_t clock_ntp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return clock_ntp_from_timespec(&ts);
}

uint64_t clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double clock_ntp_diff(uint64_t a, uint64_t b)
{
	/* Two's complement difference of the 64-bit values gives the signed
	 * interval modulo one era (RFC 5905 §6). */
	int64_t d = (int64_t)(a - b);
	return (double)d / 4294967296.0;
}

double clock_ntp_to_unix(uint64_t ntp)
{
	/* Era 0 until 2036, then era 1: pick the era closest to now. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t ref = clock_ntp_from_timespec(&now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9 + clock_ntp_diff(ntp, ref);
}

uint64_t clock_ntp_from_unix(double unix_s)
{
	double s = floor(unix_s);
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((unix_s - s) * 1e9) };
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	return clock_ntp_from_timespec(&ts);
}

uint32_t clock_short_from_double(double s)
{
	if (!(s > 0.0))
		return 0;
	if (s >= 65535.99998)
		return 0xffffffffu;
	return (uint32_t)(s * 65536.0 + 0.5);
}

double clock_short_to_double(uint32_t v)
{
	return (double)v / 65536.0;
}

int clock_measure_precision(void)
{
	/* Smallest non-zero difference between consecutive reads, as ntpd
	 * does; the result is the log2 of that step, rounded up. */
	struct timespec a, b;
	long best = 1000000000L;

	for (int i = 0; i < 2000; i++) {
		clock_gettime(CLOCK_REALTIME, &a);
		do
			clock_gettime(CLOCK_REALTIME, &b);
		while (a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec);
		long d = (long)(b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
		if (d > 0 && d < best)
			best = d;
	}
	int p = 0;
	double step = (double)best / 1e9;
	while (step < 1.0 && p > -30) {
		step *= 2.0;
		p--;
	}
	return p + 1;
}
