/* SPDX-License-Identifier: MIT */
/*
 * The classifier's insides, shared by classify.c (the API and where a rule
 * goes), classify_table.c (one hash table), classify_lookup.c (the portable
 * lookups) and classify_simd.c (the vector batch path).
 *
 * A classifier holds, per address family, a list of tables ordered by the
 * lowest priority each holds ("bound").  A table has a signature: a source
 * and a destination prefix length, and optionally the protocol and the
 * exact source and/or destination port.  It takes any rule at least as
 * specific as its signature, and hashes a rule (or a packet) on the
 * signature's part of its fields.  Rules whose hashes are equal form a
 * group: a list sorted by (priority, selector, age) hanging off a bucket.
 * A lookup visits the tables in bound order, probes one bucket in each and
 * walks at most the one group whose hash it computed, and stops at the
 * first table whose bound is worse than the best match so far.  A table
 * holds the rules of one priority band only, so that a few very good
 * priorities do not pull every table's bound down; a group of two or more
 * rules is walked through its filter block, compact copies of what the
 * match test reads, rather than rule by rule.
 *
 * Indices, not pointers, link rules (0 = none): a rule is 128 bytes in a
 * segmented pool, and a bucket slot is 64 bytes.
 */
#ifndef EROUTE_CLASSIFY_IMPL_H
#define EROUTE_CLASSIFY_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/classify.h"

#include "mix.h"
#include "segarray.h"

#define CLS_FAM_V4 0
#define CLS_FAM_V6 1
#define CLS_FAM_COUNT 2

/* A group never grows past this many rules unless no more specific table
 * can separate them (rules equal in every hashed field). */
#define CLS_GROUP_MAX 16

/* A table holds the rules of one priority band: the top bits of the
 * priority, the SPD's classes of 2^28 values (spd.h). */
#define CLS_BAND_SHIFT 28
#define CLS_BAND(prio) ((uint8_t)((prio) >> CLS_BAND_SHIFT))

/* Buckets of a new table (log2). */
#define CLS_LEVEL_MIN 2

/* Rules are pooled 2^CLS_POOL_B0 at first, doubling. */
#define CLS_POOL_B0 4

/* A packet as the tables see it: addresses as host-order 32-bit words. */
struct cls_pkt {
	uint32_t src[4], dst[4];
	uint32_t ports; /* sport << 16 | dport */
	uint8_t proto;
};

struct er_cls_rule {
	/* What a lookup reads: the first cache line. */
	uint32_t prio;
	uint32_t next; /* next (worse) rule of the group */
	uint8_t slen, dlen;
	uint8_t proto; /* 0: any */
	uint8_t fam;
	uint16_t sp_lo, sp_hi; /* 0-65535 when proto is any */
	uint16_t dp_lo, dp_hi;
	uint32_t src[4], dst[4]; /* as given (host bits are masked when used) */
	uint32_t hash;           /* the group's hash in its table */
	void *data;
	/* Bookkeeping for changes. */
	uint32_t self;     /* own index in the pool */
	uint32_t prev;     /* previous rule of the group, 0 at the head */
	uint32_t bnext;    /* group heads: next group in the bucket */
	uint32_t count;    /* group heads: rules in the group */
	uint32_t heap_pos; /* in the table's bound heap */
	uint32_t blk;      /* heads of groups of two or more: their block */
	struct cls_table *table;
	uint64_t seq; /* order of addition: the last tie-break */
	struct er_port_range raw_sport, raw_dport; /* as given */
} __attribute__((aligned(64)));

/*
 * A group's filter block: the first CLS_BLK_MAX rules of the group, in
 * group order, each as a 28-byte entry holding what a match test needs, so
 * that walking a group reads a few adjacent cache lines instead of one
 * rule (one dependent miss) per member.  For IPv4 an entry's test is the
 * whole of cls_rule_matches(); for IPv6 it tests the last 32-bit word each
 * prefix covers (CLS_ENT_PARTIAL: a pass is confirmed on the rule).
 * Blocks come in five sizes (1, 2, 4, 8, 16 entries) from pools of their
 * own and grow or shrink by one size at a time.  Members past the block
 * (groups of rules no table can separate) are reached through the rule
 * list from the block's last entry.
 */
