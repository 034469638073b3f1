/* The daemon's main context: loads the configuration, keys and restrict
 * rules, starts the server, and runs the main loop (signals, reloads,
 * system variables). The only place with process-wide state. */
#ifndef NTSD_NTSD_DAEMON_H
#define NTSD_NTSD_DAEMON_H

#include <stdbool.h>

struct daemon_opts {
	const char *conf_path;  /* -c; default /etc/ntp.conf */
	bool embedded;          /* --embedded: built-in LAN time source config */
	const char *statedir;   /* --statedir; generated keys live here */
	bool foreground;        /* -n */
	int debug;              /* -d count */
	int port;               /* -P; -1: from the configuration */
	const char *pidfile;    /* -p; NULL: from the configuration */
	unsigned workers;       /* -w; 0: one per CPU */
	const char *stats_file; /* --stats-file: counters written on SIGUSR1 and exit */
	bool no_clock;          /* -x: never touch the system clock */
	bool allow_first_step;  /* -g */
	unsigned nts_check_s;   /* --nts-check; 0: NTS_CHECK_S */
	const char *user;       /* -u: drop root to this user after binding */
	int seccomp;            /* -F: enum sandbox_mode */
};

/* --check: validates the configuration, key file and setup; prints every
 * problem and risky setting. Returns the exit status (0 ok, 1 errors). */
int daemon_check(const struct daemon_opts *o);
/* Runs until SIGTERM/SIGINT. Returns the exit status. */
int daemon_run(const struct daemon_opts *o);

#endif
