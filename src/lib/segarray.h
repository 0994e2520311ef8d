/* SPDX-License-Identifier: MIT */
/*
 * A growable array whose elements never move.  Segment 0 holds 2^b0
 * elements and segment k >= 1 the 2^(b0+k-1) elements that double the
 * capacity, so growing allocates one segment and copies nothing: no insert
 * ever pays for the elements already stored, and a pointer to an element
 * stays valid until its segment is released.  Finding an element is a few
 * instructions: the bit length of the index picks the segment.
 *
 * Every byte the array allocates is counted in the owner's struct memacct,
 * so that containers built on it can report their heap use exactly.
 * Internal to liberoute.
 */
#ifndef EROUTE_SEGARRAY_H
#define EROUTE_SEGARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Heap in use by a container now, and its high-water mark. */
struct memacct {
	size_t bytes, peak;
};

void *memacct_alloc(struct memacct *m, size_t size);
void *memacct_calloc(struct memacct *m, size_t size);
void memacct_free(struct memacct *m, void *p, size_t size);

/* Enough segments for 2^31 elements from b0 = 1. */
#define SEGARRAY_MAX 31

struct segarray {
	/* Segment k's address minus (its first index * esize), so that an
	 * element's address is base[k] + i * esize whatever k is. */
	uintptr_t base[SEGARRAY_MAX];
	uint32_t esize;
	uint8_t b0;   /* log2 of segment 0's length, >= 1 */
	uint8_t nseg; /* segments allocated */
	bool zero;    /* new segments are zero-filled */
};

/**
 * segarray_init - an empty array of @esize-byte elements, first segment
 *	2^@b0 long (@b0 >= 1); @zero: new segments come zero-filled
 */
void segarray_init(struct segarray *a, uint32_t esize, unsigned b0, bool zero);

/**
 * segarray_capacity - elements the allocated segments hold
 */
static inline uint32_t
segarray_capacity(const struct segarray *a)
{
	return a->nseg == 0 ? 0 : 1u << (a->b0 + a->nseg - 1);
}

/**
 * segarray_at_fixed - segarray_at() for an array whose @b0 and @esize the
 *	caller knows at compile time (they must be the array's): fewer
 *	instructions on hot paths
 */
static inline void *
segarray_at_fixed(const struct segarray *a, uint32_t i, unsigned b0,
                  size_t esize)
{
	unsigned k = 32 - (unsigned)__builtin_clz(i | ((1u << b0) - 1)) - b0;

	return (void *)(a->base[k] + (uintptr_t)i * esize);
}

/**
 * segarray_at - the element at @i (i < capacity)
 */
static inline void *
segarray_at(const struct segarray *a, uint32_t i)
{
	return segarray_at_fixed(a, i, a->b0, a->esize);
}

/**
 * segarray_grow - add one segment (doubling the capacity)
 *
 * Return: 0, or -ENOMEM (nothing changed).
 */
int segarray_grow(struct segarray *a, struct memacct *m);

/**
 * segarray_shrink - release the last segment (halving the capacity)
 */
void segarray_shrink(struct segarray *a, struct memacct *m);

/**
 * segarray_fini - release every segment
 */
void segarray_fini(struct segarray *a, struct memacct *m);

/**
 * segarray_mapped_bytes - bytes of the large segments mapped now, over
 *	every array of the process: memory malloc's statistics do not see
 */
size_t segarray_mapped_bytes(void);

#endif
