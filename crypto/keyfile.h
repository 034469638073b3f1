/* ntpd-format symmetric key file: lines "KEYID TYPE KEY [# comment]".
 * KEYID 1..65535; TYPE a mac_alg name (MD5, SHA1, SHA256, ..., AES128CMAC);
 * KEY up to 20 printable ASCII characters (no space, no '#'), or hex
 * (an even number of hex digits, more than 20 characters). Key bytes live
 * in secret memory and are wiped when the key file is freed. */
#ifndef NTSD_CRYPTO_KEYFILE_H
#define NTSD_CRYPTO_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/mac.h"

struct symkey {
	uint32_t id;
	enum mac_alg alg;
	size_t len;
	const uint8_t *key; /* secret memory owned by the keyfile */
};

struct keyfile;

/* One problem found while loading: line 0 means the file as a whole. */
struct keyfile_error {
	unsigned line;
	char msg[200];
};

struct keyfile_errors {
	struct keyfile_error v[32]; /* the first 32 */
	size_t n;                   /* total number found (may exceed 32) */
	bool world_readable;        /* warning: every user ("other") can read the file */
	bool group_readable;        /* its group can (fine for root:ntsd 0640) */
	unsigned mode;              /* the file's permission bits */
};

/* Loads path. Returns NULL and fills errs (n > 0) on any bad line, a
 * duplicate id, or an unreadable file; no partial key file is returned. */
struct keyfile *keyfile_load(const char *path, struct keyfile_errors *errs);
/* Same for text in memory (tests, ntskey). */
struct keyfile *keyfile_parse(const char *text, size_t len, struct keyfile_errors *errs);
/* Key by id, or NULL. Hot-path safe (no allocation, O(1) or O(log n)). */
const struct symkey *keyfile_get(const struct keyfile *kf, uint32_t id);
size_t keyfile_count(const struct keyfile *kf);
/* i-th key in id order, for listing. */
const struct symkey *keyfile_at(const struct keyfile *kf, size_t i);
/* Wipes all key bytes and frees; NULL is ignored. */
void keyfile_free(struct keyfile *kf);

#endif
