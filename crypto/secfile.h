/* Writing files that hold secrets atomically, mode 0600: the data goes to
 * an unnamed O_TMPFILE inode in the target's directory (the kernel frees
 * it if we die), is fsynced, and only then gets a name: linked into place
 * (without overwrite; linkat refuses an existing path, so nothing is
 * clobbered even by a race) or linked under a temporary name and renamed
 * over the old file, then the directory is fsynced. A crash or a kill
 * leaves the old file or the new one, never half of one, and no stray
 * copy of the secret. Filesystems without O_TMPFILE (or without /proc)
 * get a named temporary file created O_EXCL instead, removed on error. */
#ifndef NTSD_CRYPTO_SECFILE_H
#define NTSD_CRYPTO_SECFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Writes len bytes to path with mode 0600. Without overwrite, an existing
 * path is an error (EEXIST). On failure returns false with errno set and
 * path untouched. */
bool secfile_write(const char *path, const void *data, size_t len, bool overwrite);

/* The same, calling before_link(path, arg) once the new contents are
 * complete and on disk but not yet named: tests kill the writer there. */
bool secfile_write_hook(const char *path, const void *data, size_t len, bool overwrite,
                        void (*before_link)(const char *path, void *arg), void *arg);

#endif
