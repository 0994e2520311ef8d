/* SPDX-License-Identifier: MIT */
/*
 * An intrusive hash table for the engine's indexes (reqids, routes).  The
 * engine's trees cost a cache miss per level: at 100 000 connections an
 * insert and its lookups walk some twenty nodes spread over the heap, and
 * a connection does several.  A chained hash costs one or two.
 *
 * Linear hashing, as the SAD's (sad.c): one bucket splits at a time once
 * entries outnumber buckets, and one merges back when they fall under a
 * quarter, so no insert or delete rehashes the table.  A node keeps its
 * hash, so that a split needs no callback.  Lookups walk one chain and
 * compare keys themselves:
 *
 *	for (n = lhash_chain(&h, hv); n != NULL; n = n->next)
 *		if (n->hash == hv && key_equal(...))
 *
 * Internal to liberoute.
 */
#ifndef EROUTE_LHASH_H
#define EROUTE_LHASH_H

#include <stddef.h>
#include <stdint.h>

#include "segarray.h"

/* The struct of @type whose @member is at @ptr. */
#define lhash_entry(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

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
 * lhash_init - an empty table (its first buckets come with the first
 *	insert)
 */
void lhash_init(struct lhash *h);

/**
 * lhash_fini - release the buckets; the nodes are the caller's
 */
void lhash_fini(struct lhash *h);

/**
 * lhash_insert - add @n under @hash
 *
 * Return: 0, or -ENOMEM when the table has no buckets at all and cannot
 * get its first ones (later, running out of memory only makes the chains
 * longer).
 */
int lhash_insert(struct lhash *h, struct lhash_node *n, uint32_t hash);

/**
 * lhash_remove - take @n (which is in @h) out
 */
void lhash_remove(struct lhash *h, struct lhash_node *n);

/**
 * lhash_chain - the first node of the chain that holds @hash's nodes, or
 *	NULL; the chain holds other hashes too
 */
struct lhash_node *lhash_chain(const struct lhash *h, uint32_t hash);

/**
 * lhash_drain - empty @h in one pass over its buckets, handing every node
 *	to @fn once it is out (@fn may free it)
 */
void lhash_drain(struct lhash *h, void (*fn)(struct lhash_node *, void *),
		 void *arg);

/**
 * lhash_mix - spread the bits of a weak hash (FNV and the like) over the
 *	low ones, which pick the bucket
 */
static inline uint32_t
lhash_mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

#endif
