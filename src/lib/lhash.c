// SPDX-License-Identifier: MIT
/*
 * Linear hashing over a segmented bucket array (lhash.h): growing
 * allocates one segment and moves nothing.
 */

#include "lhash.h"

/* The last split that still fits the 32-bit bucket numbers. */
#define LOMASK_MAX (1u << 29)

int
lhash_init(struct lhash *h)
{
	segarray_init(&h->buckets, sizeof(struct lhash_node *), LHASH_LEVEL_MIN,
		      true);
	h->mem.bytes = h->mem.peak = 0;
	h->lomask = (1u << LHASH_LEVEL_MIN) - 1;
	h->split = 0;
	h->count = 0;
	return segarray_grow(&h->buckets, &h->mem);
}

void
lhash_fini(struct lhash *h)
{
	segarray_fini(&h->buckets, &h->mem);
	h->count = 0;
}

/* Bucket @b (< nbuckets()), to change. */
static struct lhash_node **
bucket_at(const struct lhash *h, uint32_t b)
{
	return segarray_at_fixed(&h->buckets, b, LHASH_LEVEL_MIN,
				 sizeof(struct lhash_node *));
}

/* The bucket of @hash, to change. */
static struct lhash_node **
bucket_of_hash(const struct lhash *h, uint32_t hash)
{
	return (struct lhash_node **)(uintptr_t)lhash_bucket(h, hash);
}

static uint32_t
nbuckets(const struct lhash *h)
{
	return h->lomask + 1 + h->split;
}

/* Split the next bucket in turn once nodes outnumber buckets. */
static void
grow(struct lhash *h)
{
	uint32_t nb = nbuckets(h), bit = h->lomask + 1;
	struct lhash_node **lo, **hi, *n, *next;

	if (h->count <= nb || h->lomask >= LOMASK_MAX)
		return;
	if (nb >= segarray_capacity(&h->buckets) &&
	    segarray_grow(&h->buckets, &h->mem) < 0)
		return;
	lo = bucket_at(h, h->split);
	hi = bucket_at(h, h->split + bit);
	n = *lo;
	*lo = *hi = NULL;
	for (; n != NULL; n = next) {
		struct lhash_node **to = n->hash & bit ? hi : lo;

		next = n->next;
		n->next = *to;
		*to = n;
	}
	if (++h->split == bit) {
		h->lomask = h->lomask << 1 | 1;
		h->split = 0;
	}
}

/* Merge the last bucket back once nodes fall under a quarter of them. */
static void
shrink(struct lhash *h)
{
	uint32_t nb = nbuckets(h);
	struct lhash_node **from, **to, *n;

	if (nb <= 1u << LHASH_LEVEL_MIN || h->count * 4 >= nb)
		return;
	if (h->split == 0) {
		h->lomask >>= 1;
		h->split = h->lomask + 1;
	}
	h->split--;
	from = bucket_at(h, h->split + h->lomask + 1);
	to = bucket_at(h, h->split);
	if (*from != NULL) {
		for (n = *from; n->next != NULL; n = n->next)
			;
		n->next = *to;
		*to = *from;
		*from = NULL;
	}
	if (h->buckets.nseg > 1 &&
	    nb - 1 <= segarray_capacity(&h->buckets) / 2)
		segarray_shrink(&h->buckets, &h->mem);
}

void
lhash_insert(struct lhash *h, struct lhash_node *n, uint32_t hash)
{
	struct lhash_node **b = bucket_of_hash(h, hash);

	n->hash = hash;
	n->next = *b;
	*b = n;
	h->count++;
	grow(h);
}

/* Back to the first segment and its buckets, all empty. */
static void
reset(struct lhash *h)
{
	while (h->buckets.nseg > 1)
		segarray_shrink(&h->buckets, &h->mem);
	h->lomask = (1u << LHASH_LEVEL_MIN) - 1;
	h->split = 0;
	h->count = 0;
}

void
lhash_remove(struct lhash *h, struct lhash_node *n)
{
	struct lhash_node **p = bucket_of_hash(h, n->hash);

	while (*p != n)
		p = &(*p)->next;
	*p = n->next;
	n->next = NULL;
	if (--h->count > 0) {
		shrink(h);
		return;
	}
	/* Empty: as new at once (a few frees). */
	reset(h);
}

void
lhash_drain(struct lhash *h, void (*fn)(struct lhash_node *, void *),
	    void *arg)
{
	uint32_t nb = nbuckets(h);

	/* Not even the first buckets: lhash_init() failed. */
	if (h->buckets.nseg == 0)
		return;
	for (uint32_t b = 0; b < nb; b++) {
		struct lhash_node **p = bucket_at(h, b), *n, *next;

		n = *p;
		*p = NULL;
		for (; n != NULL; n = next) {
			next = n->next;
			n->next = NULL;
			fn(n, arg);
		}
	}
	reset(h);
}
