/* Writing files that hold secrets: atomically (temporary file created
 * O_EXCL with mode 0600, every write checked, fsync, rename, fsync of the
 * directory), so a crash or a kill leaves either the old file or the new
 * one, never half of one. */
#ifndef NTSD_CRYPTO_SECFILE_H
#define NTSD_CRYPTO_SECFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Writes len bytes to path with mode 0600. Without overwrite, an existing
 * path is an error (EEXIST). On failure returns false with errno set and
 * path untouched. */
bool secfile_write(const char *path, const void *data, size_t len, bool overwrite);

#endif
