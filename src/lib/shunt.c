// SPDX-License-Identifier: MIT
/*
 * The bare-shunt table: a red-black tree keyed by selector, and a second
 * one of the shunts that expire, by (expiry, selector), so that expiry
 * and the next deadline cost the shunts that are due, not the table (an
 * acquire storm leaves one per failed peer).  Expiry saves each successor
 * before it frees (reference 003).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eroute/shunt.h"

#include "compat/tree.h"

struct shunt_entry {
	struct er_shunt s;
	uint32_t priority;
	RB_ENTRY(shunt_entry) link;
	RB_ENTRY(shunt_entry) by_expiry;	/* when s.expires != 0 */
};

RB_HEAD(shunt_tree, shunt_entry);
RB_HEAD(shunt_expiry_tree, shunt_entry);

struct er_shunt_table {
	struct shunt_tree tree;
	struct shunt_expiry_tree expiring;
	size_t count;
};

static int
entry_cmp(const struct shunt_entry *a, const struct shunt_entry *b)
{
	return er_selector_cmp(&a->s.sel, &b->s.sel);
}

RB_GENERATE_STATIC(shunt_tree, shunt_entry, link, entry_cmp)

static int
expiry_cmp(const struct shunt_entry *a, const struct shunt_entry *b)
{
	if (a->s.expires != b->s.expires)
		return a->s.expires < b->s.expires ? -1 : 1;
	return er_selector_cmp(&a->s.sel, &b->s.sel);
}

RB_GENERATE_STATIC(shunt_expiry_tree, shunt_entry, by_expiry, expiry_cmp)

static struct shunt_entry *
entry_of(const struct er_shunt *s)
{
	return (struct shunt_entry *)((uintptr_t)s -
				      offsetof(struct shunt_entry, s));
}

static struct shunt_tree *
tree_of(const struct er_shunt_table *t)
{
	return (struct shunt_tree *)(uintptr_t)&t->tree;
}

struct er_shunt_table *
er_shunt_table_new(void)
{
	struct er_shunt_table *t = calloc(1, sizeof(*t));

	if (t != NULL) {
		RB_INIT(&t->tree);
		RB_INIT(&t->expiring);
	}
	return t;
}

void
er_shunt_table_free(struct er_shunt_table *t)
{
	struct shunt_entry *e;

	if (t == NULL)
		return;
	/* Remove before freeing: RB_NEXT would climb to freed parents. */
	while ((e = RB_MIN(shunt_tree, &t->tree)) != NULL) {
		RB_REMOVE(shunt_tree, &t->tree, e);
		free(e);
	}
	free(t);
}

static struct shunt_entry *
find(const struct er_shunt_table *t, const struct er_selector *sel)
{
	struct shunt_entry key;

	key.s.sel = *sel;
	return RB_FIND(shunt_tree, tree_of(t), &key);
}

int
er_shunt_add(struct er_shunt_table *t, const struct er_shunt *s,
	     const struct er_shunt **out)
{
	struct shunt_entry *e;

	switch (s->action) {
	case ER_ACTION_HOLD:
	case ER_ACTION_PASS:
	case ER_ACTION_DROP:
	case ER_ACTION_REJECT:
		break;
	default:
		return -EINVAL;
	}
	if (er_addr_bits(s->sel.src.addr.family) == 0 ||
	    s->sel.src.addr.family != s->sel.dst.addr.family)
		return -EINVAL;
	e = find(t, &s->sel);
	if (e != NULL) {
		if (e->s.expires != 0)
			RB_REMOVE(shunt_expiry_tree, &t->expiring, e);
		e->s = *s;
		e->s.origin[ER_SHUNT_ORIGIN_MAX - 1] = '\0';
		if (e->s.expires != 0)
			RB_INSERT(shunt_expiry_tree, &t->expiring, e);
		if (out != NULL)
			*out = &e->s;
		return ER_SHUNT_REPLACED;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->s = *s;
	e->s.origin[ER_SHUNT_ORIGIN_MAX - 1] = '\0';
	e->priority = er_priority_default(&s->sel, ER_PRIO_BARE);
	RB_INSERT(shunt_tree, &t->tree, e);
	if (e->s.expires != 0)
		RB_INSERT(shunt_expiry_tree, &t->expiring, e);
	t->count++;
	if (out != NULL)
		*out = &e->s;
	return 0;
}

int
er_shunt_del(struct er_shunt_table *t, const struct er_selector *sel)
{
	struct shunt_entry *e = find(t, sel);

	if (e == NULL)
		return -ENOENT;
	RB_REMOVE(shunt_tree, &t->tree, e);
	if (e->s.expires != 0)
		RB_REMOVE(shunt_expiry_tree, &t->expiring, e);
	t->count--;
	free(e);
	return 0;
}

const struct er_shunt *
er_shunt_get(const struct er_shunt_table *t, const struct er_selector *sel)
{
	struct shunt_entry *e = find(t, sel);

	return e != NULL ? &e->s : NULL;
}

const struct er_shunt *
er_shunt_lookup(const struct er_shunt_table *t, const struct er_packet *pkt)
{
	struct shunt_entry *e, *best = NULL;

	RB_FOREACH(e, shunt_tree, tree_of(t)) {
		if (!er_selector_matches(&e->s.sel, pkt))
			continue;
		/* The tree is in selector order, so the first of equal
		 * priority is already the tie-break winner. */
		if (best == NULL || e->priority < best->priority)
			best = e;
	}
	return best != NULL ? &best->s : NULL;
}

void
er_shunt_note_use(struct er_shunt_table *t, const struct er_shunt *s,
		  uint64_t now)
{
	struct shunt_entry *e = entry_of(s);

	(void)t;
	e->s.use_count++;
	e->s.last_used = now;
}

size_t
er_shunt_expire(struct er_shunt_table *t, uint64_t now, er_shunt_expire_cb *cb,
		void *ctx)
{
	struct shunt_entry *e, *next;
	size_t n = 0;

	for (e = RB_MIN(shunt_expiry_tree, &t->expiring);
	     e != NULL && e->s.expires <= now; e = next) {
		next = RB_NEXT(shunt_expiry_tree, &t->expiring, e);
		if (cb != NULL)
			cb(ctx, &e->s);
		RB_REMOVE(shunt_expiry_tree, &t->expiring, e);
		RB_REMOVE(shunt_tree, &t->tree, e);
		t->count--;
		free(e);
		n++;
	}
	return n;
}

uint64_t
er_shunt_next_expiry(const struct er_shunt_table *t)
{
	const struct shunt_entry *e = RB_MIN(
		shunt_expiry_tree,
		(struct shunt_expiry_tree *)(uintptr_t)&t->expiring);

	return e != NULL ? e->s.expires : 0;
}

size_t
er_shunt_count(const struct er_shunt_table *t)
{
	return t->count;
}

const struct er_shunt *
er_shunt_first(const struct er_shunt_table *t)
{
	struct shunt_entry *e = RB_MIN(shunt_tree, tree_of(t));

	return e != NULL ? &e->s : NULL;
}

const struct er_shunt *
er_shunt_next(const struct er_shunt_table *t, const struct er_shunt *s)
{
	struct shunt_entry *e;

	(void)t;
	e = RB_NEXT(shunt_tree, NULL, entry_of(s));
	return e != NULL ? &e->s : NULL;
}

const struct er_shunt *
er_shunt_ceil(const struct er_shunt_table *t, const struct er_selector *sel)
{
	struct shunt_entry key, *e;

	key.s.sel = *sel;
	e = RB_NFIND(shunt_tree, tree_of(t), &key);
	return e != NULL ? &e->s : NULL;
}
