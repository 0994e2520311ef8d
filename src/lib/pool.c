// SPDX-License-Identifier: MIT
/* Object pools over segmented arrays (pool.h). */
#include <stdlib.h>
#include <string.h>

#include "pool.h"

/* The first segment holds 2^4 elements; each next one doubles. */
#define POOL_B0 4

void
pool_init(struct pool *p, size_t esize)
{
	if (esize < sizeof(void *))
		esize = sizeof(void *);
	/* Whole words, so that every element is aligned as malloc's are
	 * for the structs kept here; segments are 64-byte aligned, so
	 * elements of a multiple of 64 bytes are too. */
	esize = (esize + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
	memset(p, 0, sizeof(*p));
	p->esize = esize;
	segarray_init(&p->seg, (uint32_t)esize, POOL_B0, false);
}

void *
pool_get(struct pool *p)
{
	void *e;

#ifdef POOL_PASSTHROUGH
	/* As aligned as a segment's elements can be. */
	e = aligned_alloc(64, (p->esize + 63) & ~(size_t)63);
	if (e != NULL)
		memset(e, 0, p->esize);
#else
	if (p->free != NULL) {
		e = p->free;
		memcpy(&p->free, e, sizeof(p->free));
	} else {
		if (p->top == UINT32_MAX ||
		    (p->top >= segarray_capacity(&p->seg) &&
		     segarray_grow(&p->seg, &p->mem) < 0))
			return NULL;
		e = segarray_at(&p->seg, p->top++);
	}
	memset(e, 0, p->esize);
#endif
	if (e != NULL)
		p->used++;
	return e;
}

void
pool_put(struct pool *p, void *e)
{
	if (e == NULL)
		return;
	p->used--;
#ifdef POOL_PASSTHROUGH
	free(e);
#else
	memcpy(e, &p->free, sizeof(p->free));
	p->free = e;
	if (p->used == 0)
		pool_fini(p);
#endif
}

void
pool_fini(struct pool *p)
{
	segarray_fini(&p->seg, &p->mem);
	p->top = 0;
	p->free = NULL;
}

size_t
pool_bytes(const struct pool *p)
{
#ifdef POOL_PASSTHROUGH
	return p->used * p->esize;
#else
	return p->mem.bytes;
#endif
}
