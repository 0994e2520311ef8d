/* SPDX-License-Identifier: MIT */
/*
 * An intrusive hash table: the SAD's index by SA id and the engine's by
 * reqid, selector and route.  The engine's trees cost a cache miss per
 * level: at 100 000 connections an insert and its lookups walk some twenty
 * nodes spread over the heap, and a connection does several.  A chained
 * hash costs one or two.
 *
 * Linear hashing: one bucket splits at a time once nodes outnumber
 * buckets, and one merges back when they fall under a quarter, so no
 * insert or delete rehashes the table; the buckets are a segmented array
 * (segarray.h), so growing copies nothing either.  A node keeps its hash,
 * so that a split needs no callback and a walk compares keys only when
 * the hashes agree.  Lookups walk one chain and compare keys themselves:
 *
 *	for (n = lhash_chain(&h, hv); n != NULL; n = n->next)
 *		if (n->hash == hv && key_equal(...))
 *
 * A table always has its first buckets (from lhash_init()), so that a
 * lookup takes no branch for an empty one.  Internal to liberoute.
 */
#ifndef EROUTE_LHASH_H
#define EROUTE_LHASH_H

#include <stddef.h>
#include <stdint.h>

#include "mix.h"
#include "segarray.h"

/* The struct of @type whose @member is at @ptr. */
#define lhash_entry(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Buckets at first (log2). */
#define LHASH_LEVEL_MIN 4

struct lhash_node {
	struct lhash_node *next;
	uint32_t hash;
};

struct lhash {
	struct segarray buckets;	/* struct lhash_node * each */
	struct memacct mem;
	uint32_t lomask, split;
	size_t count;
};

/**
 * lhash_init - an empty table with its first buckets
 *
 * Return: 0, or -ENOMEM (then only lhash_fini() may be called).
 */
int lhash_init(struct lhash *h);

/**
 * lhash_fini - release the buckets; the nodes are the caller's
 */
void lhash_fini(struct lhash *h);

/**
 * lhash_insert - add @n under @hash (out of memory only makes the chains
 *	longer)
 */
void lhash_insert(struct lhash *h, struct lhash_node *n, uint32_t hash);

/**
 * lhash_remove - take @n (which is in @h) out
 */
void lhash_remove(struct lhash *h, struct lhash_node *n);

/**
 * lhash_bucket - where the chain that holds @hash's nodes starts (for
 *	prefetching it); the chain holds other hashes too
 */
static inline struct lhash_node *const *
lhash_bucket(const struct lhash *h, uint32_t hash)
{
	uint32_t b = hash & h->lomask;

	if (b < h->split)
		b = hash & (h->lomask << 1 | 1);
	return segarray_at_fixed(&h->buckets, b, LHASH_LEVEL_MIN,
				 sizeof(struct lhash_node *));
}

/**
 * lhash_chain - the first node of the chain that holds @hash's nodes, or
 *	NULL
 */
static inline struct lhash_node *
lhash_chain(const struct lhash *h, uint32_t hash)
{
	return *lhash_bucket(h, hash);
}

/**
 * lhash_drain - empty @h in one pass over its buckets, handing every node
 *	to @fn once it is out (@fn may free it)
 */
void lhash_drain(struct lhash *h, void (*fn)(struct lhash_node *, void *),
		 void *arg);

#endif
