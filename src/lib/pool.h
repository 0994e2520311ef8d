/* SPDX-License-Identifier: MIT */
/*
 * Object pools: the engine's connections and claims, the SPD's entries,
 * the SAD's entries and B+ tree nodes.  Starting 100 000 connections touches some 270 MB of fresh
 * memory, and in a virtual machine a fresh 4 KiB page costs more than the
 * work done in it; a pool takes its elements from a segmented array
 * (segarray.h) whose large segments are huge pages, so that the same start
 * takes a few hundred page faults instead of some seventy thousand (the
 * kernel bench: about 0.3 s of 1.8 s).  Elements never move; a put one is
 * reused first (last in, first out), and when the last one is put every
 * segment goes back at once.
 *
 * Under AddressSanitizer a pool is plain aligned_alloc() and free(), so
 * that a use after put is still caught; so every element must be put
 * before pool_fini().  Internal to liberoute.
 */
#ifndef EROUTE_POOL_H
#define EROUTE_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "segarray.h"

/* Defined when pools are aligned_alloc() and free() (AddressSanitizer
 * builds). */
#if defined(__SANITIZE_ADDRESS__)
#define POOL_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_PASSTHROUGH 1
#endif
#endif

struct pool {
	struct segarray seg;
	struct memacct mem;
	size_t esize;
	uint32_t top;		/* elements below were handed out once */
	void *free;		/* put elements, each naming the next in its
				 * first word */
	size_t used;		/* handed out and not put back */
};

/**
 * pool_init - an empty pool of @esize-byte elements (at least a pointer's
 *	size), which allocates nothing yet
 */
void pool_init(struct pool *p, size_t esize);

/**
 * pool_get - a zero-filled element, or NULL when out of memory
 */
void *pool_get(struct pool *p);

/**
 * pool_put - give @e (from pool_get() on @p, or NULL) back
 */
void pool_put(struct pool *p, void *e);

/**
 * pool_fini - release every segment; no element may be used afterwards
 */
void pool_fini(struct pool *p);

/**
 * pool_bytes - heap the pool holds now
 */
size_t pool_bytes(const struct pool *p);

#endif
