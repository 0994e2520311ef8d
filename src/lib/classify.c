// SPDX-License-Identifier: MIT
/*
 * The classifier's rules and where each one goes (see classify_impl.h for
 * the structure and docs/classifier.md for why).
 *
 * Placement is the only policy here.  A new rule goes into the most
 * specific existing table of its priority band (CLS_BAND()) that fits it
 * and whose group for it has room (fewer than CLS_GROUP_MAX rules),
 * preferring tables whose bound the rule does not lower.  When none has room, a new table is made: first with the
 * rule's prefix lengths rounded down (so that later rules of nearby lengths
 * can share it), then with its exact lengths, then hashing the protocol and
 * the exact ports as well, whichever such signature does not exist yet.
 * Rules that no signature can separate share one group however long.
 *
 * Each family keeps its tables in (bound, id) order; a change of bound
 * moves the table to its new place, which costs the number of tables, not
 * of rules.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "classify_impl.h"

_Static_assert(offsetof(struct er_cls_rule, self) == 64,
	       "what a lookup reads of a rule is one cache line");
_Static_assert(sizeof(struct er_cls_rule) == 128, "rules pack two lines");

/* A new table's prefix lengths are the rule's rounded down to this. */
#define RELAX_STEP 16

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The selector a rule was added with. */
static void
rule_selector(const struct er_cls_rule *r, struct er_selector *sel)
{
	int af = r->fam == CLS_FAM_V4 ? AF_INET : AF_INET6;
	unsigned words = r->fam == CLS_FAM_V4 ? 1 : 4;

	memset(sel, 0, sizeof(*sel));
	sel->src.addr.family = (uint8_t)af;
	sel->dst.addr.family = (uint8_t)af;
	for (unsigned w = 0; w < words; w++) {
		put_be32(sel->src.addr.a + 4 * w, r->src[w]);
		put_be32(sel->dst.addr.a + 4 * w, r->dst[w]);
	}
	sel->src.len = r->slen;
	sel->dst.len = r->dlen;
	sel->proto = r->proto;
	sel->sport = r->raw_sport;
	sel->dport = r->raw_dport;
}

bool
cls_rule_before(const struct er_cls_rule *a, const struct er_cls_rule *b)
{
	struct er_selector sa, sb;
	int c;

	if (a->prio != b->prio)
		return a->prio < b->prio;
	rule_selector(a, &sa);
	rule_selector(b, &sb);
	c = er_selector_cmp(&sa, &sb);
	if (c != 0)
		return c < 0;
	return a->seq < b->seq;
}

/* ---- the pool ---------------------------------------------------- */

static struct er_cls_rule *
rule_alloc(struct er_cls *c)
{
	struct er_cls_rule *r;
	uint32_t idx;

	if (c->free_head != 0) {
		idx = c->free_head;
		c->free_head = cls_rule(c, idx)->next;
	} else {
		/* Slots keep a flag in an index's top bit. */
		if (c->pool_top >= CLS_MORE)
			return NULL;
		if (c->pool_top >= segarray_capacity(&c->pool) &&
		    segarray_grow(&c->pool, &c->mem) < 0)
			return NULL;
		idx = c->pool_top++;
	}
	r = cls_rule(c, idx);
	memset(r, 0, sizeof(*r));
	r->self = idx;
	return r;
}

static void
rule_release(struct er_cls *c, struct er_cls_rule *r)
{
	r->table = NULL;
	r->data = NULL;
	r->next = c->free_head;
	c->free_head = r->self;
}

/* ---- table order ------------------------------------------------- */

static bool
table_before(const struct cls_table *a, const struct cls_table *b)
{
	if (a->bound != b->bound)
		return a->bound < b->bound;
	return a->id < b->id;
}

void
cls_table_reorder(struct er_cls *c, struct cls_table *t)
{
	struct cls_table **v = c->order[t->fam];
	uint32_t n = c->ntab[t->fam], i = t->pos;

	while (i > 0 && table_before(t, v[i - 1])) {
		v[i] = v[i - 1];
		v[i]->pos = i;
		i--;
	}
	while (i + 1 < n && table_before(v[i + 1], t)) {
		v[i] = v[i + 1];
		v[i]->pos = i;
		i++;
	}
	v[i] = t;
	t->pos = i;
}

