// SPDX-License-Identifier: MIT
/*
 * Claimants and kernel sync.
 *
 * Every (direction, selector) that somebody wants has a claim key holding
 * all the claims on it, best first: lowest priority value, then lowest
 * owner id (a bare shunt, owner 0, before any connection; an older
 * connection before a newer one).  After any change to a key, sync() makes
 * the kernel hold exactly the best claim's policy with one operation: add
 * when nothing was there, replace when something was -- never a delete and
 * an add -- and delete only when the last claim has gone.  This one
 * function is why eroute changes are make-before-break.
 *
 * A kernel operation that fails leaves the view as it was (the kernel is
 * assumed unchanged), marks the key dirty, and the next tick retries.
 *
 * A (direction, selector) that another daemon's policy held before any
 * claim was installed is never overwritten: sync() installs nothing there,
 * marks the key blocked, and the claims wait until the foreign policy goes
 * (resync.c syncs the key again when it does).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"
#include "grow.h"

int
claim_tree_cmp(const struct claim_key *a, const struct claim_key *b)
{
	if (a->dir != b->dir)
		return a->dir < b->dir ? -1 : 1;
	return er_selector_cmp(&a->sel, &b->sel);
}

RB_GENERATE(claim_tree, claim_key, link, claim_tree_cmp)

struct claim_key *
claim_key_find(const struct er_engine *e, enum er_dir dir,
	       const struct er_selector *sel)
{
	struct claim_key key;

	key.dir = dir;
	key.sel = *sel;
	return RB_FIND(claim_tree, (struct claim_tree *)(uintptr_t)&e->claims,
		       &key);
}

struct claim *
claim_find(const struct er_engine *e, enum er_dir dir,
	   const struct er_selector *sel, uint32_t owner)
{
	struct claim_key *k = claim_key_find(e, dir, sel);
	struct claim *cl;

	if (k == NULL)
		return NULL;
	TAILQ_FOREACH(cl, &k->claims, link) {
		if (cl->owner == owner)
			return cl;
	}
	return NULL;
}

bool
claim_is_best(const struct claim *cl)
{
	return TAILQ_FIRST(&cl->key->claims) == cl;
}

static bool
tmpl_same(const struct er_tmpl *a, const struct er_tmpl *b)
{
	return a->proto == b->proto && a->mode == b->mode &&
	       er_addr_equal(&a->src, &b->src) &&
	       er_addr_equal(&a->dst, &b->dst) && a->spi == b->spi &&
	       a->reqid == b->reqid;
}

/* A shunt (pass, drop, reject without templates) keeps its connection's
 * reqid in the engine only: no kernel stores one for it, so a policy read
 * back without it is the same policy. */
static bool
reqid_in_kernel(const struct er_policy *p)
{
	return p->ntmpl > 0 || p->action == ER_ACTION_TRAP ||
	       p->action == ER_ACTION_HOLD || p->action == ER_ACTION_IPSEC;
}

bool
policy_same(const struct er_policy *a, const struct er_policy *b)
{
	if (a->action != b->action || a->priority != b->priority ||
	    (reqid_in_kernel(a) && a->reqid != b->reqid) ||
	    a->owner != b->owner ||
	    a->lifetime != b->lifetime || a->ntmpl != b->ntmpl)
		return false;
	for (unsigned i = 0; i < a->ntmpl; i++) {
		if (!tmpl_same(&a->tmpl[i], &b->tmpl[i]))
			return false;
	}
	return true;
}

static void
touch(struct er_engine *e, struct claim_key *k)
{
	if (k->touched)
		return;
	k->touched = true;
	TAILQ_INSERT_TAIL(&e->touched, k, touched_link);
}

/* A dirty out key is settled: kept acquire holds inside it may go. */
static void
note_settled(struct er_engine *e, const struct claim_key *k)
{
	struct er_selector *n;

	if (e->nkept == 0 || k->dir != ER_DIR_OUT)
		return;
	n = er_grow(e->settled, &e->settled_cap, e->nsettled, sizeof(*n), 16);
	if (n == NULL)
		return;
	e->settled = n;
	e->settled[e->nsettled++] = k->sel;
}

static void
key_free(struct er_engine *e, struct claim_key *k)
{
	if (k->touched)
		TAILQ_REMOVE(&e->touched, k, touched_link);
	if (k->dirty) {
		e->ndirty--;
		note_settled(e, k);
		TAILQ_REMOVE(&e->dirty, k, dirty_link);
	}
	RB_REMOVE(claim_tree, &e->claims, k);
	pool_put(&e->key_pool, k);
}

