/* NTS cookie master keys (RFC 8915 §6): the server's keys for sealing
 * cookies, rotated on a schedule and kept in a file (0600, written
 * atomically) so that restarts and several servers sharing the file all
 * accept each other's cookies.
 *
 * Guarantee: a key stays in the set for `keep` rotation intervals after it
 * was created, i.e. for keep-1 intervals after it stopped being current.
 * A well-behaved client gets a fresh cookie with every NTP response, so
 * with keep >= 2 none is refused across a rotation. */
#ifndef NTSD_CRYPTO_MASTERKEY_H
#define NTSD_CRYPTO_MASTERKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MASTERKEY_MAX 16
#define MASTERKEY_LEN 32          /* AEAD_AES_SIV_CMAC_256 */
#define MASTERKEY_INTERVAL 86400  /* default rotation: daily */
#define MASTERKEY_KEEP 3          /* default: keys live 3 intervals */

struct masterkey {
	uint32_t id;
	int64_t created; /* Unix seconds */
	uint8_t *key;    /* MASTERKEY_LEN bytes of secret memory */
};

/* Keys in creation order; the last one is current. */
struct masterkey_set {
	struct masterkey k[MASTERKEY_MAX];
	size_t n;
};

struct masterkey_set *masterkey_set_new(void);
/* Deep copy (secret memory included); NULL on allocation failure. */
struct masterkey_set *masterkey_set_clone(const struct masterkey_set *s);
/* Wipes and frees; NULL is ignored. */
void masterkey_set_free(struct masterkey_set *s);

/* Adds a fresh random key created at now with an id unused in s; the
 * oldest key is dropped when the set is full. */
bool masterkey_generate(struct masterkey_set *s, int64_t now);
/* Generates a new key if the newest is interval_s old (or there is none),
 * drops keys older than keep * interval_s. Sets *changed. */
bool masterkey_rotate(struct masterkey_set *s, int64_t now, int64_t interval_s, unsigned keep,
                      bool *changed);
/* The current key, or NULL when the set is empty. */
const struct masterkey *masterkey_current(const struct masterkey_set *s);
/* Key by id, or NULL. Hot-path safe. */
const struct masterkey *masterkey_find(const struct masterkey_set *s, uint32_t id);

/* File format: "# ntsd master keys v1" then lines "ID CREATED HEXKEY".
 * Load fails with "PATH:LINE: what" in err on any bad line; a file that
 * group or others can read is refused. */
struct masterkey_set *masterkey_load(const char *path, char *err, size_t errlen);
bool masterkey_save(const struct masterkey_set *s, const char *path, char *err, size_t errlen);

/* What a server runs at start and periodically: under an exclusive lock
 * on PATH.lock, loads the file (creating it with one key if missing),
 * rotates, saves if anything changed, and returns the set the file now
 * holds (caller frees). Instances sharing the file converge on one set. */
struct masterkey_set *masterkey_file_sync(const char *path, int64_t now, int64_t interval_s,
                                          unsigned keep, bool *changed, char *err, size_t errlen);

#endif
