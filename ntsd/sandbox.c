#include "config.h"
#include "ntsd/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "ntsd/privdrop.h"

/* Set once by sandbox_init, in the main thread before any other thread
 * exists, and only read afterwards. */
static enum sandbox_mode mode_set = SANDBOX_OFF;

/* Every thread: memory, time, futexes, signals masks, exit, logging (to
 * stderr, a file or syslog's connected socket), reading its own fds. */
static const char *const common[] = {
	"read", "write", "writev", "readv", "close", "lseek", "pread64", "fstat", "newfstatat",
	"statx", "brk", "mmap", "munmap", "mprotect", "madvise", "mremap", "mlock", "mlock2",
	"munlock", "futex", "get_robust_list", "set_robust_list", "rseq", "getpid", "gettid",
	"getuid", "geteuid", "getgid", "getegid", "getrandom", "clock_gettime", "clock_getres",
	"gettimeofday", "time", "clock_nanosleep", "nanosleep", "rt_sigprocmask", "rt_sigreturn",
	"rt_sigaction", "tgkill", "sched_yield", "sched_getaffinity", "exit", "exit_group",
	"restart_syscall", "sysinfo", "uname", "getrusage", "fcntl", "send", "sendto",
	NULL,
};
/* Datagram and stream I/O on sockets opened for the thread. */
static const char *const net_io[] = {
	"recvmmsg", "recvmsg", "recvfrom", "sendmmsg", "sendmsg", "poll", "ppoll", "select",
	"pselect6", "epoll_wait", "epoll_pwait", "epoll_ctl", NULL,
};
static const char *const ke[] = {
	"accept", "accept4", "shutdown", "setsockopt", "getsockopt", "getsockname", "getpeername",
	"eventfd2", NULL,
};
/* Name lookups (glibc's resolver, nsswitch files, netlink for
 * AI_ADDRCONFIG) and TLS client connections. */
static const char *const helper[] = {
	"connect", "bind", "setsockopt", "getsockopt", "getsockname", "getpeername", "shutdown",
	"epoll_create1", "pipe2", "eventfd2", "socketpair", NULL,
};
/* Threads, files (drift file, atomic writes), the clock. */
static const char *const sources[] = {
	"rename", "renameat", "renameat2", "unlink", "unlinkat", "fsync", "fdatasync", "ftruncate",
	"fchmod", "fchown", "linkat", "clock_adjtime", "adjtimex", "clock_settime",
	"settimeofday", "set_tid_address", "sched_setaffinity", "capget", "capset", "seccomp", NULL,
};
/* What only the main thread does after start-up: signals, reloads, the
 * master key file lock, listening sockets (NTS-KE, metrics). */
static const char *const main_only[] = {
	"listen", "rt_sigtimedwait", "rt_sigsuspend", "kill", "tkill", "flock", "getdents64",
	"chdir", "umask", "fchmodat", "fchownat", "mkdir", "mkdirat", "dup", "dup2", "dup3",
	"prlimit64", "getrlimit", "setrlimit", "access", "faccessat", "faccessat2", "readlink",
	"readlinkat", "statfs", "fstatfs", "getcwd", "sigaltstack", "membarrier", "ioctl",
	"epoll_create", "wait4", NULL,
};

static bool add_list(scmp_filter_ctx ctx, const char *const *names)
{
	for (; *names; names++) {
		int nr = seccomp_syscall_resolve_name(*names);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0)
			return false;
	}
	return true;
}

/* open/openat for reading only (no create, truncate, write, append). */
static bool add_open_readonly(scmp_filter_ctx ctx)
{
	const scmp_datum_t m = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | O_TMPFILE;

	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
	                        SCMP_A2(SCMP_CMP_MASKED_EQ, m, O_RDONLY)) == 0;
}

static bool add_open_any(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 0) == 0;
}

/* Sockets of the families ntsd and glibc's resolver use. */
static bool add_socket(scmp_filter_ctx ctx)
{
	static const int fam[] = { AF_INET, AF_INET6, AF_UNIX, AF_NETLINK };

	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		                     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fam[i])) != 0)
			return false;
	return true;
}

/* Threads only: clone with CLONE_THREAD (no fork); clone3 passes its flags
 * in memory a filter cannot read, so it fails with ENOSYS and glibc falls
 * back to clone. */
static bool add_threads(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	                        SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) == 0;
}