static void
set_dirty(struct er_engine *e, struct claim_key *k, bool dirty)
{
	if (k->dirty == dirty)
		return;
	k->dirty = dirty;
	if (dirty) {
		e->ndirty++;
		TAILQ_INSERT_TAIL(&e->dirty, k, dirty_link);
	} else {
		e->ndirty--;
		note_settled(e, k);
		TAILQ_REMOVE(&e->dirty, k, dirty_link);
	}
}

/*
 * A kernel operation on @k failed: the kernel keeps what it had (@cur, the
 * old policy, or nothing), the key is retried on the next tick, and the
 * log names the policy and whose it is.  @want is NULL for a delete.
 */
static void
log_failure(struct er_engine *e, struct claim_key *k,
	    const struct er_policy *cur, const struct er_policy *want,
	    const struct er_err *err)
{
	const struct conn *c = engine_conn_by_id(
		e, want != NULL ? want->owner : cur->owner);
	char what[ER_SELECTOR_STRLEN + 16];

	er_policy_describe(k->dir, &k->sel, what, sizeof(what));
	if (want == NULL)
		engine_log(e, ER_LOG_ERROR, c,
			   "kernel: deleting %s (%s) failed: %s; it stays "
			   "until the retry", what,
			   er_action_name(cur->action), err->msg);
	else if (cur == NULL)
		engine_log(e, ER_LOG_ERROR, c,
			   "kernel: adding %s (%s) failed: %s; will retry",
			   what, er_action_name(want->action), err->msg);
	else
		engine_log(e, ER_LOG_ERROR, c,
			   "kernel: replacing %s (%s by %s) failed: %s; the "
			   "old policy stays, will retry", what,
			   er_action_name(cur->action),
			   er_action_name(want->action), err->msg);
	set_dirty(e, k, true);
}

/* Make the kernel hold the best claim of @k; free @k when nobody wants it.
 * Return: 0, or the failed kernel operation's -errno. */
static int
sync_key(struct er_engine *e, struct claim_key *k)
{
	struct claim *best = TAILQ_FIRST(&k->claims);
	const struct er_policy *cur = er_spd_get(e->view, k->dir, &k->sel);
	struct er_err err = {0};
	struct er_policy want;
	int ret;

	/* Adopting: the kernel is read, not written, until the finish. */
	if (e->adopting)
		return 0;
	if (best == NULL) {
		if (cur != NULL) {
			ret = er_kernel_policy_del(&e->cfg.kernel, k->dir,
						   &k->sel, &err);
			if (ret < 0) {
				log_failure(e, k, cur, NULL, &err);
				return ret;
			}
			er_spd_del(e->view, k->dir, &k->sel);
			if (e->adopt_stats != NULL)
				e->adopt_stats->deleted++;
		}
		key_free(e, k);
		return 0;
	}
	if (cur == NULL && foreign_has(e, k->dir, &k->sel)) {
		char what[ER_SELECTOR_STRLEN + 16];

		if (!k->blocked) {
			er_policy_describe(k->dir, &k->sel, what,
					   sizeof(what));
			engine_log(e, ER_LOG_WARNING,
				   engine_conn_by_id(e, best->owner),
				   "%s belongs to another IPsec daemon; not "
				   "overwriting it (waiting for it to go)",
				   what);
		}
		k->blocked = true;
		set_dirty(e, k, false);
		return 0;
	}
	k->blocked = false;
	want = best->pol;
	want.owner = best->owner;
	if (cur != NULL && !k->dirty && policy_same(cur, &want))
		return 0;
	if (cur != NULL && cur->owner == ER_OWNER_ADOPTED) {
		struct er_policy found = *cur;

		/* Found at a restart exactly as wanted: take it as it is. */
		found.owner = want.owner;
		if (policy_same(&found, &want)) {
			er_spd_upsert(e->view, &found, NULL);
			if (e->adopt_stats != NULL)
				e->adopt_stats->adopted++;
			return 0;
		}
	}
	want.created = cur != NULL ? cur->created : e->now;
	if (cur == NULL)
		ret = er_kernel_policy_add(&e->cfg.kernel, &want, &err);
	else
		ret = er_kernel_policy_replace(&e->cfg.kernel, &want, &err);
	if (ret < 0) {
		log_failure(e, k, cur, &want, &err);
		return ret;
	}
	er_spd_upsert(e->view, &want, NULL);
	set_dirty(e, k, false);
	if (e->adopt_stats != NULL) {
		if (cur == NULL)
			e->adopt_stats->added++;
		else
			e->adopt_stats->updated++;
	}
	return 0;
}

