// SPDX-License-Identifier: MIT
/*
 * The SAD.  Two indexes over the same entries: a hash on (destination,
 * protocol, SPI) answers exact lookups in O(1), and a B+ tree in that
 * order gives listings and the SPI allocator the used SPIs of a
 * (destination, protocol) in order.  Key material lives only in the entries
 * and is wiped with explicit_bzero() before they are freed.
 *
 * The hash is a linear hash (lhash.h): it grows and shrinks one bucket per
 * add or delete, over a segmented bucket array that is never copied, so no
 * add or delete pays for the size of the SAD.  Entries and B+ tree nodes
 * come from pools (pool.h) of segments too (large ones on huge pages, so
 * that lookups in a big SAD do not miss the TLB at every entry).
 *
 * Why a B+ tree and not a red-black tree through the entries: at 1M SAs
 * an RB insert or delete walks some 20 entries, each a cache miss once the
 * tree outgrows the caches (1.8 us per add).  The B+ tree keeps its keys
 * packed in its nodes, BT_MAX to a node: the inner levels are a few
 * hundred kilobytes and stay cached, so an add or delete misses on about
 * one leaf, and moves a few hundred bytes inside it.  Leaves are linked
 * for in-order walks, and every entry knows its leaf, so "next" is O(1).
 * A delete never merges nodes, it only frees a node that became empty:
 * no rebalancing cascades, and the height stays that of the largest the
 * SAD has been.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eroute/sad.h"

#include "mix.h"
#include "lhash.h"
#include "pool.h"

struct bt_node;

/* The first cache line holds what a hash walk and a delete read: the
 * bucket link and hash, the leaf and the id. */
struct sad_entry {
	struct lhash_node hnode; /* in its hash bucket; .next: free list */
	struct bt_node *leaf;	 /* the B+ tree leaf holding it */
	struct er_sa sa;
	bool soft_reported;
} __attribute__((aligned(64)));


/* Keys per B+ tree node: 32 keys of 24 bytes and their pointers are about
 * a kilobyte, a few cache lines read per binary search. */
#define BT_MAX 32
/* Deeper than any tree of 2^32 entries can get (a split leaves both
 * halves at least BT_MAX / 2 full, and deletes never add levels). */
#define BT_DEPTH_MAX 16

/* An SA id packed so that comparing the words in order is id_cmp()'s
 * order: family, the 16 address bytes, protocol, SPI. */
struct bt_key {
	uint64_t w[3];
};

struct bt_node {
	uint16_t n;		/* keys in a leaf, children of an inner node */
	bool leaf;
	struct bt_node *prev, *next;	/* leaves, in order */
	/* A leaf's key[i] is ent[i]'s; an inner node's key[i] is no more
	 * than the least key under child[i] and more than every key under
	 * child[i - 1] (key[0] is not looked at). */
	struct bt_key key[BT_MAX];
	union {
		struct sad_entry *ent[BT_MAX];
		struct bt_node *child[BT_MAX];
	};
};

struct er_sad {
	struct bt_node *root;	 /* NULL when empty */
	size_t count;
	struct lhash hash;	 /* by id */
	struct pool entries;	 /* struct sad_entry */
	struct pool nodes;	 /* struct bt_node */
};

static struct bt_key
bt_key_of(const struct er_sa_id *id)
{
	const uint8_t *a = id->dst.a;
	struct bt_key k = {{(uint64_t)(uint8_t)id->dst.family << 56, 0, 0}};
	int i;

	for (i = 0; i < 7; i++)
		k.w[0] |= (uint64_t)a[i] << (48 - 8 * i);
	for (i = 0; i < 8; i++)
		k.w[1] = k.w[1] << 8 | a[7 + i];
	k.w[2] = (uint64_t)a[15] << 40 | (uint64_t)id->proto << 32 | id->spi;
	return k;
}

static int
bt_cmp(const struct bt_key *a, const struct bt_key *b)
{
	for (int i = 0; i < 3; i++) {
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	}
	return 0;
}

