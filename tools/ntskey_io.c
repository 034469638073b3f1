/* ntskey's output: messages and files (through secfile_write). */
#include "config.h"

#include "tools/ntskey.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "crypto/secfile.h"

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

/* Test hook: NTSKEY_TEST_WRITE_DELAY_MS pauses with the new file complete
 * but not yet linked, so a test can kill ntskey at the worst moment. */
static void test_pause(const char *path, void *arg)
{
	const char *v = getenv("NTSKEY_TEST_WRITE_DELAY_MS");
	char *end;
	unsigned long ms;

	(void)arg;
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
	return secfile_write_hook(path, data, len, overwrite, test_pause, NULL);
}