static bool add_ioctl_basic(scmp_filter_ctx ctx)
{
	static const unsigned long req[] = { FIONREAD, FIONBIO, TCGETS };

	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		                     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)req[i])) != 0)
			return false;
	return true;
}

static bool add_prctl_name(scmp_filter_ctx ctx)
{
	static const int ops[] = { PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE };

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
		                     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)ops[i])) != 0)
			return false;
	return true;
}

static bool build(scmp_filter_ctx ctx, enum sandbox_role role)
{
	bool ok = add_list(ctx, common) && add_list(ctx, net_io) &&
	          seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) == 0;

	switch (role) {
	case SANDBOX_NTP:
		return ok;
	case SANDBOX_KE:
		return ok && add_list(ctx, ke) && add_open_readonly(ctx);
	case SANDBOX_HELPER:
		return ok && add_list(ctx, helper) && add_socket(ctx) && add_open_readonly(ctx) &&
		       add_ioctl_basic(ctx);
	case SANDBOX_SOURCES:
		return ok && add_list(ctx, helper) && add_list(ctx, sources) && add_socket(ctx) &&
		       add_open_any(ctx) && add_threads(ctx) && add_ioctl_basic(ctx) && add_prctl_name(ctx);
	case SANDBOX_MAIN:
		/* ioctl is in main_only without argument checks. */
		return ok && add_list(ctx, ke) && add_list(ctx, helper) && add_list(ctx, sources) &&
		       add_list(ctx, main_only) && add_socket(ctx) && add_open_any(ctx) &&
		       add_threads(ctx) && add_prctl_name(ctx);
	}
	return false;
}

static bool install(enum sandbox_role role)
{
	uint32_t deny = mode_set == SANDBOX_KILL ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ERRNO(EPERM);
	scmp_filter_ctx ctx = seccomp_init(deny);
	/* no_new_privs is set once by sandbox_init; libseccomp would set it
	 * again with a prctl the filters do not allow. */
	bool ok = ctx && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) == 0 && build(ctx, role) &&
	          seccomp_load(ctx) == 0;

	seccomp_release(ctx);
	return ok;
}

static const char *const role_names[] = {
	[SANDBOX_MAIN] = "ntsd", [SANDBOX_NTP] = "ntsd-ntp", [SANDBOX_KE] = "ntsd-ke",
	[SANDBOX_SOURCES] = "ntsd-sources", [SANDBOX_HELPER] = "ntsd-helper",
};

const char *sandbox_mode_name(enum sandbox_mode m)
{
	return m == SANDBOX_KILL ? "kill" : m == SANDBOX_ERRNO ? "errno" : "off";
}

bool sandbox_mode_parse(const char *s, enum sandbox_mode *m)
{
	for (int i = SANDBOX_OFF; i <= SANDBOX_KILL; i++)
		if (!strcmp(s, sandbox_mode_name((enum sandbox_mode)i))) {
			*m = (enum sandbox_mode)i;
			return true;
		}
	return false;
}

enum sandbox_mode sandbox_mode(void)
{
	return mode_set;
}

bool sandbox_init(enum sandbox_mode mode, bool dumpable, char *err, size_t errlen)
{
	mode_set = mode;
	if (!dumpable && prctl(PR_SET_DUMPABLE, 0UL, 0UL, 0UL, 0UL) != 0) {
		snprintf(err, errlen, "PR_SET_DUMPABLE: %s", strerror(errno));
		return false;
	}
	if (mode == SANDBOX_OFF)
		return true;
	/* Without no_new_privs (ntsd -u sets it) an unprivileged process may
	 * not install a filter; root may, and a filter only takes away. */
	prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL);
	if (!install(SANDBOX_MAIN)) {
		snprintf(err, errlen, "cannot install the seccomp filter: %s", strerror(errno));
		return false;
	}
	return true;
}

bool sandbox_thread(enum sandbox_role role)
{
	unsigned long long keep = role == SANDBOX_SOURCES ? 1ULL << CAP_SYS_TIME : 0;

	pthread_setname_np(pthread_self(), role_names[role]);
	if (role != SANDBOX_MAIN && !privdrop_thread(keep))
		return false;
	return mode_set == SANDBOX_OFF || role == SANDBOX_MAIN || install(role);
}

bool sandbox_main_done(void)
{
	unsigned long long drop = 1ULL << CAP_SYS_TIME | 1ULL << CAP_NET_BIND_SERVICE;

	return privdrop_thread(privdrop_thread_caps() & ~drop);
}
