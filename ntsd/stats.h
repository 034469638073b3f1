/* Reporting the serving counters (SIGUSR1, exit, ntsd --stats later). */
#ifndef NTSD_NTSD_STATS_H
#define NTSD_NTSD_STATS_H

#include <stdint.h>

#include "keyexchange/ke_server.h"
#include "ntsd/serve.h"

/* Logs every non-zero counter at info level, one line each. ke may be NULL
 * (no NTS-KE server). */
void stats_log(const uint64_t v[SERVE_STAT_COUNT], const struct ke_stats *ke);
/* Writes "name value kind" lines for all counters to path atomically (kind
 * R, O or D: see serve.h; K: NTS-KE server, only when ke is not NULL);
 * false on error. Used by tests and monitoring. */
bool stats_write(const char *path, const uint64_t v[SERVE_STAT_COUNT], const struct ke_stats *ke);

#endif
