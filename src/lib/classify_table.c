// SPDX-License-Identifier: MIT
/*
 * One classifier table: the rules that fit a signature, hashed on it.
 *
 * The buckets are a linear hash: the table starts with 2^CLS_LEVEL_MIN
 * buckets and, whenever the groups outnumber half the buckets, splits one
 * bucket (the next in turn) into itself and one new bucket at the end; it
 * merges them back the same way when groups fall under an eighth.  Every
 * add or delete therefore moves at most one bucket's groups, and the
 * segmented slot array grows without copying: no step is proportional to
 * the table's size.
 *
 * A bucket is a list of group heads (linked through bnext) whose first two
 * are described in the slot (the first with its head's match entry), so
 * that most probes never leave the slot array.  All hashes
 * in a table's groups are distinct: two rules with the same hash are in the
 * same group whatever their fields, so a probe walks at most one group.
 *
 * The table's bound (its best priority) is the top of a min-heap over all
 * its rules, so a delete that takes the best rule gives the next best, not
 * a stale value, in O(log n).
 */
#include <errno.h>
#include <string.h>

#include "classify_impl.h"

/* ---- filter blocks ----------------------------------------------- */

/* Blocks of 2^k entries live in pool k, 2^BLK_B0 at first, doubling;
 * free ones are linked through their first word.  Index 0 is never
 * handed out, so that a reference is never 0. */
#define BLK_B0 4

_Static_assert(sizeof(struct cls_ent) == 28, "entries pack 28 bytes");
_Static_assert(sizeof(struct cls_slot) == 64, "a slot is a cache line");
_Static_assert(sizeof(struct cls_blk) + sizeof(struct cls_ent) <= 32,
               "a block of 2^k entries fits 32 << k bytes");

static size_t
blk_size(unsigned k)
{
	return (size_t)32 << k;
}

void
cls_blk_init(struct er_cls *c)
{
	for (unsigned k = 0; k < CLS_BLK_CLASSES; k++) {
		segarray_init(&c->blkpool[k], (uint32_t)blk_size(k), BLK_B0,
		              false);
		c->blktop[k] = 1;
		c->blkfree[k] = 0;
	}
}

void
cls_blk_fini(struct er_cls *c)
{
	for (unsigned k = 0; k < CLS_BLK_CLASSES; k++)
		segarray_fini(&c->blkpool[k], &c->mem);
	cls_blk_init(c);
}

/* A block of 2^k entries (none used), or 0 when out of memory. */
static uint32_t
blk_alloc(struct er_cls *c, unsigned k)
{
	struct cls_blk *b;
	uint32_t idx;

	if (c->blkfree[k] != 0) {
		idx = c->blkfree[k];
		c->blkfree[k] =
		        *(uint32_t *)segarray_at(&c->blkpool[k], idx);
	} else {
		if (c->blktop[k] >= CLS_BLK_IDX_MAX)
			return 0;
		if (c->blktop[k] >= segarray_capacity(&c->blkpool[k]) &&
		    segarray_grow(&c->blkpool[k], &c->mem) < 0)
			return 0;
		idx = c->blktop[k]++;
	}
	b = segarray_at(&c->blkpool[k], idx);
	b->n = 0;
	b->cap = (uint16_t)(1u << k);
	return CLS_BLK_REF(idx, k);
}

static void
blk_release(struct er_cls *c, uint32_t ref)
{
	unsigned k = ref & 7;
	uint32_t idx = ref >> 3;

	*(uint32_t *)segarray_at(&c->blkpool[k], idx) = c->blkfree[k];
	c->blkfree[k] = idx;
}

/* Move a block's entries to one of 2^k; the old one is released.  0 when
 * out of memory (the old block stays). */
static uint32_t
blk_resize(struct er_cls *c, uint32_t ref, unsigned k)
{
	uint32_t nref = blk_alloc(c, k);
	struct cls_blk *o, *n;

	if (nref == 0)
		return 0;
	o = cls_blk_at(c, ref);
	n = cls_blk_at(c, nref);
	n->n = o->n < n->cap ? o->n : n->cap;
	memcpy(n->e, o->e, n->n * sizeof(n->e[0]));
	blk_release(c, ref);
	return nref;
}

