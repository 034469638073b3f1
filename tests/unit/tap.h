/* Minimal TAP producer for unit tests. Each check prints "ok N - name" or
 * "not ok N - name"; tap_done() prints the plan and returns the exit code.
 * A test binary that checks nothing fails (plan 0 is an error here). */
#ifndef NTSD_TESTS_TAP_H
#define NTSD_TESTS_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3))) static inline bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;
	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 1, 2))) static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline int tap_done(void)
{
	if (tap_n == 0) {
		printf("not ok 1 - no checks ran\n1..1\n");
		return 1;
	}
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
