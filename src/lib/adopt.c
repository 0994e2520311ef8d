// SPDX-License-Identifier: MIT
/*
 * Restart reconciliation (reference 004) and the foreign-policy set; the
 * run-time resync (resync.c) sorts the kernel with the same pieces.
 *
 * adopt_begin() reads the kernel into the engine's view: eroute's policies
 * get the owner ER_OWNER_ADOPTED, another daemon's go into the foreign set,
 * and eroute's SAs go into the SAD view without an owner.  While adopting,
 * claim.c makes no kernel call, so the connections the daemon adds only
 * say what they want.  adopt_finish() then gives each connection the SA
 * groups the kernel still has for its reqid (so that it comes back as a
 * tunnel, its eroute already in place), syncs every claim key -- a found
 * policy that is exactly as wanted costs nothing, one that differs is
 * replaced in place, a missing one is added -- and deletes what eroute
 * owns and nobody claims.  Foreign objects are never touched.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"
#include "grow.h"

static int
foreign_cmp(const struct foreign_key *a, const struct foreign_key *b)
{
	if (a->dir != b->dir)
		return a->dir < b->dir ? -1 : 1;
	return er_selector_cmp(&a->sel, &b->sel);
}

RB_GENERATE_STATIC(foreign_tree, foreign_key, link, foreign_cmp)

bool
foreign_has(const struct er_engine *e, enum er_dir dir,
	    const struct er_selector *sel)
{
	struct foreign_key key;

	if (RB_EMPTY(&e->foreign))
		return false;
	key.dir = dir;
	key.sel = *sel;
	return RB_FIND(foreign_tree,
		       (struct foreign_tree *)(uintptr_t)&e->foreign,
		       &key) != NULL;
}

void
er_engine_foreign_note(struct er_engine *e, enum er_dir dir,
		       const struct er_selector *sel, bool present)
{
	struct foreign_key key, *f;

	key.dir = dir;
	key.sel = *sel;
	f = RB_FIND(foreign_tree, &e->foreign, &key);
	if (present && f == NULL) {
		f = calloc(1, sizeof(*f));
		if (f == NULL)
			return;
		f->dir = dir;
		f->sel = *sel;
		RB_INSERT(foreign_tree, &e->foreign, f);
		e->nforeign[dir]++;
	} else if (!present && f != NULL) {
		RB_REMOVE(foreign_tree, &e->foreign, f);
		e->nforeign[dir]--;
		free(f);
	}
}

/* A resync's dump shows another daemon's policy here. */
void
foreign_seen(struct er_engine *e, enum er_dir dir,
	     const struct er_selector *sel)
{
	struct foreign_key key, *f;

	er_engine_foreign_note(e, dir, sel, true);
	key.dir = dir;
	key.sel = *sel;
	f = RB_FIND(foreign_tree, &e->foreign, &key);
	if (f != NULL)
		f->seen = true;
}

/* After a resync's dump: forget the foreign policies it did not show
 * (@drop_unseen; a failed dump keeps them all, the safe side). */
void
foreign_sweep(struct er_engine *e, bool drop_unseen)
{
	struct foreign_key *f, *next;

	for (f = RB_MIN(foreign_tree, &e->foreign); f != NULL; f = next) {
		next = RB_NEXT(foreign_tree, &e->foreign, f);
		if (drop_unseen && !f->seen) {
			RB_REMOVE(foreign_tree, &e->foreign, f);
			e->nforeign[f->dir]--;
			free(f);
			continue;
		}
		f->seen = false;
	}
}

void
foreign_free_all(struct er_engine *e)
{
	struct foreign_key *f;

	while ((f = RB_MIN(foreign_tree, &e->foreign)) != NULL) {
		RB_REMOVE(foreign_tree, &e->foreign, f);
		free(f);
	}
	memset(e->nforeign, 0, sizeof(e->nforeign));
}

