// SPDX-License-Identifier: MIT
/*
 * The classifier's invariants, checked from scratch for tests: every table
 * in its family's (bound, id) order with its position right; every bound
 * exactly the lowest priority its table holds, and every heap a heap;
 * every rule fitting its table and hashed as the table would hash it;
 * groups sorted, of one hash each, hashes distinct within a table, each in
 * the bucket its hash selects; slots caching their first group's hash and
 * the "more" flag truthfully, filter bytes their groups' bits; counts adding up.  O(rules); never called on
 * a hot path.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "classify_impl.h"

static int
fail(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int
check_group(const struct er_cls *c, const struct cls_table *t, uint32_t b,
            uint32_t head, uint32_t *nrules, uint32_t *minprio, char *buf,
            size_t len)
{
	const struct er_cls_rule *h = cls_rule(c, head), *r, *prev = NULL;
	const struct cls_blk *blk;
	uint32_t n = 0;

	if (h->prev != 0)
		return fail(buf, len, "group head %u has prev %u", head,
		            h->prev);
	if (cls_bucket(t, h->hash) != b)
		return fail(buf, len, "group %u in bucket %u, hash says %u",
		            head, b, cls_bucket(t, h->hash));
	for (uint32_t i = head; i != 0; i = r->next) {
		r = cls_rule(c, i);
		if (r->table != t)
			return fail(buf, len, "rule %u: wrong table", i);
		if (r->hash != h->hash)
			return fail(buf, len,
			            "rule %u: hash %08x in group %08x", i,
			            r->hash, h->hash);
		if (cls_table_rule_hash(t, r) != r->hash)
			return fail(buf, len, "rule %u: stale hash", i);
		if (!cls_table_fits(t, r))
			return fail(buf, len, "rule %u does not fit its table",
			            i);
		if (prev != NULL && r->prev != prev->self)
			return fail(buf, len, "rule %u: prev %u, not %u", i,
			            r->prev, prev->self);
		if (prev != NULL && !cls_rule_before(prev, r))
			return fail(buf, len, "group %u out of order at %u",
			            head, i);
		if (r->prio < *minprio)
			*minprio = r->prio;
		if (i != head && r->blk != 0)
			return fail(buf, len, "rule %u: a block, not a head", i);
		prev = r;
		n++;
	}
	if (n != h->count)
		return fail(buf, len, "group %u: count %u, holds %u", head,
		            h->count, n);
	if (n == 1) {
		if (h->blk != 0)
			return fail(buf, len, "group %u of one with a block",
			            head);
		*nrules += n;
		return 0;
	}
	if (h->blk == 0 || (h->blk & 7) >= CLS_BLK_CLASSES)
		return fail(buf, len, "group %u: no block", head);
	blk = cls_blk_at(c, h->blk);
	if (blk->cap != 1u << (h->blk & 7) ||
	    blk->n != (n < CLS_BLK_MAX ? n : CLS_BLK_MAX) || blk->n > blk->cap)
		return fail(buf, len, "group %u: block holds %u of %u (cap %u)",
		            head, blk->n, n, blk->cap);
	r = h;
	for (uint32_t k = 0; k < blk->n; k++, r = cls_rule(c, r->next)) {
		struct cls_ent e;

		cls_ent_fill(&e, r);
		if (memcmp(&e, &blk->e[k], sizeof(e)) != 0)
			return fail(buf, len, "group %u: entry %u stale", head,
			            k);
	}
	*nrules += n;
	return 0;
}

static int
check_heap(const struct er_cls *c, const struct cls_table *t, char *buf,
           size_t len)
{
	for (uint32_t pos = 0; pos < t->nrules; pos++) {
		const struct cls_heapent *e = segarray_at(&t->heap, pos);
		const struct er_cls_rule *r = cls_rule(c, e->idx);

		if (r->heap_pos != pos || r->prio != e->prio || r->table != t)
			return fail(buf, len, "heap entry %u wrong", pos);
		if (pos > 0 && ((const struct cls_heapent *)segarray_at(
		                        &t->heap, (pos - 1) / 2))
		                               ->prio > e->prio)
			return fail(buf, len, "heap order broken at %u", pos);
	}
	return 0;
}

static int
check_table(const struct er_cls *c, const struct cls_table *t, char *buf,
            size_t len)
{
	uint32_t nb = t->lomask + 1 + t->split, keys = 0, rules = 0;
	uint32_t minprio = UINT32_MAX;

	if (t->lomask + 1 != 1u << t->level || t->split > t->lomask)
		return fail(buf, len, "table %lu: level/split broken",
		            (unsigned long)t->id);
	if (nb > segarray_capacity(&t->slots) ||
	    segarray_capacity(&t->filt) != segarray_capacity(&t->slots))
		return fail(buf, len, "table %lu: buckets past the slots",
		            (unsigned long)t->id);
	for (uint32_t b = 0; b < nb; b++) {
		const struct cls_slot *s = cls_slot_at(t, b);
		uint32_t first = s->e.idx, filt = 0;
		struct cls_slot want;

		for (uint32_t i = first; i != 0; i = cls_rule(c, i)->bnext)
			filt |= cls_filt_bit(cls_rule(c, i)->hash);
		if (*cls_filt_at(t, b) != filt)
			return fail(buf, len, "filter %u of table %lu stale", b,
			            (unsigned long)t->id);
		cls_slot_fill(c, first, &want);
		if (memcmp(s, &want, sizeof(want)) != 0)
			return fail(buf, len, "slot %u of table %lu stale", b,
			            (unsigned long)t->id);
		if (first == 0)
			continue;
		for (uint32_t i = first; i != 0; i = cls_rule(c, i)->bnext) {
			for (uint32_t j = cls_rule(c, i)->bnext; j != 0;
			     j = cls_rule(c, j)->bnext) {
				if (cls_rule(c, i)->hash ==
				    cls_rule(c, j)->hash)
					return fail(buf, len,
					            "two groups of hash %08x",
					            cls_rule(c, i)->hash);
			}
			if (check_group(c, t, b, i, &rules, &minprio, buf,
			                len) < 0)
				return -1;
			keys++;
		}
	}
	if (keys != t->nkeys || rules != t->nrules)
		return fail(buf, len, "table %lu: counts %u/%u, holds %u/%u",
		            (unsigned long)t->id, t->nkeys, t->nrules, keys,
		            rules);
	if (rules == 0)
		return fail(buf, len, "empty table %lu kept",
		            (unsigned long)t->id);
	if (t->bound != minprio)
		return fail(buf, len, "table %lu: bound %u, best rule %u",
		            (unsigned long)t->id, t->bound, minprio);
	return check_heap(c, t, buf, len);
}

int
cls_check(const struct er_cls *c, char *buf, size_t len)
{
	size_t rules = 0;

	for (unsigned fam = 0; fam < CLS_FAM_COUNT; fam++) {
		for (uint32_t i = 0; i < c->ntab[fam]; i++) {
			const struct cls_table *t = c->order[fam][i];

			if (t->pos != i || t->fam != fam)
				return fail(buf, len, "table %lu misplaced",
				            (unsigned long)t->id);
			if (i > 0 &&
			    (c->order[fam][i - 1]->bound > t->bound ||
			     (c->order[fam][i - 1]->bound == t->bound &&
			      c->order[fam][i - 1]->id > t->id)))
				return fail(buf, len, "tables out of order");
			if (check_table(c, t, buf, len) < 0)
				return -1;
			rules += t->nrules;
		}
	}
	if (rules != c->nrules)
		return fail(buf, len, "%zu rules counted, %zu in tables",
		            c->nrules, rules);
	return 0;
}
