/* Dropping root after the privileged ports are bound (`ntsd -u USER`):
 * switch to USER and its primary group with no supplementary groups,
 * keep only CAP_NET_BIND_SERVICE and, when ntsd disciplines the clock,
 * CAP_SYS_TIME, and set no_new_privs. Linux only; no libcap. */
#ifndef NTSD_NTSD_PRIVDROP_H
#define NTSD_NTSD_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>

#define PRIVDROP_MAX_FILES 8

struct privdrop_opts {
	const char *user;        /* name, or a numeric uid that has a passwd entry */
	bool keep_sys_time;      /* keep CAP_SYS_TIME (the clock is disciplined) */
	const char *statedir;    /* NULL: none. Created 0700 if missing; it and the
	                          * regular files directly in it are given to USER */
	const char *files[PRIVDROP_MAX_FILES]; /* NULL or "": skipped. Each that
	                          * exists as a regular file is given to USER
	                          * (pid file, log file, drift, stats, ...) */
};

/* Capabilities kept, as a bit mask over capability numbers. */
unsigned long long privdrop_kept_caps(bool keep_sys_time);

/* Drops privileges for the whole process. Call while the process has one
 * thread: capabilities, the bounding set and no_new_privs are per thread
 * and threads created later inherit them. Already running as USER (e.g.
 * systemd's User=): only trims the capabilities. Returns false with an
 * error in msg (unknown user, not root, a failed step); true with a
 * one-line summary in msg. Never logs. */
bool privdrop_apply(const struct privdrop_opts *o, char *msg, size_t msglen);

/* Keeps only the capabilities in keep (a mask over capability numbers) in
 * the calling thread's permitted and effective sets; other threads keep
 * theirs. Call at a thread's start, before it reads untrusted input. */
bool privdrop_thread(unsigned long long keep);
/* The calling thread's permitted capabilities (a mask). */
unsigned long long privdrop_thread_caps(void);

#endif
