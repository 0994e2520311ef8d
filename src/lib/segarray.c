// SPDX-License-Identifier: MIT
/*
 * Segmented arrays and the byte counter they report to.  Zero-filled
 * segments come from calloc(), which gets fresh pages from the kernel for
 * large sizes instead of clearing them, so even a segment of millions of
 * elements is allocated in constant time; the others are 64-byte aligned
 * so that an element of a cache line's size sits in one line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "segarray.h"

void *
memacct_alloc(struct memacct *m, size_t size)
{
	/* aligned_alloc() wants a multiple of the alignment. */
	void *p = aligned_alloc(64, (size + 63) & ~(size_t)63);

	if (p != NULL) {
		m->bytes += size;
		if (m->bytes > m->peak)
			m->peak = m->bytes;
	}
	return p;
}

void *
memacct_calloc(struct memacct *m, size_t size)
{
	void *p = calloc(1, size);

	if (p != NULL) {
		m->bytes += size;
		if (m->bytes > m->peak)
			m->peak = m->bytes;
	}
	return p;
}

void
memacct_free(struct memacct *m, void *p, size_t size)
{
	if (p == NULL)
		return;
	m->bytes -= size;
	free(p);
}

void
segarray_init(struct segarray *a, uint32_t esize, unsigned b0, bool zero)
{
	memset(a, 0, sizeof(*a));
	a->esize = esize;
	a->b0 = (uint8_t)(b0 < 1 ? 1 : b0);
	a->zero = zero;
}

/* First index and length of segment @k. */
static uint32_t
seg_start(const struct segarray *a, unsigned k)
{
	return k == 0 ? 0 : 1u << (a->b0 + k - 1);
}

static uint32_t
seg_len(const struct segarray *a, unsigned k)
{
	return k == 0 ? 1u << a->b0 : 1u << (a->b0 + k - 1);
}

/* Segments this large are mapped on their own, aligned to and advised as
 * huge pages: lookups in big arrays then miss the TLB far less.  Mapped
 * memory reads as zero, and the kernel fills it as it is first touched,
 * so even these cost no time proportional to their size up front. */
#define SEG_HUGE (2u << 20)

/* Every array's mapped segments, for segarray_mapped_bytes(). */
static size_t mapped_bytes;

size_t
segarray_mapped_bytes(void)
{
	return __atomic_load_n(&mapped_bytes, __ATOMIC_RELAXED);
}

static void *
seg_mem_alloc(struct memacct *m, size_t size, bool zero)
{
	uint8_t *p, *q;
	size_t len;

	if (size < SEG_HUGE)
		return zero ? memacct_calloc(m, size) : memacct_alloc(m, size);
	len = size + SEG_HUGE;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	         -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	q = (uint8_t *)(((uintptr_t)p + SEG_HUGE - 1) &
	                ~(uintptr_t)(SEG_HUGE - 1));
	if (q > p)
		munmap(p, (size_t)(q - p));
	if (q + size < p + len)
		munmap(q + size, (size_t)(p + len - (q + size)));
	madvise(q, size, MADV_HUGEPAGE);
	__atomic_add_fetch(&mapped_bytes, size, __ATOMIC_RELAXED);
	m->bytes += size;
	if (m->bytes > m->peak)
		m->peak = m->bytes;
	return q;
}

static void
seg_mem_free(struct memacct *m, void *p, size_t size)
{
	if (size < SEG_HUGE) {
		memacct_free(m, p, size);
		return;
	}
	m->bytes -= size;
	__atomic_sub_fetch(&mapped_bytes, size, __ATOMIC_RELAXED);
	munmap(p, size);
}

int
segarray_grow(struct segarray *a, struct memacct *m)
{
	unsigned k = a->nseg;
	size_t size;
	void *p;

	if (k >= SEGARRAY_MAX || a->b0 + k > 31)
		return -ENOMEM;
	size = (size_t)seg_len(a, k) * a->esize;
	p = seg_mem_alloc(m, size, a->zero);
	if (p == NULL)
		return -ENOMEM;
	a->base[k] = (uintptr_t)p - (uintptr_t)seg_start(a, k) * a->esize;
	a->nseg++;
	return 0;
}

void
segarray_shrink(struct segarray *a, struct memacct *m)
{
	unsigned k;

	if (a->nseg == 0)
		return;
	k = --a->nseg;
	seg_mem_free(
	        m, (void *)(a->base[k] + (uintptr_t)seg_start(a, k) * a->esize),
	        (size_t)seg_len(a, k) * a->esize);
	a->base[k] = 0;
}

void
segarray_fini(struct segarray *a, struct memacct *m)
{
	while (a->nseg > 0)
		segarray_shrink(a, m);
}
