#include "config.h"
#include "ntsd/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

/* The level is read without the lock on every debug call site; it only
 * changes at startup and on reload. */
enum log_level log_threshold_ = LOG_LVL_INFO;

static struct {
	pthread_mutex_t lock;
	const char *ident;
	enum log_dest dest;
	FILE *file;
	char path[4096];
} lg = { .lock = PTHREAD_MUTEX_INITIALIZER, .ident = "ntsd", .dest = LOG_TO_STDERR };

static const char *const level_names[] = { "error", "warning", "info", "debug" };
static const int level_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void log_init(const char *ident)
{
	lg.ident = ident;
}

void log_set_level(enum log_level level)
{
	log_threshold_ = level;
}

bool log_set_dest(enum log_dest dest, const char *path)
{
	FILE *f = NULL;

	if (dest == LOG_TO_FILE) {
		f = fopen(path, "ae");
		if (!f)
			return false;
		setvbuf(f, NULL, _IOLBF, 0);
	}
	pthread_mutex_lock(&lg.lock);
	if (lg.file)
		fclose(lg.file);
	if (lg.dest == LOG_TO_SYSLOG && dest != LOG_TO_SYSLOG)
		closelog();
	if (dest == LOG_TO_SYSLOG && lg.dest != LOG_TO_SYSLOG)
		openlog(lg.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	lg.file = f;
	lg.dest = dest;
	if (dest == LOG_TO_FILE)
		snprintf(lg.path, sizeof(lg.path), "%s", path);
	pthread_mutex_unlock(&lg.lock);
	return true;
}

void log_reopen(void)
{
	if (lg.dest == LOG_TO_FILE) {
		char path[sizeof(lg.path)];
		memcpy(path, lg.path, sizeof(path));
		if (!log_set_dest(LOG_TO_FILE, path))
			log_err("Cannot reopen log file %s: %s", path, strerror(errno));
	}
}

void log_close(void)
{
	pthread_mutex_lock(&lg.lock);
	if (lg.file)
		fclose(lg.file);
	lg.file = NULL;
	if (lg.dest == LOG_TO_SYSLOG)
		closelog();
	lg.dest = LOG_TO_STDERR;
	pthread_mutex_unlock(&lg.lock);
}

static void vlog(enum log_level level, bool tagged, const char *fmt, va_list ap)
{
	char msg[1024];
	char stamp[32] = "";
	struct timespec ts;
	struct tm tm;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	pthread_mutex_lock(&lg.lock);
	switch (lg.dest) {
	case LOG_TO_SYSLOG:
		syslog(level_prio[level], "%s", msg);
		break;
	case LOG_TO_FILE:
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (tagged)
			fprintf(lg.file, "%s %s[%s]: %s\n", stamp, lg.ident, level_names[level], msg);
		else
			fprintf(lg.file, "%s %s: %s\n", stamp, lg.ident, msg);
		break;
	case LOG_TO_STDERR:
	default:
		if (level == LOG_LVL_INFO || !tagged)
			fprintf(stderr, "%s: %s\n", lg.ident, msg);
		else
			fprintf(stderr, "%s: %s: %s\n", lg.ident, level_names[level], msg);
		break;
	}
	pthread_mutex_unlock(&lg.lock);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_threshold_)
		return;
	va_start(ap, fmt);
	vlog(level, true, fmt, ap);
	va_end(ap);
}

void log_diag(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_threshold_)
		return;
	va_start(ap, fmt);
	vlog(level, false, fmt, ap);
	va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, true, fmt, ap);
	va_end(ap);
	exit(1);
}
