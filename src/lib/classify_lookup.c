// SPDX-License-Identifier: MIT
/*
 * Classifier lookups, portable C.
 *
 * One packet: visit the family's tables in bound order, stop at the first
 * whose bound is worse than the best match found, probe one bucket in each
 * and walk the one group with the packet's hash, in (priority, selector,
 * age) order, up to its first match or its first rule worse than the best.
 *
 * A batch: the same walk, table by table for all packets of a chunk at
 * once.  For each table the hashes of every packet still in the race are
 * computed and their slots prefetched, then the slots are read (and the
 * group heads they hold tested) and the blocks or rules still to read
 * prefetched, then those are walked: the cache misses of up to CLS_CHUNK
 * packets overlap instead of following one another.  A packet leaves the
 * race at the first table whose bound it already beats.  The hashing step
 * and the walk of a block have vector versions in classify_simd.c.
 */
#include <string.h>
#include <sys/socket.h>

#include "classify_impl.h"

const struct cls_slot cls_slot_none;

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int
cls_pkt_load(struct cls_pkt *cp, const struct er_packet *pkt)
{
	int fam;

	if (pkt->src.family != pkt->dst.family)
		return -1;
	if (pkt->src.family == AF_INET) {
		fam = CLS_FAM_V4;
		cp->src[0] = be32(pkt->src.a);
		cp->dst[0] = be32(pkt->dst.a);
		cp->src[1] = cp->src[2] = cp->src[3] = 0;
		cp->dst[1] = cp->dst[2] = cp->dst[3] = 0;
	} else if (pkt->src.family == AF_INET6) {
		fam = CLS_FAM_V6;
		for (unsigned w = 0; w < 4; w++) {
			cp->src[w] = be32(pkt->src.a + 4 * w);
			cp->dst[w] = be32(pkt->dst.a + 4 * w);
		}
	} else {
		return -1;
	}
	cp->ports = (uint32_t)pkt->sport << 16 | pkt->dport;
	cp->proto = pkt->proto;
	return fam;
}

/* Walk the list from rule @idx for a packet (the members of a group past
 * its block); keep the better of what matches and *best. */
void
cls_walk_list(const struct er_cls *c, uint32_t idx, const struct cls_pkt *p,
              const struct er_cls_rule **best, uint64_t *bp)
{
	while (idx != 0) {
		const struct er_cls_rule *r = cls_rule(c, idx);

		if (r->prio > *bp)
			return;
		if (cls_rule_matches(r, p)) {
			cls_take(r, r->prio, best, bp);
			return;
		}
		idx = r->next;
	}
}

/* Walk block @b from entry @from for a packet, entry by entry, up to its
 * first match or its first entry worse than *bp, then the group's members
 * past it. */
void
cls_walk_blk_portable(const struct er_cls *c, const struct cls_blk *b,
                      uint32_t from, const struct cls_pkt *p,
                      const struct er_cls_rule **best, uint64_t *bp)
{
	for (uint32_t i = from; i < b->n; i++) {
		if (b->e[i].prio > *bp)
			return;
		if (cls_ent_try(c, &b->e[i], p, best, bp))
			return;
	}
	if (b->n == CLS_BLK_MAX)
		cls_walk_list(c, cls_rule(c, b->e[CLS_BLK_MAX - 1].idx)->next,
		              p, best, bp);
}

/* Walk the group @ref (a block, CLS_HEAD_DONE when its head is tested
 * already, or a rule of its own with CLS_SINGLE) for a packet, in group
 * order, up to its first match or its first member worse than *bp. */
static inline void
walk(const struct er_cls *c, uint32_t ref, const struct cls_pkt *p,
     const struct er_cls_rule **best, uint64_t *bp)
{
	if (ref & CLS_SINGLE)
		cls_walk_list(c, ref & ~CLS_SINGLE, p, best, bp);
	else
		c->walk_blk(c, cls_blk_at(c, ref), ref & CLS_HEAD_DONE ? 1 : 0,
		            p, best, bp);
}