/* Keep the list best first: priority, then owner. */
static void
insert_sorted(struct claim_key *k, struct claim *cl)
{
	struct claim *it;

	TAILQ_FOREACH(it, &k->claims, link) {
		if (cl->pol.priority < it->pol.priority ||
		    (cl->pol.priority == it->pol.priority &&
		     cl->owner < it->owner)) {
			TAILQ_INSERT_BEFORE(it, cl, link);
			return;
		}
	}
	TAILQ_INSERT_TAIL(&k->claims, cl, link);
}

int
claim_set(struct er_engine *e, uint32_t owner, const struct er_policy *pol)
{
	struct claim_key *k = claim_key_find(e, pol->dir, &pol->sel);
	struct claim *cl = NULL;

	if (k == NULL) {
		k = pool_get(&e->key_pool);
		if (k == NULL)
			return -ENOMEM;
		k->dir = pol->dir;
		k->sel = pol->sel;
		TAILQ_INIT(&k->claims);
		RB_INSERT(claim_tree, &e->claims, k);
	} else {
		TAILQ_FOREACH(cl, &k->claims, link) {
			if (cl->owner == owner)
				break;
		}
	}
	if (cl == NULL) {
		cl = pool_get(&e->claim_pool);
		if (cl == NULL) {
			if (TAILQ_EMPTY(&k->claims))
				sync_key(e, k);
			return -ENOMEM;
		}
		cl->key = k;
		cl->owner = owner;
	} else {
		TAILQ_REMOVE(&k->claims, cl, link);
	}
	cl->pol = *pol;
	cl->pol.owner = owner;
	insert_sorted(k, cl);
	touch(e, k);
	sync_key(e, k);
	return 0;
}

int
claim_adopt(struct er_engine *e, uint32_t owner, const struct er_policy *pol)
{
	struct er_policy p = *pol;

	/* The kernel put it there itself (a trap's narrow hold). */
	p.owner = owner;
	er_spd_upsert(e->view, &p, NULL);
	return claim_set(e, owner, pol);
}

void
claim_drop(struct er_engine *e, enum er_dir dir, const struct er_selector *sel,
	   uint32_t owner)
{
	struct claim_key *k = claim_key_find(e, dir, sel);
	struct claim *cl;

	if (k == NULL)
		return;
	TAILQ_FOREACH(cl, &k->claims, link) {
		if (cl->owner == owner)
			break;
	}
	if (cl == NULL)
		return;
	TAILQ_REMOVE(&k->claims, cl, link);
	pool_put(&e->claim_pool, cl);
	touch(e, k);
	sync_key(e, k);
}

/*
 * Sync every key at once (the end of a restart's adoption): found policies
 * that are as wanted are taken as they are, and every add or change goes
 * to the kernel in one bulk call, which XFRM turns into a few netlink
 * round trips instead of one per policy.
 */
