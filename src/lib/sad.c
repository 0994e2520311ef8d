// SPDX-License-Identifier: MIT
/*
 * The SAD.  One red-black tree ordered by (destination, protocol, SPI): it
 * answers exact lookups and gives the SPI allocator the used SPIs of a
 * (destination, protocol) in order.  Key material lives only in the entries
 * and is wiped with explicit_bzero() before they are freed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eroute/sad.h"

#include "compat/tree.h"

struct sad_entry {
	struct er_sa sa;
	RB_ENTRY(sad_entry) link;
	bool soft_reported;
};

RB_HEAD(sad_tree, sad_entry);

struct er_sad {
	struct sad_tree tree;
	size_t count;
};

static int
id_cmp(const struct er_sa_id *a, const struct er_sa_id *b)
{
	int c = er_addr_cmp(&a->dst, &b->dst);

	if (c != 0)
		return c;
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

	if (sad != NULL)
		RB_INIT(&sad->tree);
	return sad;
}

static void
entry_free(struct sad_entry *e)
{
	explicit_bzero(&e->sa.keys, sizeof(e->sa.keys));
	free(e);
}

void
er_sad_free(struct er_sad *sad)
{
	struct sad_entry *e;

	if (sad == NULL)
		return;
	/* Remove before freeing: RB_NEXT would climb to freed parents. */
	while ((e = RB_MIN(sad_tree, &sad->tree)) != NULL) {
		RB_REMOVE(sad_tree, &sad->tree, e);
		entry_free(e);
	}
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
	struct sad_entry key;

	key.sa.id = *id;
	return RB_FIND(sad_tree, tree_of(sad), &key);
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
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->sa = *sa;
	RB_INSERT(sad_tree, &sad->tree, e);
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
	RB_REMOVE(sad_tree, &sad->tree, e);
	sad->count--;
	entry_free(e);
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

size_t
er_sad_expire(struct er_sad *sad, uint64_t now, er_sad_expire_cb *cb,
	      void *ctx)
{
	struct sad_entry *e;
	size_t n = 0;

	RB_FOREACH(e, sad_tree, &sad->tree) {
		struct er_sa *sa = &e->sa;

		switch (sa->state) {
		case ER_SA_LARVAL:
			if (sa->larval_expires != 0 &&
			    now >= sa->larval_expires) {
				sa->state = ER_SA_DEAD;
				cb(ctx, sa, ER_SA_EXPIRE_LARVAL);
				n++;
			}
			break;
		case ER_SA_MATURE:
		case ER_SA_DYING:
			if (past(sa, &sa->hard, now)) {
				sa->state = ER_SA_DEAD;
				cb(ctx, sa, ER_SA_EXPIRE_HARD);
				n++;
			} else if (!e->soft_reported &&
				   past(sa, &sa->soft, now)) {
				e->soft_reported = true;
				sa->state = ER_SA_DYING;
				cb(ctx, sa, ER_SA_EXPIRE_SOFT);
				n++;
			}
			break;
		case ER_SA_DEAD:
			break;
		}
	}
	return n;
}

size_t
er_sad_count(const struct er_sad *sad)
{
	return sad->count;
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
