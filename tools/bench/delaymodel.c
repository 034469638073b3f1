/* xoshiro256** seeded through splitmix64 (Blackman and Vigna): small, fast
 * and the same on every platform, so a seed is a reproducible delay
 * sequence. */
#include "tools/bench/delaymodel.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next(struct dm_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* Uniform in (0, 1): never 0, so log() is finite. */
static double uniform(struct dm_rng *r)
{
	return ((double)(next(r) >> 11) + 0.5) * 0x1.0p-53;
}

void dm_seed(struct dm_rng *r, uint64_t seed, unsigned direction)
{
	uint64_t x = seed * 2 + direction;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

double dm_draw(const struct dm_dist *d, struct dm_rng *r, bool *outlier)
{
	/* Always four draws: the i-th datagram's delay depends only on i. */
	double u1 = uniform(r), u2 = uniform(r), u3 = uniform(r), u4 = uniform(r);
	double g = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2), x = -log(u3), v;

	switch (d->kind) {
	case DM_GAUSS:
		v = d->a + d->b * g;
		break;
	case DM_EXP:
		v = d->a + d->b * x;
		break;
	case DM_GEXP:
		v = d->a + d->b * g + d->c * x;
		break;
	default:
		v = d->a;
		break;
	}
	bool out = u4 < d->outlier_p;
	if (out)
		v += d->outlier_size;
	if (outlier)
		*outlier = out;
	return v > 0 ? v : 0;
}

/* A non-negative number after the separator sep at *p; advances *p. */
static bool num(const char **p, char sep, double *v)
{
	char *end;

	if (**p != sep)
		return false;
	errno = 0;
	*v = strtod(*p + 1, &end);
	if (end == *p + 1 || errno || !isfinite(*v) || *v < 0)
		return false;
	*p = end;
	return true;
}

bool dm_parse(const char *spec, struct dm_dist *d, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		enum dm_kind kind;
		int nargs;
	} kinds[] = { { "fixed", DM_FIXED, 1 },
		      { "gauss", DM_GAUSS, 2 },
		      { "exp", DM_EXP, 2 },
		      { "gexp", DM_GEXP, 3 } };
	const char *p = spec + strcspn(spec, ",");
	size_t kl = (size_t)(p - spec);
	int k = -1;
	double *args[3] = { &d->a, &d->b, &d->c };

	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].name) == kl && !strncmp(spec, kinds[i].name, kl))
			k = (int)i;
	if (k < 0) {
		snprintf(err, errlen,
		         "%s: unknown model; use fixed,MS gauss,MEAN,SD exp,BASE,MEAN or "
		         "gexp,MEAN,SD,EXPMEAN",
		         spec);
		return false;
	}
	d->kind = kinds[k].kind;
	for (int i = 0; i < kinds[k].nargs; i++)
		if (!num(&p, ',', args[i])) {
			snprintf(err, errlen, "%s: expected %d non-negative numbers (ms) after '%s'", spec,
			         kinds[k].nargs, kinds[k].name);
			return false;
		}
	if (*p && (strncmp(p, ",outlier", 8) != 0 || (p += 8, !num(&p, '=', &d->outlier_p)) ||
	           !num(&p, ':', &d->outlier_size) || *p || d->outlier_p > 1)) {
		snprintf(err, errlen, "%s: after the model only ,outlier=P:MS (0 <= P <= 1) may follow",
		         spec);
		return false;
	}
	for (int i = 0; i < 3; i++)
		*args[i] *= 1e-3;
	d->outlier_size *= 1e-3;
	return true;
}
