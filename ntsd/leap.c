#include "config.h"
#include "ntsd/leap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ntsd/log.h"
#include "protocol/clock.h"
#include "protocol/ntp_packet.h"

#define CHECK_S 60

static void date_text(uint64_t ntp_s, char *out, size_t outlen)
{
	time_t t = (time_t)(ntp_s - NTP_UNIX_OFFSET);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, outlen, "%Y-%m-%d", &tm))
		snprintf(out, outlen, "?");
}

static bool read_file(struct leap *l, bool quiet_same)
{
	struct leapfile lf;
	struct leapfile_diag d;
	struct stat st;
	char exp[32];

	if (stat(l->path, &st) != 0) {
		log_err("Leap second file %s: %s", l->path, strerror(errno));
		return false;
	}
	if (quiet_same && l->loaded && st.st_mtim.tv_sec == l->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == l->mtime.tv_nsec)
		return true;
	if (!leapfile_load(l->path, &lf, &d)) {
		if (d.line)
			log_diag(LOG_LVL_ERR, "%s:%u: error: %s", l->path, d.line, d.msg);
		else
			log_diag(LOG_LVL_ERR, "%s: error: %s", l->path, d.msg);
		if (l->loaded)
			log_warn("Leap second file %s: keeping the table read before", l->path);
		return false;
	}
	l->lf = lf;
	l->mtime = st.st_mtim;
	l->loaded = true;
	l->warned = 0;
	date_text(lf.expires, exp, sizeof(exp));
	log_info("Leap second file %s: %zu entries, TAI-UTC %d s, valid until %s", l->path, lf.n,
	         leapfile_tai_offset(&lf, clock_ntp_now() >> 32), exp);
	return true;
}

static void warn_expiry(struct leap *l, time_t now, bool always)
{
	int64_t left = leapfile_expires_in(&l->lf, clock_ntp_now() >> 32);
	char exp[32];

	if (left > (int64_t)LEAP_WARN_DAYS * 86400)
		return;
	if (!always && l->warned && now - l->warned < 86400)
		return;
	l->warned = now;
	date_text(l->lf.expires, exp, sizeof(exp));
	if (left < 0)
		log_warn("Leap second file %s expired on %s: leap seconds after it are unknown (the "
		         "sources decide); install a current one (Debian: the tzdata package)",
		         l->path, exp);
	else
		log_warn("Leap second file %s expires on %s, in %lld days: install a current one "
		         "(Debian: the tzdata package)",
		         l->path, exp, (long long)(left / 86400));
}

bool leap_open(struct leap *l, const char *path, bool check)
{
	memset(l, 0, sizeof(*l));
	if (!path || !*path)
		return true;
	snprintf(l->path, sizeof(l->path), "%s", path);
	l->checked = time(NULL);
	if (!read_file(l, false))
		return false;
	warn_expiry(l, l->checked, check);
	return true;
}

void leap_tick(struct leap *l, time_t now, bool force)
{
	if (!l->path[0])
		return;
	if (force || now - l->checked >= CHECK_S || now < l->checked) {
		l->checked = now;
		read_file(l, !force);
	}
	if (l->loaded)
		warn_expiry(l, now, false);
}

int leap_indicator(const struct leap *l, uint64_t now_ntp_s)
{
	if (!l->loaded || leapfile_expires_in(&l->lf, now_ntp_s) < 0)
		return -1;
	switch (leapfile_pending(&l->lf, now_ntp_s, NULL)) {
	case 1:
		return NTP_LEAP_ADD;
	case -1:
		return NTP_LEAP_DEL;
	default:
		return NTP_LEAP_NONE;
	}
}
