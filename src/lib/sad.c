// SPDX-License-Identifier: MIT
/*
 * The SAD.  Two indexes over the same entries: a hash on (destination,
 * protocol, SPI) answers exact lookups in O(1), and a red-black tree in
 * that order gives listings and the SPI allocator the used SPIs of a
 * (destination, protocol) in order.  Key material lives only in the entries
 * and is wiped with explicit_bzero() before they are freed.
 *
 * The hash is a linear hash (as in classify_table.c): it grows and shrinks
 * one bucket per add or delete, over a segmented bucket array that is never
 * copied, so no add or delete pays for the size of the SAD.  Entries come
 * from a pool of segments too (large ones on huge pages, so that lookups
 * in a big SAD do not miss the TLB at every entry), and an entry's first
 * cache line holds its tree links and its id, which is all that a tree
 * descent or a hash hit reads.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eroute/sad.h"

#include "compat/tree.h"
#include "segarray.h"

struct sad_entry {
	RB_ENTRY(sad_entry) link;
	struct er_sa sa;
	struct sad_entry *hnext; /* next in its hash bucket, or free */
	bool soft_reported;
} __attribute__((aligned(64)));

RB_HEAD(sad_tree, sad_entry);

/* Buckets at first (log2); the hash splits at one SA per bucket. */
#define SAD_LEVEL_MIN 4
/* Entries pooled 2^SAD_POOL_B0 at first, doubling. */
#define SAD_POOL_B0 4

struct er_sad {
	struct sad_tree tree;
	size_t count;
	struct segarray buckets; /* struct sad_entry * */
	uint32_t lomask, split;	 /* linear hashing (classify_table.c) */
	struct segarray pool;	 /* struct sad_entry */
	uint32_t pool_top;	 /* entries below were handed out once */
	struct sad_entry *free;	 /* linked through hnext */
	struct memacct mem;
};

/* The address as two big-endian words: comparing them is memcmp()'s
 * order, without the calls, on every level of a tree descent. */
static uint64_t
be64_at(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* er_addr_cmp()'s order (family, then the 16 bytes), then proto, SPI. */
static int
id_cmp(const struct er_sa_id *a, const struct er_sa_id *b)
{
	uint64_t x, y;

	if (a->dst.family != b->dst.family)
		return a->dst.family < b->dst.family ? -1 : 1;
	x = be64_at(a->dst.a);
	y = be64_at(b->dst.a);
	if (x == y) {
		x = be64_at(a->dst.a + 8);
		y = be64_at(b->dst.a + 8);
	}
	if (x != y)
		return x < y ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->spi != b->spi)
		return a->spi < b->spi ? -1 : 1;
	return 0;
}

static int
entry_cmp(const struct sad_entry *a, const struct sad_entry *b)
{
	return id_cmp(&a->sa.id, &b->sa.id);
}

RB_GENERATE_STATIC(sad_tree, sad_entry, link, entry_cmp)

/* ---- the hash index ---------------------------------------------- */

static uint32_t
get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* All 16 address bytes take part: ids are equal exactly when
 * er_addr_cmp() says so. */