void
cls_ent_fill(struct cls_ent *e, const struct er_cls_rule *r)
{
	unsigned ws = r->slen > 0 ? (r->slen - 1u) / 32 : 0;
	unsigned wd = r->dlen > 0 ? (r->dlen - 1u) / 32 : 0;

	e->prio = r->prio;
	e->idx = r->self;
	e->src = r->src[ws];
	e->dst = r->dst[wd];
	e->slw = (uint8_t)(r->slen - 32 * ws);
	e->dlw = (uint8_t)(r->dlen - 32 * wd);
	e->proto = r->proto;
	e->sp_lo = r->sp_lo;
	e->sp_hi = r->sp_hi;
	e->dp_lo = r->dp_lo;
	e->dp_hi = r->dp_hi;
	/* Earlier words untested: the rule itself must confirm a pass. */
	e->flags = (uint8_t)(ws | wd << 2 | (ws > 0 || wd > 0 ? CLS_ENT_PARTIAL : 0));
}

/* ---- slots and buckets ------------------------------------------- */

/* The slot of a bucket whose list of groups is @first, then through
 * bnext.  cls_check() compares every slot with it. */
void
cls_slot_fill(const struct er_cls *c, uint32_t first, struct cls_slot *s)
{
	const struct er_cls_rule *f, *g;

	memset(s, 0, sizeof(*s));
	if (first == 0)
		return;
	f = cls_rule(c, first);
	s->hash = f->hash;
	s->blk = f->count > 1 ? f->blk : 0;
	cls_ent_fill(&s->e, f);
	if (f->bnext == 0)
		return;
	g = cls_rule(c, f->bnext);
	s->hash2 = g->hash;
	s->ref2 = g->self | (g->bnext != 0 ? CLS_MORE : 0);
	s->blk2 = g->count > 1 ? g->blk : g->self | CLS_SINGLE;
	s->prio2 = g->prio;
}

/* Bucket @b's slot and filter byte, from its list of groups (@first,
 * then through bnext: a bucket holds few). */
static void
slot_set(const struct er_cls *c, struct cls_table *t, uint32_t b,
         uint32_t first)
{
	uint32_t filt = 0;

	for (uint32_t i = first; i != 0; i = cls_rule(c, i)->bnext)
		filt |= cls_filt_bit(cls_rule(c, i)->hash);
	*cls_filt_at(t, b) = (uint8_t)filt;
	cls_slot_fill(c, first, cls_slot_at(t, b));
}

static uint32_t
slot_first(const struct cls_slot *s)
{
	return s->e.idx;
}

/* The head of the group with hash @h in bucket @b, or 0. */
static uint32_t
bucket_find(const struct er_cls *c, const struct cls_table *t, uint32_t b,
            uint32_t h)
{
	const struct cls_slot *s = cls_slot_at(t, b);
	uint32_t i;

	if (s->e.idx != 0 && s->hash == h)
		return s->e.idx;
	if (s->ref2 != 0 && s->hash2 == h)
		return s->ref2 & ~CLS_MORE;
	if (!(s->ref2 & CLS_MORE))
		return 0;
	for (i = cls_rule(c, s->ref2 & ~CLS_MORE)->bnext; i != 0;
	     i = cls_rule(c, i)->bnext) {
		if (cls_rule(c, i)->hash == h)
			return i;
	}
	return 0;
}

static void
bucket_push(const struct er_cls *c, struct cls_table *t, uint32_t b,
            struct er_cls_rule *head)
{
	struct cls_slot *s = cls_slot_at(t, b);

	head->bnext = slot_first(s);
	slot_set(c, t, b, head->self);
}

/* Put @head in @old's place in bucket @b; @head NULL just unlinks. */
static void
bucket_swap(const struct er_cls *c, struct cls_table *t, uint32_t b,
            struct er_cls_rule *old, struct er_cls_rule *head)
{
	struct cls_slot *s = cls_slot_at(t, b);
	uint32_t first = slot_first(s), repl = old->bnext;
	struct er_cls_rule *p;

	if (head != NULL) {
		head->bnext = old->bnext;
		repl = head->self;
	}
	if (first == old->self) {
		first = repl;
	} else {
		p = cls_rule(c, first);
		while (p->bnext != old->self)
			p = cls_rule(c, p->bnext);
		p->bnext = repl;
	}
	old->bnext = 0;
	slot_set(c, t, b, first);
}

static uint32_t
nbuckets(const struct cls_table *t)
{
	return t->lomask + 1 + t->split;
}

/* Split the next bucket in turn when the groups outnumber half the
 * buckets.  Out of memory only leaves the table fuller. */