#define CLS_BLK_CLASSES 5
#define CLS_BLK_MAX 16
#define CLS_ENT_PARTIAL 0x10u
struct cls_ent {
	uint32_t prio;
	uint32_t idx;
	uint32_t src, dst; /* the tested word of each address */
	uint16_t sp_lo, sp_hi, dp_lo, dp_hi;
	uint8_t slw, dlw; /* bits of the tested words in the prefixes */
	uint8_t proto;
	uint8_t flags; /* src word | dst word << 2 | CLS_ENT_PARTIAL */
};

struct cls_blk {
	uint16_t n, cap;
	struct cls_ent e[];
};

/*
 * A bucket, one cache line: its first two groups.  The first is held as
 * its hash, its block (0 for a group of one) and its head rule's entry, so
 * that a probe tests the group's best rule without reading the rule or the
 * block: for most ClassBench groups, of one rule, the slot is all a probe
 * reads.  The second is held as its hash, head (CLS_MORE: the head's
 * bnext leads to more groups), block (or the head itself, CLS_SINGLE) and
 * best priority.  A probe that misses both hashes stops here unless
 * CLS_MORE is set (a bucket of three or more groups is rare: groups are
 * at most half the buckets).  An empty bucket has e.idx 0; an empty second
 * half has ref2 and blk2 0.
 */
#define CLS_MORE 0x80000000u
struct cls_slot {
	uint32_t hash;
	uint32_t blk;
	struct cls_ent e;
	uint32_t hash2, ref2, blk2, prio2;
	uint32_t unused[3];
} __attribute__((aligned(64)));

/* A block reference: index << 3 | size class; 0 is none.  Blocks of size
 * class k take 32 << k bytes, so that in an aligned segment none straddles
 * more cache lines than it must. */
#define CLS_BLK_REF(idx, k) ((idx) << 3 | (k))

/* On a block reference that a walk takes: the slot has tested the group's
 * head (entry 0) already.  Block indices stay below 2^27 to leave it. */
#define CLS_HEAD_DONE 0x40000000u
#define CLS_BLK_IDX_MAX (1u << 27)

/* A group of one rule has no block: its slot and lookups refer to the
 * rule itself (whose first line holds all a match needs), marked so. */
#define CLS_SINGLE 0x80000000u

struct cls_heapent {
	uint32_t prio;
	uint32_t idx;
};

struct cls_table {
	/* What a lookup reads. */
	uint32_t bound;  /* lowest priority held: exact */
	uint32_t lomask; /* (1 << level) - 1 */
	uint32_t split;  /* linear hashing: buckets below are split */
	uint32_t xmask;  /* ports hashed: sport << 16 | dport */
	uint32_t smask[4], dmask[4];
	uint8_t pmask; /* 0xff when the protocol is hashed */
	uint8_t fam;
	uint8_t slen, dlen;
	uint8_t band;          /* the priority band it takes (CLS_BAND()) */
	uint32_t pos;          /* index in its family's order */
	struct segarray filt;  /* uint8_t per bucket: cls_filt_bit()s */
	struct segarray slots; /* struct cls_slot */
	/* Bookkeeping. */
	uint32_t level;
	uint32_t nkeys, nrules;
	uint64_t id;          /* creation order: ties in the order */
	struct segarray heap; /* struct cls_heapent, a min-heap */
};

/* What a table hashes on. */
struct cls_sig {
	uint8_t slen, dlen, pmask, band;
	uint32_t xmask;
};

struct cls_pkt;

/* Walk a group's block from entry @from (0, or 1 when the slot tested the
 * head) for a packet (classify_lookup.c, classify_simd.c): keep in *best /
 * *bp the group's best match if it beats *bp. */
typedef void cls_walk_blk_fn(const struct er_cls *c, const struct cls_blk *b,
                             uint32_t from, const struct cls_pkt *p,
                             const struct er_cls_rule **best, uint64_t *bp);

