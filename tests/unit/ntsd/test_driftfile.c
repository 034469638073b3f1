/* driftfile: round trip, bad content names file:line, missing file, atomic
 * write keeps the old file when the write fails (RLIMIT_FSIZE makes write()
 * fail with EFBIG); plus the read-only clockctl records and never adjusts. */
#include "ntsd/clockctl.h"
#include "ntsd/driftfile.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

static char dir[] = "/tmp/test_driftfile.XXXXXX";
static char path[256];

static void put(const char *content)
{
	FILE *fp = fopen(path, "w");

	if (!fp) {
		perror(path);
		exit(1);
	}
	fputs(content, fp);
	fclose(fp);
}

static int count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

static void bad(const char *content, const char *want_line, const char *want_text)
{
	char err[512] = "", want[300];
	double v = 0;

	put(content);
	enum driftfile_status st = driftfile_read(path, &v, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:%s: error: ", path, want_line);
	tap_ok(st == DRIFTFILE_ERROR && strncmp(err, want, strlen(want)) == 0 && strstr(err, want_text),
	       "bad drift file rejected: '%s'", err);
}

int main(void)
{
	char err[512];
	double v = 0;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/ntp.drift", dir);

	tap_ok(driftfile_read(path, &v, err, sizeof(err)) == DRIFTFILE_MISSING, "missing file: MISSING");
	tap_ok(driftfile_write(path, -123.456, err, sizeof(err)), "write");
	enum driftfile_status st = driftfile_read(path, &v, err, sizeof(err));
	tap_ok(st == DRIFTFILE_OK && fabs(v + 123.456) < 1e-9, "round trip (%.3f)", v);
	struct stat sb;
	int sr = stat(path, &sb);
	tap_ok(sr == 0 && (sb.st_mode & 0777) == 0644, "mode 0644 (%o)", (unsigned)(sb.st_mode & 0777));
	tap_ok(driftfile_write(path, 7.5, err, sizeof(err)) &&
		       driftfile_read(path, &v, err, sizeof(err)) == DRIFTFILE_OK && v == 7.5,
	       "overwrite");
	tap_ok(count_entries() == 1, "no temporary file left");
	put("  12.25  \n");
	tap_ok(driftfile_read(path, &v, err, sizeof(err)) == DRIFTFILE_OK && v == 12.25, "spaces accepted");
	put("-3.5 0.25\n");
	tap_ok(driftfile_read(path, &v, err, sizeof(err)) == DRIFTFILE_OK && v == -3.5, "chrony's freq skew");
	put("# comment\n\n1.0\n");
	tap_ok(driftfile_read(path, &v, err, sizeof(err)) == DRIFTFILE_OK && v == 1.0, "comment and blank line");

	bad("abc\n", "1", "not a number");
	bad("\n\n12x\n", "3", "trailing garbage");
	bad("1.0\n2.0\n", "2", "extra line");
	bad("600\n", "1", "out of range");
	bad("nan\n", "1", "not a number");
	bad("", "1", "empty");

	/* atomic write: a failing write leaves the old file and no temp */
	tap_ok(driftfile_write(path, 42.125, err, sizeof(err)), "write the old content");
	struct rlimit old, small = {.rlim_cur = 2, .rlim_max = RLIM_INFINITY};
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	small.rlim_max = old.rlim_max;
	setrlimit(RLIMIT_FSIZE, &small);
	errno = 0;
	bool ok = driftfile_write(path, -99.875, err, sizeof(err));
	int e = errno;
	setrlimit(RLIMIT_FSIZE, &old);
	tap_ok(!ok && e == EFBIG && strstr(err, path), "failing write reported: '%s'", err);
	st = driftfile_read(path, &v, err, sizeof(err));
	tap_ok(st == DRIFTFILE_OK && v == 42.125, "the old file is intact (%.3f)", v);
	tap_ok(count_entries() == 1, "no temporary file left after the failure");
	char nodir[300];
	snprintf(nodir, sizeof(nodir), "%s/missing/ntp.drift", dir);
	tap_ok(!driftfile_write(nodir, 1, err, sizeof(err)) && strstr(err, nodir), "missing directory: '%s'", err);

	/* read-only clockctl: records, never adjusts */
	struct clockctl_readonly ro;
	struct clockctl_ops ops;
	clockctl_readonly_init(&ro, &ops);
	double t0 = ops.now(ops.arg);
	tap_ok(t0 > 1.6e9, "readonly now() reads CLOCK_REALTIME (%.0f)", t0);
	tap_ok(ops.step(ops.arg, 5.0) == 0 && ro.steps == 1 && ro.last_step == 5.0, "readonly step recorded");
	tap_ok(ops.slew(ops.arg, -0.25) == 0 && ro.slews == 1 && ro.last_slew == -0.25, "readonly slew recorded");
	tap_ok(ops.set_freq(ops.arg, 12.5) == 0 && ops.get_freq(ops.arg) == 12.5, "readonly freq recorded");
	tap_ok(ops.set_freq(ops.arg, 600) < 0 && ops.get_freq(ops.arg) == 12.5, "readonly freq beyond 500 ppm refused");
	tap_ok(fabs(ops.now(ops.arg) - t0) < 1.0, "the clock did not move by 5 s");

	unlink(path);
	rmdir(dir);
	return tap_done();
}