static void
maybe_grow(struct er_cls *c, struct cls_table *t)
{
	uint32_t nb = nbuckets(t), from, to, bit, i, next;
	uint32_t keep = 0, move = 0;
	struct cls_slot *sf;

	if (t->nkeys * 2 <= nb || t->level >= 30)
		return;
	if (nb >= segarray_capacity(&t->slots)) {
		if (segarray_grow(&t->filt, &c->mem) < 0)
			return;
		if (segarray_grow(&t->slots, &c->mem) < 0) {
			segarray_shrink(&t->filt, &c->mem);
			return;
		}
	}
	from = t->split;
	bit = t->lomask + 1;
	to = from + bit;
	sf = cls_slot_at(t, from);
	for (i = slot_first(sf); i != 0; i = next) {
		struct er_cls_rule *r = cls_rule(c, i);

		next = r->bnext;
		if (r->hash & bit) {
			r->bnext = move;
			move = i;
		} else {
			r->bnext = keep;
			keep = i;
		}
	}
	slot_set(c, t, from, keep);
	slot_set(c, t, to, move);
	if (++t->split == bit) {
		t->level++;
		t->lomask = t->lomask << 1 | 1;
		t->split = 0;
	}
}

/* Merge the last bucket back when groups fall under an eighth. */
static void
maybe_shrink(struct er_cls *c, struct cls_table *t)
{
	uint32_t nb = nbuckets(t), from, i;
	struct cls_slot *sf, *st;
	struct er_cls_rule *r;

	if (nb <= 1u << CLS_LEVEL_MIN || t->nkeys * 8 >= nb)
		return;
	if (t->split == 0) {
		t->level--;
		t->lomask >>= 1;
		t->split = t->lomask + 1;
	}
	t->split--;
	from = t->split + t->lomask + 1;
	sf = cls_slot_at(t, from);
	st = cls_slot_at(t, t->split);
	i = slot_first(sf);
	if (i != 0) {
		r = cls_rule(c, i);
		while (r->bnext != 0)
			r = cls_rule(c, r->bnext);
		r->bnext = slot_first(st);
		slot_set(c, t, t->split, i);
	}
	slot_set(c, t, from, 0);
	if (t->slots.nseg > 1 && nb - 1 <= segarray_capacity(&t->slots) / 2) {
		segarray_shrink(&t->slots, &c->mem);
		segarray_shrink(&t->filt, &c->mem);
	}
}

/* ---- the bound heap ---------------------------------------------- */

static struct cls_heapent *
heap_at(const struct cls_table *t, uint32_t pos)
{
	return (struct cls_heapent *)segarray_at(&t->heap, pos);
}

static void
heap_put(const struct er_cls *c, struct cls_table *t, uint32_t pos,
         struct cls_heapent e)
{
	*heap_at(t, pos) = e;
	cls_rule(c, e.idx)->heap_pos = pos;
}

static void
heap_up(const struct er_cls *c, struct cls_table *t, uint32_t pos)
{
	struct cls_heapent e = *heap_at(t, pos);

	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		struct cls_heapent pe = *heap_at(t, parent);

		if (pe.prio <= e.prio)
			break;
		heap_put(c, t, pos, pe);
		pos = parent;
	}
	heap_put(c, t, pos, e);
}

static void
heap_down(const struct er_cls *c, struct cls_table *t, uint32_t pos)
{
	struct cls_heapent e = *heap_at(t, pos);
	uint32_t n = t->nrules;

	for (;;) {
		uint32_t m = 2 * pos + 1;

		if (m >= n)
			break;
		if (m + 1 < n && heap_at(t, m + 1)->prio < heap_at(t, m)->prio)
			m++;
		if (heap_at(t, m)->prio >= e.prio)
			break;
		heap_put(c, t, pos, *heap_at(t, m));
		pos = m;
	}
	heap_put(c, t, pos, e);
}

/* Take the entry at @pos out; t->nrules still counts it. */
static void
heap_remove(const struct er_cls *c, struct cls_table *t, uint32_t pos)
{
	uint32_t last = t->nrules - 1;

	if (pos != last) {
		struct cls_heapent moved = *heap_at(t, last);

		heap_put(c, t, pos, moved);
		t->nrules--;
		heap_up(c, t, pos);
		heap_down(c, t, cls_rule(c, moved.idx)->heap_pos);
	} else {
		t->nrules--;
	}
}

static void
bound_update(struct cls_table *t)
{
	t->bound = t->nrules > 0 ? heap_at(t, 0)->prio : UINT32_MAX;
}

/* ---- tables ------------------------------------------------------ */