struct er_cls {
	struct cls_table **order[CLS_FAM_COUNT]; /* by (bound, id) */
	cls_walk_blk_fn *walk_blk;               /* portable or vector */
	uint32_t ntab[CLS_FAM_COUNT], captab[CLS_FAM_COUNT];
	struct segarray pool; /* struct er_cls_rule; index 0 unused */
	uint32_t pool_top;    /* indices below were handed out once */
	uint32_t free_head;   /* free rules, linked through next */
	size_t nrules;
	uint64_t seq, next_id;
	struct segarray blkpool[CLS_BLK_CLASSES]; /* struct cls_blk by size */
	uint32_t blktop[CLS_BLK_CLASSES], blkfree[CLS_BLK_CLASSES];
	struct memacct mem;
	bool simd;
};

static inline struct er_cls_rule *
cls_rule(const struct er_cls *c, uint32_t idx)
{
	return (struct er_cls_rule *)segarray_at_fixed(
	        &c->pool, idx, CLS_POOL_B0, sizeof(struct er_cls_rule));
}

static inline struct cls_slot *
cls_slot_at(const struct cls_table *t, uint32_t b)
{
	return (struct cls_slot *)segarray_at_fixed(&t->slots, b, CLS_LEVEL_MIN,
	                                            sizeof(struct cls_slot));
}

/*
 * A bucket's filter byte: bit (hash >> 29) set for the hash of every group
 * in the bucket.  The bytes are a sixteenth of the slots and stay in cache
 * where the slots do not, so a probe for a hash that no group of the
 * bucket can have (most probes of a packet that matches nothing in a large
 * table) ends there, on a cache hit, instead of on a slot miss.  Bucket
 * and filter bit come from different bits of the hash.
 */
static inline uint8_t *
cls_filt_at(const struct cls_table *t, uint32_t b)
{
	return (uint8_t *)segarray_at_fixed(&t->filt, b, CLS_LEVEL_MIN, 1);
}

static inline uint32_t
cls_filt_bit(uint32_t h)
{
	return 1u << (h >> 29);
}

/* What a probe reads instead of a slot its filter rules out: empty. */
extern const struct cls_slot cls_slot_none;

/* The slot to read for hash @h in bucket @b: its own, or cls_slot_none
 * when the filter says no group there has the hash (a select, not a
 * branch). */
static inline const struct cls_slot *
cls_probe(const struct cls_table *t, uint32_t b, uint32_t h)
{
	const struct cls_slot *s = cls_slot_at(t, b);

	return (*cls_filt_at(t, b) & cls_filt_bit(h)) ? s : &cls_slot_none;
}

static inline struct cls_blk *
cls_blk_at(const struct er_cls *c, uint32_t ref)
{
	return (struct cls_blk *)segarray_at(&c->blkpool[ref & 7],
	                                     (ref & ~CLS_HEAD_DONE) >> 3);
}

/* The bucket a hash falls in (linear hashing). */
static inline uint32_t
cls_bucket(const struct cls_table *t, uint32_t h)
{
	uint32_t b = h & t->lomask;

	if (b < t->split)
		b = h & (t->lomask << 1 | 1);
	return b;
}

/* The mask of the first @len bits of a 32-bit word (len 0..32). */
static inline uint32_t
cls_mask32(unsigned len)
{
	return (uint32_t)(0xffffffff00000000ull >> len);
}

/* Word @w's share of a @len-bit prefix of a 128-bit address. */
static inline uint32_t
cls_mask_word(unsigned len, unsigned w)
{
	unsigned lo = 32 * w;

	if (len <= lo)
		return 0;
	return cls_mask32(len - lo > 32 ? 32 : len - lo);
}

/* Multipliers: odd, and different per field so that equal values in
 * different fields do not cancel.  The SIMD path uses the same ones. */
#define CLS_K_SRC 0x9e3779b1u
#define CLS_K_DST 0x85ebca77u
#define CLS_K_PORTS 0xc2b2ae3du
#define CLS_K_PROTO 0x27d4eb2fu

