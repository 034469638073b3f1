/* privdrop: the kept capability set, every error, and (as root) a real
 * drop in a forked child: uid/gid, no supplementary groups, exactly the
 * documented capabilities in the permitted, effective and bounding sets
 * (CAP_SYS_TIME included when asked: the child never touches the clock),
 * no_new_privs, no way back to root, and the state directory given to the
 * user without following symbolic links. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ntsd/privdrop.h"
#include "tap.h"

/* What the child saw after the drop, sent to the parent through a pipe. */
struct report {
	bool ok;
	char msg[256];
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	int ngroups;
	unsigned long long eff, prm, inh;
	bool bnd_net_bind, bnd_sys_time, bnd_sys_admin, bnd_setuid;
	int nnp;
	bool setuid0_failed;
};

static bool pre_switch; /* child becomes the user before privdrop_apply */

static void child(int fd, const struct privdrop_opts *o)
{
	struct report r;
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	memset(&r, 0, sizeof(r));
	if (geteuid() == 0) {
		/* Supplementary groups that the drop must clear. */
		const gid_t extra[] = { 4, 5 };
		setgroups(2, extra);
	}
	if (pre_switch) {
		/* As systemd's User= would start ntsd: already the user. */
		struct passwd *pw = getpwnam(o->user);
		if (!pw || setgroups(0, NULL) != 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
			_exit(3);
	}
	r.ok = privdrop_apply(o, r.msg, sizeof(r.msg));
	getresuid(&r.ruid, &r.euid, &r.suid);
	getresgid(&r.rgid, &r.egid, &r.sgid);
	r.ngroups = getgroups(0, NULL);
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) == 0) {
		r.eff = d[0].effective | (unsigned long long)d[1].effective << 32;
		r.prm = d[0].permitted | (unsigned long long)d[1].permitted << 32;
		r.inh = d[0].inheritable | (unsigned long long)d[1].inheritable << 32;
	}
	r.bnd_net_bind = prctl(PR_CAPBSET_READ, CAP_NET_BIND_SERVICE, 0, 0, 0) == 1;
	r.bnd_sys_time = prctl(PR_CAPBSET_READ, CAP_SYS_TIME, 0, 0, 0) == 1;
	r.bnd_sys_admin = prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 1;
	r.bnd_setuid = prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0) == 1;
	r.nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	r.setuid0_failed = setuid(0) != 0;
	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(2);
	_exit(0);
}

static bool run(const struct privdrop_opts *o, struct report *r)
{
	int p[2];

	if (pipe(p) != 0)
		return false;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(p[1], o);
	}
	close(p[1]);
	bool ok = read(p[0], r, sizeof(*r)) == (ssize_t)sizeof(*r);
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void errors(void)
{
	struct privdrop_opts o = { .user = "nosuchuser-privdrop-test" };
	char msg[256];

	tap_ok(!privdrop_apply(&o, msg, sizeof(msg)) &&
	       strstr(msg, "-u nosuchuser-privdrop-test: no such user") != NULL,
	       "unknown user refused: %s", msg);
	o.user = "";
	tap_ok(!privdrop_apply(&o, msg, sizeof(msg)) && strstr(msg, "empty user name"),
	       "empty user name refused: %s", msg);
	o.user = "root";
	tap_ok(!privdrop_apply(&o, msg, sizeof(msg)) && strstr(msg, "uid 0; name an unprivileged"),
	       "root refused: %s", msg);
	o.user = "0";
	tap_ok(!privdrop_apply(&o, msg, sizeof(msg)) && strstr(msg, "uid 0"),
	       "numeric uid 0 refused: %s", msg);
}