struct begin_ctx {
	struct er_engine *e;
	struct er_sa *larval;
	size_t nlarval, cap;
};

static bool
reqid_ours(const struct er_engine *e, uint32_t reqid)
{
	return reqid >= e->cfg.reqid_base &&
	       reqid - e->cfg.reqid_base < e->cfg.reqid_count;
}

/* The daemon's test when it gave one (adopt_begin), else the backend's
 * owner field. */
bool
adopt_is_ours(const struct er_engine *e, const struct er_policy *pol)
{
	return e->ours != NULL ? e->ours(e->ours_ctx, pol)
			       : pol->owner != ER_OWNER_FOREIGN;
}

static int
adopt_policy(void *ctx, const struct er_policy *pol)
{
	struct begin_ctx *b = ctx;
	struct er_engine *e = b->e;
	bool ours = adopt_is_ours(e, pol);
	struct er_policy p = *pol;

	/* A persist policy (the backend's own ICMPv6 ND bypass) is the
	 * backend's to keep; reconciliation leaves it alone. */
	if (pol->persist)
		return 0;
	if (!ours) {
		er_engine_foreign_note(e, pol->dir, &pol->sel, true);
		return 0;
	}
	p.owner = ER_OWNER_ADOPTED;
	er_spd_upsert(e->view, &p, NULL);
	/* Keep the reqid the previous run gave this selector. */
	if (pol->dir == ER_DIR_OUT && reqid_ours(e, pol->reqid))
		er_engine_reqid_reserve(e, &pol->sel, pol->reqid);
	return 0;
}

static int
adopt_sa(void *ctx, const struct er_sa *sa)
{
	struct begin_ctx *b = ctx;
	struct er_engine *e = b->e;
	struct er_sa s = *sa;

	if (sa->owner == ER_OWNER_FOREIGN && !reqid_ours(e, sa->reqid))
		return 0;
	/* A larval state: an acquire's (SPI 0) suppresses new ACQUIREs for
	 * its flow while it lives; a reserved SPI serves nobody now. */
	if (sa->id.spi == 0 || sa->state == ER_SA_LARVAL) {
		struct er_sa *n = er_grow(b->larval, &b->cap, b->nlarval,
		                          sizeof(*n), 64);

		if (n == NULL)
			return -ENOMEM;
		b->larval = n;
		b->larval[b->nlarval] = *sa;
		explicit_bzero(&b->larval[b->nlarval].keys, sizeof(sa->keys));
		b->nlarval++;
		return 0;
	}
	s.owner = 0;
	s.group = 0;
	explicit_bzero(&s.keys, sizeof(s.keys));
	if (er_sad_add(e->sad, &s, NULL) == -EEXIST)
		er_sad_update(e->sad, &s, NULL);
	return 0;
}

/*
 * An acquire's larval state has no SPI, and a kernel finds SAs to delete by
 * SPI.  Asking for an SPI with the acquire's addresses, mode and reqid
 * gives that very state one (XFRM's ALLOCSPI completes a pending acquire),
 * and then it can be deleted.
 */
static void
larval_delete(struct er_engine *e, const struct er_sa *sa)
{
	struct er_spi_req req = {0};
	struct er_sa_id id = sa->id;

	if (id.spi == 0) {
		req.src = sa->src;
		req.dst = sa->id.dst;
		req.proto = sa->id.proto;
		req.mode = sa->mode;
		req.reqid = sa->reqid;
		req.now = e->now;
		if (er_kernel_spi_alloc(&e->cfg.kernel, &req, &id.spi, NULL) < 0)
			return;
	}
	/* A delete that fails is retried on the next tick. */
	engine_sa_remove(e, NULL, &id);
}

int
er_engine_adopt_begin(struct er_engine *e, er_engine_ours_cb *ours, void *ctx,
		      struct er_err *err)
{
	struct begin_ctx b = {.e = e};
	int ret;

