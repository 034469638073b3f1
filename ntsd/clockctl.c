/* The real clock (clock_adjtime) and the read-only recorder. The real one
 * is never called by tests: they use clockctl_readonly or the simulator. */
#include "config.h"

#include "ntsd/clockctl.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

static double rt_now(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int real_step(void *arg, double offset)
{
	struct timex tx = {.modes = ADJ_SETOFFSET | ADJ_NANO};
	double sec = floor(offset);

	(void)arg;
	tx.time.tv_sec = (time_t)sec;
	tx.time.tv_usec = (long)((offset - sec) * 1e9); /* ns with ADJ_NANO, in [0, 1e9) */
	if (tx.time.tv_usec >= 1000000000L) {
		tx.time.tv_sec++;
		tx.time.tv_usec -= 1000000000L;
	}
	return clock_adjtime(CLOCK_REALTIME, &tx) < 0 ? -1 : 0;
}

static int real_slew(void *arg, double offset)
{
	/* adjtime() semantics: ADJ_OFFSET_SINGLESHOT slews at 500 us/s and
	 * replaces the outstanding adjustment. Units: microseconds. */
	struct timex tx = {.modes = ADJ_OFFSET_SINGLESHOT};

	(void)arg;
	if (fabs(offset) > 2000.0) {
		errno = ERANGE;
		return -1;
	}
	tx.offset = lround(offset * 1e6);
	return clock_adjtime(CLOCK_REALTIME, &tx) < 0 ? -1 : 0;
}

static int real_set_freq(void *arg, double ppm)
{
	/* ADJ_FREQUENCY is in ppm with a 16-bit fraction (scaled ppm). The
	 * kernel PLL is left off (STA_PLL clear) so it does not fight us. */
	struct timex tx = {.modes = ADJ_FREQUENCY | ADJ_STATUS};

	(void)arg;
	if (!(fabs(ppm) <= CLOCKCTL_MAX_FREQ_PPM)) {
		errno = ERANGE;
		return -1;
	}
	tx.freq = lround(ppm * 65536.0);
	tx.status = 0;
	return clock_adjtime(CLOCK_REALTIME, &tx) < 0 ? -1 : 0;
}

static double real_get_freq(void *arg)
{
	struct timex tx = {.modes = 0};

	(void)arg;
	if (clock_adjtime(CLOCK_REALTIME, &tx) < 0)
		return 0;
	return tx.freq / 65536.0;
}

void clockctl_real(struct clockctl_ops *ops)
{
	*ops = (struct clockctl_ops){
		.now = rt_now,
		.step = real_step,
		.slew = real_slew,
		.set_freq = real_set_freq,
		.get_freq = real_get_freq,
		.arg = NULL,
	};
}

static int ro_step(void *arg, double offset)
{
	struct clockctl_readonly *ro = arg;

	ro->last_step = offset;
	ro->steps++;
	return 0;
}

static int ro_slew(void *arg, double offset)
{
	struct clockctl_readonly *ro = arg;

	ro->last_slew = offset;
	ro->slews++;
	return 0;
}

static int ro_set_freq(void *arg, double ppm)
{
	struct clockctl_readonly *ro = arg;

	if (!(fabs(ppm) <= CLOCKCTL_MAX_FREQ_PPM)) {
		errno = ERANGE;
		return -1;
	}
	ro->freq_ppm = ppm;
	ro->freq_sets++;
	return 0;
}

static double ro_get_freq(void *arg)
{
	return ((struct clockctl_readonly *)arg)->freq_ppm;
}

void clockctl_readonly_init(struct clockctl_readonly *ro, struct clockctl_ops *ops)
{
	memset(ro, 0, sizeof(*ro));
	*ops = (struct clockctl_ops){
		.now = rt_now,
		.step = ro_step,
		.slew = ro_slew,
		.set_freq = ro_set_freq,
		.get_freq = ro_get_freq,
		.arg = ro,
	};
}
