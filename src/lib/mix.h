/* SPDX-License-Identifier: MIT */
/*
 * The finaliser of liberoute's hashes: a bijection of 32-bit values
 * (MurmurHash3's fmix32) that spreads every input bit over the low bits,
 * which pick a bucket.  The classifier's SIMD path (classify_simd.c) uses
 * the same constants.  Internal to liberoute.
 */
#ifndef EROUTE_MIX_H
#define EROUTE_MIX_H

#include <stdint.h>

static inline uint32_t
er_mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

#endif