	if (!RB_EMPTY(&e->conns_by_id))
		return er_err_set(err, -EBUSY,
				  "adopt: begin before adding connections");
	e->ours = ours;
	e->ours_ctx = ctx;
	ret = er_kernel_policy_dump(&e->cfg.kernel, adopt_policy, &b, err);
	if (ret == 0)
		ret = er_kernel_sa_dump(&e->cfg.kernel, adopt_sa, &b, err);
	if (ret < 0) {
		free(b.larval);
		return ret;
	}
	for (size_t i = 0; i < b.nlarval; i++)
		larval_delete(e, &b.larval[i]);
	engine_log(e, ER_LOG_INFO, NULL,
		   "restart: %zu policies and %zu SAs of a previous run found; "
		   "%zu larval states deleted",
		   er_spd_count(e->view, ER_DIR_OUT) +
			   er_spd_count(e->view, ER_DIR_IN) +
			   er_spd_count(e->view, ER_DIR_FWD),
		   er_sad_count(e->sad), b.nlarval);
	free(b.larval);
	e->adopting = true;
	return 0;
}

/* The adopted (ownerless) SAs, sorted by reqid, then creation. */
struct sa_index {
	const struct er_sa **sa;
	size_t n;
};

static int
sa_order(const void *a, const void *b)
{
	const struct er_sa *x = *(const struct er_sa *const *)a;
	const struct er_sa *y = *(const struct er_sa *const *)b;

	if (x->reqid != y->reqid)
		return x->reqid < y->reqid ? -1 : 1;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return x->id.spi < y->id.spi ? -1 : x->id.spi > y->id.spi;
}

static int
index_build(struct er_engine *e, struct sa_index *ix)
{
	const struct er_sa *sa;
	size_t n = 0;

	ix->sa = calloc(er_sad_count(e->sad) + 1, sizeof(*ix->sa));
	if (ix->sa == NULL)
		return -ENOMEM;
	for (sa = er_sad_first(e->sad); sa != NULL; sa = er_sad_next(e->sad, sa))
		if (sa->owner == 0 && sa->group == 0 &&
		    sa->state != ER_SA_LARVAL)
			ix->sa[n++] = sa;
	qsort(ix->sa, n, sizeof(*ix->sa), sa_order);
	ix->n = n;
	return 0;
}

/* Give @c the SA pairs the kernel holds for its reqid; the pair whose
 * outbound SA the found policy names goes last, so it is the newest and
 * the eroute needs no change. */
static void
adopt_groups(struct er_engine *e, struct conn *c, const struct sa_index *ix,
	     struct er_adopt_stats *st)
{
	const struct er_sa *ins[16], *outs[16];
	size_t nin = 0, nout = 0, lo = 0, hi = ix->n;
	uint32_t reqid = c->reqids[0], erouted_spi = 0;
	struct er_addr local, remote;
	struct er_selector sel;
	const struct er_policy *found;

	conn_local_addr(c, &local);
	conn_remote_addr(c, &remote);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ix->sa[mid]->reqid < reqid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < ix->n && ix->sa[i]->reqid == reqid; i++) {
		const struct er_sa *sa = ix->sa[i];

		if (sa->owner != 0 || sa->group != 0)
			continue;
		if (er_addr_equal(&sa->id.dst, &local) && nin < 16)
			ins[nin++] = sa;
		else if (er_addr_equal(&sa->id.dst, &remote) && nout < 16)
			outs[nout++] = sa;
	}
	er_conn_out_selector(&c->cfg, &c->remote_clients[0], &sel);
	found = er_spd_get(e->view, ER_DIR_OUT, &sel);
	if (found != NULL && found->action == ER_ACTION_IPSEC &&
	    found->ntmpl > 0)
		erouted_spi = found->tmpl[0].spi;
	for (size_t i = 0; i + 1 < nout; i++) {
		if (outs[i]->id.spi == erouted_spi) {
			const struct er_sa *t = outs[i];

			memmove(&outs[i], &outs[i + 1],
				(nout - i - 1) * sizeof(outs[0]));
			outs[nout - 1] = t;
			break;
		}
	}
	/* Pair oldest with oldest; the newest pair takes the eroute. */
	for (size_t i = 0; i < nin && i < nout; i++) {
		size_t oi = nout - (nin < nout ? nin : nout) + i;
		struct sa_group *g = group_new(e, c);
		struct conn_event_args a = {0};
		struct er_sa in = *ins[i], out = *outs[oi];

		if (g == NULL)
			return;
		g->in = in.id;
		g->out = out.id;
		in.owner = out.owner = c->id;
		in.group = out.group = g->serial;
		er_sad_update(e->sad, &in, NULL);
		er_sad_update(e->sad, &out, NULL);
		group_link(e, g);
		st->sa_adopted += 2;
		a.group = g;
		if (conn_event_allowed(c->rt, CEV_SA_UP))
			conn_transition(e, c, CEV_SA_UP, &a, NULL);
	}
}

