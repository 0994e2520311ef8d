// SPDX-License-Identifier: MIT
/*
 * The ordered scan (KAME / PF_KEY style) as a fair baseline: the rules in
 * an array in the order er_spd_lookup_scan() walks (priority, then
 * er_selector_cmp()), and a lookup is the first entry that matches.  Each
 * entry is the selector precompiled into masked address words and port
 * bounds (32 bytes for IPv4, 80 for IPv6) tested without branches, so the
 * baseline is the scan at its fastest, not a strawman; it is checked against
 * the oracle like the others.  Updates keep the array sorted (binary search
 * over a parallel array of the rules, then a memmove), which is what an
 * ordered list costs at best.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct e4 {
	uint32_t s, sm, d, dm;
	uint16_t sl, sh, dl, dh;
	uint8_t proto;
	int32_t idx;
};

struct e6 {
	uint64_t s[2], sm[2], d[2], dm[2];
	uint16_t sl, sh, dl, dh;
	uint8_t proto;
	int32_t idx;
};

struct linear {
	const struct bset *s;
	bool v6;
	struct brule *order;	/* the rules, in the entries' order */
	struct e4 *e4;
	struct e6 *e6;
	size_t n, cap;
	int32_t out[BENCH_BATCH];
};

static uint64_t
be64(const uint8_t *a)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | a[i];
	return v;
}

static uint64_t
mask64(unsigned len)
{
	return len == 0 ? 0 : len >= 64 ? ~0ULL : ~0ULL << (64 - len);
}

static void
compile(struct linear *l, size_t at, const struct brule *r)
{
	const struct er_selector *sel = &r->sel;

	l->order[at] = *r;
	if (!l->v6) {
		struct e4 *e = &l->e4[at];

		e->sm = (uint32_t)(mask64(sel->src.len) >> 32);
		e->dm = (uint32_t)(mask64(sel->dst.len) >> 32);
		e->s = (uint32_t)(be64(sel->src.addr.a) >> 32) & e->sm;
		e->d = (uint32_t)(be64(sel->dst.addr.a) >> 32) & e->dm;
		e->sl = sel->sport.lo;
		e->sh = sel->sport.hi;
		e->dl = sel->dport.lo;
		e->dh = sel->dport.hi;
		e->proto = sel->proto;
		e->idx = r->idx;
	} else {
		struct e6 *e = &l->e6[at];

		for (int w = 0; w < 2; w++) {
			unsigned sl = sel->src.len, dl = sel->dst.len;

			e->sm[w] = mask64(sl > 64u * w ? sl - 64u * w : 0);
			e->dm[w] = mask64(dl > 64u * w ? dl - 64u * w : 0);
			e->s[w] = be64(sel->src.addr.a + 8 * w) & e->sm[w];
			e->d[w] = be64(sel->dst.addr.a + 8 * w) & e->dm[w];
		}
		e->sl = sel->sport.lo;
		e->sh = sel->sport.hi;
		e->dl = sel->dport.lo;
		e->dh = sel->dport.hi;
		e->proto = sel->proto;
		e->idx = r->idx;
	}
}

static void
lin_free(void *ctx)
{
	struct linear *l = ctx;

	if (l == NULL)
		return;
	free(l->order);
	free(l->e4);
	free(l->e6);
	free(l);
}

static int
lin_build(void **ctx, const struct bset *s, char *why, size_t len)
{
	struct linear *l = calloc(1, sizeof(*l));
	int ret = -ENOMEM;

	(void)why;
	(void)len;
	if (l == NULL)
		goto out;
	l->s = s;
	l->v6 = s->family != AF_INET;
	l->cap = s->nrules ? s->nrules : 1;
	l->order = calloc(l->cap, sizeof(*l->order));
	if (l->v6)
		l->e6 = calloc(l->cap, sizeof(*l->e6));
	else
		l->e4 = calloc(l->cap, sizeof(*l->e4));
	if (l->order == NULL || (l->e4 == NULL && l->e6 == NULL))
		goto out;
	for (size_t i = 0; i < s->nrules; i++)
		compile(l, s->rank[i], &s->rules[i]);
	l->n = s->nrules;
	ret = 0;
out:
	if (ret < 0) {
		lin_free(l);
		l = NULL;
	}
	*ctx = l;
	return ret;
}

