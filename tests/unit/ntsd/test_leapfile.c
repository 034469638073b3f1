/* leap-seconds.list parsing (ntsd/leapfile.h): the real IETF file as
 * Debian's tzdata 2025b ships it, announcements in the last day before a
 * leap, the hash check, and every malformed-file diagnostic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/mac.h"
#include "crypto/secret.h"
#include "ntsd/leapfile.h"
#include "tap.h"

#ifndef LEAPFILE_SAMPLE
#error "LEAPFILE_SAMPLE must name tests/unit/ntsd/leap-seconds.list"
#endif

#define JAN2017 3692217600u /* 1 Jan 2017 00:00:00 UTC in NTP seconds */

/* A list with the given entries and a hash computed here, so that the
 * structure checks are tested apart from the hash check. */
static bool build(char *out, size_t max, const char *entries, bool zero_strip)
{
	bool stripped = false;
	const char *head = "#$\t3900000000\n#@\t4000000000\n";
	char digits[4096];
	size_t n = 0;
	uint8_t h[MAC_MAX_DIGEST];
	struct mac_ctx *m = mac_ctx_new();

	for (const char *p = "39000000004000000000"; *p; p++)
		digits[n++] = *p;
	for (const char *p = entries; *p; p++) {
		if (*p == '#')
			while (*p && *p != '\n')
				p++;
		if (*p >= '0' && *p <= '9')
			digits[n++] = *p;
		if (!*p)
			break;
	}
	mac_compute(m, MAC_SHA1, NULL, 0, (const uint8_t *)digits, n, h);
	mac_ctx_free(m);
	int len = snprintf(out, max, "%s%s#h", head, entries);
	for (int g = 0; g < 5; g++) {
		unsigned w = (unsigned)h[g * 4] << 24 | h[g * 4 + 1] << 16 | h[g * 4 + 2] << 8 | h[g * 4 + 3];
		len += snprintf(out + len, max - (size_t)len, zero_strip ? " %x" : " %08x", w);
		stripped = stripped || (zero_strip && w < 0x10000000u);
	}
	snprintf(out + len, max - (size_t)len, "\n");
	return stripped;
}

static void test_real_file(void)
{
	struct leapfile lf;
	struct leapfile_diag d;
	uint64_t at = 0;

	bool ok = leapfile_load(LEAPFILE_SAMPLE, &lf, &d);
	tap_ok(ok, "the IETF file from tzdata parses (%u: %s)", d.line, d.msg);
	tap_ok(lf.n == 28 && lf.e[0].tai_offset == 10 && lf.e[27].when == JAN2017 &&
	           lf.e[27].tai_offset == 37,
	       "28 entries, 10 s in 1972 to 37 s in 2017 (%zu entries)", lf.n);
	tap_ok(lf.updated == 3960835200u && lf.expires == 3991593600u, "update and expiry dates");
	tap_ok(leapfile_tai_offset(&lf, JAN2017 - 1) == 36 && leapfile_tai_offset(&lf, JAN2017) == 37,
	       "TAI-UTC is 36 s in the last second of 2016, 37 s from 2017");
	tap_ok(leapfile_pending(&lf, JAN2017 - 86400, &at) == 1 && at == JAN2017,
	       "a leap is announced (LI 1) from the start of 31 Dec 2016");
	tap_ok(leapfile_pending(&lf, JAN2017 - 1, NULL) == 1, "and until its last second");
	tap_ok(leapfile_pending(&lf, JAN2017 - 86401, NULL) == 0, "not the day before");
	tap_ok(leapfile_pending(&lf, JAN2017, NULL) == 0, "not once it has happened");
	tap_ok(leapfile_pending(&lf, 3991593600u + 86400 * 200, NULL) == 0, "nothing after the table");
	tap_ok(leapfile_expires_in(&lf, 3991593600u - 100) == 100 &&
	           leapfile_expires_in(&lf, 3991593600u + 5) == -5,
	       "seconds to expiry, negative once expired");
}