static inline uint32_t
cls_hash4(uint32_t s, uint32_t d, uint32_t ports, uint32_t proto)
{
	return er_mix32(s * CLS_K_SRC ^ d * CLS_K_DST ^ ports * CLS_K_PORTS ^
	                proto * CLS_K_PROTO);
}

static inline uint32_t
cls_hash_pkt4(const struct cls_table *t, const struct cls_pkt *p)
{
	return cls_hash4(p->src[0] & t->smask[0], p->dst[0] & t->dmask[0],
	                 p->ports & t->xmask, p->proto & t->pmask);
}

static inline uint32_t
cls_hash_pkt6(const struct cls_table *t, const struct cls_pkt *p)
{
	uint32_t h = 0;

	for (unsigned w = 0; w < 4; w++)
		h ^= ((p->src[w] & t->smask[w]) * CLS_K_SRC ^
		      (p->dst[w] & t->dmask[w]) * CLS_K_DST) *
		     (2 * w + 1);
	return er_mix32(h ^ (p->ports & t->xmask) * CLS_K_PORTS ^
	                (uint32_t)(p->proto & t->pmask) * CLS_K_PROTO);
}

static inline uint32_t
cls_hash_pkt(const struct cls_table *t, const struct cls_pkt *p)
{
	return t->fam == CLS_FAM_V4 ? cls_hash_pkt4(t, p) : cls_hash_pkt6(t, p);
}

/* Does rule @r match packet @p (of the rule's family)? */
static inline bool
cls_rule_matches(const struct er_cls_rule *r, const struct cls_pkt *p)
{
	uint16_t sport = (uint16_t)(p->ports >> 16), dport = (uint16_t)p->ports;

	if (r->fam == CLS_FAM_V4) {
		if (((p->src[0] ^ r->src[0]) & cls_mask32(r->slen)) != 0 ||
		    ((p->dst[0] ^ r->dst[0]) & cls_mask32(r->dlen)) != 0)
			return false;
	} else {
		for (unsigned w = 0; w < 4; w++) {
			if (((p->src[w] ^ r->src[w]) &
			     cls_mask_word(r->slen, w)) != 0 ||
			    ((p->dst[w] ^ r->dst[w]) &
			     cls_mask_word(r->dlen, w)) != 0)
				return false;
		}
	}
	return (r->proto == 0 || r->proto == p->proto) && r->sp_lo <= sport &&
	       sport <= r->sp_hi && r->dp_lo <= dport && dport <= r->dp_hi;
}

/* Does entry @e pass for packet @p?  For IPv4 that is a match.  The
 * tests are combined without branches: a group's walk then takes one
 * well-predicted branch per entry instead of one per field. */
static inline bool
cls_ent_matches(const struct cls_ent *e, const struct cls_pkt *p)
{
	uint32_t sport = p->ports >> 16, dport = p->ports & 0xffff;
	uint32_t miss;

	miss = ((p->src[e->flags & 3] ^ e->src) & cls_mask32(e->slw)) |
	       ((p->dst[(e->flags >> 2) & 3] ^ e->dst) & cls_mask32(e->dlw));
	miss |= (uint32_t)(e->proto != 0) & (uint32_t)(e->proto != p->proto);
	miss |= (uint32_t)(sport - e->sp_lo > (uint32_t)(e->sp_hi - e->sp_lo));
	miss |= (uint32_t)(dport - e->dp_lo > (uint32_t)(e->dp_hi - e->dp_lo));
	return miss == 0;
}

/* classify.c */
bool cls_rule_before(const struct er_cls_rule *a, const struct er_cls_rule *b);

/* Rule @r, of priority @prio, matches: keep it if it beats *best (a
 * better priority, or an equal one and an earlier place in the order).
 * Only a tie reads the rules. */
static inline void
cls_take(const struct er_cls_rule *r, uint32_t prio,
         const struct er_cls_rule **best, uint64_t *bp)
{
	if (prio < *bp || cls_rule_before(r, *best)) {
		/* Its datum is read at the end: start the miss now. */
		__builtin_prefetch(r);
		*best = r;
		*bp = prio;
	}
}
void cls_table_reorder(struct er_cls *c, struct cls_table *t);