static int32_t
scan4(const struct linear *l, const struct er_packet *p)
{
	uint32_t s = (uint32_t)(be64(p->src.a) >> 32);
	uint32_t d = (uint32_t)(be64(p->dst.a) >> 32);

	for (size_t i = 0; i < l->n; i++) {
		const struct e4 *e = &l->e4[i];

		if (((s & e->sm) == e->s) & ((d & e->dm) == e->d) &
		    ((e->proto == 0) | (e->proto == p->proto)) &
		    (e->sl <= p->sport) & (p->sport <= e->sh) &
		    (e->dl <= p->dport) & (p->dport <= e->dh))
			return e->idx;
	}
	return -1;
}

static int32_t
scan6(const struct linear *l, const struct er_packet *p)
{
	uint64_t s0 = be64(p->src.a), s1 = be64(p->src.a + 8);
	uint64_t d0 = be64(p->dst.a), d1 = be64(p->dst.a + 8);

	for (size_t i = 0; i < l->n; i++) {
		const struct e6 *e = &l->e6[i];

		if (((s0 & e->sm[0]) == e->s[0]) &
		    ((s1 & e->sm[1]) == e->s[1]) &
		    ((d0 & e->dm[0]) == e->d[0]) &
		    ((d1 & e->dm[1]) == e->d[1]) &
		    ((e->proto == 0) | (e->proto == p->proto)) &
		    (e->sl <= p->sport) & (p->sport <= e->sh) &
		    (e->dl <= p->dport) & (p->dport <= e->dh))
			return e->idx;
	}
	return -1;
}

static int32_t
lookup(const struct linear *l, const struct er_packet *p)
{
	/* Both families in one set never happen; a packet of the other
	 * family matches nothing, as er_prefix_has() says. */
	if (p->src.family != l->s->family)
		return -1;
	return l->v6 ? scan6(l, p) : scan4(l, p);
}

static void
lin_batched(void *ctx, int tr, size_t n)
{
	struct linear *l = ctx;
	const struct er_packet *p = l->s->tr[tr].pkt;

	for (size_t off = 0; off < n; off += BENCH_BATCH)
		for (size_t i = off; i < n && i < off + BENCH_BATCH; i++)
			l->out[i - off] = lookup(l, &p[i]);
}

static void
lin_single(void *ctx, int tr, size_t n)
{
	struct linear *l = ctx;
	const struct er_packet *p = l->s->tr[tr].pkt;

	for (size_t i = 0; i < n; i++)
		l->out[i % BENCH_BATCH] = lookup(l, &p[i]);
}

static void
lin_answers(void *ctx, int tr, size_t n, int32_t *out)
{
	struct linear *l = ctx;

	for (size_t i = 0; i < n; i++)
		out[i] = lookup(l, &l->s->tr[tr].pkt[i]);
}

/* First position whose rule sorts at or after @r. */
static size_t
lower_bound(const struct linear *l, const struct brule *r)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = brule_cmp(&l->order[mid], r);

		if (c < 0 || (c == 0 && l->order[mid].idx < r->idx))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
shift(struct linear *l, size_t to, size_t from, size_t count)
{
	memmove(&l->order[to], &l->order[from], count * sizeof(*l->order));
	if (l->v6)
		memmove(&l->e6[to], &l->e6[from], count * sizeof(*l->e6));
	else
		memmove(&l->e4[to], &l->e4[from], count * sizeof(*l->e4));
}

static int
lin_del(void *ctx, size_t i)
{
	struct linear *l = ctx;
	const struct brule *r = &l->s->rules[i];
	size_t at = lower_bound(l, r);

	if (at >= l->n || l->order[at].idx != r->idx ||
	    brule_cmp(&l->order[at], r) != 0)
		return -ENOENT;
	shift(l, at, at + 1, l->n - at - 1);
	l->n--;
	return 0;
}

static int
lin_add(void *ctx, size_t i)
{
	struct linear *l = ctx;
	const struct brule *r = &l->s->rules[i];
	size_t at;

	if (l->n == l->cap)
		return -ENOSPC;
	at = lower_bound(l, r);
	shift(l, at + 1, at, l->n - at);
	compile(l, at, r);
	l->n++;
	return 0;
}

static void
lin_flush(void *ctx)
{
	((struct linear *)ctx)->n = 0;
}

static void
lin_mem(void *ctx, size_t *bytes, size_t *peak)
{
	struct linear *l = ctx;

	*bytes = *peak = sizeof(*l) +
			 l->cap * (sizeof(*l->order) +
				   (l->v6 ? sizeof(*l->e6) : sizeof(*l->e4)));
}

const struct impl_ops impl_linear = {
	.name = "linear",
	.build = lin_build,
	.batched = lin_batched,
	.single = lin_single,
	.answers = lin_answers,
	.del = lin_del,
	.add = lin_add,
	.flush = lin_flush,
	.mem = lin_mem,
	.free = lin_free,
};
