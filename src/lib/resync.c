// SPDX-License-Identifier: MIT
/*
 * Resync: keeping the kernel right while other processes change it.
 *
 * eroute does not have the kernel to itself: an administrator's ip xfrm,
 * another IKE daemon, a flush.  Backends report other processes' changes
 * (never eroute's own) as ER_KEV_POLICY_CHANGED and ER_KEV_SA_CHANGED, and a
 * flush or an overflowed event socket as ER_KEV_LOST.  The rules:
 *
 *  - Someone deletes a policy eroute installed: the best claimant's policy
 *    goes back at once (one add), with a warning naming it.
 *  - Someone overwrites (UPDPOLICY) a policy eroute installed: eroute held
 *    that identity first, so its own goes back with one replace, with a
 *    warning.  Against a process that fights back the same way this costs
 *    one replace per identity per engine second (claim_restore()).
 *  - A policy that was foreign before eroute installed anything on its
 *    identity is never touched: a connection over it is refused at route
 *    time, and any other claim on it waits uninstalled until it goes
 *    (claim.c); when it goes, the claim goes in.
 *  - An SA of eroute's vanishes: its group's hard expiry (the eroute moves
 *    to the newest group left, else the connection goes to failure or back
 *    to prospective, reference 001).
 *  - Events were lost: er_engine_resync().  The acquires the kernel holds
 *    are rescanned, the SAD dump finds the SAs that vanished, and the SPD
 *    dump is sorted against the engine's view as a restart's adoption sorts
 *    it (adopt.c): as wanted costs nothing, different is replaced, missing
 *    is added, eroute's but unwanted is deleted, foreign is left alone --
 *    with claim_sync_all(), the very sync a restart ends with.
 *
 * er_engine_verify() is the cheap periodic check: one kernel call for the
 * policy count per direction, compared with the view and the foreign set;
 * only a difference costs a resync's dumps.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"

/* Named in the warnings, at most this many per resync. */
#define RESYNC_NAMED_MAX 8

void
resync_policy_changed(struct er_engine *e, const struct er_kernel_event *ev)
{
	struct claim_key *k = claim_key_find(e, ev->dir, &ev->sel);
	const struct er_policy *cur = er_spd_get(e->view, ev->dir, &ev->sel);
	struct claim *best = k != NULL ? TAILQ_FIRST(&k->claims) : NULL;
	char what[ER_SELECTOR_STRLEN + 16];
	enum er_action action;

	if (e->stopped || e->adopting)
		return;
	if (cur == NULL || best == NULL) {
		/* Not an identity eroute holds: the foreign set follows. */
		er_engine_foreign_note(e, ev->dir, &ev->sel, !ev->deleted);
		/* A claim that waited for that foreign policy goes in. */
		if (ev->deleted && best != NULL && k->blocked)
			claim_sync(e, k);
		return;
	}
	er_policy_describe(ev->dir, &ev->sel, what, sizeof(what));
	action = best->pol.action;
	if (ev->deleted) {
		engine_log(e, ER_LOG_WARNING, engine_conn_by_id(e, best->owner),
			   "%s (%s) was removed by another process; putting "
			   "it back", what, er_action_name(action));
		er_spd_del(e->view, ev->dir, &ev->sel);
	} else {
		engine_log(e, ER_LOG_WARNING, engine_conn_by_id(e, best->owner),
			   "%s (%s) was overwritten by another process; "
			   "eroute held it first: putting its own back", what,
			   er_action_name(action));
	}
	claim_restore(e, k);
}

void
resync_sa_changed(struct er_engine *e, const struct er_kernel_event *ev)
{
	const struct er_sa *sa;
	char id[64];

	if (e->stopped || e->adopting || !ev->deleted || ev->sa.spi == 0)
		return;
	sa = er_sad_get(e->sad, &ev->sa);
	if (sa == NULL)
		return;
	er_sa_id_format(&ev->sa, id, sizeof(id));
	engine_log(e, ER_LOG_WARNING, engine_conn_by_id(e, sa->owner),
		   "SA %s was deleted by another process: handled as its "
		   "hard expiry", id);
	engine_sa_gone(e, &ev->sa);
}

/* ---- the resync --------------------------------------------------- */

struct resync {
	struct er_engine *e;
	struct er_sad *kernel_sas;	/* ids of what the kernel holds */
	size_t same, changed, overwritten, found, foreign;
	size_t named;
};

static int
collect_sa(void *ctx, const struct er_sa *sa)
{
	struct resync *r = ctx;
	struct er_sa s = {0};

	s.id = sa->id;
	s.state = sa->state;
	s.reqid = sa->reqid;
	if (er_sad_add(r->kernel_sas, &s, NULL) == -ENOMEM)
		return -ENOMEM;
	return 0;
}

