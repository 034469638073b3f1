#include "config.h"

#include "ntsd/privdrop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* CAP_NET_BIND_SERVICE is kept although every privileged socket is bound
 * before the drop: the NTS-KE listener is opened after it (any `nts port`,
 * even below 1024, still works), and a future reload that re-binds changed
 * `interface` addresses needs it. It allows binding low ports and nothing
 * else. CAP_SYS_TIME only when ntsd may adjust the clock (not -x, not
 * `disable ntp`). */
unsigned long long privdrop_kept_caps(bool keep_sys_time)
{
	unsigned long long m = 1ULL << CAP_NET_BIND_SERVICE;

	if (keep_sys_time)
		m |= 1ULL << CAP_SYS_TIME;
	return m;
}

/* The raw system calls: glibc has no wrapper and libcap would be a
 * runtime dependency for two calls. Version 3 covers 64 capabilities. */
static bool set_caps(unsigned long long keep)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = (uint32_t)keep;
	d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
	return syscall(SYS_capset, &h, d) == 0;
}

/* The permitted set now, to keep only what the process actually has. */
static unsigned long long get_permitted(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0)
		return 0;
	return (unsigned long long)d[0].permitted | ((unsigned long long)d[1].permitted << 32);
}

bool privdrop_thread(unsigned long long keep)
{
	/* capset with pid 0 changes the calling thread only (capabilities are
	 * per thread); permitted can only shrink. */
	return set_caps(get_permitted() & keep);
}

unsigned long long privdrop_thread_caps(void)
{
	return get_permitted();
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &n) != 1 || n < 0 || n > 63)
			n = CAP_LAST_CAP;
		fclose(f);
	}
	return n;
}

/* The bounding set caps what any later execve could regain; dropping
 * needs CAP_SETPCAP, so only root does it. */
static bool drop_bounding(unsigned long long keep, char *msg, size_t msglen)
{
	int last = last_cap();

	for (int c = 0; c <= last; c++) {
		if (keep & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0UL, 0UL, 0UL) != 0 && errno != EINVAL) {
			snprintf(msg, msglen, "-u: cannot drop capability %d from the bounding set: %s", c,
			         strerror(errno));
			return false;
		}
	}
	return true;
}

static bool lookup(const char *user, uid_t *uid, gid_t *gid, char *msg, size_t msglen)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int e = getpwnam_r(user, &pw, buf, sizeof(buf), &res);

	if (!res && e == 0) {
		char *end;
		errno = 0;
		unsigned long n = strtoul(user, &end, 10);
		if (*user && !*end && errno == 0 && n < (unsigned long)(uid_t)-1)
			e = getpwuid_r((uid_t)n, &pw, buf, sizeof(buf), &res);
	}
	if (!res) {
		if (e)
			snprintf(msg, msglen, "-u %s: cannot look up the user: %s", user, strerror(e));
		else
			snprintf(msg, msglen, "-u %s: no such user (create it, e.g. `useradd --system "
			         "--home-dir /var/lib/ntsd --shell /usr/sbin/nologin %s`)", user, user);
		return false;
	}
	if (pw.pw_uid == 0) {
		snprintf(msg, msglen, "-u %s: user has uid 0; name an unprivileged user", user);
		return false;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return true;
}

static bool give(int dirfd, const char *path, uid_t uid, gid_t gid, char *msg, size_t msglen)
{
	struct stat st;

	if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return true;
		snprintf(msg, msglen, "-u: cannot stat %s: %s", path, strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode) || (st.st_uid == uid && st.st_gid == gid))
		return true;
	if (fchownat(dirfd, path, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
		snprintf(msg, msglen, "-u: cannot give %s to uid %ld: %s", path, (long)uid, strerror(errno));
		return false;
	}
	return true;
}

/* Like systemd's StateDirectory=: the directory and what ntsd keeps in it
 * (generated keys, NTS master keys and their lock, drift, stats) belong to
 * the user, so that atomic rewrites (temporary file + rename) work. Not
 * recursive, never through a symbolic link. */
