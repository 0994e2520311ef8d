// SPDX-License-Identifier: MIT
/*
 * The SPD.  Each direction has two red-black trees over the same entries:
 * by identity (the selector) for add / replace / delete, and by lookup order
 * (priority, selector) for the ordered scan and for listing, and a
 * classifier (classify.h) over the live entries for packet lookups.  Every
 * path that adds, reprioritises or unlinks an entry changes all three in
 * step; a priority change adds the new classifier rule before it deletes
 * the old, so a failure leaves the entry as it was.  Dead entries (deleted
 * while referenced) leave the trees and the classifier at once and wait on
 * a list until their last reference goes.
 *
 * Reference 003 is why flush and reap are written the way they are: each
 * saves the successor before it touches the current entry and always walks
 * on, so one call handles every entry, not just the first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "eroute/classify.h"
#include "eroute/spd.h"

#include "compat/tree.h"
#include "pool.h"

struct spd_entry {
	struct er_policy pol;
	struct er_cls_rule *cls;	/* while live */
	RB_ENTRY(spd_entry) by_id;
	RB_ENTRY(spd_entry) by_order;
	TAILQ_ENTRY(spd_entry) dead_link;
	unsigned refcnt;
	bool dead;
};

RB_HEAD(spd_id_tree, spd_entry);
RB_HEAD(spd_order_tree, spd_entry);
TAILQ_HEAD(spd_dead_list, spd_entry);

struct er_spd {
	struct spd_id_tree id[ER_DIR_COUNT];
	struct spd_order_tree order[ER_DIR_COUNT];
	size_t count[ER_DIR_COUNT];
	struct er_cls *cls[ER_DIR_COUNT];
	struct spd_dead_list dead;
	size_t ndead;
	struct pool entries;	/* struct spd_entry */
};

static int
id_cmp(const struct spd_entry *a, const struct spd_entry *b)
{
	return er_selector_cmp(&a->pol.sel, &b->pol.sel);
}

static int
order_cmp(const struct spd_entry *a, const struct spd_entry *b)
{
	if (a->pol.priority != b->pol.priority)
		return a->pol.priority < b->pol.priority ? -1 : 1;
	return er_selector_cmp(&a->pol.sel, &b->pol.sel);
}

RB_GENERATE_STATIC(spd_id_tree, spd_entry, by_id, id_cmp)
RB_GENERATE_STATIC(spd_order_tree, spd_entry, by_order, order_cmp)

/* The entry around a policy we handed out. */
static struct spd_entry *
entry_of(const struct er_policy *pol)
{
	return (struct spd_entry *)((uintptr_t)pol -
				    offsetof(struct spd_entry, pol));
}

static const char *const dir_names[ER_DIR_COUNT] = {"out", "in", "fwd"};
static const char *const action_names[ER_ACTION_COUNT] = {
	"pass", "drop", "reject", "trap", "hold", "ipsec",
};

const char *
er_dir_name(enum er_dir dir)
{
	return (unsigned)dir < ER_DIR_COUNT ? dir_names[dir] : "?";
}

const char *
er_action_name(enum er_action action)
{
	return (unsigned)action < ER_ACTION_COUNT ? action_names[action] : "?";
}

const char *
er_mode_name(enum er_mode mode)
{
	return mode == ER_MODE_TUNNEL ? "tunnel" : "transport";
}

int
er_dir_parse(enum er_dir *out, const char *s)
{
	for (unsigned i = 0; i < ER_DIR_COUNT; i++) {
		if (strcmp(s, dir_names[i]) == 0) {
			*out = (enum er_dir)i;
			return 0;
		}
	}
	return -EINVAL;
}

