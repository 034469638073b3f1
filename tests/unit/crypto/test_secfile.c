/* secfile: atomic 0600 writes; refusing to clobber; nothing left behind
 * by a failure or by a SIGKILL between writing and naming the file. */
#include "crypto/secfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/secret.h"
#include "tap.h"

static char dir[256];

/* Number of directory entries other than . and .. */
static int entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* True if path holds exactly want. */
static bool holds(const char *path, const char *want)
{
	char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return n == strlen(want) && !memcmp(buf, want, n);
}

static bool mode_is(const char *path, mode_t want)
{
	struct stat st;

	return stat(path, &st) == 0 && (st.st_mode & 07777) == want;
}

static void kill_self(const char *path, void *arg)
{
	(void)path;
	(void)arg;
	raise(SIGKILL);
}

static void count_calls(const char *path, void *arg)
{
	(void)path;
	(*(int *)arg)++;
}

/* Runs a write in a child that kills itself just before naming the file. */
static bool killed_write(const char *path, const char *data, bool overwrite)
{
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0) {
		secfile_write_hook(path, data, strlen(data), overwrite, kill_self, NULL);
		_exit(0); /* the hook never returns: reaching here is a failure */
	}
	return waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
	       WTERMSIG(status) == SIGKILL;
}

int main(void)
{
	char path[300], other[300];
	int calls = 0;

	tap_ok(secret_init(), "secret_init");
	umask(022);
	snprintf(dir, sizeof(dir), "%s/secfile.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		tap_ok(false, "mkdtemp %s: %s", dir, strerror(errno));
		return tap_done();
	}
	snprintf(path, sizeof(path), "%s/keys", dir);
	snprintf(other, sizeof(other), "%s/missing/keys", dir);

	tap_ok(secfile_write(path, "first\n", 6, false) && holds(path, "first\n"),
	       "a new file is written");
	tap_ok(mode_is(path, 0600), "mode 0600 whatever the umask (022 here)");
	tap_ok(entries() == 1, "no temporary file left beside it");

	errno = 0;
	tap_ok(!secfile_write(path, "second\n", 7, false) && errno == EEXIST &&
	           holds(path, "first\n"),
	       "without overwrite an existing file is refused (EEXIST) and kept");
	tap_ok(secfile_write(path, "second\n", 7, true) && holds(path, "second\n") &&
	           mode_is(path, 0600) && entries() == 1,
	       "with overwrite it is replaced, 0600, nothing else left");
	chmod(path, 0644);
	tap_ok(secfile_write(path, "third\n", 6, true) && mode_is(path, 0600),
	       "a replaced 0644 file comes back 0600");

	errno = 0;
	tap_ok(!secfile_write(other, "x", 1, true) && errno == ENOENT && entries() == 1,
	       "a missing directory is an error (ENOENT) and creates nothing");
	tap_ok(secfile_write_hook(path, "", 0, true, count_calls, &calls) && holds(path, "") &&
	           calls == 1,
	       "an empty file is written; the hook runs once");

	secfile_write(path, "old\n", 4, true);
	tap_ok(killed_write(path, "new contents\n", true) && holds(path, "old\n") &&
	           entries() == 1,
	       "SIGKILL before the new file is named (overwrite): old file intact, "
	       "no temporary file left");
	unlink(path);
	tap_ok(killed_write(path, "new contents\n", false) && access(path, F_OK) != 0 &&
	           entries() == 0,
	       "SIGKILL before a new file is named: no file and nothing else created");

	tap_ok(secfile_write(path, "after\n", 6, false) && holds(path, "after\n"),
	       "writing works again afterwards");
	unlink(path);
	rmdir(dir);
	return tap_done();
}