/* Instances of opportunistic groups are not configured: an adopted
 * outbound SA towards a peer inside a group brings its instance back. */
static void
adopt_instances(struct er_engine *e, const struct sa_index *ix,
		struct er_adopt_stats *st)
{
	struct conn *grp;
	struct conn *groups[64];
	size_t ngroups = 0;

	RB_FOREACH(grp, conn_id_tree, &e->conns_by_id) {
		if (grp->cfg.group && grp->rt == ER_RT_PROSPECTIVE &&
		    ngroups < 64)
			groups[ngroups++] = grp;
	}
	for (size_t i = 0; i < ix->n && ngroups > 0; i++) {
		const struct er_sa *sa = ix->sa[i];

		if (sa->owner != 0 || sa->group != 0)
			continue;
		for (size_t g = 0; g < ngroups; g++) {
			struct conn *inst;
			bool inside = false, created;

			grp = groups[g];
			for (size_t k = 0; k < grp->cfg.nremote && !inside; k++)
				inside = er_prefix_has(&grp->remote_clients[k],
						       &sa->id.dst);
			if (!inside)
				continue;
			inst = instance_get(e, grp, &sa->id.dst, &created,
					    NULL);
			if (inst != NULL && inst->reqids[0] == sa->reqid)
				adopt_groups(e, inst, ix, st);
			/* No pair of SAs made it a tunnel: it has no reason
			 * to be. */
			if (inst != NULL && created &&
			    TAILQ_EMPTY(&inst->groups))
				conn_transition(e, inst, CEV_DELETE, NULL,
						NULL);
			break;
		}
	}
}

/*
 * Delete what eroute owns and nobody claims: the found policies
 * (ER_OWNER_ADOPTED) no claim took, counted in e->adopt_stats.
 * Return: 0, or -EIO when a delete failed (the policy stays in the view).
 */
int
adopt_delete_unclaimed(struct er_engine *e, struct er_err *err)
{
	struct er_selector *gone;
	enum er_dir *gone_dir;
	size_t ngone = 0, total;
	int ret = 0;

	total = er_spd_count(e->view, ER_DIR_OUT) +
		er_spd_count(e->view, ER_DIR_IN) +
		er_spd_count(e->view, ER_DIR_FWD);
	gone = calloc(total + 1, sizeof(*gone));
	gone_dir = calloc(total + 1, sizeof(*gone_dir));
	for (int d = 0; d < ER_DIR_COUNT && gone != NULL && gone_dir != NULL;
	     d++) {
		for (const struct er_policy *p =
			     er_spd_first(e->view, (enum er_dir)d);
		     p != NULL; p = er_spd_next(e->view, p)) {
			if (p->owner == ER_OWNER_ADOPTED &&
			    claim_key_find(e, p->dir, &p->sel) == NULL) {
				gone[ngone] = p->sel;
				gone_dir[ngone++] = p->dir;
			}
		}
	}
	for (size_t i = 0; i < ngone; i++) {
		if (er_kernel_policy_del(&e->cfg.kernel, gone_dir[i], &gone[i],
					 err) < 0) {
			char what[ER_SELECTOR_STRLEN + 16];

			/* It stays in the view, on a key of its own, until
			 * the retry deletes it. */
			er_policy_describe(gone_dir[i], &gone[i], what,
					   sizeof(what));
			engine_log(e, ER_LOG_ERROR, NULL,
				   "restart: deleting %s failed: %s (will "
				   "retry)", what,
				   err != NULL ? err->msg : "kernel error");
			claim_orphan(e, gone_dir[i], &gone[i]);
			ret = -EIO;
			continue;
		}
		er_spd_del(e->view, gone_dir[i], &gone[i]);
		if (e->adopt_stats != NULL)
			e->adopt_stats->deleted++;
	}
	free(gone);
	free(gone_dir);
	return ret;
}

