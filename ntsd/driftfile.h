/* The drift file: the frequency correction in ppm as one number on one
 * line (ntpd's and chrony's format; chrony's optional second number, the
 * skew, is accepted and ignored). Read at start, written periodically. */
#ifndef NTSD_NTSD_DRIFTFILE_H
#define NTSD_NTSD_DRIFTFILE_H

#include <stdbool.h>
#include <stddef.h>

enum driftfile_status {
	DRIFTFILE_OK,
	DRIFTFILE_MISSING, /* no such file: start with 0 ppm (not an error) */
	DRIFTFILE_ERROR,   /* unreadable or bad content: err says FILE:LINE: why */
};

/* Reads *ppm from path. On DRIFTFILE_ERROR, err holds
 * "PATH:LINE: error: what; what is accepted". Never logs. */
enum driftfile_status driftfile_read(const char *path, double *ppm, char *err, size_t errlen);

/* Writes ppm atomically: PATH.tmp.PID created O_EXCL mode 0644, written,
 * fsync, rename over path, fsync of the directory. On failure returns false
 * with errno set, err filled, the old file untouched and no temp left. */
bool driftfile_write(const char *path, double ppm, char *err, size_t errlen);

#endif