int
claim_sync_all(struct er_engine *e)
{
	struct claim_key *k, *next, *rest, **keys = NULL;
	struct er_policy *pols = NULL;
	int *results = NULL;
	struct er_err err = {0};
	size_t n = 0, cap = 0;
	int ret = 0;

	for (k = RB_MIN(claim_tree, &e->claims); k != NULL; k = next) {
		struct claim *best = TAILQ_FIRST(&k->claims);
		const struct er_policy *cur =
			er_spd_get(e->view, k->dir, &k->sel);
		struct er_policy want;

		next = RB_NEXT(claim_tree, &e->claims, k);
		if (best == NULL) {
			if (sync_key(e, k) < 0)
				ret = -EIO;
			continue;
		}
		/* Another daemon's: sync() leaves it alone, batching would
		 * not. */
		if (cur == NULL && foreign_has(e, k->dir, &k->sel)) {
			sync_key(e, k);
			continue;
		}
		want = best->pol;
		want.owner = best->owner;
		if (cur != NULL) {
			struct er_policy found = *cur;

			found.owner = want.owner;
			if (!k->dirty && policy_same(&found, &want)) {
				sync_key(e, k);	/* adopted as it is */
				continue;
			}
		}
		if (n == cap) {
			size_t ncap = er_grow_cap(cap, 256);
			struct claim_key **nk =
				reallocarray(keys, ncap, sizeof(*nk));
			struct er_policy *np;

			if (nk == NULL)
				break;
			keys = nk;
			np = reallocarray(pols, ncap, sizeof(*np));
			if (np == NULL)
				break;
			pols = np;
			cap = ncap;
		}
		want.created = e->now;
		keys[n] = k;
		pols[n++] = want;
	}
	rest = k;
	results = calloc(n + 1, sizeof(*results));
	if (results == NULL) {
		/* No room to batch: one by one, as always. */
		for (size_t i = 0; i < n; i++)
			if (sync_key(e, keys[i]) < 0)
				ret = -EIO;
		n = 0;
	}
	if (n > 0 && results != NULL) {
		if (er_kernel_policy_add_bulk(&e->cfg.kernel, pols, n, results,
					      &err) < 0)
			engine_log(e, ER_LOG_ERROR, NULL,
				   "kernel: %s (will retry)", err.msg);
		for (size_t i = 0; i < n; i++) {
			k = keys[i];
			if (results[i] < 0) {
				set_dirty(e, k, true);
				ret = -EIO;
				continue;
			}
			er_spd_upsert(e->view, &pols[i], NULL);
			set_dirty(e, k, false);
			k->blocked = false;
			if (e->adopt_stats != NULL) {
				if (results[i] == ER_KERNEL_UPDATED)
					e->adopt_stats->updated++;
				else
					e->adopt_stats->added++;
			}
		}
	}
	/* Whatever the loop could not collect goes one by one. */
	for (k = rest; k != NULL; k = next) {
		next = RB_NEXT(claim_tree, &e->claims, k);
		if (sync_key(e, k) < 0)
			ret = -EIO;
	}
	free(keys);
	free(pols);
	free(results);
	return ret;
}

/*
 * A policy in the view that nobody claims and whose delete failed (a
 * restart's leftover): an empty key, dirty, so that the retry deletes it
 * and er_engine_check() knows why it is still there.
 */
int
claim_orphan(struct er_engine *e, enum er_dir dir, const struct er_selector *sel)
{
	struct claim_key *k = claim_key_find(e, dir, sel);

	if (k == NULL) {
		k = pool_get(&e->key_pool);
		if (k == NULL)
			return -ENOMEM;
		k->dir = dir;
		k->sel = *sel;
		TAILQ_INIT(&k->claims);
		RB_INSERT(claim_tree, &e->claims, k);
	}
	set_dirty(e, k, true);
	return 0;
}

void
claim_mark_dirty(struct er_engine *e, struct claim_key *k)
{
	set_dirty(e, k, true);
}

int
claim_sync(struct er_engine *e, struct claim_key *k)
{
	return sync_key(e, k);
}

/*
 * Put the best claim back after another process removed or overwrote it:
 * one add or one replace.  Once per key per engine second: a process that
 * fights back costs a replace a second (the next tick's retry), not a loop.
 */
int
claim_restore(struct er_engine *e, struct claim_key *k)
{
	set_dirty(e, k, true);
	if (k->restored == e->now + 1)
		return 0;
	k->restored = e->now + 1;
	return sync_key(e, k);
}

void
claim_retry_dirty(struct er_engine *e)
{
	struct claim_key *k, *next;

	if (e->ndirty == 0)
		return;
	for (k = RB_MIN(claim_tree, &e->claims); k != NULL; k = next) {
		next = RB_NEXT(claim_tree, &e->claims, k);
		if (k->dirty)
			sync_key(e, k);
	}
}

void
claim_free_all(struct er_engine *e)
{
	struct claim_key *k;
	struct claim *cl;

	while ((k = RB_MIN(claim_tree, &e->claims)) != NULL) {
		while ((cl = TAILQ_FIRST(&k->claims)) != NULL) {
			TAILQ_REMOVE(&k->claims, cl, link);
			pool_put(&e->claim_pool, cl);
		}
		RB_REMOVE(claim_tree, &e->claims, k);
		pool_put(&e->key_pool, k);
	}
	TAILQ_INIT(&e->touched);
	TAILQ_INIT(&e->dirty);
	e->ndirty = 0;
}
