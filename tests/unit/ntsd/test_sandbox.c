/* Per-thread sandbox (ntsd/sandbox.h): in forked children, each role's
 * filter refuses what the role never does (EPERM in errno mode, SIGSYS
 * in kill mode) and allows what it does; capabilities shrink per thread;
 * the process becomes non-dumpable; threads are named. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ntsd/privdrop.h"
#include "ntsd/sandbox.h"
#include "tap.h"

/* Runs fn in a child that first installs the process filter in mode and
 * then enters role in a new thread (as ntsd's threads do) and runs fn
 * there. Returns the child's wait status; fn's result is the exit code. */
struct job {
	enum sandbox_role role;
	int (*fn)(void);
	int result;
};

static void *thread_main(void *arg)
{
	struct job *j = arg;
	j->result = sandbox_thread(j->role) ? j->fn() : 100;
	return NULL;
}

static int run(enum sandbox_mode mode, enum sandbox_role role, int (*fn)(void))
{
	pid_t pid = fork();
	int st = 0;

	if (pid == 0) {
		char err[128];
		struct job j = { role, fn, 0 };
		pthread_t t;
		if (!sandbox_init(mode, false, err, sizeof(err)))
			_exit(101);
		if (role == SANDBOX_MAIN) {
			_exit(fn());
		}
		if (pthread_create(&t, NULL, thread_main, &j) != 0 || pthread_join(t, NULL) != 0)
			_exit(102);
		_exit(j.result);
	}
	waitpid(pid, &st, 0);
	return st;
}

static bool exited(int st, int code)
{
	return WIFEXITED(st) && WEXITSTATUS(st) == code;
}

static bool sigsys(int st)
{
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS;
}

/* 0: the call failed with EPERM; 1: it succeeded; 2: another error. */
static int verdict(long r)
{
	return r >= 0 ? 1 : errno == EPERM ? 0 : 2;
}

static int open_read(void)
{
	int fd = open("/proc/self/stat", O_RDONLY);
	if (fd >= 0)
		close(fd);
	return verdict(fd);
}

static int open_write(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/ntsd-sandbox-%d", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	return verdict(fd);
}

static int make_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd >= 0)
		close(fd);
	return verdict(fd);
}

static int packet_socket(void)
{
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd >= 0)
		close(fd);
	return verdict(fd);
}

static int do_fork(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	if (p > 0)
		waitpid(p, NULL, 0);
	return verdict(p);
}

static int do_exec(void)
{
	char *argv[] = { "/bin/true", NULL };
	execv("/bin/true", argv);
	return verdict(-1);
}

static int time_and_pid(void)
{
	struct timespec ts;
	return clock_gettime(CLOCK_REALTIME, &ts) == 0 && getpid() > 0 ? 1 : 2;
}

static int io_on_socketpair(void)
{
	char b = 'x';

	/* On the pair main() made (fds 3 and 4) before any filter. */
	return verdict(send(3, &b, 1, 0)) == 1 && verdict(recv(4, &b, 1, 0)) == 1 ? 1 : 2;
}

/* adjtimex with no modes only reads the kernel's clock state, so even if
 * the filter let it through, the real clock is never changed. */
static int read_clock_state(void)
{
	struct timex tx;

	memset(&tx, 0, sizeof(tx));
	return verdict(adjtimex(&tx));
}

static int caps_none(void)
{
	return privdrop_thread_caps() == 0 ? 1 : 2;
}

static int caps_time_only(void)
{
	return (privdrop_thread_caps() & ~(1ULL << CAP_SYS_TIME)) == 0 ? 1 : 2;
}

static int not_dumpable(void)
{
	return prctl(PR_GET_DUMPABLE, 0UL, 0UL, 0UL, 0UL) == 0 ? 1 : 2;
}

static int named_sources(void)
{
	char name[16] = "";
	pthread_getname_np(pthread_self(), name, sizeof(name));
	return !strcmp(name, "ntsd-sources") ? 1 : 2;
}

int main(void)
{
	int sv[2];

	/* fds 3 and 4 for io_on_socketpair */
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0 || sv[0] != 3 || sv[1] != 4) {
		tap_ok(false, "socketpair on fds 3 and 4");
		return tap_done();
	}
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_NTP, time_and_pid), 1),
	       "ntp: clock and getpid are allowed");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_NTP, io_on_socketpair), 1),
	       "ntp: send and recv on its sockets are allowed");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_NTP, open_read), 0), "ntp: open is refused (EPERM)");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_NTP, make_socket), 0), "ntp: socket is refused");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_NTP, do_fork), 0), "ntp: fork is refused");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_NTP, do_exec), 0), "ntp: execve is refused");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_NTP, caps_none), 1), "ntp: no capabilities left");
	int st = run(SANDBOX_KILL, SANDBOX_NTP, open_read);
	tap_ok(sigsys(st), "kill mode: open in an NTP worker kills the process with SIGSYS (status %#x)", st);
	tap_ok(exited(run(SANDBOX_KILL, SANDBOX_NTP, time_and_pid), 1),
	       "kill mode: allowed calls still work");

	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_KE, open_read), 1), "ke: read-only open is allowed (TLS)");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_KE, open_write), 0), "ke: open for writing is refused");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_KE, make_socket), 0), "ke: socket is refused");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_KE, caps_none), 1), "ke: no capabilities left");

	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_HELPER, make_socket), 1), "helper: an INET socket is allowed");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_HELPER, packet_socket), 0),
	       "helper: an AF_PACKET socket is refused");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_HELPER, open_write), 0), "helper: open for writing is refused");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_HELPER, read_clock_state), 0),
	       "helper: adjtimex (the clock calls) is refused");

	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_SOURCES, open_write), 1),
	       "sources: writing files is allowed (drift file)");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_SOURCES, do_fork), 0), "sources: fork is refused");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_SOURCES, read_clock_state), 1),
	       "sources: adjtimex is allowed (reading here; it disciplines the clock)");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_SOURCES, named_sources), 1),
	       "sources: the thread is named ntsd-sources");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_SOURCES, caps_time_only), 1),
	       "sources: at most CAP_SYS_TIME is kept");

	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_MAIN, do_exec), 0), "main: execve is refused");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_MAIN, do_fork), 0), "main: fork is refused");
	tap_ok(exited(run(SANDBOX_ERRNO, SANDBOX_MAIN, not_dumpable), 1), "main: the process is not dumpable");
	tap_ok(exited(run(SANDBOX_OFF, SANDBOX_NTP, open_read), 1), "off: no filter");

	enum sandbox_mode m;
	tap_ok(sandbox_mode_parse("kill", &m) && m == SANDBOX_KILL && !sandbox_mode_parse("on", &m) &&
	           !strcmp(sandbox_mode_name(SANDBOX_ERRNO), "errno"),
	       "mode names");
	return tap_done();
}