static uint32_t
id_hash(const struct er_sa_id *id)
{
	uint32_t h = id->spi * 0x9e3779b1u ^ id->proto * 0x85ebca77u ^
		     id->dst.family * 0xc2b2ae3du ^
		     get_u32(id->dst.a) * 0x27d4eb2fu ^
		     get_u32(id->dst.a + 4) * 0x165667b1u ^
		     get_u32(id->dst.a + 8) * 0xd3a2646cu ^
		     get_u32(id->dst.a + 12) * 0xfd7046c5u;

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static bool
id_equal(const struct er_sa_id *a, const struct er_sa_id *b)
{
	return a->spi == b->spi && a->proto == b->proto &&
	       a->dst.family == b->dst.family &&
	       memcmp(a->dst.a, b->dst.a, sizeof(a->dst.a)) == 0;
}

static uint32_t
bucket_of(const struct er_sad *sad, uint32_t h)
{
	uint32_t b = h & sad->lomask;

	if (b < sad->split)
		b = h & (sad->lomask << 1 | 1);
	return b;
}

static struct sad_entry **
bucket_at(const struct er_sad *sad, uint32_t b)
{
	return segarray_at_fixed(&sad->buckets, b, SAD_LEVEL_MIN,
				 sizeof(struct sad_entry *));
}

static uint32_t
nbuckets(const struct er_sad *sad)
{
	return sad->lomask + 1 + sad->split;
}

/* Split the next bucket in turn once SAs outnumber buckets; out of
 * memory only leaves the chains longer. */
static void
hash_grow(struct er_sad *sad)
{
	uint32_t nb = nbuckets(sad), bit = sad->lomask + 1;
	struct sad_entry **from, **to, *e, *next;

	if (sad->count <= nb || sad->lomask >= 1u << 29)
		return;
	if (nb >= segarray_capacity(&sad->buckets) &&
	    segarray_grow(&sad->buckets, &sad->mem) < 0)
		return;
	from = bucket_at(sad, sad->split);
	to = bucket_at(sad, sad->split + bit);
	e = *from;
	*from = *to = NULL;
	for (; e != NULL; e = next) {
		struct sad_entry **dst = id_hash(&e->sa.id) & bit ? to : from;

		next = e->hnext;
		e->hnext = *dst;
		*dst = e;
	}
	if (++sad->split == bit) {
		sad->lomask = sad->lomask << 1 | 1;
		sad->split = 0;
	}
}

/* Merge the last bucket back once SAs fall under a quarter of them. */
static void
hash_shrink(struct er_sad *sad)
{
	uint32_t nb = nbuckets(sad);
	struct sad_entry **from, **to, *e;

	if (nb <= 1u << SAD_LEVEL_MIN || sad->count * 4 >= nb)
		return;
	if (sad->split == 0) {
		sad->lomask >>= 1;
		sad->split = sad->lomask + 1;
	}
	sad->split--;
	from = bucket_at(sad, sad->split + sad->lomask + 1);
	to = bucket_at(sad, sad->split);
	if (*from != NULL) {
		for (e = *from; e->hnext != NULL; e = e->hnext)
			;
		e->hnext = *to;
		*to = *from;
		*from = NULL;
	}
	if (sad->buckets.nseg > 1 &&
	    nb - 1 <= segarray_capacity(&sad->buckets) / 2)
		segarray_shrink(&sad->buckets, &sad->mem);
}

static void
hash_insert(struct er_sad *sad, struct sad_entry *e)
{
	struct sad_entry **b =
		bucket_at(sad, bucket_of(sad, id_hash(&e->sa.id)));

	e->hnext = *b;
	*b = e;
	hash_grow(sad);
}

static void
hash_remove(struct er_sad *sad, struct sad_entry *e)
{
	struct sad_entry **p =
		bucket_at(sad, bucket_of(sad, id_hash(&e->sa.id)));

	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	e->hnext = NULL;
	if (sad->count > 0) {
		hash_shrink(sad);
		return;
	}
	/* Empty: back to the first segment at once (a few frees). */
	while (sad->buckets.nseg > 1)
		segarray_shrink(&sad->buckets, &sad->mem);
	sad->lomask = (1u << SAD_LEVEL_MIN) - 1;
	sad->split = 0;
}

/* ---- the entry pool ----------------------------------------------- */

static struct sad_entry *
pool_get(struct er_sad *sad)
{
	struct sad_entry *e = sad->free;

	if (e != NULL) {
		sad->free = e->hnext;
	} else {
		if (sad->pool_top == UINT32_MAX ||
		    (sad->pool_top >= segarray_capacity(&sad->pool) &&
		     segarray_grow(&sad->pool, &sad->mem) < 0))
			return NULL;
		e = segarray_at(&sad->pool, sad->pool_top++);
	}
	/* The caller copies the SA in; only what is outside it is set. */
	memset(&e->link, 0, sizeof(e->link));
	e->hnext = NULL;
	e->soft_reported = false;
	return e;
}

/* Key material is wiped before the entry is reused or released. */
static void
pool_put(struct er_sad *sad, struct sad_entry *e)
{
	explicit_bzero(&e->sa.keys, sizeof(e->sa.keys));
	e->hnext = sad->free;
	sad->free = e;
	if (sad->count > 0)
		return;
	/* Empty: give every segment back (one free each). */
	segarray_fini(&sad->pool, &sad->mem);
	sad->pool_top = 0;
	sad->free = NULL;
}

static struct sad_entry *
hash_find(const struct er_sad *sad, const struct er_sa_id *id)
{
	struct sad_entry *e = *bucket_at(sad, bucket_of(sad, id_hash(id)));

	while (e != NULL && !id_equal(&e->sa.id, id))
		e = e->hnext;
	return e;
}

/* ---- entries ------------------------------------------------------ */

static struct sad_entry *
entry_of(const struct er_sa *sa)
{
	return (struct sad_entry *)((uintptr_t)sa -
				    offsetof(struct sad_entry, sa));
}

static struct sad_tree *
tree_of(const struct er_sad *sad)
{
	/* RB_* take non-const heads even for reads. */
	return (struct sad_tree *)(uintptr_t)&sad->tree;
}

const char *
er_sa_state_name(enum er_sa_state state)
{
	static const char *const names[] = {"larval", "mature", "dying",
					    "dead"};

	return (unsigned)state < 4 ? names[state] : "?";
}

const char *
er_sa_expiry_name(enum er_sa_expiry kind)
{
	static const char *const names[] = {"larval", "soft", "hard"};

	return (unsigned)kind < 3 ? names[kind] : "?";
}

int
er_sa_id_format(const struct er_sa_id *id, char *buf, size_t len)
{
	char dst[ER_ADDR_STRLEN];
	const char *proto;

	switch (id->proto) {
	case IPPROTO_ESP:
		proto = "esp";
		break;
	case IPPROTO_AH:
		proto = "ah";
		break;
	case IPPROTO_COMP:
		proto = "comp";
		break;
	default:
		proto = "?";
		break;
	}
	er_addr_format(&id->dst, dst, sizeof(dst));
	return snprintf(buf, len, "%s.0x%08x@%s", proto, id->spi, dst);
}

struct er_sad *
er_sad_new(void)
{
	struct er_sad *sad = calloc(1, sizeof(*sad));

	if (sad == NULL)
		return NULL;
	RB_INIT(&sad->tree);
	segarray_init(&sad->buckets, sizeof(struct sad_entry *), SAD_LEVEL_MIN,
		      true);
	segarray_init(&sad->pool, sizeof(struct sad_entry), SAD_POOL_B0, false);
	sad->lomask = (1u << SAD_LEVEL_MIN) - 1;
	if (segarray_grow(&sad->buckets, &sad->mem) < 0) {
		free(sad);
		return NULL;
	}
	return sad;
}


void
er_sad_free(struct er_sad *sad)
{
	struct sad_entry *e;

	if (sad == NULL)
		return;
	/* Remove before freeing: RB_NEXT would climb to freed parents. */
	/* Wipe every key; the pool's segments go at once. */
	RB_FOREACH(e, sad_tree, &sad->tree)
		explicit_bzero(&e->sa.keys, sizeof(e->sa.keys));
	segarray_fini(&sad->pool, &sad->mem);
	segarray_fini(&sad->buckets, &sad->mem);
	free(sad);
}

static int
sa_check(const struct er_sa *sa)
{
	if (sa->id.spi == 0 || er_addr_bits(sa->id.dst.family) == 0)
		return -EINVAL;
	if ((unsigned)sa->state > ER_SA_DEAD)
		return -EINVAL;
	if (sa->keys.enc_key_len > ER_SA_KEY_MAX ||
	    sa->keys.integ_key_len > ER_SA_KEY_MAX)
		return -EINVAL;
	return 0;
}

static struct sad_entry *
find(const struct er_sad *sad, const struct er_sa_id *id)
{
	return hash_find(sad, id);
}

int
er_sad_add(struct er_sad *sad, const struct er_sa *sa, const struct er_sa **out)
{
	struct sad_entry *e;
	int ret = sa_check(sa);

	if (ret < 0)
		return ret;
	if (find(sad, &sa->id) != NULL)
		return -EEXIST;
	e = pool_get(sad);
	if (e == NULL)
		return -ENOMEM;
	e->sa = *sa;
	RB_INSERT(sad_tree, &sad->tree, e);
	sad->count++;
	hash_insert(sad, e);
	if (out != NULL)
		*out = &e->sa;
	return 0;
}

int
er_sad_update(struct er_sad *sad, const struct er_sa *sa,
	      const struct er_sa **out)
{
	struct sad_entry *e;
	uint64_t created, bytes, packets;
	bool was_larval;
	int ret = sa_check(sa);

	if (ret < 0)
		return ret;
	e = find(sad, &sa->id);
	if (e == NULL)
		return -ENOENT;
	was_larval = e->sa.state == ER_SA_LARVAL;
	created = e->sa.created;
	bytes = e->sa.bytes;
	packets = e->sa.packets;
	explicit_bzero(&e->sa.keys, sizeof(e->sa.keys));
	e->sa = *sa;
	if (!was_larval) {
		e->sa.created = created;
		e->sa.bytes = bytes;
		e->sa.packets = packets;
	} else {
		e->soft_reported = false;
	}
	if (out != NULL)
		*out = &e->sa;
	return 0;
}

int
er_sad_del(struct er_sad *sad, const struct er_sa_id *id)
{
	struct sad_entry *e = find(sad, id);

	if (e == NULL)
		return -ENOENT;
	RB_REMOVE(sad_tree, &sad->tree, e);
	sad->count--;
	hash_remove(sad, e);
	pool_put(sad, e);
	return 0;
}

const struct er_sa *
er_sad_get(const struct er_sad *sad, const struct er_sa_id *id)
{
	struct sad_entry *e = find(sad, id);

	return e != NULL ? &e->sa : NULL;
}

const struct er_sa *
er_sad_lookup(const struct er_sad *sad, const struct er_addr *dst,
	      uint8_t proto, uint32_t spi)
{
	struct er_sa_id id = {.dst = *dst, .proto = proto, .spi = spi};

	return er_sad_get(sad, &id);
}

/* Chunks of this many ids share their cache misses. */
#define SAD_CHUNK 32

void
er_sad_lookup_batch(const struct er_sad *sad, const struct er_sa_id *ids,
		    size_t n, const struct er_sa **out)
{
	struct sad_entry **b[SAD_CHUNK];
	struct sad_entry *e[SAD_CHUNK];

	while (n > 0) {
		size_t m = n < SAD_CHUNK ? n : SAD_CHUNK;

		for (size_t i = 0; i < m; i++) {
			b[i] = bucket_at(sad, bucket_of(sad, id_hash(&ids[i])));
			__builtin_prefetch(b[i]);
		}
		for (size_t i = 0; i < m; i++) {
			e[i] = *b[i];
			if (e[i] != NULL)
				__builtin_prefetch(e[i]);
		}
		for (size_t i = 0; i < m; i++) {
			while (e[i] != NULL && !id_equal(&e[i]->sa.id, &ids[i]))
				e[i] = e[i]->hnext;
			out[i] = e[i] != NULL ? &e[i]->sa : NULL;
		}
		ids += m;
		out += m;
		n -= m;
	}
}

void
er_sad_account(struct er_sad *sad, const struct er_sa *sa, uint64_t bytes,
	       uint64_t packets)
{
	struct sad_entry *e = entry_of(sa);

	(void)sad;
	e->sa.bytes += bytes;
	e->sa.packets += packets;
}

void
er_sad_set_state(struct er_sad *sad, const struct er_sa *sa,
		 enum er_sa_state state)
{
	(void)sad;
	entry_of(sa)->sa.state = state;
}

/* Has @sa passed any of the limits in @lt at @now? */
static bool
past(const struct er_sa *sa, const struct er_lifetime *lt, uint64_t now)
{
	return (lt->secs != 0 && now >= sa->created + lt->secs) ||
	       (lt->bytes != 0 && sa->bytes >= lt->bytes) ||
	       (lt->packets != 0 && sa->packets >= lt->packets);
}

static size_t
expire_entry(struct sad_entry *e, uint64_t now, er_sad_expire_cb *cb,
	     void *ctx)
{
	struct er_sa *sa = &e->sa;

	switch (sa->state) {
	case ER_SA_LARVAL:
		if (sa->larval_expires != 0 && now >= sa->larval_expires) {
			sa->state = ER_SA_DEAD;
			cb(ctx, sa, ER_SA_EXPIRE_LARVAL);
			return 1;
		}
		break;
	case ER_SA_MATURE:
	case ER_SA_DYING:
		if (past(sa, &sa->hard, now)) {
			sa->state = ER_SA_DEAD;
			cb(ctx, sa, ER_SA_EXPIRE_HARD);
			return 1;
		}
		if (!e->soft_reported && past(sa, &sa->soft, now)) {
			e->soft_reported = true;
			sa->state = ER_SA_DYING;
			cb(ctx, sa, ER_SA_EXPIRE_SOFT);
			return 1;
		}
		break;
	case ER_SA_DEAD:
		break;
	}
	return 0;
}

size_t
er_sad_expire(struct er_sad *sad, uint64_t now, er_sad_expire_cb *cb,
	      void *ctx)
{
	struct sad_entry *e;
	size_t n = 0;

	RB_FOREACH(e, sad_tree, &sad->tree)
		n += expire_entry(e, now, cb, ctx);
	return n;
}

size_t
er_sad_expire_sa(struct er_sad *sad, const struct er_sa *sa, uint64_t now,
		 er_sad_expire_cb *cb, void *ctx)
{
	(void)sad;
	return expire_entry(entry_of(sa), now, cb, ctx);
}

size_t
er_sad_count(const struct er_sad *sad)
{
	return sad->count;
}

size_t
er_sad_bytes(const struct er_sad *sad)
{
	return sizeof(*sad) + sad->mem.bytes;
}

const struct er_sa *
er_sad_first(const struct er_sad *sad)
{
	struct sad_entry *e = RB_MIN(sad_tree, tree_of(sad));

	return e != NULL ? &e->sa : NULL;
}

const struct er_sa *
er_sad_next(const struct er_sad *sad, const struct er_sa *sa)
{
	struct sad_entry *e;

	(void)sad;
	e = RB_NEXT(sad_tree, NULL, entry_of(sa));
	return e != NULL ? &e->sa : NULL;
}

const struct er_sa *
er_sad_next_by_reqid(const struct er_sad *sad, uint32_t reqid,
		     const struct er_sa *sa)
{
	sa = sa == NULL ? er_sad_first(sad) : er_sad_next(sad, sa);
	while (sa != NULL && sa->reqid != reqid)
		sa = er_sad_next(sad, sa);
	return sa;
}

const struct er_sa *
er_sad_next_by_owner(const struct er_sad *sad, uint32_t owner,
		     const struct er_sa *sa)
{
	sa = sa == NULL ? er_sad_first(sad) : er_sad_next(sad, sa);
	while (sa != NULL && sa->owner != owner)
		sa = er_sad_next(sad, sa);
	return sa;
}

const struct er_sa *
er_sad_ceil(const struct er_sad *sad, const struct er_addr *dst, uint8_t proto,
	    uint32_t spi)
{
	struct sad_entry key, *e;

	key.sa.id.dst = *dst;
	key.sa.id.proto = proto;
	key.sa.id.spi = spi;
	e = RB_NFIND(sad_tree, tree_of(sad), &key);
	return e != NULL ? &e->sa : NULL;
}