/* SAs of ours the kernel no longer has: each group's hard expiry. */
static size_t
sas_vanished(struct er_engine *e, const struct er_sad *kernel_sas)
{
	const struct er_sa *sa;
	struct er_sa_id *gone;
	size_t n = 0, handled = 0;

	gone = calloc(er_sad_count(e->sad) + 1, sizeof(*gone));
	if (gone == NULL)
		return 0;
	for (sa = er_sad_first(e->sad); sa != NULL; sa = er_sad_next(e->sad, sa))
		if (er_sad_get(kernel_sas, &sa->id) == NULL)
			gone[n++] = sa->id;
	/* One group's expiry deletes its other SA: look each up again. */
	for (size_t i = 0; i < n; i++) {
		char id[64];

		sa = er_sad_get(e->sad, &gone[i]);
		if (sa == NULL)
			continue;
		er_sa_id_format(&gone[i], id, sizeof(id));
		engine_log(e, ER_LOG_WARNING, engine_conn_by_id(e, sa->owner),
			   "SA %s is gone from the kernel (another process "
			   "deleted or flushed it): handled as its hard expiry",
			   id);
		engine_sa_gone(e, &gone[i]);
		handled++;
	}
	free(gone);
	return handled;
}

static void
name_one(struct resync *r, const struct er_policy *pol, const char *how)
{
	char what[ER_SELECTOR_STRLEN + 16];

	if (r->named++ >= RESYNC_NAMED_MAX)
		return;
	er_policy_describe(pol->dir, &pol->sel, what, sizeof(what));
	engine_log(r->e, ER_LOG_WARNING, engine_conn_by_id(r->e, pol->owner),
		   "resync: %s (%s) %s", what, er_action_name(pol->action),
		   how);
}

/*
 * One policy of the kernel's dump, sorted against the view: the view is
 * made to say what the kernel holds, with ER_OWNER_ADOPTED for what the
 * claims must look at again, so that claim_sync_all() then does for each
 * key what a restart does.
 */
static int
sort_policy(void *ctx, const struct er_policy *pol)
{
	struct resync *r = ctx;
	struct er_engine *e = r->e;
	const struct er_policy *cur = er_spd_get(e->view, pol->dir, &pol->sel);
	struct claim_key *k = claim_key_find(e, pol->dir, &pol->sel);
	struct er_policy p = *pol;

	/* The backend's own (the ICMPv6 ND bypass) are the backend's. */
	if (pol->persist)
		return 0;
	if (k != NULL)
		k->seen = true;
	if (!adopt_is_ours(e, pol)) {
		if (cur == NULL || k == NULL || TAILQ_EMPTY(&k->claims)) {
			foreign_seen(e, pol->dir, &pol->sel);
			r->foreign++;
			return 0;
		}
		/* eroute's identity, overwritten while events were lost:
		 * eroute held it first.  Dirty: replaced even if it looks
		 * like eroute's but for the marker. */
		name_one(r, cur, "was overwritten by another process; "
				 "putting eroute's back");
		claim_mark_dirty(e, k);
		r->overwritten++;
	} else if (cur == NULL) {
		r->found++;
	} else {
		p.owner = cur->owner;
		if (policy_same(&p, cur)) {
			r->same++;
			return 0;
		}
		name_one(r, cur, "differs in the kernel; putting eroute's back");
		r->changed++;
	}
	p = *pol;
	p.owner = ER_OWNER_ADOPTED;
	p.persist = false;
	return er_spd_upsert(e->view, &p, NULL) == -ENOMEM ? -ENOMEM : 0;
}

/* The view's policies the dump did not show: gone from the kernel. */
static size_t
drop_missing(struct resync *r)
{
	struct er_engine *e = r->e;
	struct er_policy *gone;
	struct claim_key *k;
	size_t n = 0, total = 0;

	for (int d = 0; d < ER_DIR_COUNT; d++)
		total += er_spd_count(e->view, (enum er_dir)d);
	gone = calloc(total + 1, sizeof(*gone));
	for (int d = 0; d < ER_DIR_COUNT && gone != NULL; d++) {
		for (const struct er_policy *p =
			     er_spd_first(e->view, (enum er_dir)d);
		     p != NULL; p = er_spd_next(e->view, p)) {
			if (p->owner == ER_OWNER_ADOPTED)
				continue;
			k = claim_key_find(e, p->dir, &p->sel);
			if (k == NULL || !k->seen)
				gone[n++] = *p;
		}
	}
	for (size_t i = 0; i < n; i++) {
		name_one(r, &gone[i], "was removed by another process; "
				      "putting it back");
		er_spd_del(e->view, gone[i].dir, &gone[i].sel);
	}
	RB_FOREACH(k, claim_tree, &e->claims)
		k->seen = false;
	free(gone);
	return n;
}

