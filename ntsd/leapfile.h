/* Leap seconds from the IETF/NIST leap-seconds.list file (the format of
 * Debian's /usr/share/zoneinfo/leap-seconds.list, ntpd's and NTPsec's
 * `leapfile`, chrony's `leapseclist`): "#$ UPDATED", "#@ EXPIRES",
 * "NTPSECONDS TAI-UTC" lines and "#h" with the SHA-1 of their digits.
 * Parsing is pure and reports problems as diagnostics; no logging. */
#ifndef NTSD_NTSD_LEAPFILE_H
#define NTSD_NTSD_LEAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEAPFILE_MAX_ENTRIES 128
#define LEAPFILE_MAX_SIZE 65536   /* bytes; the 2025 file is 5 KB */
#define LEAPFILE_DAY 86400u

struct leapfile_entry {
	uint64_t when;    /* NTP seconds: the first second with the new offset */
	int tai_offset;   /* TAI - UTC from then on, s */
};

struct leapfile {
	uint64_t updated; /* "#$": NTP seconds */
	uint64_t expires; /* "#@": NTP seconds */
	size_t n;
	struct leapfile_entry e[LEAPFILE_MAX_ENTRIES]; /* ascending */
};

struct leapfile_diag {
	unsigned line;    /* 0: the file as a whole */
	char msg[160];
};

/* Parses len bytes of a leap-seconds.list. False with d set on any error:
 * a malformed or out-of-order line, a missing #$, #@ or #h line, an
 * offset that does not change by exactly one second, or a hash that does
 * not match (the file was changed or damaged). */
bool leapfile_parse(const char *text, size_t len, struct leapfile *lf, struct leapfile_diag *d);
/* Reads and parses the file at path (at most LEAPFILE_MAX_SIZE bytes). */
bool leapfile_load(const char *path, struct leapfile *lf, struct leapfile_diag *d);

/* The leap announced at NTP second now: +1 (insert, LI 1) or -1 (delete,
 * LI 2) when a leap takes effect at the end of the UTC day that contains
 * now, i.e. within the last LEAPFILE_DAY seconds before the entry, else 0.
 * *at (may be NULL) gets the entry's time. Entries past the expiry date
 * cannot exist, so none is announced after it. */
int leapfile_pending(const struct leapfile *lf, uint64_t now, uint64_t *at);
/* TAI - UTC at NTP second now (0 before the table starts). */
int leapfile_tai_offset(const struct leapfile *lf, uint64_t now);
/* Seconds until the file expires at NTP second now (negative: expired). */
int64_t leapfile_expires_in(const struct leapfile *lf, uint64_t now);

#endif
