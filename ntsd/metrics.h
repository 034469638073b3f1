/* The Prometheus endpoint (`metrics ADDR:PORT`): GET /metrics served by
 * libmicrohttpd in its own thread, from the last page the main thread
 * published (metrics_page.h), so a scrape never waits for, nor delays,
 * the NTP workers or the NTS-KE server. Connections are capped. */
#ifndef NTSD_NTSD_METRICS_H
#define NTSD_NTSD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_CONNECTIONS 16 /* at once, all clients */
#define METRICS_MAX_PER_CLIENT 4   /* at once, per client address */
#define METRICS_TIMEOUT_S 5        /* idle connections are closed after */

struct metrics;

/* Binds addr (numeric) and port and starts the thread. NULL with a
 * message in err on failure. */
struct metrics *metrics_start(const char *addr, uint16_t port, char *err, size_t errlen);
/* Replaces the page served (copied). Thread-safe. */
bool metrics_publish(struct metrics *m, const char *page, size_t len);
/* Requests answered and refused (404/405) so far. */
void metrics_counts(struct metrics *m, uint64_t *served, uint64_t *refused);
/* Stops the thread and frees m. NULL is ignored. */
void metrics_stop(struct metrics *m);

#endif
