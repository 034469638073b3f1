/* Reading clocks and converting between time formats. NTP timestamps are
 * 64-bit: 32-bit seconds since 1900 (era arithmetic is modulo 2^32) and a
 * 32-bit fraction. NTP short format is 16.16 seconds. Never sets a clock. */
#ifndef NTSD_PROTOCOL_CLOCK_H
#define NTSD_PROTOCOL_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NTP_UNIX_OFFSET 2208988800u /* 1900-01-01 to 1970-01-01, s */

/* CLOCK_REALTIME as an NTP timestamp. Hot-path safe. */
uint64_t clock_ntp_now(void);
/* CLOCK_MONOTONIC in ns. Hot-path safe. */
uint64_t clock_mono_ns(void);

uint64_t clock_ntp_from_timespec(const struct timespec *ts);
/* Seconds (double) between two NTP timestamps a - b, era-safe when the
 * two are within 68 years of each other. */
double clock_ntp_diff(uint64_t a, uint64_t b);
double clock_ntp_to_unix(uint64_t ntp);
uint64_t clock_ntp_from_unix(double unix_s);
/* NTP short format (16.16) from seconds, saturating at 0 and 65535.99. */
uint32_t clock_short_from_double(double s);
double clock_short_to_double(uint32_t v);

/* Measured precision of CLOCK_REALTIME reads, as log2 seconds (e.g. -24),
 * like ntpd's default_get_precision. Takes about a millisecond. */
int clock_measure_precision(void);

#endif
