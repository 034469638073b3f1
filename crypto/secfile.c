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

static bool fsync_dir(const char *path)
{
	char dir[4096];
	int fd;
	bool ok;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return false;
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

bool secfile_write(const char *path, const void *data, size_t len, bool overwrite)
{
	char tmp[4200];
	unsigned char rnd[6];
	const unsigned char *p = data;
	int fd, saved;

	if (!overwrite && access(path, F_OK) == 0) {
		errno = EEXIST;
		return false;
	}
	secret_random(rnd, sizeof(rnd));
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1], rnd[2],
	             rnd[3], rnd[4], rnd[5]) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return false;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return false;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, 0600) != 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (!overwrite) {
		/* link() fails if path appeared meanwhile: never clobber. */
		if (link(tmp, path) != 0)
			goto fail;
		unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		goto fail;
	}
	fsync_dir(path);
	return true;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return false;
}