int
er_engine_adopt_finish(struct er_engine *e, struct er_adopt_stats *stats,
		       struct er_err *err)
{
	struct er_adopt_stats st = {0};
	struct sa_index ix = {0};
	struct conn *c, *next;
	const struct er_sa *sa, *snext;
	int ret;

	if (!e->adopting)
		return er_err_set(err, -EINVAL, "adopt: not begun");
	ret = index_build(e, &ix);
	if (ret < 0)
		return er_err_set(err, ret, "out of memory");
	/* Still without kernel calls: tunnels come back first, so their
	 * claims are ipsec before anything is synced. */
	RB_FOREACH(c, conn_id_tree, &e->conns_by_id) {
		if (!c->cfg.group && c->group == NULL &&
		    !er_conn_is_never_negotiate(&c->cfg) &&
		    (c->rt == ER_RT_PROSPECTIVE || c->rt == ER_RT_UNROUTED))
			adopt_groups(e, c, &ix, &st);
	}
	adopt_instances(e, &ix, &st);
	free(ix.sa);

	e->adopting = false;
	e->adopt_stats = &st;
	ret = claim_sync_all(e);
	if (adopt_delete_unclaimed(e, err) < 0)
		ret = -EIO;
	for (sa = er_sad_first(e->sad); sa != NULL; sa = snext) {
		struct er_sa_id id = sa->id;

		snext = er_sad_next(e->sad, sa);
		if (sa->owner != 0 || sa->group != 0)
			continue;
		engine_sa_remove(e, NULL, &id);
		er_sad_del(e->sad, &id);
		st.sa_deleted++;
	}
	for (struct foreign_key *f = RB_MIN(foreign_tree, &e->foreign);
	     f != NULL; f = RB_NEXT(foreign_tree, &e->foreign, f))
		st.foreign++;
	e->adopt_stats = NULL;
	/* auto=start connections that did not come back up negotiate now. */
	for (c = RB_MIN(conn_id_tree, &e->conns_by_id); c != NULL; c = next) {
		next = RB_NEXT(conn_id_tree, &e->conns_by_id, c);
		if (!c->pending_start)
			continue;
		c->pending_start = false;
		if (c->rt == ER_RT_PROSPECTIVE)
			conn_transition(e, c, CEV_UP, NULL, NULL);
	}
	engine_settle(e);
	resync_count_calibrate(e);
	engine_log(e, ER_LOG_INFO, NULL,
		   "restart: %zu policies adopted as they were, %zu updated, "
		   "%zu added, %zu deleted, %zu foreign left alone; %zu SAs "
		   "adopted, %zu deleted",
		   st.adopted, st.updated, st.added, st.deleted, st.foreign,
		   st.sa_adopted, st.sa_deleted);
	if (stats != NULL)
		*stats = st;
	if (ret < 0)
		er_err_set(err, ret, "restart: some kernel operations failed "
				     "(they are retried)");
	return ret;
}
