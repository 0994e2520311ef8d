/* SPDX-License-Identifier: MIT */
/*
 * Room for one more element in an array that is built by appending and
 * doubles when full: the lists liberoute collects on its way (ids to
 * visit, selectors settled, events read, policies batched).  Internal to
 * liberoute and its kernel backends.
 */
#ifndef EROUTE_GROW_H
#define EROUTE_GROW_H

#include <stdlib.h>

/* The capacity after @cap: twice it, or @first for an empty array. */
static inline size_t
er_grow_cap(size_t cap, size_t first)
{
	return cap != 0 ? cap * 2 : first;
}

/*
 * er_grow - @v, an array of *@cap elements of @size bytes with @n in use,
 *	with room for one more: @v itself when n < *cap, else @v reallocated
 *	to er_grow_cap(*cap, @first) elements and *cap updated.  NULL when
 *	out of memory; @v and *cap are then unchanged.
 */
static inline void *
er_grow(void *v, size_t *cap, size_t n, size_t size, size_t first)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return v;
	ncap = er_grow_cap(*cap, first);
	nv = reallocarray(v, ncap, size);
	if (nv != NULL)
		*cap = ncap;
	return nv;
}

#endif
