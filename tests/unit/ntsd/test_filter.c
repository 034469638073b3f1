/* filter: min-delay pick, newest-of-equals, popcorn spike suppression, a
 * persistent step accepted, misses raise the dispersion, step shifting. */
#include "ntsd/filter.h"

#include <math.h>
#include <stdio.h>

#include "tap.h"

#define MS 1e-3

int main(void)
{
	struct filter f;

	/* min-delay pick: the low-delay sample wins over later high-delay ones */
	filter_init(&f);
	tap_ok(filter_disp(&f, 0) == FILTER_MAXDISP, "empty filter: MAXDISP");
	tap_ok(filter_add(&f, 1.0 * MS, 10 * MS, 1e-6, 0, 0), "first sample is an output");
	tap_ok(f.offset == 1.0 * MS && f.delay == 10 * MS, "output is the first sample");
	filter_add(&f, 0.9 * MS, 10 * MS, 1e-6, 0, 64);
	bool out = filter_add(&f, 5.0 * MS, 80 * MS, 1e-6, 0, 128); /* a congested exchange */
	tap_ok(!out && fabs(f.offset - 0.9 * MS) < 1e-12, "high-delay sample not chosen (offset %.3f ms)",
	       f.offset / MS);
	out = filter_add(&f, 1.1 * MS, 10.1 * MS, 1e-6, 0, 192);
	tap_ok(out && fabs(f.offset - 1.1 * MS) < 1e-12, "newest of the near-minimum delays is chosen");
	tap_ok(f.jitter > 0 && f.jitter < 3 * MS, "jitter from the stage offsets (%.3f ms)", f.jitter / MS);
	tap_ok(f.count == 4, "4 valid stages (%d)", f.count);

	/* 8 stages only: the min-delay sample ages out */
	filter_init(&f);
	filter_add(&f, 0, 1 * MS, 0, 0, 0);
	for (int i = 1; i <= 7; i++)
		filter_add(&f, 0, 20 * MS + i * MS, 0, 0, i * 16.0);
	tap_ok(f.delay == 1 * MS, "min delay held while in the register");
	filter_add(&f, 0, 30 * MS, 0, 0, 8 * 16.0);
	tap_ok(f.delay > 1 * MS, "min delay left after 8 newer samples (%.1f ms)", f.delay / MS);

	/* popcorn spike: one outlier far beyond 3 x jitter is suppressed */
	filter_init(&f);
	for (int i = 0; i < 8; i++)
		filter_add(&f, (i % 2 ? 0.1 : -0.1) * MS, 10 * MS, 1e-6, 0, i * 16.0);
	double before = f.offset;
	out = filter_add(&f, 50 * MS, 10 * MS, 1e-6, 0, 8 * 16.0);
	tap_ok(!out && f.offset == before, "popcorn spike of 50 ms suppressed");
	tap_ok(f.nspikes == 1, "spike counted (%lu)", f.nspikes);
	/* a step that persists is accepted at the third sample */
	out = filter_add(&f, 50.1 * MS, 10 * MS, 1e-6, 0, 9 * 16.0);
	tap_ok(!out, "second spike suppressed too");
	out = filter_add(&f, 49.9 * MS, 10 * MS, 1e-6, 0, 10 * 16.0);
	tap_ok(out && fabs(f.offset - 49.9 * MS) < 1e-12, "a persistent step is followed (3rd sample)");

	/* misses: dispersion grows at the next sample */
	filter_init(&f);
	filter_add(&f, 0, 10 * MS, 1e-6, 0, 0);
	filter_add(&f, 0, 10 * MS, 1e-6, 0, 16);
	double d0 = f.disp;
	filter_miss(&f);
	filter_miss(&f);
	filter_add(&f, 0, 10 * MS, 1e-6, 0, 64);
	tap_ok(f.disp > d0 + 1, "missed polls raise the filter dispersion (%.3f -> %.3f s)", d0, f.disp);
	tap_ok(filter_disp(&f, 64 + 1000) > filter_disp(&f, 64), "dispersion ages with PHI");

	/* a clock step moves stored offsets and times */
	filter_init(&f);
	filter_add(&f, 0.5, 10 * MS, 1e-6, 0, 100);
	filter_clock_stepped(&f, 0.5);
	tap_ok(fabs(f.offset) < 1e-12 && fabs(f.t - 100.5) < 1e-12 && fabs(f.st[0].offset) < 1e-12,
	       "step: offsets -0.5 s, times +0.5 s");
	return tap_done();
}