static bool prepare_statedir(const char *dir, uid_t uid, gid_t gid, char *msg, size_t msglen)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(msg, msglen, "-u: cannot create state directory %s: %s", dir, strerror(errno));
		return false;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, uid, gid) != 0) {
		snprintf(msg, msglen, "-u: cannot give state directory %s to uid %ld: %s", dir, (long)uid,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	DIR *dp = fdopendir(fd);
	if (!dp) {
		snprintf(msg, msglen, "-u: cannot read state directory %s: %s", dir, strerror(errno));
		close(fd);
		return false;
	}
	bool ok = true;
	struct dirent *de;
	while (ok && (de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			ok = give(fd, de->d_name, uid, gid, msg, msglen);
	closedir(dp);
	return ok;
}

static void describe(char *msg, size_t msglen, const char *user, uid_t uid, gid_t gid,
                     unsigned long long keep)
{
	bool bind = keep & (1ULL << CAP_NET_BIND_SERVICE), tm = keep & (1ULL << CAP_SYS_TIME);

	snprintf(msg, msglen, "Running as user %s (uid %ld, gid %ld) with %s%s%s", user, (long)uid,
	         (long)gid, bind ? "CAP_NET_BIND_SERVICE" : "", bind && tm ? " and " : "",
	         tm ? "CAP_SYS_TIME" : (bind ? "" : "no capabilities"));
}

bool privdrop_apply(const struct privdrop_opts *o, char *msg, size_t msglen)
{
	unsigned long long keep = privdrop_kept_caps(o->keep_sys_time);
	uid_t uid, ruid, euid, suid;
	gid_t gid, rgid, egid, sgid;

	if (!o->user || !*o->user) {
		snprintf(msg, msglen, "-u: empty user name");
		return false;
	}
	if (!lookup(o->user, &uid, &gid, msg, msglen))
		return false;
	if (getuid() == uid && geteuid() == uid) {
		/* Started as the user (systemd User= with AmbientCapabilities):
		 * nothing to switch, only capabilities to give up. */
		keep &= get_permitted();
		if (!set_caps(keep)) {
			snprintf(msg, msglen, "-u %s: capset: %s", o->user, strerror(errno));
			return false;
		}
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL);
		prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL);
		describe(msg, msglen, o->user, uid, getgid(), keep);
		return true;
	}
	if (geteuid() != 0) {
		snprintf(msg, msglen, "-u %s: switching user needs root (running as uid %ld); start ntsd "
		         "as root, or as %s without -u", o->user, (long)geteuid(), o->user);
		return false;
	}
	if (o->statedir && *o->statedir && !prepare_statedir(o->statedir, uid, gid, msg, msglen))
		return false;
	for (size_t i = 0; i < PRIVDROP_MAX_FILES; i++)
		if (o->files[i] && *o->files[i] && !give(AT_FDCWD, o->files[i], uid, gid, msg, msglen))
			return false;

	if (!drop_bounding(keep, msg, msglen))
		return false;
	/* Keep the permitted set across the uid change (it would be cleared),
	 * then narrow it to what is kept and make it effective. */
	if (prctl(PR_SET_KEEPCAPS, 1UL, 0UL, 0UL, 0UL) != 0 || setgroups(0, NULL) != 0 ||
	    setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
		snprintf(msg, msglen, "-u %s: cannot switch to uid %ld gid %ld: %s", o->user, (long)uid,
		         (long)gid, strerror(errno));
		return false;
	}
	if (!set_caps(keep)) {
		snprintf(msg, msglen, "-u %s: capset: %s", o->user, strerror(errno));
		return false;
	}
	prctl(PR_SET_KEEPCAPS, 0UL, 0UL, 0UL, 0UL);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) != 0) {
		snprintf(msg, msglen, "-u %s: cannot set no_new_privs: %s", o->user, strerror(errno));
		return false;
	}
	/* Belt and braces: the switch must be irreversible. */
	if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0 ||
	    ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid || sgid != gid ||
	    setuid(0) == 0) {
		snprintf(msg, msglen, "-u %s: the switch to uid %ld did not take", o->user, (long)uid);
		return false;
	}
	describe(msg, msglen, o->user, uid, gid, keep);
	return true;
}
