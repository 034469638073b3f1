#include "config.h"
#include "ntsd/stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "ntsd/log.h"

/* NTS-KE server counters: name, field, description. */
#define KE_STATS(X) \
	X("ke_accepted", accepted, "NTS-KE connections accepted") \
	X("ke_refused_cap", refused_cap, "NTS-KE connections refused: per-client or total cap") \
	X("ke_handshake_failed", handshake_failed, "NTS-KE TLS handshakes failed (no ALPN, TLS < 1.3, ...)") \
	X("ke_timeouts", timeouts, "NTS-KE connections closed at the deadline") \
	X("ke_bad_requests", bad_requests, "NTS-KE requests answered with an error record") \
	X("ke_responses", responses, "NTS-KE responses with cookies sent")

void stats_log(const uint64_t v[SERVE_STAT_COUNT], const struct ke_stats *ke)
{
	for (size_t i = 0; i < SERVE_STAT_COUNT; i++)
		if (v[i])
			log_info("Counter %s %" PRIu64 " (%s)", serve_stat_name((enum serve_stat)i), v[i],
			         serve_stat_text((enum serve_stat)i));
	if (!ke)
		return;
#define KE_STAT_LOG(name, field, text) \
	if (ke->field) \
		log_info("Counter %s %" PRIu64 " (%s)", name, ke->field, text);
	KE_STATS(KE_STAT_LOG)
#undef KE_STAT_LOG
}

bool stats_write(const char *path, const uint64_t v[SERVE_STAT_COUNT], const struct ke_stats *ke)
{
	char tmp[4200];
	FILE *f;
	bool ok = true;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return false;
	f = fopen(tmp, "we");
	if (!f)
		return false;
	for (size_t i = 0; i < SERVE_STAT_COUNT; i++)
		if (fprintf(f, "%s %" PRIu64 " %c\n", serve_stat_name((enum serve_stat)i), v[i],
		            serve_stat_kind((enum serve_stat)i)) < 0)
			ok = false;
	if (ke) {
#define KE_STAT_WRITE(name, field, text) \
	if (fprintf(f, "%s %" PRIu64 " K\n", name, ke->field) < 0) \
		ok = false;
		KE_STATS(KE_STAT_WRITE)
#undef KE_STAT_WRITE
	}
	if (fclose(f) != 0)
		ok = false;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return false;
	}
	return true;
}