int
er_action_parse(enum er_action *out, const char *s)
{
	for (unsigned i = 0; i < ER_ACTION_COUNT; i++) {
		if (strcmp(s, action_names[i]) == 0) {
			*out = (enum er_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

uint32_t
er_priority_default(const struct er_selector *sel, enum er_prio_class cls)
{
	uint32_t band, score;

	score = er_selector_specificity(sel) << 1;
	switch (cls) {
	case ER_PRIO_SYSTEM:
		band = 0;
		break;
	case ER_PRIO_BARE:
		band = 1;
		break;
	case ER_PRIO_INSTANCE:
		band = 2;
		score |= 1;
		break;
	case ER_PRIO_CONN:
	default:
		band = 2;
		break;
	}
	return band << 28 | ((1u << 28) - 1 - score);
}

struct er_spd *
er_spd_new(void)
{
	struct er_spd *spd = calloc(1, sizeof(*spd));

	if (spd == NULL)
		return NULL;
	TAILQ_INIT(&spd->dead);
	pool_init(&spd->entries, sizeof(struct spd_entry));
	for (int d = 0; d < ER_DIR_COUNT; d++) {
		RB_INIT(&spd->id[d]);
		RB_INIT(&spd->order[d]);
		spd->cls[d] = er_cls_new();
		if (spd->cls[d] == NULL) {
			er_spd_free(spd);
			return NULL;
		}
	}
	return spd;
}

void
er_spd_free(struct er_spd *spd)
{
	struct spd_entry *e, *next;

	if (spd == NULL)
		return;
	for (int d = 0; d < ER_DIR_COUNT; d++) {
		/* Remove before freeing: RB_NEXT would climb to freed parents. */
		while ((e = RB_MIN(spd_id_tree, &spd->id[d])) != NULL) {
			RB_REMOVE(spd_id_tree, &spd->id[d], e);
			pool_put(&spd->entries, e);
		}
	}
	for (e = TAILQ_FIRST(&spd->dead); e != NULL; e = next) {
		next = TAILQ_NEXT(e, dead_link);
		pool_put(&spd->entries, e);
	}
	for (int d = 0; d < ER_DIR_COUNT; d++)
		er_cls_free(spd->cls[d]);
	pool_fini(&spd->entries);
	free(spd);
}

static int
policy_check(const struct er_policy *pol)
{
	if ((unsigned)pol->dir >= ER_DIR_COUNT ||
	    (unsigned)pol->action >= ER_ACTION_COUNT ||
	    pol->ntmpl > ER_TMPL_MAX)
		return -EINVAL;
	if (pol->sel.src.addr.family != pol->sel.dst.addr.family ||
	    er_addr_bits(pol->sel.src.addr.family) == 0)
		return -EINVAL;
	if (pol->sel.src.len > er_addr_bits(pol->sel.src.addr.family) ||
	    pol->sel.dst.len > er_addr_bits(pol->sel.dst.addr.family))
		return -EINVAL;
	return 0;
}

static struct spd_entry *
find(const struct er_spd *spd, enum er_dir dir, const struct er_selector *sel)
{
	struct spd_entry key;

	if ((unsigned)dir >= ER_DIR_COUNT)
		return NULL;
	key.pol.sel = *sel;
	/* RB_FIND takes a non-const head; the tree is not modified. */
	return RB_FIND(spd_id_tree,
		       (struct spd_id_tree *)(uintptr_t)&spd->id[dir], &key);
}

int
er_spd_add(struct er_spd *spd, const struct er_policy *pol,
	   const struct er_policy **out)
{
	struct spd_entry *e;
	int ret;

	ret = policy_check(pol);
	if (ret < 0)
		return ret;
	if (find(spd, pol->dir, &pol->sel) != NULL)
		return -EEXIST;
	e = pool_get(&spd->entries);
	if (e == NULL)
		return -ENOMEM;
	e->pol = *pol;
	ret = er_cls_add(spd->cls[pol->dir], &e->pol.sel, pol->priority,
			 &e->pol, &e->cls);
	if (ret < 0) {
		pool_put(&spd->entries, e);
		return ret;
	}
	RB_INSERT(spd_id_tree, &spd->id[pol->dir], e);
	RB_INSERT(spd_order_tree, &spd->order[pol->dir], e);
	spd->count[pol->dir]++;
	if (out != NULL)
		*out = &e->pol;
	return 0;
}

int
er_spd_replace(struct er_spd *spd, const struct er_policy *pol,
	       const struct er_policy **out)
{
	struct spd_entry *e;
	struct er_cls_rule *cr;
	uint64_t last_used, use_count;
	int ret;

	ret = policy_check(pol);
	if (ret < 0)
		return ret;
	e = find(spd, pol->dir, &pol->sel);
	if (e == NULL)
		return -ENOENT;
	last_used = e->pol.last_used;
	use_count = e->pol.use_count;
	if (e->pol.priority != pol->priority) {
		ret = er_cls_add(spd->cls[pol->dir], &e->pol.sel,
				 pol->priority, &e->pol, &cr);
		if (ret < 0)
			return ret;
		er_cls_del(spd->cls[pol->dir], e->cls);
		e->cls = cr;
		RB_REMOVE(spd_order_tree, &spd->order[pol->dir], e);
		e->pol = *pol;
		RB_INSERT(spd_order_tree, &spd->order[pol->dir], e);
	} else {
		e->pol = *pol;
	}
	e->pol.last_used = last_used;
	e->pol.use_count = use_count;
	if (out != NULL)
		*out = &e->pol;
	return 0;
}

int
er_spd_upsert(struct er_spd *spd, const struct er_policy *pol,
	      const struct er_policy **out)
{
	int ret = er_spd_replace(spd, pol, out);

	if (ret == 0)
		return ER_SPD_REPLACED;
	if (ret != -ENOENT)
		return ret;
	return er_spd_add(spd, pol, out);
}

/* Take a live entry out of the trees; free it or park it as dead. */
static int
unlink_entry(struct er_spd *spd, struct spd_entry *e)
{
	enum er_dir dir = e->pol.dir;

	RB_REMOVE(spd_id_tree, &spd->id[dir], e);
	RB_REMOVE(spd_order_tree, &spd->order[dir], e);
	er_cls_del(spd->cls[dir], e->cls);
	e->cls = NULL;
	spd->count[dir]--;
	if (e->refcnt == 0) {
		pool_put(&spd->entries, e);
		return 0;
	}
	e->dead = true;
	TAILQ_INSERT_TAIL(&spd->dead, e, dead_link);
	spd->ndead++;
	return ER_SPD_DEFERRED;
}

int
er_spd_del(struct er_spd *spd, enum er_dir dir, const struct er_selector *sel)
{
	struct spd_entry *e = find(spd, dir, sel);

	if (e == NULL)
		return -ENOENT;
	return unlink_entry(spd, e);
}

const struct er_policy *
er_spd_get(const struct er_spd *spd, enum er_dir dir,
	   const struct er_selector *sel)
{
	struct spd_entry *e = find(spd, dir, sel);

	return e != NULL ? &e->pol : NULL;
}

const struct er_policy *
er_spd_lookup_scan(const struct er_spd *spd, enum er_dir dir,
		   const struct er_packet *pkt)
{
	struct spd_order_tree *t;
	struct spd_entry *e;

	if ((unsigned)dir >= ER_DIR_COUNT)
		return NULL;
	t = (struct spd_order_tree *)(uintptr_t)&spd->order[dir];
	RB_FOREACH(e, spd_order_tree, t) {
		if (er_selector_matches(&e->pol.sel, pkt))
			return &e->pol;
	}
	return NULL;
}

const struct er_policy *
er_spd_lookup(const struct er_spd *spd, enum er_dir dir,
	      const struct er_packet *pkt)
{
	if ((unsigned)dir >= ER_DIR_COUNT)
		return NULL;
	return er_cls_lookup(spd->cls[dir], pkt);
}

void
er_spd_lookup_batch(const struct er_spd *spd, enum er_dir dir,
		    const struct er_packet *pkts, size_t n,
		    const struct er_policy **out)
{
	void *hits[64];

	if ((unsigned)dir >= ER_DIR_COUNT) {
		for (size_t i = 0; i < n; i++)
			out[i] = NULL;
		return;
	}
	while (n > 0) {
		size_t m = n < 64 ? n : 64;

		er_cls_lookup_batch(spd->cls[dir], pkts, m, hits);
		for (size_t i = 0; i < m; i++)
			out[i] = hits[i];
		pkts += m;
		out += m;
		n -= m;
	}
}

void
er_spd_note_use(struct er_spd *spd, const struct er_policy *pol, uint64_t now)
{
	struct spd_entry *e = entry_of(pol);

	(void)spd;
	e->pol.use_count++;
	e->pol.last_used = now;
}

void
er_spd_ref(struct er_spd *spd, const struct er_policy *pol)
{
	(void)spd;
	entry_of(pol)->refcnt++;
}

void
er_spd_release(struct er_spd *spd, const struct er_policy *pol)
{
	struct spd_entry *e = entry_of(pol);

	(void)spd;
	if (e->refcnt > 0)
		e->refcnt--;
}

void
er_spd_unref(struct er_spd *spd, const struct er_policy *pol)
{
	struct spd_entry *e = entry_of(pol);

	er_spd_release(spd, pol);
	if (e->dead && e->refcnt == 0) {
		TAILQ_REMOVE(&spd->dead, e, dead_link);
		spd->ndead--;
		pool_put(&spd->entries, e);
	}
}

bool
er_spd_is_dead(const struct er_policy *pol)
{
	return entry_of(pol)->dead;
}

static bool
filter_matches(const struct er_spd_filter *f, const struct er_policy *pol)
{
	if (pol->persist)
		return false;
	if (f == NULL)
		return true;
	if (f->match_owner && pol->owner != f->owner)
		return false;
	if (f->match_dir && pol->dir != f->dir)
		return false;
	return true;
}

size_t
er_spd_flush(struct er_spd *spd, const struct er_spd_filter *filter)
{
	struct spd_entry *e, *next;
	size_t n = 0;

	for (int d = 0; d < ER_DIR_COUNT; d++) {
		if (filter != NULL && filter->match_dir &&
		    filter->dir != (enum er_dir)d)
			continue;
		/* Save the successor first: the loop always walks on. */
		for (e = RB_MIN(spd_id_tree, &spd->id[d]); e != NULL; e = next) {
			next = RB_NEXT(spd_id_tree, &spd->id[d], e);
			if (!filter_matches(filter, &e->pol))
				continue;
			unlink_entry(spd, e);
			n++;
		}
	}
	return n;
}

size_t
er_spd_reap(struct er_spd *spd)
{
	struct spd_entry *e, *next;
	size_t n = 0;

	for (e = TAILQ_FIRST(&spd->dead); e != NULL; e = next) {
		next = TAILQ_NEXT(e, dead_link);
		if (e->refcnt != 0)
			continue;
		TAILQ_REMOVE(&spd->dead, e, dead_link);
		spd->ndead--;
		pool_put(&spd->entries, e);
		n++;
	}
	return n;
}

size_t
er_spd_count(const struct er_spd *spd, enum er_dir dir)
{
	return (unsigned)dir < ER_DIR_COUNT ? spd->count[dir] : 0;
}

size_t
er_spd_dead_count(const struct er_spd *spd)
{
	return spd->ndead;
}

const struct er_policy *
er_spd_first(const struct er_spd *spd, enum er_dir dir)
{
	struct spd_entry *e;

	if ((unsigned)dir >= ER_DIR_COUNT)
		return NULL;
	e = RB_MIN(spd_order_tree,
		   (struct spd_order_tree *)(uintptr_t)&spd->order[dir]);
	return e != NULL ? &e->pol : NULL;
}

const struct er_policy *
er_spd_next(const struct er_spd *spd, const struct er_policy *pol)
{
	struct spd_entry *e = entry_of(pol);

	(void)spd;
	if (e->dead)
		return NULL;
	e = RB_NEXT(spd_order_tree, NULL, e);
	return e != NULL ? &e->pol : NULL;
}
