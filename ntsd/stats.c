#include "config.h"
#include "ntsd/stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "ntsd/log.h"

void stats_log(const uint64_t v[SERVE_STAT_COUNT])
{
	for (size_t i = 0; i < SERVE_STAT_COUNT; i++)
		if (v[i])
			log_info("Counter %s %" PRIu64 " (%s)", serve_stat_name((enum serve_stat)i), v[i],
			         serve_stat_text((enum serve_stat)i));
}

bool stats_write(const char *path, const uint64_t v[SERVE_STAT_COUNT])
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
	if (fclose(f) != 0)
		ok = false;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return false;
	}
	return true;
}