struct cls_table *
cls_table_new(struct er_cls *c, unsigned fam, const struct cls_sig *sig)
{
	struct cls_table *t = memacct_calloc(&c->mem, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->fam = (uint8_t)fam;
	t->slen = sig->slen;
	t->dlen = sig->dlen;
	t->pmask = sig->pmask;
	t->xmask = sig->xmask;
	t->band = sig->band;
	for (unsigned w = 0; w < 4; w++) {
		if (fam == CLS_FAM_V4) {
			t->smask[w] = w == 0 ? cls_mask32(sig->slen) : 0;
			t->dmask[w] = w == 0 ? cls_mask32(sig->dlen) : 0;
		} else {
			t->smask[w] = cls_mask_word(sig->slen, w);
			t->dmask[w] = cls_mask_word(sig->dlen, w);
		}
	}
	t->level = CLS_LEVEL_MIN;
	t->lomask = (1u << CLS_LEVEL_MIN) - 1;
	t->bound = UINT32_MAX;
	t->id = c->next_id++;
	segarray_init(&t->slots, sizeof(struct cls_slot), CLS_LEVEL_MIN, true);
	segarray_init(&t->filt, 1, CLS_LEVEL_MIN, true);
	segarray_init(&t->heap, sizeof(struct cls_heapent), 2, false);
	if (segarray_grow(&t->slots, &c->mem) < 0)
		goto fail;
	if (segarray_grow(&t->filt, &c->mem) < 0) {
		segarray_fini(&t->slots, &c->mem);
		goto fail;
	}
	return t;
fail:
	memacct_free(&c->mem, t, sizeof(*t));
	return NULL;
}


void
cls_table_free(struct er_cls *c, struct cls_table *t)
{
	if (t == NULL)
		return;
	segarray_fini(&t->slots, &c->mem);
	segarray_fini(&t->filt, &c->mem);
	segarray_fini(&t->heap, &c->mem);
	memacct_free(&c->mem, t, sizeof(*t));
}

bool
cls_table_fits(const struct cls_table *t, const struct er_cls_rule *r)
{
	if (r->fam != t->fam || r->slen < t->slen || r->dlen < t->dlen ||
	    CLS_BAND(r->prio) != t->band)
		return false;
	if (t->pmask != 0 && r->proto == 0)
		return false;
	if ((t->xmask & 0xffff) != 0 && (r->proto == 0 || r->dp_lo != r->dp_hi))
		return false;
	if ((t->xmask >> 16) != 0 && (r->proto == 0 || r->sp_lo != r->sp_hi))
		return false;
	return true;
}

/* A rule hashes like every packet it matches: on the table's share of
 * its fields, which those packets agree with. */
uint32_t
cls_table_rule_hash(const struct cls_table *t, const struct er_cls_rule *r)
{
	struct cls_pkt p;

	memcpy(p.src, r->src, sizeof(p.src));
	memcpy(p.dst, r->dst, sizeof(p.dst));
	p.ports = (uint32_t)r->sp_lo << 16 | r->dp_lo;
	p.proto = r->proto;
	return cls_hash_pkt(t, &p);
}

uint32_t
cls_table_group(const struct er_cls *c, const struct cls_table *t, uint32_t h)
{
	return bucket_find(c, t, cls_bucket(t, h), h);
}

/* Refresh bucket @b's slot (its first group may have a new block or best). */
static void
slot_refresh(const struct er_cls *c, struct cls_table *t, uint32_t b)
{
	slot_set(c, t, b, slot_first(cls_slot_at(t, b)));
}

int
cls_table_insert(struct er_cls *c, struct cls_table *t, struct er_cls_rule *r)
{
	uint32_t h = cls_table_rule_hash(t, r), b, g, ref, pos;
	struct er_cls_rule *head, *p = NULL;
	struct cls_blk *blk;

	if (t->nrules >= segarray_capacity(&t->heap) &&
	    segarray_grow(&t->heap, &c->mem) < 0)
		return -ENOMEM;
	r->hash = h;
	r->table = t;
	r->blk = 0;
	b = cls_bucket(t, h);
	g = bucket_find(c, t, b, h);
	if (g == 0) {
		r->prev = 0;
		r->next = 0;
		r->count = 1;
		bucket_push(c, t, b, r);
		t->nkeys++;
		goto linked;
	}
	head = cls_rule(c, g);
	pos = 0;
	if (!cls_rule_before(r, head)) {
		p = head;
		pos = 1;
		while (p->next != 0 &&
		       !cls_rule_before(r, cls_rule(c, p->next))) {
			p = cls_rule(c, p->next);
			pos++;
		}
	}
	/* The block mirrors the group's first CLS_BLK_MAX members: make
	 * room at @pos (a full block of the largest size drops its last
	 * entry, which stays in the list). */
	ref = head->blk;
	if (ref == 0) {
		/* A second member: the group gets its block. */
		ref = blk_alloc(c, 1);
		if (ref == 0)
			return -ENOMEM;
		blk = cls_blk_at(c, ref);
		blk->n = 1;
		cls_ent_fill(&blk->e[0], head);
	}
	if (pos < CLS_BLK_MAX) {
		uint32_t nmove;

		blk = cls_blk_at(c, ref);
		if (blk->n == blk->cap && blk->cap < CLS_BLK_MAX) {
			uint32_t nref = blk_resize(c, ref, (ref & 7) + 1);

			if (nref == 0)
				return -ENOMEM;
			ref = nref;
			blk = cls_blk_at(c, ref);
		}
		nmove = blk->n - pos - (blk->n == blk->cap);
		memmove(&blk->e[pos + 1], &blk->e[pos],
		        nmove * sizeof(blk->e[0]));
		cls_ent_fill(&blk->e[pos], r);
		if (blk->n < blk->cap)
			blk->n++;
	}
	head->blk = ref;
	if (pos == 0) {
		r->prev = 0;
		r->next = g;
		r->count = head->count + 1;
		r->blk = ref;
		head->prev = r->self;
		head->count = 0;
		head->blk = 0;
		bucket_swap(c, t, b, head, r);
	} else {
		r->next = p->next;
		r->prev = p->self;
		if (p->next != 0)
			cls_rule(c, p->next)->prev = r->self;
		p->next = r->self;
		head->count++;
		slot_refresh(c, t, b);
	}
linked:
	t->nrules++;
	heap_put(c, t, t->nrules - 1,
	         (struct cls_heapent){.prio = r->prio, .idx = r->self});
	heap_up(c, t, t->nrules - 1);
	bound_update(t);
	maybe_grow(c, t);
	return 0;
}

void
cls_table_remove(struct er_cls *c, struct cls_table *t, struct er_cls_rule *r)
{
	uint32_t b = cls_bucket(t, r->hash);
	uint32_t g = r->prev == 0 ? r->self : bucket_find(c, t, b, r->hash);
	struct er_cls_rule *head = cls_rule(c, g), *n;
	uint32_t ref = head->blk, count = head->count, pos = 0;
	struct cls_blk *blk = NULL;

	if (count == 2) {
		/* The survivor is a group of one again: no block. */
		blk_release(c, ref);
		head->blk = 0;
		ref = 0;
	} else if (ref != 0) {
		blk = cls_blk_at(c, ref);
		while (pos < blk->n && blk->e[pos].idx != r->self)
			pos++;
	}
	if (r->prev == 0) {
		if (r->next != 0) {
			n = cls_rule(c, r->next);
			n->prev = 0;
			n->count = r->count - 1;
			n->blk = ref;
			r->blk = 0;
			bucket_swap(c, t, b, r, n);
			head = n;
		} else {
			bucket_swap(c, t, b, r, NULL);
			t->nkeys--;
		}
	} else {
		cls_rule(c, r->prev)->next = r->next;
		if (r->next != 0)
			cls_rule(c, r->next)->prev = r->prev;
		head->count--;
	}
	if (count == 2)
		slot_refresh(c, t, b);
	if (ref != 0 && pos < blk->n) {
		/* (count > 2 here) */
		memmove(&blk->e[pos], &blk->e[pos + 1],
		        (blk->n - pos - 1) * sizeof(blk->e[0]));
		blk->n--;
		/* A group longer than the block: its next member moves in. */
		if (blk->n == CLS_BLK_MAX - 1 && count - 1 >= CLS_BLK_MAX) {
			uint32_t nx = cls_rule(c, blk->e[blk->n - 1].idx)->next;

			cls_ent_fill(&blk->e[blk->n++], cls_rule(c, nx));
		}
		if ((ref & 7) > 0 && blk->n <= blk->cap / 4) {
			uint32_t nref = blk_resize(c, ref, (ref & 7) - 1);

			/* Out of memory only leaves the block larger. */
			if (nref != 0)
				head->blk = nref;
		}
		slot_refresh(c, t, b);
	}
	heap_remove(c, t, r->heap_pos);
	bound_update(t);
	if (t->heap.nseg > 1 && t->nrules <= segarray_capacity(&t->heap) / 4)
		segarray_shrink(&t->heap, &c->mem);
	r->table = NULL;
	r->next = r->prev = r->bnext = 0;
	maybe_shrink(c, t);
}