/* The first index in keys[lo..n) whose key is >= @k (n if none). */
static unsigned
bt_lower(const struct bt_key *keys, unsigned lo, unsigned n,
	 const struct bt_key *k)
{
	unsigned hi = n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (bt_cmp(&keys[mid], k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The child of inner node @nd whose range holds @k. */
static unsigned
bt_child_for(const struct bt_node *nd, const struct bt_key *k)
{
	/* the last i >= 1 with key[i] <= k, else 0 */
	unsigned i = bt_lower(nd->key, 1, nd->n, k);

	if (i < nd->n && bt_cmp(&nd->key[i], k) == 0)
		return i;
	return i - 1;
}

/* Nodes come from a segmented pool like the entries (on huge pages once
 * large: a descent then misses the TLB no more than the cache). */
static struct bt_node *
bt_node_new(struct er_sad *sad, bool leaf)
{
	struct bt_node *nd = pool_get(&sad->nodes);

	if (nd != NULL)
		nd->leaf = leaf;
	return nd;
}

static void
bt_node_put(struct er_sad *sad, struct bt_node *nd)
{
	pool_put(&sad->nodes, nd);
}

/* Put @nd and every node under it. */
static void
bt_put_all(struct er_sad *sad, struct bt_node *nd)
{
	if (nd == NULL)
		return;
	for (unsigned i = 0; !nd->leaf && i < nd->n; i++)
		bt_put_all(sad, nd->child[i]);
	bt_node_put(sad, nd);
}

/* A node's lines are fetched at once rather than one per probe of the
 * binary search: a cold node costs one miss, not five. */
static void
bt_prefetch(const struct bt_node *nd)
{
	for (size_t off = 0; off < sizeof(*nd); off += 64)
		__builtin_prefetch((const char *)nd + off);
}

/* Descend to the leaf for @k, recording the path (node, child index). */
static struct bt_node *
bt_descend(const struct er_sad *sad, const struct bt_key *k,
	   struct bt_node **path, unsigned *idx, unsigned *depth)
{
	struct bt_node *nd = sad->root;
	unsigned d = 0;

	while (nd != NULL && !nd->leaf) {
		unsigned i;

		bt_prefetch(nd);
		i = bt_child_for(nd, k);

		if (path != NULL && d < BT_DEPTH_MAX) {
			path[d] = nd;
			idx[d] = i;
		}
		d++;
		nd = nd->child[i];
	}
	if (nd != NULL)
		bt_prefetch(nd);
	if (depth != NULL)
		*depth = d;
	return nd;
}

/* Put (@k, @ptr) at @pos of @nd, which has room. */
static void
bt_put(struct bt_node *nd, unsigned pos, const struct bt_key *k, void *ptr)
{
	memmove(&nd->key[pos + 1], &nd->key[pos],
		(nd->n - pos) * sizeof(nd->key[0]));
	memmove(&nd->ent[pos + 1], &nd->ent[pos],
		(nd->n - pos) * sizeof(nd->ent[0]));
	nd->key[pos] = *k;
	nd->ent[pos] = ptr;
	nd->n++;
	if (nd->leaf)
		((struct sad_entry *)ptr)->leaf = nd;
}

/* Split full @nd: its upper half moves to @r, its new right sibling. */
static void
bt_split(struct bt_node *nd, struct bt_node *r)
{
	unsigned h = BT_MAX / 2;

	r->leaf = nd->leaf;
	r->n = (uint16_t)(nd->n - h);
	memcpy(r->key, &nd->key[h], r->n * sizeof(r->key[0]));
	memcpy(r->ent, &nd->ent[h], r->n * sizeof(r->ent[0]));
	nd->n = (uint16_t)h;
	if (!nd->leaf)
		return;
	for (unsigned i = 0; i < r->n; i++)
		r->ent[i]->leaf = r;
	r->next = nd->next;
	r->prev = nd;
	if (nd->next != NULL)
		nd->next->prev = r;
	nd->next = r;
}

/* Insert entry @e, whose id is not in the tree.  Return: 0 or -ENOMEM
 * (nothing changed: the nodes a split needs are taken first). */
static int
bt_insert(struct er_sad *sad, struct sad_entry *e)
{
	struct bt_node *path[BT_DEPTH_MAX], *spare[BT_DEPTH_MAX + 1], *nd;
	struct bt_key k = bt_key_of(&e->sa.id), sep;
	unsigned idx[BT_DEPTH_MAX], depth, pos, d, need = 0, used = 0;
	void *ptr = e;

	if (sad->root == NULL) {
		sad->root = bt_node_new(sad, true);
		if (sad->root == NULL)
			return -ENOMEM;
	}
	nd = bt_descend(sad, &k, path, idx, &depth);
	if (depth >= BT_DEPTH_MAX)
		return -ENOMEM;
	/* Full nodes from the leaf up split, each into a new node; a full
	 * root adds a new root too. */
	for (d = depth; nd->n == BT_MAX; d--) {
		need++;
		if (d == 0) {
			need++;
			break;
		}
		nd = path[d - 1];
	}
	for (unsigned i = 0; i < need; i++) {
		spare[i] = bt_node_new(sad, false);
		if (spare[i] == NULL) {
			while (i-- > 0)
				bt_node_put(sad, spare[i]);
			return -ENOMEM;
		}
	}
	nd = depth > 0 ? path[depth - 1]->child[idx[depth - 1]] : sad->root;
	pos = bt_lower(nd->key, 0, nd->n, &k);
	for (d = depth;; d--) {
		struct bt_node *right;

		if (nd->n < BT_MAX) {
			bt_put(nd, pos, &k, ptr);
			return 0;
		}
		right = spare[used++];
		bt_split(nd, right);
		if (pos <= nd->n)
			bt_put(nd, pos, &k, ptr);
		else
			bt_put(right, pos - nd->n, &k, ptr);
		sep = right->key[0];
		if (d == 0) {
			struct bt_node *nr = spare[used++];

			nr->leaf = false;
			nr->n = 2;
			nr->key[0] = nd->key[0];
			nr->child[0] = nd;
			nr->key[1] = sep;
			nr->child[1] = right;
			sad->root = nr;
			return 0;
		}
		/* the right half goes into the parent, after @nd */
		nd = path[d - 1];
		pos = idx[d - 1] + 1;
		k = sep;
		ptr = right;
	}
}

/* Remove entry @e, which is in the tree; empty nodes go. */
static void
bt_remove(struct er_sad *sad, struct sad_entry *e)
{
	struct bt_node *path[BT_DEPTH_MAX], *nd;
	struct bt_key k = bt_key_of(&e->sa.id);
	unsigned idx[BT_DEPTH_MAX], depth, pos, d;

	/* The entry knows its leaf: unless the leaf empties, no descent
	 * (which would miss the cache on every level below the cached
	 * ones). */
	nd = e->leaf;
	if (nd != NULL && nd->n > 1) {
		bt_prefetch(nd);
		pos = bt_lower(nd->key, 0, nd->n, &k);
		if (pos >= nd->n || nd->ent[pos] != e)
			return;
		e->leaf = NULL;
		nd->n--;
		memmove(&nd->key[pos], &nd->key[pos + 1],
			(nd->n - pos) * sizeof(nd->key[0]));
		memmove(&nd->ent[pos], &nd->ent[pos + 1],
			(nd->n - pos) * sizeof(nd->ent[0]));
		return;
	}
	nd = bt_descend(sad, &k, path, idx, &depth);
	if (nd == NULL || nd != e->leaf || depth > BT_DEPTH_MAX)
		return;
	pos = bt_lower(nd->key, 0, nd->n, &k);
	if (pos >= nd->n || nd->ent[pos] != e)
		return;
	e->leaf = NULL;
	for (d = depth;; d--) {
		nd->n--;
		memmove(&nd->key[pos], &nd->key[pos + 1],
			(nd->n - pos) * sizeof(nd->key[0]));
		memmove(&nd->ent[pos], &nd->ent[pos + 1],
			(nd->n - pos) * sizeof(nd->ent[0]));
		if (nd->n > 0 || d == 0)
			break;
		/* empty: out of the leaf chain and out of its parent */
		if (nd->leaf) {
			if (nd->prev != NULL)
				nd->prev->next = nd->next;
			if (nd->next != NULL)
				nd->next->prev = nd->prev;
		}
		bt_node_put(sad, nd);
		nd = path[d - 1];
		pos = idx[d - 1];
	}
	/* An inner root with one child hands over to it; an empty root
	 * leaf goes. */
	while (sad->root != NULL && !sad->root->leaf && sad->root->n == 1) {
		nd = sad->root;
		sad->root = nd->child[0];
		bt_node_put(sad, nd);
	}
	if (sad->root != NULL && sad->root->n == 0) {
		bt_node_put(sad, sad->root);
		sad->root = NULL;
	}
}

static struct bt_node *
bt_first_leaf(const struct er_sad *sad)
{
	struct bt_node *nd = sad->root;

	while (nd != NULL && !nd->leaf)
		nd = nd->child[0];
	return nd;
}

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

	return er_mix32(h);
}

static bool
id_equal(const struct er_sa_id *a, const struct er_sa_id *b)
{
	return a->spi == b->spi && a->proto == b->proto &&
	       a->dst.family == b->dst.family &&
	       memcmp(a->dst.a, b->dst.a, sizeof(a->dst.a)) == 0;
}

static struct sad_entry *
hnode_entry(struct lhash_node *n)
{
	return lhash_entry(n, struct sad_entry, hnode);
}

/* ---- the entry pool ----------------------------------------------- */

static struct sad_entry *
entry_get(struct er_sad *sad)
{
	return pool_get(&sad->entries);
}

/* Key material is wiped before the entry is reused or released. */
static void
entry_put(struct er_sad *sad, struct sad_entry *e)
{
	explicit_bzero(&e->sa.keys, sizeof(e->sa.keys));
	pool_put(&sad->entries, e);
}

/* The entry of @id in the chain from @n (whose ids hash to @hv), or NULL. */
static struct sad_entry *
chain_find(struct lhash_node *n, uint32_t hv, const struct er_sa_id *id)
{
	for (; n != NULL; n = n->next) {
		if (n->hash == hv && id_equal(&hnode_entry(n)->sa.id, id))
			return hnode_entry(n);
	}
	return NULL;
}

static struct sad_entry *
hash_find(const struct er_sad *sad, const struct er_sa_id *id)
{
	uint32_t hv = id_hash(id);

	return chain_find(lhash_chain(&sad->hash, hv), hv, id);
}

/* ---- entries ------------------------------------------------------ */

static struct sad_entry *
entry_of(const struct er_sa *sa)
{
	return (struct sad_entry *)((uintptr_t)sa -
				    offsetof(struct sad_entry, sa));
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
	if (lhash_init(&sad->hash) < 0) {
		lhash_fini(&sad->hash);
		free(sad);
		return NULL;
	}
	pool_init(&sad->entries, sizeof(struct sad_entry));
	pool_init(&sad->nodes, sizeof(struct bt_node));
	return sad;
}


void
er_sad_free(struct er_sad *sad)
{
	if (sad == NULL)
		return;
	/* Every entry, its keys wiped, then the nodes that held them. */
	for (struct bt_node *l = bt_first_leaf(sad); l != NULL; l = l->next) {
		for (unsigned i = 0; i < l->n; i++)
			entry_put(sad, l->ent[i]);
	}
	bt_put_all(sad, sad->root);
	pool_fini(&sad->entries);
	pool_fini(&sad->nodes);
	lhash_fini(&sad->hash);
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
	e = entry_get(sad);
	if (e == NULL)
		return -ENOMEM;
	e->sa = *sa;
	if (bt_insert(sad, e) < 0) {
		entry_put(sad, e);
		return -ENOMEM;
	}
	lhash_insert(&sad->hash, &e->hnode, id_hash(&e->sa.id));
	sad->count++;
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
	bt_remove(sad, e);
	sad->count--;
	lhash_remove(&sad->hash, &e->hnode);
	entry_put(sad, e);
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
	struct lhash_node *const *b[SAD_CHUNK];
	struct lhash_node *e[SAD_CHUNK];
	uint32_t hv[SAD_CHUNK];

	while (n > 0) {
		size_t m = n < SAD_CHUNK ? n : SAD_CHUNK;

		for (size_t i = 0; i < m; i++) {
			hv[i] = id_hash(&ids[i]);
			b[i] = lhash_bucket(&sad->hash, hv[i]);
			__builtin_prefetch(b[i]);
		}
		for (size_t i = 0; i < m; i++) {
			e[i] = *b[i];
			if (e[i] != NULL)
				__builtin_prefetch(e[i]);
		}
		for (size_t i = 0; i < m; i++) {
			struct sad_entry *f = chain_find(e[i], hv[i], &ids[i]);

			out[i] = f != NULL ? &f->sa : NULL;
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

	/* @cb changes no SA but the one it is given, and adds or deletes
	 * none: the walk goes leaf by leaf. */
	for (struct bt_node *l = bt_first_leaf(sad); l != NULL; l = l->next)
		for (unsigned i = 0; i < l->n; i++) {
			e = l->ent[i];
			n += expire_entry(e, now, cb, ctx);
		}
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
	return sizeof(*sad) + pool_bytes(&sad->entries) +
	       pool_bytes(&sad->nodes) + sad->hash.mem.bytes;
}

const struct er_sa *
er_sad_first(const struct er_sad *sad)
{
	const struct bt_node *l = bt_first_leaf(sad);

	return l != NULL && l->n > 0 ? &l->ent[0]->sa : NULL;
}

const struct er_sa *
er_sad_next(const struct er_sad *sad, const struct er_sa *sa)
{
	const struct sad_entry *e = entry_of(sa);
	const struct bt_node *l = e->leaf;
	unsigned i = 0;

	(void)sad;
	if (l == NULL)
		return NULL;
	while (i < l->n && l->ent[i] != e)
		i++;
	if (i + 1 < l->n)
		return &l->ent[i + 1]->sa;
	/* leaves in the chain are never empty */
	return l->next != NULL ? &l->next->ent[0]->sa : NULL;
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
	struct er_sa_id id = {.dst = *dst, .proto = proto, .spi = spi};
	struct bt_key k = bt_key_of(&id);
	const struct bt_node *l = bt_descend(sad, &k, NULL, NULL, NULL);
	unsigned i;

	if (l == NULL)
		return NULL;
	i = bt_lower(l->key, 0, l->n, &k);
	if (i < l->n)
		return &l->ent[i]->sa;
	return l->next != NULL ? &l->next->ent[0]->sa : NULL;
}
