#include "config.h"
#include "crypto/secfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/secret.h"

typedef void (*hook_fn)(const char *path, void *arg);

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
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

/* "PATH.tmp.XXXXXXXXXXXX" with 48 random bits. */
static bool temp_name(const char *path, char *tmp, size_t size)
{
	unsigned char r[6];

	secret_random(r, sizeof(r));
	if (snprintf(tmp, size, "%s.tmp.%02x%02x%02x%02x%02x%02x", path, r[0], r[1], r[2], r[3], r[4],
	             r[5]) >= (int)size) {
		errno = ENAMETOOLONG;
		return false;
	}
	return true;
}

/* The contents are complete in fd (fsynced): give them the name path. */
static bool name_it(const char *tmp, const char *path, bool overwrite)
{
	int saved;

	if (!overwrite)
		return link(tmp, path) == 0; /* fails if path appeared meanwhile */
	if (rename(tmp, path) == 0)
		return true;
	saved = errno;
	unlink(tmp);
	errno = saved;
	return false;
}

/* Fallback: a named temporary file, O_EXCL, removed on any error. */
static bool write_named(const char *path, const char *dir, const void *data, size_t len,
                        bool overwrite, hook_fn hook, void *arg)
{
	char tmp[4200];
	int fd, saved;

	if (!temp_name(path, tmp, sizeof(tmp)))
		return false;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return false;
	if (!write_all(fd, data, len) || fchmod(fd, 0600) != 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (hook)
		hook(path, arg);
	if (!name_it(tmp, path, overwrite))
		goto fail;
	if (!overwrite)
		unlink(tmp);
	fsync_dir(dir);
	return true;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return false;
}

bool secfile_write_hook(const char *path, const void *data, size_t len, bool overwrite,
                        hook_fn hook, void *arg)
{
	char dirbuf[4096], dir[4096], proc[64], tmp[4200];
	int fd, saved;

	if (!path || (!data && len)) {
		errno = EINVAL;
		return false;
	}
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
			return write_named(path, dir, data, len, overwrite, hook, arg);
		return false;
	}
	if (!write_all(fd, data, len) || fchmod(fd, 0600) != 0 || fsync(fd) != 0)
		goto fail;
	if (hook)
		hook(path, arg);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (!overwrite) {
		if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0)
			goto fail_or_fallback;
	} else {
		if (!temp_name(path, tmp, sizeof(tmp)))
			goto fail;
		if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0)
			goto fail_or_fallback;
		if (!name_it(tmp, path, true))
			goto fail;
	}
	close(fd);
	fsync_dir(dir);
	return true;
fail_or_fallback:
	/* no /proc: the inode cannot be named, write it the other way */
	if (errno == ENOENT && access("/proc/self/fd", F_OK) != 0) {
		close(fd);
		return write_named(path, dir, data, len, overwrite, NULL, NULL);
	}
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return false;
}

bool secfile_write(const char *path, const void *data, size_t len, bool overwrite)
{
	return secfile_write_hook(path, data, len, overwrite, NULL, NULL);
}
