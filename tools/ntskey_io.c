/* Output files for ntskey. secfile_write names its temporary file, so a
 * SIGKILL between its open and its rename leaves "FILE.tmp.XXXX" behind,
 * holding secrets. Here the data goes to an unnamed O_TMPFILE inode that
 * the kernel frees if we die; it gets a name only once it is complete and
 * on disk. Without overwrite, linkat() itself refuses an existing path,
 * so nothing is clobbered even by a race. Filesystems without O_TMPFILE
 * fall back to secfile_write. */
#include "config.h"

#include "tools/ntskey.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/secfile.h"
#include "crypto/secret.h"

void ntskey_err(const char *fmt, ...)
{
	va_list ap;

	fputs("ntskey: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ntskey_usage_error(const char *fmt, const char *arg)
{
	fputs("ntskey: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'ntskey --help'.\n", stderr);
	return NTSKEY_EXIT_USAGE;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static bool write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return false;
		}
		p += w;
		len -= (size_t)w;
	}
	return true;
}

/* Test hook: NTSKEY_TEST_WRITE_DELAY_MS pauses with the new file complete
 * but not yet linked, so a test can kill ntskey at the worst moment. */
static void test_pause(const char *path)
{
	const char *v = getenv("NTSKEY_TEST_WRITE_DELAY_MS");
	char *end;
	unsigned long ms;

	if (!v || !*v)
		return;
	ms = strtoul(v, &end, 10);
	if (*end || ms > 60000)
		return;
	fprintf(stderr, "ntskey: test hook: pausing %lu ms before linking %s\n", ms, path);
	fflush(stderr);
	nanosleep(&(struct timespec){ .tv_sec = (time_t)(ms / 1000),
	                              .tv_nsec = (long)(ms % 1000) * 1000000L },
	          NULL);
}

bool ntskey_write_file(const char *path, const void *data, size_t len, bool overwrite)
{
	char dirbuf[4096], dir[4096], proc[64], tmp[4200];
	unsigned char rnd[6];
	int fd, saved;

	if (!overwrite && access(path, F_OK) == 0) {
		errno = EEXIST;
		return false;
	}
	if (snprintf(dirbuf, sizeof(dirbuf), "%s", path) >= (int)sizeof(dirbuf)) {
		errno = ENAMETOOLONG;
		return false;
	}
	snprintf(dir, sizeof(dir), "%s", dirname(dirbuf));
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
			return secfile_write(path, data, len, overwrite);
		return false;
	}
	if (!write_all(fd, data, len) || fchmod(fd, 0600) != 0 || fsync(fd) != 0)
		goto fail;
	test_pause(path);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (!overwrite) {
		if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0) {
			if (errno == ENOENT && access("/proc/self/fd", F_OK) != 0)
				goto fallback;
			goto fail;
		}
	} else {
		secret_random(rnd, sizeof(rnd));
		if (snprintf(tmp, sizeof(tmp), "%s.tmp.%02x%02x%02x%02x%02x%02x", path, rnd[0],
		             rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]) >= (int)sizeof(tmp)) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0) {
			if (errno == ENOENT && access("/proc/self/fd", F_OK) != 0)
				goto fallback;
			goto fail;
		}
		if (rename(tmp, path) != 0) {
			saved = errno;
			unlink(tmp);
			errno = saved;
			goto fail;
		}
	}
	close(fd);
	fsync_dir(dir);
	return true;
fallback:
	close(fd);
	return secfile_write(path, data, len, overwrite);
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return false;
}
