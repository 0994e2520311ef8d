/* SPDX-License-Identifier: MIT */
/*
 * Randomness passed in.  liberoute never reads /dev/urandom or the clock:
 * the caller seeds an er_rng (the daemon from getrandom(), tests from a
 * constant) so that every decision can be replayed.  splitmix64 seeding into
 * xoshiro256**: fast, well distributed, not cryptographic -- SPIs need to be
 * unpredictable to off-path attackers only as much as the seed is.
 */
#ifndef EROUTE_RNG_H
#define EROUTE_RNG_H

#include <stdint.h>

#pragma GCC visibility push(default)

struct er_rng {
	uint64_t s[4];
};

/**
 * er_rng_init - seed a generator; the same seed gives the same sequence
 */
void er_rng_init(struct er_rng *rng, uint64_t seed);

/**
 * er_rng_next - next 64 random bits
 */
uint64_t er_rng_next(struct er_rng *rng);

/**
 * er_rng_range - uniform value in [lo, hi] (inclusive, lo <= hi), no modulo bias
 */
uint64_t er_rng_range(struct er_rng *rng, uint64_t lo, uint64_t hi);

#pragma GCC visibility pop

#endif