static void drop(bool sys_time, const struct passwd *pw)
{
	char dir[] = "/tmp/test_privdrop.XXXXXX", state[300], pidf[300], link[300], target[300];
	struct report r;
	struct stat st;

	if (!mkdtemp(dir)) {
		tap_ok(false, "mkdtemp: %s", strerror(errno));
		return;
	}
	chmod(dir, 0711);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(pidf, sizeof(pidf), "%s/ntsd.pid", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(link, sizeof(link), "%s/state/link", dir);
	mkdir(state, 0755);
	close(open(pidf, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	close(open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	char inner[320];
	snprintf(inner, sizeof(inner), "%s/masterkeys", state);
	close(open(inner, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	if (symlink(target, link) != 0)
		tap_diag("symlink: %s", strerror(errno));

	struct privdrop_opts o = {
		.user = pw->pw_name,
		.keep_sys_time = sys_time,
		.statedir = state,
		.files = { pidf, "", NULL, "/nonexistent/privdrop-test" },
	};
	unsigned long long want = (1ULL << CAP_NET_BIND_SERVICE) | (sys_time ? 1ULL << CAP_SYS_TIME : 0);
	const char *tag = sys_time ? "clock disciplined" : "-x";

	tap_ok(run(&o, &r), "%s: child reported", tag);
	tap_ok(r.ok, "%s: privdrop_apply succeeds: %s", tag, r.msg);
	tap_ok(strstr(r.msg, sys_time ? "with CAP_NET_BIND_SERVICE and CAP_SYS_TIME" :
	                                "with CAP_NET_BIND_SERVICE") != NULL,
	       "%s: summary names the kept capabilities", tag);
	tap_ok(r.ruid == pw->pw_uid && r.euid == pw->pw_uid && r.suid == pw->pw_uid,
	       "%s: real, effective and saved uid %ld", tag, (long)r.euid);
	tap_ok(r.rgid == pw->pw_gid && r.egid == pw->pw_gid && r.sgid == pw->pw_gid,
	       "%s: real, effective and saved gid %ld", tag, (long)r.egid);
	tap_ok(r.ngroups == 0, "%s: no supplementary groups (%d)", tag, r.ngroups);
	tap_ok(r.eff == want && r.prm == want && r.inh == 0,
	       "%s: effective %#llx, permitted %#llx, inheritable %#llx (want %#llx)", tag, r.eff,
	       r.prm, r.inh, want);
	tap_ok(r.bnd_net_bind && r.bnd_sys_time == sys_time && !r.bnd_sys_admin && !r.bnd_setuid,
	       "%s: bounding set: NET_BIND_SERVICE%s only", tag, sys_time ? " and SYS_TIME" : "");
	tap_ok(r.nnp == 1, "%s: no_new_privs set", tag);
	tap_ok(r.setuid0_failed, "%s: setuid(0) fails afterwards", tag);
	tap_ok(stat(state, &st) == 0 && st.st_uid == pw->pw_uid && st.st_gid == pw->pw_gid,
	       "%s: state directory given to the user", tag);
	tap_ok(stat(inner, &st) == 0 && st.st_uid == pw->pw_uid, "%s: files in it given to the user",
	       tag);
	tap_ok(stat(pidf, &st) == 0 && st.st_uid == pw->pw_uid, "%s: named file given to the user", tag);
	tap_ok(stat(target, &st) == 0 && st.st_uid == 0,
	       "%s: a symbolic link in the state directory is not followed", tag);
	unlink(link);
	unlink(inner);
	rmdir(state);
	unlink(pidf);
	unlink(target);
	rmdir(dir);
}

static void missing_statedir(const struct passwd *pw)
{
	char dir[] = "/tmp/test_privdrop.XXXXXX", state[300];
	struct report r;
	struct stat st;

	if (!mkdtemp(dir)) {
		tap_ok(false, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(state, sizeof(state), "%s/new", dir);
	struct privdrop_opts o = { .user = pw->pw_name, .statedir = state };
	tap_ok(run(&o, &r) && r.ok, "missing state directory: drop succeeds: %s", r.msg);
	tap_ok(stat(state, &st) == 0 && (st.st_mode & 07777) == 0700 && st.st_uid == pw->pw_uid,
	       "missing state directory created 0700 for the user");
	rmdir(state);
	rmdir(dir);
}

int main(void)
{
	tap_ok(privdrop_kept_caps(false) == 1ULL << CAP_NET_BIND_SERVICE,
	       "-x keeps CAP_NET_BIND_SERVICE only");
	tap_ok(privdrop_kept_caps(true) == ((1ULL << CAP_NET_BIND_SERVICE) | (1ULL << CAP_SYS_TIME)),
	       "a disciplined clock adds CAP_SYS_TIME");
	errors();

	struct passwd *pw = getpwnam("nobody");
	if (!pw) {
		tap_ok(false, "user nobody exists");
		return tap_done();
	}
	struct passwd copy = *pw;
	copy.pw_name = strdup(pw->pw_name);
	if (geteuid() != 0) {
		/* Not root: the drop must be refused with a clear message. */
		struct privdrop_opts o = { .user = "daemon" };
		char msg[256];
		tap_ok(!privdrop_apply(&o, msg, sizeof(msg)) && strstr(msg, "switching user needs root"),
		       "not root: refused: %s", msg);
		tap_diag("not root: the real drop checks need root (tests/run.sh runs as root)");
	} else {
		drop(false, &copy);
		drop(true, &copy);
		missing_statedir(&copy);
		/* Already the user (systemd User=, no capabilities granted here):
		 * -u only trims capabilities and sets no_new_privs. */
		struct privdrop_opts o = { .user = copy.pw_name, .statedir = "/nonexistent/privdrop" };
		struct report r;
		pre_switch = true;
		tap_ok(run(&o, &r) && r.ok && strstr(r.msg, "with no capabilities") && r.euid == copy.pw_uid &&
		               r.eff == 0 && r.nnp == 1,
		       "already the user: succeeds without touching the state directory: %s", r.msg);
		pre_switch = false;
	}
	free(copy.pw_name);
	return tap_done();
}
