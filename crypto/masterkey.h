/* NTS cookie master keys (RFC 8915 §6): the server's keys for sealing
 * cookies, rotated on a schedule and kept in a file (0600, written
 * atomically) so that restarts and several servers sharing the file all
 * accept each other's cookies.
 *
 * Guarantee: a key stays in the set for (keep - 1) full rotation intervals
 * after it stopped being current (after the next key was created),
 * however late that rotation happened (downtime, a stopped server). A
 * well-behaved client gets a fresh cookie, sealed under the current key,
 * with every NTP response (RFC 8915 §5.7), so with keep >= 2 (default 3)
 * no such client is refused across a rotation. Only two things shorten
 * it: more than MASTERKEY_MAX keys (the oldest goes), and a system clock
 * stepped forward by more than that grace. Keys are never dropped by
 * loading; the current key is never dropped. */
#ifndef NTSD_CRYPTO_MASTERKEY_H
#define NTSD_CRYPTO_MASTERKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MASTERKEY_MAX 16
#define MASTERKEY_LEN 32          /* AEAD_AES_SIV_CMAC_256 key */
#define MASTERKEY_INTERVAL 86400  /* default rotation: daily */
#define MASTERKEY_KEEP 3          /* default: kept 2 intervals after retiring */
#define MASTERKEY_LOCK_WAIT_MS 3000 /* masterkey_file_sync gives up after this */
#define MASTERKEY_MAX_INTERVAL (INT64_C(1) << 40) /* keeps the arithmetic exact */

struct masterkey {
	uint32_t id;     /* random, non-zero, unique in its set */
	int64_t created; /* Unix seconds */
	uint8_t *key;    /* MASTERKEY_LEN bytes of secret memory */
};

/* Keys in creation order; the last one is current. Read-only for users:
 * change it only through the functions below. A set that no one changes
 * may be read by several threads at once. */
struct masterkey_set {
	struct masterkey k[MASTERKEY_MAX];
	size_t n;
};

/* An empty set, or NULL on allocation failure. */
struct masterkey_set *masterkey_set_new(void);
/* Deep copy (secret memory included); NULL on allocation failure or s NULL. */
struct masterkey_set *masterkey_set_clone(const struct masterkey_set *s);
/* Wipes every key and frees; NULL is ignored. */
void masterkey_set_free(struct masterkey_set *s);

/* Appends a fresh random key, created at now, with a non-zero id that no
 * key in s has; it becomes current. When s is full the oldest key is
 * dropped first. False on allocation failure (s unchanged). */
bool masterkey_generate(struct masterkey_set *s, int64_t now);
/* The schedule. Generates a new current key when there is none, when the
 * current one is interval_s old, or when it was created more than
 * interval_s in the future (a clock that was wrong then). Then drops each
 * key whose successor has been current for (keep - 1) * interval_s; keep
 * is clamped to 1..MASTERKEY_MAX. Sets *changed. False (s unchanged) on
 * allocation failure or interval_s outside 1..MASTERKEY_MAX_INTERVAL. */
bool masterkey_rotate(struct masterkey_set *s, int64_t now, int64_t interval_s, unsigned keep,
                      bool *changed);
/* The current key, or NULL when the set is empty. */
const struct masterkey *masterkey_current(const struct masterkey_set *s);
/* Key by id, or NULL (also for id 0). At most MASTERKEY_MAX comparisons,
 * no allocation: hot-path safe. */
const struct masterkey *masterkey_find(const struct masterkey_set *s, uint32_t id);

/* File format, text:
 *   # ntsd master keys v1
 *   ID CREATED HEXKEY
 * ID decimal 1..4294967295, CREATED decimal Unix seconds >= 0, HEXKEY 64
 * hex digits; fields separated by blanks; '#' lines and blank lines are
 * ignored; keys in creation order (the last is current). A "# ntsd master
 * keys vN" line with N other than 1 is refused.
 *
 * masterkey_load: the set, or NULL with every problem in err, one per
 * line, "PATH:LINE: error: what; what is accepted" (bad number, bad hex,
 * wrong key length, duplicate id, more than MASTERKEY_MAX keys, NUL bytes,
 * no keys at all). A file that group or others may read or write is
 * refused ("chmod 600 it"). err never quotes key material. */
struct masterkey_set *masterkey_load(const char *path, char *err, size_t errlen);
/* Writes s atomically with mode 0600 (secfile_write, overwriting). False
 * with a diagnostic in err. */
bool masterkey_save(const struct masterkey_set *s, const char *path, char *err, size_t errlen);

/* What a server runs at start and periodically: under an exclusive flock
 * on "PATH.lock" (waiting at most MASTERKEY_LOCK_WAIT_MS), loads the file
 * (creating it with one key if it does not exist), rotates, saves if
 * anything changed, unlocks, and returns the set the file now holds
 * (caller frees). Instances (and tools) that share the file this way
 * converge on one set: whoever syncs first after the interval rotates,
 * the others adopt its key. A file that does not load (corrupt, truncated,
 * readable by others) is an error and is left untouched. *changed tells
 * whether this call rewrote the file. NULL with a diagnostic in err. */
struct masterkey_set *masterkey_file_sync(const char *path, int64_t now, int64_t interval_s,
                                          unsigned keep, bool *changed, char *err, size_t errlen);

#endif
