/* Drift file I/O. Not secret, so 0644 and not crypto/secfile (0600), but
 * the same atomic recipe: a crash leaves the old file or the new one. */
#include "config.h"

#include "ntsd/driftfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DRIFT_MAX_PPM 500.0

enum driftfile_status driftfile_read(const char *path, double *ppm, char *err, size_t errlen)
{
	char line[256];
	FILE *fp = fopen(path, "r");
	int lineno = 0;
	bool have = false;
	double v = 0;

	if (!fp) {
		if (errno == ENOENT)
			return DRIFTFILE_MISSING;
		snprintf(err, errlen, "%s: error: cannot open: %s", path, strerror(errno));
		return DRIFTFILE_ERROR;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *p = line, *end;
		lineno++;
		if (!strchr(line, '\n') && !feof(fp)) {
			snprintf(err, errlen, "%s:%d: error: line too long", path, lineno);
			goto bad;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || *p == '\0' || *p == '#')
			continue;
		if (have) {
			snprintf(err, errlen, "%s:%d: error: unexpected extra line; one number is accepted",
				 path, lineno);
			goto bad;
		}
		errno = 0;
		v = strtod(p, &end);
		if (end == p || errno || !isfinite(v)) {
			snprintf(err, errlen, "%s:%d: error: not a number; a frequency in ppm is accepted",
				 path, lineno);
			goto bad;
		}
		if (fabs(v) > DRIFT_MAX_PPM) {
			snprintf(err, errlen, "%s:%d: error: %.3f ppm out of range; -500..500 is accepted",
				 path, lineno, v);
			goto bad;
		}
		p = end;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\n' && *p != '\0') { /* chrony writes "freq skew" */
			strtod(p, &end);
			while (end != p && (*end == ' ' || *end == '\t'))
				end++;
			if (end == p || (*end != '\n' && *end != '\0')) {
				snprintf(err, errlen, "%s:%d: error: trailing garbage; one number (ppm) is accepted",
					 path, lineno);
				goto bad;
			}
		}
		have = true;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s:%d: error: read failed", path, lineno + 1);
		goto bad;
	}
	fclose(fp);
	if (!have) {
		snprintf(err, errlen, "%s:%d: error: empty file; a frequency in ppm is accepted", path,
			 lineno + 1);
		return DRIFTFILE_ERROR;
	}
	*ppm = v;
	return DRIFTFILE_OK;
bad:
	fclose(fp);
	return DRIFTFILE_ERROR;
}

static bool fsync_dir(const char *path)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), "%s", path);

	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return false;
	}
	int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	int r = fsync(fd);
	close(fd);
	return r == 0;
}

bool driftfile_write(const char *path, double ppm, char *err, size_t errlen)
{
	char tmp[4096], data[64];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	int dn = snprintf(data, sizeof(data), "%.3f\n", ppm);
	int fd, saved;

	if (n < 0 || (size_t)n >= sizeof(tmp) || !isfinite(ppm)) {
		errno = n < 0 || (size_t)n >= sizeof(tmp) ? ENAMETOOLONG : EINVAL;
		snprintf(err, errlen, "%s: error: %s", path, strerror(errno));
		return false;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	if (fchmod(fd, 0644) < 0) /* whatever the umask: others may read it */
		goto fail_fd;
	for (int off = 0; off < dn;) {
		ssize_t w = write(fd, data + off, (size_t)(dn - off));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail_fd;
		}
		off += (int)w;
	}
	if (fsync(fd) < 0)
		goto fail_fd;
	if (close(fd) < 0) {
		fd = -1;
		goto fail_tmp;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail_tmp;
	if (!fsync_dir(path))
		goto fail; /* the new file is in place; only durability is unsure */
	return true;
fail_fd:
	saved = errno;
	close(fd);
	errno = saved;
fail_tmp:
	saved = errno;
	unlink(tmp);
	errno = saved;
fail:
	snprintf(err, errlen, "%s: error: cannot write the drift file: %s", path, strerror(errno));
	return false;
}
