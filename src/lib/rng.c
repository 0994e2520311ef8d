// SPDX-License-Identifier: MIT
/* er_rng: xoshiro256** seeded through splitmix64. */
#include "eroute/rng.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
er_rng_init(struct er_rng *rng, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&seed);
}

uint64_t
er_rng_next(struct er_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t
er_rng_range(struct er_rng *rng, uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo;
	uint64_t limit, x;

	if (span == UINT64_MAX)
		return er_rng_next(rng);
	span++;
	/* Reject the top partial bucket so every value is equally likely. */
	limit = UINT64_MAX - (UINT64_MAX % span);
	do {
		x = er_rng_next(rng);
	} while (x >= limit);
	return lo + x % span;
}
