/* The daemon's leap second state: the `leapfile` loaded at start, re-read
 * on SIGHUP and when its mtime changes (checked every minute), expiry
 * warned about 30 days ahead, and the leap indicator the file implies for
 * the time served. Owned by the main thread. */
#ifndef NTSD_NTSD_LEAP_H
#define NTSD_NTSD_LEAP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "conf/conf.h"
#include "ntsd/leapfile.h"

#define LEAP_WARN_DAYS 30 /* warn this long before the file expires */

struct leap {
	char path[CONF_PATH_MAX]; /* "": no leapfile */
	bool loaded;              /* lf holds a valid file */
	struct leapfile lf;
	struct timespec mtime;    /* of the file loaded */
	time_t checked;           /* last mtime check */
	time_t warned;            /* last expiry warning */
};

/* Loads path (empty: none). False when the file cannot be used; the
 * error is logged with the path. With check (ntsd --check) it also
 * reports the expiry date. */
bool leap_open(struct leap *l, const char *path, bool check);
/* Re-reads the file (SIGHUP, or force=false: only when its mtime changed
 * and a minute has passed since the last check) and warns once a day when
 * it expires within LEAP_WARN_DAYS or has expired. A file that became
 * unusable keeps the previous table (and says so). */
void leap_tick(struct leap *l, time_t now, bool force);
/* The leap indicator the file gives for NTP second now: NTP_LEAP_ADD or
 * NTP_LEAP_DEL in the last day before a leap, NTP_LEAP_NONE otherwise;
 * -1 when there is no valid, unexpired file (the sources decide). */
int leap_indicator(const struct leap *l, uint64_t now_ntp_s);

#endif