static void test_hash(void)
{
	char text[8192];
	struct leapfile lf;
	struct leapfile_diag d;
	FILE *f = fopen(LEAPFILE_SAMPLE, "r");
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;

	if (f)
		fclose(f);
	text[n] = '\0';
	char *p = strstr(text, "3692217600\t37");
	if (!p)
		p = strstr(text, "3692217600      37");
	tap_ok(p != NULL, "the 2017 entry is in the sample");
	if (p) {
		p[9] = '1'; /* 3692217601: one digit changed */
		tap_ok(!leapfile_parse(text, n, &lf, &d) && strstr(d.msg, "hash does not match"),
		       "one changed digit fails the hash: %s", d.msg);
		p[9] = '0';
		tap_ok(leapfile_parse(text, n, &lf, &d), "and the original passes again");
	}
	/* Find entries whose hash has a group under 0x10000000, printed
	 * without its leading zero as NIST does. */
	bool stripped = false;
	for (unsigned t = 3950000000u; !stripped && t < 3950000100u; t++) {
		char e[128];
		snprintf(e, sizeof(e), "3900000000\t30\n%u\t31\t# a comment 123\n", t);
		stripped = build(text, sizeof(text), e, true);
	}
	tap_ok(stripped && leapfile_parse(text, strlen(text), &lf, &d) && lf.n == 2,
	       "hash groups without leading zeros are read (%s)", d.msg);
	build(text, sizeof(text), "3900000000\t30\n3950000000\t31\t# a comment 123\n", false);
	tap_ok(leapfile_parse(text, strlen(text), &lf, &d), "and with them");
}

static void test_negative_leap(void)
{
	char text[4096];
	struct leapfile lf;
	struct leapfile_diag d;

	build(text, sizeof(text), "3900000000\t37\n3950000000\t36\n", false);
	tap_ok(leapfile_parse(text, strlen(text), &lf, &d), "a negative leap second parses");
	tap_ok(leapfile_pending(&lf, 3950000000u - 10, NULL) == -1, "and is announced as LI 2");
}

static void bad(const char *entries, const char *want, unsigned line, const char *what)
{
	char text[4096];
	struct leapfile lf;
	struct leapfile_diag d;

	build(text, sizeof(text), entries, false);
	bool ok = leapfile_parse(text, strlen(text), &lf, &d);
	tap_ok(!ok && strstr(d.msg, want) && d.line == line, "%s: line %u: %s", what, d.line, d.msg);
}

static void test_bad(void)
{
	char text[4096];
	struct leapfile lf;
	struct leapfile_diag d;

	bad("3900000000\t30\n3950000000\t32\n", "changes by 2 s", 4, "a 2 s step");
	bad("3950000000\t30\n3900000000\t31\n", "ascending", 4, "out of order");
	bad("3900000000\t30\nhello\n", "expected NTP seconds", 4, "a word");
	bad("3900000000\t30 xyz\n", "unexpected text", 3, "trailing text");
	bad("", "no leap second entries", 0, "no entries");
	const char *noh = "#$ 1\n#@ 2\n3900000000 30\n";
	const char *noat = "#$ 1\n3900000000 30\n#h 1 2 3 4 5\n";
	const char *shorth = "#$ 1\n#@ 2\n3900000000 30\n#h 1 2 3\n";
	tap_ok(!leapfile_parse(noh, strlen(noh), &lf, &d) && strstr(d.msg, "no #h"),
	       "a file without #h is refused: %s", d.msg);
	tap_ok(!leapfile_parse(noat, strlen(noat), &lf, &d) &&
	           strstr(d.msg, "no #@"),
	       "a file without #@ is refused: %s", d.msg);
	build(text, sizeof(text), "3900000000\t30\n", false);
	strcat(text, "3950000000\t31\n");
	tap_ok(!leapfile_parse(text, strlen(text), &lf, &d) && strstr(d.msg, "after the #h") &&
	           d.line == 5,
	       "an entry after #h is refused: %s", d.msg);
	tap_ok(!leapfile_parse(shorth, strlen(shorth), &lf, &d) &&
	           strstr(d.msg, "five groups"),
	       "a short #h is refused: %s", d.msg);
	tap_ok(!leapfile_load("/nonexistent/leap-seconds.list", &lf, &d) &&
	           strstr(d.msg, "No such file"),
	       "a missing file: %s", d.msg);
	char *big = calloc(1, LEAPFILE_MAX_SIZE + 2);
	tap_ok(big && !leapfile_parse(big, LEAPFILE_MAX_SIZE + 1, &lf, &d) && strstr(d.msg, "larger"),
	       "a file over %d bytes is refused", LEAPFILE_MAX_SIZE);
	free(big);
}

int main(void)
{
	if (!secret_init())
		return 1;
	test_real_file();
	test_hash();
	test_negative_leap();
	test_bad();
	return tap_done();
}