/* Does entry @e's rule match @p?  Then keep it if it beats *best.  An
 * IPv6 entry's pass is confirmed on the rule. */
static inline bool
cls_ent_try(const struct er_cls *c, const struct cls_ent *e,
            const struct cls_pkt *p, const struct er_cls_rule **best,
            uint64_t *bp)
{
	const struct er_cls_rule *r;

	if (!cls_ent_matches(e, p))
		return false;
	r = cls_rule(c, e->idx);
	if ((e->flags & CLS_ENT_PARTIAL) && !cls_rule_matches(r, p))
		return false;
	cls_take(r, e->prio, best, bp);
	return true;
}

/* classify_table.c */
struct cls_table *cls_table_new(struct er_cls *c, unsigned fam,
                                const struct cls_sig *sig);
void cls_table_free(struct er_cls *c, struct cls_table *t);
bool cls_table_fits(const struct cls_table *t, const struct er_cls_rule *r);
uint32_t cls_table_rule_hash(const struct cls_table *t,
                             const struct er_cls_rule *r);
uint32_t cls_table_group(const struct er_cls *c, const struct cls_table *t,
                         uint32_t h);
int cls_table_insert(struct er_cls *c, struct cls_table *t,
                     struct er_cls_rule *r);
void cls_table_remove(struct er_cls *c, struct cls_table *t,
                      struct er_cls_rule *r);
void cls_ent_fill(struct cls_ent *e, const struct er_cls_rule *r);
void cls_slot_fill(const struct er_cls *c, uint32_t first, struct cls_slot *s);
void cls_blk_init(struct er_cls *c);
void cls_blk_fini(struct er_cls *c);

/* A single lookup probes this many tables at a time. */
#define CLS_LOOKAHEAD 4

/* A batch is looked up in chunks of this many packets. */
#define CLS_CHUNK 64

/* One chunk in flight.  The IPv4 fields are also kept as arrays indexed
 * by position in act[] (the packets still in the race), so that the hash
 * step reads them in order, CLS_CHUNK lanes always defined. */
struct cls_chunk {
	struct cls_pkt cp[CLS_CHUNK];
	const struct er_cls_rule *best[CLS_CHUNK];
	uint64_t bp[CLS_CHUNK]; /* best's priority; UINT64_MAX: none */
	uint8_t act[CLS_CHUNK];
	uint32_t src4[CLS_CHUNK], dst4[CLS_CHUNK];
	uint32_t ports[CLS_CHUNK], proto[CLS_CHUNK];
	uint32_t h[CLS_CHUNK];
};

/* Hash the first @n IPv4 lanes of @ch for table @t into ch->h. */
typedef void cls_hash_chunk4_fn(const struct cls_table *t, struct cls_chunk *ch,
                                uint32_t n);

/* classify_lookup.c */
int cls_pkt_load(struct cls_pkt *cp, const struct er_packet *pkt);
void cls_walk_list(const struct er_cls *c, uint32_t idx,
                   const struct cls_pkt *p, const struct er_cls_rule **best,
                   uint64_t *bp);
cls_walk_blk_fn cls_walk_blk_portable;
cls_hash_chunk4_fn cls_hash_chunk4_portable;
void cls_lookup_batch_with(const struct er_cls *c, const struct er_packet *pkts,
                           size_t n, void **out, cls_hash_chunk4_fn *hash4);
void cls_lookup_batch_portable(const struct er_cls *c,
                               const struct er_packet *pkts, size_t n,
                               void **out);

/* classify_check.c: 0, or -1 with what is wrong in @buf (tests only). */
int cls_check(const struct er_cls *c, char *buf, size_t len);

/* classify_simd.c */
bool cls_simd_supported(void);
cls_walk_blk_fn *cls_simd_walk_blk(void); /* NULL: none for this CPU */
void cls_lookup_batch_simd(const struct er_cls *c, const struct er_packet *pkts,
                           size_t n, void **out);

#endif