static int
table_link(struct er_cls *c, struct cls_table *t)
{
	unsigned fam = t->fam;
	struct cls_table **v;
	uint32_t cap;

	if (c->ntab[fam] == c->captab[fam]) {
		cap = c->captab[fam] ? 2 * c->captab[fam] : 8;
		v = memacct_alloc(&c->mem, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		if (c->ntab[fam] > 0)
			memcpy(v, c->order[fam], c->ntab[fam] * sizeof(*v));
		memacct_free(&c->mem, c->order[fam],
		             c->captab[fam] * sizeof(*v));
		c->order[fam] = v;
		c->captab[fam] = cap;
	}
	t->pos = c->ntab[fam]++;
	c->order[fam][t->pos] = t;
	cls_table_reorder(c, t);
	return 0;
}

static void
table_unlink(struct er_cls *c, struct cls_table *t)
{
	struct cls_table **v = c->order[t->fam];
	uint32_t n = --c->ntab[t->fam];

	for (uint32_t i = t->pos; i < n; i++) {
		v[i] = v[i + 1];
		v[i]->pos = i;
	}
	cls_table_free(c, t);
}

/* ---- placement --------------------------------------------------- */

static bool
sig_equal(const struct cls_table *t, const struct cls_sig *s)
{
	return t->slen == s->slen && t->dlen == s->dlen &&
	       t->pmask == s->pmask && t->xmask == s->xmask &&
	       t->band == s->band;
}

static struct cls_table *
table_find(const struct er_cls *c, unsigned fam, const struct cls_sig *s)
{
	for (uint32_t i = 0; i < c->ntab[fam]; i++) {
		if (sig_equal(c->order[fam][i], s))
			return c->order[fam][i];
	}
	return NULL;
}

/* The signatures a new table for @r may have, loosest first: its prefix
 * lengths rounded down to ever finer steps, then the protocol, then the
 * exact ports. */
#define LADDER_MAX 8

static unsigned
ladder(const struct er_cls_rule *r, struct cls_sig *sig)
{
	static const uint8_t steps[] = {RELAX_STEP, RELAX_STEP / 2,
	                                RELAX_STEP / 4, 1};
	unsigned n = 0;
	bool sp = r->proto != 0 && r->sp_lo == r->sp_hi;
	bool dp = r->proto != 0 && r->dp_lo == r->dp_hi;

	for (unsigned i = 0; i < sizeof(steps); i++)
		sig[n++] = (struct cls_sig){
		        .slen = (uint8_t)(r->slen - r->slen % steps[i]),
		        .dlen = (uint8_t)(r->dlen - r->dlen % steps[i]),
		};
	if (r->proto != 0)
		sig[n++] = (struct cls_sig){
		        .slen = r->slen, .dlen = r->dlen, .pmask = 0xff};
	if (dp)
		sig[n++] = (struct cls_sig){.slen = r->slen,
		                            .dlen = r->dlen,
		                            .pmask = 0xff,
		                            .xmask = 0xffff};
	if (sp)
		sig[n++] = (struct cls_sig){.slen = r->slen,
		                            .dlen = r->dlen,
		                            .pmask = 0xff,
		                            .xmask = dp ? 0xffffffffu
		                                        : 0xffff0000u};
	for (unsigned i = 0; i < n; i++)
		sig[i].band = CLS_BAND(r->prio);
	return n;
}

/* A table for a rule that no existing one has room for. */
static struct cls_table *
table_for_new(struct er_cls *c, const struct er_cls_rule *r, bool *created)
{
	struct cls_sig sig[LADDER_MAX];
	struct cls_table *t = NULL;
	unsigned n = ladder(r, sig);

	*created = false;
	for (unsigned i = 0; i < n; i++) {
		t = table_find(c, r->fam, &sig[i]);
		if (t != NULL)
			continue;
		t = cls_table_new(c, r->fam, &sig[i]);
		if (t != NULL && table_link(c, t) < 0) {
			cls_table_free(c, t);
			t = NULL;
		}
		*created = t != NULL;
		return t;
	}
	/* Every signature exists and is full here: the rule joins the most
	 * specific one's group, which no table could split further. */
	return t;
}

static unsigned
table_score(const struct cls_table *t, const struct er_cls_rule *r)
{
	unsigned kinds = (t->pmask != 0) + ((t->xmask & 0xffff) != 0) +
	                 ((t->xmask >> 16) != 0);

	return (unsigned)(t->bound <= r->prio) << 16 |
	       (unsigned)(t->slen + t->dlen) << 2 | kinds;
}

static int
place(struct er_cls *c, struct er_cls_rule *r)
{
	struct cls_table *best = NULL, *t;
	unsigned best_score = 0;
	uint32_t old_bound;
	bool created = false;
	int ret;

	for (uint32_t i = 0; i < c->ntab[r->fam]; i++) {
		uint32_t g;
		unsigned score;

		t = c->order[r->fam][i];
		if (!cls_table_fits(t, r))
			continue;
		score = table_score(t, r);
		if (best != NULL && score <= best_score)
			continue;
		g = cls_table_group(c, t, cls_table_rule_hash(t, r));
		if (g != 0 && cls_rule(c, g)->count >= CLS_GROUP_MAX)
			continue;
		best = t;
		best_score = score;
	}
	if (best == NULL)
		best = table_for_new(c, r, &created);
	if (best == NULL)
		return -ENOMEM;
	old_bound = best->bound;
	ret = cls_table_insert(c, best, r);
	if (ret < 0) {
		if (created)
			table_unlink(c, best);
		return ret;
	}
	if (best->bound != old_bound)
		cls_table_reorder(c, best);
	return 0;
}

/* ---- the API ----------------------------------------------------- */

struct er_cls *
er_cls_new(void)
{
	struct memacct m = {0};
	struct er_cls *c = memacct_calloc(&m, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->mem = m;
	segarray_init(&c->pool, sizeof(struct er_cls_rule), CLS_POOL_B0, false);
	c->pool_top = 1;
	cls_blk_init(c);
	er_cls_set_simd(c, true);
	return c;
}

static void
drop_all(struct er_cls *c)
{
	for (unsigned fam = 0; fam < CLS_FAM_COUNT; fam++) {
		for (uint32_t i = 0; i < c->ntab[fam]; i++)
			cls_table_free(c, c->order[fam][i]);
		memacct_free(&c->mem, c->order[fam],
		             c->captab[fam] * sizeof(*c->order[fam]));
		c->order[fam] = NULL;
		c->ntab[fam] = c->captab[fam] = 0;
	}
	segarray_fini(&c->pool, &c->mem);
	cls_blk_fini(c);
	c->pool_top = 1;
	c->free_head = 0;
	c->nrules = 0;
}

void
er_cls_free(struct er_cls *cls)
{
	if (cls == NULL)
		return;
	drop_all(cls);
	memacct_free(&cls->mem, cls, sizeof(*cls));
}

int
er_cls_add(struct er_cls *cls, const struct er_selector *sel, uint32_t priority,
           void *data, struct er_cls_rule **out)
{
	struct er_cls_rule *r;
	unsigned fam, words, bits;
	int ret;

	if (sel->src.addr.family != sel->dst.addr.family)
		return -EINVAL;
	if (sel->src.addr.family == AF_INET) {
		fam = CLS_FAM_V4;
		words = 1;
		bits = 32;
	} else if (sel->src.addr.family == AF_INET6) {
		fam = CLS_FAM_V6;
		words = 4;
		bits = 128;
	} else {
		return -EINVAL;
	}
	if (sel->src.len > bits || sel->dst.len > bits)
		return -EINVAL;
	r = rule_alloc(cls);
	if (r == NULL)
		return -ENOMEM;
	r->prio = priority;
	r->fam = (uint8_t)fam;
	r->slen = sel->src.len;
	r->dlen = sel->dst.len;
	r->proto = sel->proto;
	r->raw_sport = sel->sport;
	r->raw_dport = sel->dport;
	/* er_selector_matches() ignores the ports of a protocol-any
	 * selector; full ranges make the match test the same. */
	if (sel->proto == ER_PROTO_ANY) {
		r->sp_hi = r->dp_hi = 65535;
	} else {
		r->sp_lo = sel->sport.lo;
		r->sp_hi = sel->sport.hi;
		r->dp_lo = sel->dport.lo;
		r->dp_hi = sel->dport.hi;
	}
	for (unsigned w = 0; w < words; w++) {
		r->src[w] = get_be32(sel->src.addr.a + 4 * w);
		r->dst[w] = get_be32(sel->dst.addr.a + 4 * w);
	}
	r->data = data;
	r->seq = cls->seq++;
	ret = place(cls, r);
	if (ret < 0) {
		rule_release(cls, r);
		return ret;
	}
	cls->nrules++;
	if (out != NULL)
		*out = r;
	return 0;
}

void
er_cls_del(struct er_cls *cls, struct er_cls_rule *rule)
{
	struct cls_table *t = rule->table;
	uint32_t old_bound = t->bound;

	cls_table_remove(cls, t, rule);
	if (t->nrules == 0)
		table_unlink(cls, t);
	else if (t->bound != old_bound)
		cls_table_reorder(cls, t);
	rule_release(cls, rule);
	cls->nrules--;
}

void
er_cls_lookup_batch(const struct er_cls *cls, const struct er_packet *pkts,
                    size_t n, void **out)
{
	if (cls->simd)
		cls_lookup_batch_simd(cls, pkts, n, out);
	else
		cls_lookup_batch_portable(cls, pkts, n, out);
}

bool
er_cls_set_simd(struct er_cls *cls, bool enable)
{
	cls_walk_blk_fn *vec = cls_simd_walk_blk();

	cls->simd = enable && cls_simd_supported();
	cls->walk_blk =
	        cls->simd && vec != NULL ? vec : cls_walk_blk_portable;
	return cls->simd;
}

void
er_cls_flush(struct er_cls *cls)
{
	drop_all(cls);
	cls->mem.peak = cls->mem.bytes;
}

size_t
er_cls_count(const struct er_cls *cls)
{
	return cls->nrules;
}

void
er_cls_get_stats(const struct er_cls *cls, struct er_cls_stats *st)
{
	st->rules = cls->nrules;
	st->tables = cls->ntab[CLS_FAM_V4] + cls->ntab[CLS_FAM_V6];
	st->bytes = cls->mem.bytes;
	st->peak_bytes = cls->mem.peak;
}
