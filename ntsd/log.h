/* The one logging module. Foreground: stderr; daemon: syslog; or the
 * `logfile` directive. Debug messages cost one branch when disabled.
 * Never log a key, cookie, nonce or MAC: key ids only. Thread-safe. */
#ifndef NTSD_NTSD_LOG_H
#define NTSD_NTSD_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

enum log_dest { LOG_TO_STDERR, LOG_TO_SYSLOG, LOG_TO_FILE };

/* ident: program name ("ntsd"). Starts on stderr at info level. */
void log_init(const char *ident);
void log_set_level(enum log_level level);
/* Switches destination; path is used for LOG_TO_FILE. Returns false (and
 * keeps the old destination) if the file cannot be opened. */
bool log_set_dest(enum log_dest dest, const char *path);
/* Reopens the log file (SIGHUP, logrotate). */
void log_reopen(void);
void log_close(void);

extern enum log_level log_threshold_;
#define log_debug_enabled() (log_threshold_ >= LOG_LVL_DEBUG)

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { \
		if (log_debug_enabled()) \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)
/* Like log_msg for text that already names its severity, such as a
 * configuration diagnostic "FILE:LINE: error: ...": no level word added. */
void log_diag(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs at error level and exits with status 1. Startup only. */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
