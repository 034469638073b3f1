/* Reporting the serving counters (SIGUSR1, exit, ntsd --stats later). */
#ifndef NTSD_NTSD_STATS_H
#define NTSD_NTSD_STATS_H

#include <stdint.h>

#include "ntsd/serve.h"

/* Logs every non-zero counter at info level, one line each. */
void stats_log(const uint64_t v[SERVE_STAT_COUNT]);
/* Writes "name value kind" lines (kind R, O or D: see serve.h) (all counters) to path atomically; false on
 * error. Used by tests and monitoring. */
bool stats_write(const char *path, const uint64_t v[SERVE_STAT_COUNT]);

#endif