int
er_engine_resync(struct er_engine *e, struct er_err *err)
{
	struct resync r = {.e = e};
	struct er_adopt_stats st = {0};
	struct er_err e2 = {0};
	size_t sa_gone = 0, missing = 0;
	bool failed = false;
	int ret;

	if (e->stopped || e->adopting)
		return 0;
	/* Acquires whose events were lost are in the kernel still: handled
	 * first, so that their holds are claimed before the sort. */
	er_engine_rescan(e, 0, NULL);
	r.kernel_sas = er_sad_new();
	if (r.kernel_sas == NULL)
		return er_err_set(err, -ENOMEM, "resync: out of memory");
	if (er_kernel_sa_dump(&e->cfg.kernel, collect_sa, &r, &e2) == 0)
		sa_gone = sas_vanished(e, r.kernel_sas);
	else
		engine_log(e, ER_LOG_ERROR, NULL, "resync: %s", e2.msg);
	er_sad_free(r.kernel_sas);
	ret = er_kernel_policy_dump(&e->cfg.kernel, sort_policy, &r, &e2);
	/* The foreign set becomes what the dump showed.  A dump that broke
	 * off proves nothing missing: what it sorted is synced, the rest
	 * stays as the engine believes, foreign ones included. */
	foreign_sweep(e, ret == 0);
	if (ret == 0) {
		missing = drop_missing(&r);
	} else {
		struct claim_key *k;

		RB_FOREACH(k, claim_tree, &e->claims)
			k->seen = false;
		engine_log(e, ER_LOG_ERROR, NULL, "resync: %s", e2.msg);
		er_err_set(err, ret, "resync: %s", e2.msg);
	}
	e->adopt_stats = &st;
	if (claim_sync_all(e) < 0)
		failed = true;
	if (adopt_delete_unclaimed(e, NULL) < 0)
		failed = true;
	e->adopt_stats = NULL;
	engine_settle(e);
	if (ret == 0)
		resync_count_calibrate(e);
	else
		e->count_known = false;
	engine_log(e,
		   missing + r.changed + r.overwritten + st.deleted + sa_gone
				   ? ER_LOG_WARNING
				   : ER_LOG_INFO,
		   NULL,
		   "resync: %zu policies as they were, %zu put back, %zu "
		   "corrected, %zu overwritten by another process put back, "
		   "%zu deleted, %zu foreign left alone; %zu SAs gone",
		   r.same + st.adopted, missing, r.changed, r.overwritten,
		   st.deleted, r.foreign, sa_gone);
	if (ret == 0 && failed)
		ret = er_err_set(err, -EIO, "resync: some kernel operations "
					    "failed (they are retried)");
	return ret;
}

/* ---- the cheap check ---------------------------------------------- */

static long long
engine_expects(const struct er_engine *e, enum er_dir d)
{
	return (long long)er_spd_count(e->view, d) + (long long)e->nforeign[d];
}

void
resync_count_calibrate(struct er_engine *e)
{
	size_t n[ER_DIR_COUNT];

	e->count_known = false;
	if (er_kernel_policy_count(&e->cfg.kernel, n, NULL) < 0)
		return;
	for (int d = 0; d < ER_DIR_COUNT; d++)
		e->count_extra[d] =
			(long long)n[d] - engine_expects(e, (enum er_dir)d);
	e->count_known = true;
}

int
er_engine_verify(struct er_engine *e, struct er_err *err)
{
	size_t n[ER_DIR_COUNT];
	bool same = true;
	int ret;

	if (e->stopped || e->adopting)
		return 0;
	ret = er_kernel_policy_count(&e->cfg.kernel, n, err);
	if (ret == -EOPNOTSUPP)
		return 0;
	if (ret < 0)
		return ret;
	if (!e->count_known) {
		resync_count_calibrate(e);
		return 0;
	}
	for (int d = 0; d < ER_DIR_COUNT; d++)
		if ((long long)n[d] - engine_expects(e, (enum er_dir)d) !=
		    e->count_extra[d])
			same = false;
	if (same)
		return 0;
	engine_log(e, ER_LOG_WARNING, NULL,
		   "the kernel holds %zu/%zu/%zu policies (out/in/fwd), not "
		   "the %lld/%lld/%lld eroute expects: resyncing",
		   n[ER_DIR_OUT], n[ER_DIR_IN], n[ER_DIR_FWD],
		   engine_expects(e, ER_DIR_OUT) + e->count_extra[ER_DIR_OUT],
		   engine_expects(e, ER_DIR_IN) + e->count_extra[ER_DIR_IN],
		   engine_expects(e, ER_DIR_FWD) + e->count_extra[ER_DIR_FWD]);
	ret = er_engine_resync(e, err);
	return ret < 0 ? ret : 1;
}
