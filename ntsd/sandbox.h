/* Per-thread isolation after start-up: each thread names itself, keeps
 * only the capabilities its role needs, and narrows the system calls it
 * may make with a seccomp filter (libseccomp), stacked on the process-wide
 * one the main thread installs before any other thread exists.
 *
 *   role      name           capabilities      system calls (besides memory,
 *                                              time, futex, exit, logging)
 *   main      ntsd           none of SYS_TIME,  everything ntsd does: files,
 *                            NET_BIND after     signals, threads, sockets
 *                            start-up
 *   ntp       ntsd-ntp       none              recvmmsg/sendmmsg, poll
 *   ke        ntsd-ke        none              accept, epoll, read/write,
 *                                              read-only open (TLS)
 *   sources   ntsd-sources   SYS_TIME only     sockets, threads, files, the
 *                                              clock (adjtimex, settime)
 *   helper    ntsd-helper    none              sockets, name lookups, TLS,
 *                                              read-only open
 *
 * A call outside the filter fails with EPERM (mode errno, the default) or
 * kills the process (mode kill). */
#ifndef NTSD_NTSD_SANDBOX_H
#define NTSD_NTSD_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

enum sandbox_mode { SANDBOX_OFF, SANDBOX_ERRNO, SANDBOX_KILL };
enum sandbox_role { SANDBOX_MAIN, SANDBOX_NTP, SANDBOX_KE, SANDBOX_SOURCES, SANDBOX_HELPER };

/* "off", "errno", "kill"; and back (false for anything else). */
const char *sandbox_mode_name(enum sandbox_mode m);
bool sandbox_mode_parse(const char *s, enum sandbox_mode *m);

/* In the main thread, after the privilege drop and before any other
 * thread exists: makes the process non-dumpable (unless dumpable), and
 * installs the process-wide filter. The mode is set once here and read
 * by sandbox_thread. False with err set when the kernel refuses. */
bool sandbox_init(enum sandbox_mode mode, bool dumpable, char *err, size_t errlen);
/* At the start of a thread of the given role: names it, drops the
 * capabilities the role does not keep, installs the role's filter. False
 * when a step failed (the thread should not go on to read input). */
bool sandbox_thread(enum sandbox_role role);
/* In the main thread once every thread is started: gives up CAP_SYS_TIME
 * (only the sources thread adjusts the clock) and CAP_NET_BIND_SERVICE. */
bool sandbox_main_done(void);
/* The mode sandbox_init set (SANDBOX_OFF before). */
enum sandbox_mode sandbox_mode(void);

#endif