/*
 * Probe slot @s for a packet of hash @h: when the first group has the
 * hash, test its head, held in the slot, and give the rest of the group
 * (its block, head done) only if the head does not match; when the second
 * group has it, give that group; past them, look along the bucket's chain.
 * 0: nothing (more) to walk, also when the group's best is worse than *bp.
 */
static inline uint32_t
slot_probe(const struct er_cls *c, const struct cls_slot *s, uint32_t h,
           const struct cls_pkt *p, const struct er_cls_rule **best,
           uint64_t *bp)
{
	uint32_t i;

	if (s->hash == h && s->e.idx != 0) {
		if (s->e.prio > *bp || cls_ent_try(c, &s->e, p, best, bp) ||
		    s->blk == 0)
			return 0;
		return s->blk | CLS_HEAD_DONE;
	}
	if (s->hash2 == h && s->ref2 != 0)
		return s->prio2 <= *bp ? s->blk2 : 0;
	if (__builtin_expect(!(s->ref2 & CLS_MORE), 1))
		return 0;
	for (i = cls_rule(c, s->ref2 & ~CLS_MORE)->bnext; i != 0;
	     i = cls_rule(c, i)->bnext) {
		const struct er_cls_rule *r = cls_rule(c, i);

		if (r->hash == h)
			return r->count > 1 ? r->blk : i | CLS_SINGLE;
	}
	return 0;
}

/* A prefetch never faults: no test for 0 needed. */
static inline void
prefetch_group(const struct er_cls *c, uint32_t g)
{
	const char *a = g & CLS_SINGLE ? (const char *)cls_rule(c, g & ~CLS_SINGLE)
	                               : (const char *)cls_blk_at(c, g);

	/* A rule's first line; a block's first two (four entries). */
	__builtin_prefetch(a);
	if (!(g & CLS_SINGLE) && (g & 7) >= 2)
		__builtin_prefetch(a + 64);
}

void *
er_cls_lookup(const struct er_cls *cls, const struct er_packet *pkt)
{
	const struct er_cls_rule *best = NULL;
	uint64_t bp = UINT64_MAX;
	struct cls_pkt cp;
	struct cls_table *const *tabs;
	uint32_t n;
	int fam;

	fam = cls_pkt_load(&cp, pkt);
	if (fam < 0)
		return NULL;
	tabs = cls->order[fam];
	n = cls->ntab[fam];
	/* A few tables at a time, so that their cache misses overlap. */
	for (uint32_t i = 0; i < n && tabs[i]->bound <= bp;
	     i += CLS_LOOKAHEAD) {
		const struct cls_slot *sl[CLS_LOOKAHEAD];
		uint32_t h[CLS_LOOKAHEAD], g[CLS_LOOKAHEAD];
		uint32_t m = n - i < CLS_LOOKAHEAD ? n - i : CLS_LOOKAHEAD;

		for (uint32_t k = 0; k < m; k++) {
			const struct cls_table *t = tabs[i + k];

			h[k] = cls_hash_pkt(t, &cp);
			sl[k] = cls_probe(t, cls_bucket(t, h[k]), h[k]);
			__builtin_prefetch(sl[k]);
		}
		for (uint32_t k = 0; k < m; k++) {
			g[k] = slot_probe(cls, sl[k], h[k], &cp, &best, &bp);
			prefetch_group(cls, g[k]);
		}
		for (uint32_t k = 0; k < m; k++) {
			if (tabs[i + k]->bound > bp)
				break;
			if (g[k] != 0)
				walk(cls, g[k], &cp, &best, &bp);
		}
	}
	return best != NULL ? best->data : NULL;
}

void
cls_hash_chunk4_portable(const struct cls_table *t, struct cls_chunk *ch,
                         uint32_t n)
{
	uint32_t sm = t->smask[0], dm = t->dmask[0], xm = t->xmask,
	         pm = t->pmask;

	for (uint32_t k = 0; k < n; k++)
		ch->h[k] = cls_hash4(ch->src4[k] & sm, ch->dst4[k] & dm,
		                     ch->ports[k] & xm, ch->proto[k] & pm);
}

static void
race(const struct er_cls *c, struct cls_chunk *ch, unsigned fam, uint32_t n,
     cls_hash_chunk4_fn *hash4)
{
	struct cls_table *const *tabs = c->order[fam];
	const struct cls_slot *sl[CLS_CHUNK];
	uint32_t g[CLS_CHUNK], ntab = c->ntab[fam];
	uint8_t cand[CLS_CHUNK];
	bool v4 = fam == CLS_FAM_V4;

	for (uint32_t ti = 0; ti < ntab && n > 0; ti++) {
		const struct cls_table *t = tabs[ti];
		uint32_t next = ti + 1 < ntab ? tabs[ti + 1]->bound : 0;
		uint32_t k2 = 0, nc = 0;

		if (v4) {
			hash4(t, ch, n);
		} else {
			for (uint32_t k = 0; k < n; k++)
				ch->h[k] =
				        cls_hash_pkt6(t, &ch->cp[ch->act[k]]);
		}
		for (uint32_t k = 0; k < n; k++) {
			sl[k] = cls_probe(t, cls_bucket(t, ch->h[k]),
			                  ch->h[k]);
			__builtin_prefetch(sl[k]);
		}
		for (uint32_t k = 0; k < n; k++) {
			uint32_t i = ch->act[k];

			g[k] = slot_probe(c, sl[k], ch->h[k], &ch->cp[i],
			                  &ch->best[i], &ch->bp[i]);
			prefetch_group(c, g[k]);
			cand[nc] = (uint8_t)k;
			nc += g[k] != 0;
		}
		for (uint32_t j = 0; j < nc; j++) {
			uint32_t k = cand[j], i = ch->act[k];

			walk(c, g[k], &ch->cp[i], &ch->best[i], &ch->bp[i]);
		}
		/* Keep in the race only the packets that the next table's
		 * bound could still improve (stores, not branches). */
		for (uint32_t k = 0; k < n; k++) {
			uint32_t i = ch->act[k];

			ch->act[k2] = (uint8_t)i;
			ch->src4[k2] = ch->src4[k];
			ch->dst4[k2] = ch->dst4[k];
			ch->ports[k2] = ch->ports[k];
			ch->proto[k2] = ch->proto[k];
			k2 += ch->bp[i] >= next;
		}
		n = k2;
	}
}

void
cls_lookup_batch_with(const struct er_cls *c, const struct er_packet *pkts,
                      size_t n, void **out, cls_hash_chunk4_fn *hash4)
{
	struct cls_chunk ch;

	while (n > 0) {
		uint32_t m = n < CLS_CHUNK ? (uint32_t)n : CLS_CHUNK;
		uint32_t n4 = 0, n6 = 0;
		uint8_t act6[CLS_CHUNK];

		for (uint32_t i = 0; i < m; i++) {
			int fam = cls_pkt_load(&ch.cp[i], &pkts[i]);

			ch.best[i] = NULL;
			ch.bp[i] = UINT64_MAX;
			if (fam == CLS_FAM_V4) {
				ch.act[n4] = (uint8_t)i;
				ch.src4[n4] = ch.cp[i].src[0];
				ch.dst4[n4] = ch.cp[i].dst[0];
				ch.ports[n4] = ch.cp[i].ports;
				ch.proto[n4] = ch.cp[i].proto;
				n4++;
			} else if (fam == CLS_FAM_V6) {
				act6[n6++] = (uint8_t)i;
			}
		}
		/* Lanes past the packets are hashed too; keep them defined. */
		for (uint32_t k = n4; k < CLS_CHUNK; k++) {
			ch.src4[k] = ch.dst4[k] = ch.ports[k] = ch.proto[k] = 0;
		}
		if (n4 > 0)
			race(c, &ch, CLS_FAM_V4, n4, hash4);
		if (n6 > 0) {
			memcpy(ch.act, act6, n6);
			race(c, &ch, CLS_FAM_V6, n6, hash4);
		}
		for (uint32_t i = 0; i < m; i++)
			out[i] = ch.best[i] != NULL ? ch.best[i]->data : NULL;
		pkts += m;
		out += m;
		n -= m;
	}
}

void
cls_lookup_batch_portable(const struct er_cls *c, const struct er_packet *pkts,
                          size_t n, void **out)
{
	cls_lookup_batch_with(c, pkts, n, out, cls_hash_chunk4_portable);
}
