// SPDX-License-Identifier: MIT
/*
 * The simulated kernel.  It owns an SPD and a SAD of its own (liberoute's
 * structures, so the sim and the engine agree on semantics by construction)
 * and adds what a kernel does around them: the outbound packet path, the
 * narrow hold a trap installs, retained packets, lifetimes that raise
 * events, and an event queue the loop drains.  It also records every policy
 * operation, and every SA deleted while a policy still named it, so tests
 * can prove that no selector ever lost its policy between a delete and an
 * add and that no policy ever sent traffic to an SA that was gone
 * (make-before-break).
 *
 * Nothing here calls back into the engine: events are queued.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eroute/rng.h"
#include "eroute/sim.h"

#include "compat/tree.h"
#include "lib/grow.h"

#define SIM_LOCAL_MAX 64

struct retained {
	struct er_selector sel;		/* the hold's selector (out) */
	struct er_packet pkt;
	uint32_t bytes;
	RB_ENTRY(retained) link;
};

RB_HEAD(retained_tree, retained);

/* One policy naming one SA in a template: so that deleting an SA finds
 * the policies that still send to it without a walk over the SPD. */
struct tmpl_ref {
	struct er_sa_id sa;
	enum er_dir dir;
	struct er_selector sel;
	RB_ENTRY(tmpl_ref) link;
};

RB_HEAD(tmpl_ref_tree, tmpl_ref);

/*
 * Deadlines, as a kernel's per-object timers: a tick visits what is due,
 * not the whole SAD and SPD (an acquire storm leaves a hundred thousand
 * SAs and policies that are not).  Every SA has a timer, filed by id and,
 * while it has a time limit, by when; a policy with a lifetime has one by
 * when.  SAs with byte or packet limits are counted: while there are any,
 * a tick checks every SA as before, since those limits are no time.
 */
struct sa_timer {
	struct er_sa_id id;
	uint64_t due;			/* 0: no time limit */
	bool limits;			/* byte or packet limits */
	RB_ENTRY(sa_timer) by_id;
	RB_ENTRY(sa_timer) by_due;
};

RB_HEAD(sa_timer_id_tree, sa_timer);
RB_HEAD(sa_timer_due_tree, sa_timer);

struct pol_timer {
	uint64_t due;
	enum er_dir dir;
	struct er_selector sel;
	RB_ENTRY(pol_timer) link;
};

RB_HEAD(pol_timer_tree, pol_timer);

struct er_sim {
	struct er_sim_config cfg;
	struct er_spd *spd;
	struct er_sad *sad;
	struct er_rng rng;
	uint64_t now;
	struct er_addr local[SIM_LOCAL_MAX];
	size_t nlocal;
	/* Event ring. */
	struct er_kernel_event *events;
	size_t ev_head, ev_count, ev_cap;
	bool lost_pending;
	struct retained_tree retained;
	struct tmpl_ref_tree refs;
	struct sa_timer_id_tree sa_timers;
	struct sa_timer_due_tree sa_due;
	size_t sa_limits;		/* SAs with byte or packet limits */
	struct pol_timer_tree pol_due;
	struct er_sim_stats st;
	struct er_sim_oprec *oplog;
	size_t noplog, oplog_cap;
};

static int
retained_cmp(const struct retained *a, const struct retained *b)
{
	return er_selector_cmp(&a->sel, &b->sel);
}

RB_GENERATE_STATIC(retained_tree, retained, link, retained_cmp)

static int
sa_id_cmp(const struct er_sa_id *a, const struct er_sa_id *b)
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
tmpl_ref_cmp(const struct tmpl_ref *a, const struct tmpl_ref *b)
{
	int c = sa_id_cmp(&a->sa, &b->sa);

	if (c != 0)
		return c;
	if (a->dir != b->dir)
		return a->dir < b->dir ? -1 : 1;
	return er_selector_cmp(&a->sel, &b->sel);
}

RB_GENERATE_STATIC(tmpl_ref_tree, tmpl_ref, link, tmpl_ref_cmp)

static int
sa_timer_id_cmp(const struct sa_timer *a, const struct sa_timer *b)
{
	return sa_id_cmp(&a->id, &b->id);
}

static int
sa_timer_due_cmp(const struct sa_timer *a, const struct sa_timer *b)
{
	if (a->due != b->due)
		return a->due < b->due ? -1 : 1;
	return sa_id_cmp(&a->id, &b->id);
}

RB_GENERATE_STATIC(sa_timer_id_tree, sa_timer, by_id, sa_timer_id_cmp)
RB_GENERATE_STATIC(sa_timer_due_tree, sa_timer, by_due, sa_timer_due_cmp)

static int
pol_timer_cmp(const struct pol_timer *a, const struct pol_timer *b)
{
	if (a->due != b->due)
		return a->due < b->due ? -1 : 1;
	if (a->dir != b->dir)
		return a->dir < b->dir ? -1 : 1;
	return er_selector_cmp(&a->sel, &b->sel);
}

RB_GENERATE_STATIC(pol_timer_tree, pol_timer, link, pol_timer_cmp)

/* When er_sad_expire() would first have something to say about @sa. */
static uint64_t
sa_due(const struct er_sa *sa)
{
	uint64_t soft = sa->soft.secs ? sa->created + sa->soft.secs : 0;
	uint64_t hard = sa->hard.secs ? sa->created + sa->hard.secs : 0;

	switch (sa->state) {
	case ER_SA_LARVAL:
		return sa->larval_expires;
	case ER_SA_MATURE:
		if (soft != 0 && (hard == 0 || soft < hard))
			return soft;
		return hard;
	case ER_SA_DYING:
		return hard;
	case ER_SA_DEAD:
		break;
	}
	return 0;
}

static bool
sa_has_limits(const struct er_sa *sa)
{
	return sa->soft.bytes || sa->soft.packets || sa->hard.bytes ||
	       sa->hard.packets;
}

static void
sa_timer_free(struct er_sim *sim, struct sa_timer *t)
{
	RB_REMOVE(sa_timer_id_tree, &sim->sa_timers, t);
	if (t->due != 0)
		RB_REMOVE(sa_timer_due_tree, &sim->sa_due, t);
	if (t->limits)
		sim->sa_limits--;
	free(t);
}

/* After any change to SA @id (added, updated, aged, deleted). */
static void
sa_timer_sync(struct er_sim *sim, const struct er_sa_id *id)
{
	const struct er_sa *sa = er_sad_get(sim->sad, id);
	struct sa_timer key, *t;
	uint64_t due;
	bool limits;

	key.id = *id;
	t = RB_FIND(sa_timer_id_tree, &sim->sa_timers, &key);
	if (sa == NULL) {
		if (t != NULL)
			sa_timer_free(sim, t);
		return;
	}
	if (t == NULL) {
		t = calloc(1, sizeof(*t));
		if (t == NULL)
			return;
		t->id = *id;
		RB_INSERT(sa_timer_id_tree, &sim->sa_timers, t);
	}
	limits = sa_has_limits(sa);
	if (limits != t->limits) {
		sim->sa_limits += limits ? 1 : (size_t)-1;
		t->limits = limits;
	}
	due = sa_due(sa);
	if (due == t->due)
		return;
	if (t->due != 0)
		RB_REMOVE(sa_timer_due_tree, &sim->sa_due, t);
	t->due = due;
	if (due != 0)
		RB_INSERT(sa_timer_due_tree, &sim->sa_due, t);
}

static void
sa_timers_free_all(struct er_sim *sim)
{
	struct sa_timer *t;

	while ((t = RB_MIN(sa_timer_id_tree, &sim->sa_timers)) != NULL)
		sa_timer_free(sim, t);
}

/* A policy with a lifetime came (@add) or went. */
static void
pol_timer_change(struct er_sim *sim, const struct er_policy *pol, bool add)
{
	struct pol_timer key, *t;

	if (pol->lifetime == 0)
		return;
	memset(&key, 0, sizeof(key));
	key.due = pol->created + pol->lifetime;
	key.dir = pol->dir;
	key.sel = pol->sel;
	t = RB_FIND(pol_timer_tree, &sim->pol_due, &key);
	if (add && t == NULL) {
		t = malloc(sizeof(*t));
		if (t == NULL)
			return;
		*t = key;
		RB_INSERT(pol_timer_tree, &sim->pol_due, t);
	} else if (!add && t != NULL) {
		RB_REMOVE(pol_timer_tree, &sim->pol_due, t);
		free(t);
	}
}

static void
pol_timers_free_all(struct er_sim *sim)
{
	struct pol_timer *t;

	while ((t = RB_MIN(pol_timer_tree, &sim->pol_due)) != NULL) {
		RB_REMOVE(pol_timer_tree, &sim->pol_due, t);
		free(t);
	}
}

/* The (SA, policy) pairs of a policy's templates that name an SPI. */
static void
refs_change(struct er_sim *sim, const struct er_policy *pol, bool add)
{
	struct tmpl_ref key, *r;

	pol_timer_change(sim, pol, add);
	if (pol->action != ER_ACTION_IPSEC)
		return;
	for (unsigned i = 0; i < pol->ntmpl; i++) {
		if (pol->tmpl[i].spi == 0)
			continue;
		memset(&key, 0, sizeof(key));
		key.sa.dst = pol->tmpl[i].dst;
		key.sa.proto = pol->tmpl[i].proto;
		key.sa.spi = pol->tmpl[i].spi;
		key.dir = pol->dir;
		key.sel = pol->sel;
		r = RB_FIND(tmpl_ref_tree, &sim->refs, &key);
		if (add && r == NULL) {
			r = malloc(sizeof(*r));
			if (r == NULL)
				continue;
			*r = key;
			RB_INSERT(tmpl_ref_tree, &sim->refs, r);
		} else if (!add && r != NULL) {
			RB_REMOVE(tmpl_ref_tree, &sim->refs, r);
			free(r);
		}
	}
}

static void
refs_free_all(struct er_sim *sim)
{
	struct tmpl_ref *r;

	while ((r = RB_MIN(tmpl_ref_tree, &sim->refs)) != NULL) {
		RB_REMOVE(tmpl_ref_tree, &sim->refs, r);
		free(r);
	}
}

/* Every change to the SPD goes through these two, which keep the
 * template references and the policy timers right. */
static int
spd_upsert(struct er_sim *sim, const struct er_policy *pol,
	   const struct er_policy **stored)
{
	const struct er_policy *old = er_spd_get(sim->spd, pol->dir, &pol->sel);
	const struct er_policy *now = NULL;
	int ret;

	if (old != NULL)
		refs_change(sim, old, false);
	ret = er_spd_upsert(sim->spd, pol, &now);
	if (ret >= 0 && now != NULL)
		refs_change(sim, now, true);
	else if (ret < 0 && old != NULL)
		refs_change(sim, old, true);
	if (stored != NULL)
		*stored = ret >= 0 ? now : NULL;
	return ret;
}

static void
spd_del(struct er_sim *sim, enum er_dir dir, const struct er_selector *sel)
{
	const struct er_policy *old = er_spd_get(sim->spd, dir, sel);

	if (old == NULL)
		return;
	refs_change(sim, old, false);
	er_spd_del(sim->spd, dir, sel);
}

static const struct er_kernel_ops sim_ops;

struct er_sim *
er_sim_new(const struct er_sim_config *cfg)
{
	struct er_sim *sim = calloc(1, sizeof(*sim));

	if (sim == NULL)
		return NULL;
	sim->cfg = *cfg;
	sim->now = cfg->now;
	sim->ev_cap = cfg->max_events != 0 ? cfg->max_events : 65536;
	sim->events = calloc(sim->ev_cap, sizeof(*sim->events));
	sim->spd = er_spd_new();
	sim->sad = er_sad_new();
	if (sim->events == NULL || sim->spd == NULL || sim->sad == NULL) {
		er_sim_free(sim);
		return NULL;
	}
	er_rng_init(&sim->rng, cfg->seed);
	RB_INIT(&sim->retained);
	RB_INIT(&sim->refs);
	RB_INIT(&sim->sa_timers);
	RB_INIT(&sim->sa_due);
	RB_INIT(&sim->pol_due);
	return sim;
}

void
er_sim_free(struct er_sim *sim)
{
	struct retained *r;

	if (sim == NULL)
		return;
	while ((r = RB_MIN(retained_tree, &sim->retained)) != NULL) {
		RB_REMOVE(retained_tree, &sim->retained, r);
		free(r);
	}
	refs_free_all(sim);
	pol_timers_free_all(sim);
	sa_timers_free_all(sim);
	er_spd_free(sim->spd);
	er_sad_free(sim->sad);
	free(sim->events);
	free(sim->oplog);
	free(sim);
}

struct er_kernel
er_sim_kernel(struct er_sim *sim)
{
	return (struct er_kernel){.ops = &sim_ops, .ctx = sim};
}

int
er_sim_add_local(struct er_sim *sim, const struct er_addr *a)
{
	if (sim->nlocal == SIM_LOCAL_MAX)
		return -ENOSPC;
	sim->local[sim->nlocal++] = *a;
	return 0;
}

void
er_sim_set_fail_every(struct er_sim *sim, uint32_t n)
{
	sim->cfg.fail_every = n;
}

void
er_sim_set_acquire_drop(struct er_sim *sim, uint32_t permille)
{
	sim->cfg.acquire_drop_permille = permille;
}

const struct er_spd *
er_sim_spd(const struct er_sim *sim)
{
	return sim->spd;
}

const struct er_sad *
er_sim_sad(const struct er_sim *sim)
{
	return sim->sad;
}

void
er_sim_stats(const struct er_sim *sim, struct er_sim_stats *st)
{
	*st = sim->st;
}

static void
queue_event(struct er_sim *sim, const struct er_kernel_event *ev)
{
	if (sim->ev_count == sim->ev_cap) {
		sim->st.events_lost++;
		sim->lost_pending = true;
		return;
	}
	sim->events[(sim->ev_head + sim->ev_count) % sim->ev_cap] = *ev;
	sim->ev_count++;
}

/* Return: the record, or NULL when there was no room for it. */
static struct er_sim_oprec *
oplog_add(struct er_sim *sim, enum er_sim_op op, enum er_dir dir,
	  const struct er_selector *sel, enum er_action action)
{
	struct er_sim_oprec *n = er_grow(sim->oplog, &sim->oplog_cap,
					 sim->noplog, sizeof(*n), 64);

	if (n == NULL)
		return NULL;
	sim->oplog = n;
	sim->oplog[sim->noplog] = (struct er_sim_oprec){
		.op = op, .dir = dir, .sel = *sel, .action = action};
	return &sim->oplog[sim->noplog++];
}

/* Fault injection: does the next mutating operation fail? */
static int
op_begin(struct er_sim *sim, struct er_err *err)
{
	sim->st.ops++;
	if (sim->cfg.fail_every != 0 &&
	    sim->st.ops % sim->cfg.fail_every == 0) {
		sim->st.ops_failed++;
		return er_err_set(err, -EIO, "sim: injected failure (op %llu)",
				  (unsigned long long)sim->st.ops);
	}
	return 0;
}

static bool
is_local(const struct er_sim *sim, const struct er_addr *a)
{
	for (size_t i = 0; i < sim->nlocal; i++) {
		if (er_addr_equal(&sim->local[i], a))
			return true;
	}
	return false;
}

static void packet_out(struct er_sim *sim, const struct er_packet *pkt,
		       uint32_t bytes, struct er_sim_result *res);

/* Take the packet retained on an out hold, if any. */
static bool
unretain(struct er_sim *sim, const struct er_selector *sel,
	 struct er_packet *pkt, uint32_t *bytes)
{
	struct retained key, *r;

	key.sel = *sel;
	r = RB_FIND(retained_tree, &sim->retained, &key);
	if (r == NULL)
		return false;
	*pkt = r->pkt;
	*bytes = r->bytes;
	RB_REMOVE(retained_tree, &sim->retained, r);
	free(r);
	return true;
}

/* A hold was replaced or deleted: its packet goes through the path again. */
static void
release(struct er_sim *sim, const struct er_packet *pkt, uint32_t bytes)
{
	struct er_sim_result res;

	sim->st.released++;
	packet_out(sim, pkt, bytes, &res);
	if (res.verdict == ER_ACTION_IPSEC && !res.no_sa)
		sim->st.released_ipsec++;
}

static void
retain(struct er_sim *sim, const struct er_policy *hold,
       const struct er_packet *pkt, uint32_t bytes)
{
	struct retained key, *r;

	key.sel = hold->sel;
	r = RB_FIND(retained_tree, &sim->retained, &key);
	if (r != NULL) {
		sim->st.retained_dropped++;
	} else {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return;
		r->sel = hold->sel;
		RB_INSERT(retained_tree, &sim->retained, r);
	}
	r->pkt = *pkt;
	r->bytes = bytes;
}

/* The outbound SA an ipsec (or trap) policy's first template names. */
static const struct er_sa *
template_sa(const struct er_sim *sim, const struct er_policy *pol)
{
	const struct er_tmpl *t;
	const struct er_sa *sa, *best = NULL;

	if (pol->ntmpl == 0)
		return NULL;
	t = &pol->tmpl[0];
	if (t->spi != 0) {
		sa = er_sad_lookup(sim->sad, &t->dst, t->proto, t->spi);
		if (sa != NULL &&
		    (sa->state == ER_SA_MATURE || sa->state == ER_SA_DYING))
			return sa;
		return NULL;
	}
	/* As XFRM: any usable SA with the reqid towards the template's
	 * destination; prefer the newest. */
	for (sa = er_sad_next_by_reqid(sim->sad, t->reqid, NULL); sa != NULL;
	     sa = er_sad_next_by_reqid(sim->sad, t->reqid, sa)) {
		if (sa->id.proto != t->proto ||
		    !er_addr_equal(&sa->id.dst, &t->dst) ||
		    (sa->state != ER_SA_MATURE && sa->state != ER_SA_DYING))
			continue;
		if (best == NULL || sa->created >= best->created)
			best = sa;
	}
	return best;
}

static void
expire_event(struct er_sim *sim, const struct er_sa *sa, bool hard)
{
	struct er_kernel_event ev = {.type = ER_KEV_SA_EXPIRE};

	ev.sa = sa->id;
	ev.reqid = sa->reqid;
	ev.hard = hard;
	queue_event(sim, &ev);
}

/* Byte and packet limits are checked as traffic crosses them. */
static void
account(struct er_sim *sim, const struct er_sa *sa, uint32_t bytes)
{
	uint64_t b0 = sa->bytes, p0 = sa->packets;
	uint64_t b1 = b0 + bytes, p1 = p0 + 1;
	struct er_sa_id id = sa->id;

	er_sad_account(sim->sad, sa, bytes, 1);
	if ((sa->hard.bytes && b0 < sa->hard.bytes && b1 >= sa->hard.bytes) ||
	    (sa->hard.packets && p0 < sa->hard.packets &&
	     p1 >= sa->hard.packets)) {
		expire_event(sim, sa, true);
		er_sad_del(sim->sad, &id);
		sa_timer_sync(sim, &id);
		return;
	}
	if ((sa->soft.bytes && b0 < sa->soft.bytes && b1 >= sa->soft.bytes) ||
	    (sa->soft.packets && p0 < sa->soft.packets &&
	     p1 >= sa->soft.packets)) {
		er_sad_set_state(sim->sad, sa, ER_SA_DYING);
		expire_event(sim, sa, false);
		sa_timer_sync(sim, &id);
	}
}

static void
trap(struct er_sim *sim, const struct er_policy *pol,
     const struct er_packet *pkt, uint32_t bytes, struct er_sim_result *res)
{
	struct er_policy hold = {0};
	const struct er_policy *cur, *stored;
	struct er_kernel_event ev = {.type = ER_KEV_ACQUIRE};
	struct er_sim_oprec *rec;

	sim->st.trapped++;
	hold.dir = ER_DIR_OUT;
	er_selector_host(&hold.sel, pkt, false);
	hold.priority = er_priority_default(&hold.sel, ER_PRIO_BARE);
	hold.action = ER_ACTION_HOLD;
	hold.reqid = pol->reqid;
	hold.owner = ER_OWNER_BARE;
	hold.created = sim->now;
	cur = er_spd_get(sim->spd, ER_DIR_OUT, &hold.sel);
	if (cur != NULL && cur->action == ER_ACTION_HOLD &&
	    cur->owner == ER_OWNER_BARE) {
		/* Our narrow hold is there already: one ACQUIRE per flow. */
		retain(sim, cur, pkt, bytes);
		return;
	}
	/* Reference 001: when the trap is itself host-to-host for this
	 * protocol, the narrow hold replaces it. */
	if (spd_upsert(sim, &hold, &stored) < 0)
		return;
	rec = oplog_add(sim, cur != NULL ? ER_SIM_OP_REPLACE : ER_SIM_OP_ADD,
			ER_DIR_OUT, &hold.sel, ER_ACTION_HOLD);
	if (rec != NULL)
		rec->by_trap = true;
	retain(sim, stored, pkt, bytes);
	if (sim->cfg.acquire_drop_permille != 0 &&
	    er_rng_range(&sim->rng, 0, 999) < sim->cfg.acquire_drop_permille) {
		sim->st.acquires_lost++;
		return;
	}
	ev.pkt = *pkt;
	ev.sel = hold.sel;
	ev.dir = ER_DIR_OUT;
	ev.policy_sel = pol->sel;
	ev.reqid = pol->reqid;
	queue_event(sim, &ev);
	sim->st.acquires++;
	res->acquire = true;
}

static void
packet_out(struct er_sim *sim, const struct er_packet *pkt, uint32_t bytes,
	   struct er_sim_result *res)
{
	const struct er_policy *pol;
	const struct er_sa *sa;

	memset(res, 0, sizeof(*res));
	sim->st.packets++;
	if (pkt->proto == IPPROTO_UDP &&
	    (pkt->sport == 500 || pkt->sport == 4500) &&
	    is_local(sim, &pkt->src)) {
		sim->st.bypassed++;
		sim->st.passed++;
		res->bypass = true;
		res->verdict = ER_ACTION_PASS;
		return;
	}
	pol = er_spd_lookup(sim->spd, ER_DIR_OUT, pkt);
	if (pol == NULL) {
		res->verdict = sim->cfg.default_drop ? ER_ACTION_DROP
						     : ER_ACTION_PASS;
		if (sim->cfg.default_drop)
			sim->st.dropped++;
		else
			sim->st.passed++;
		return;
	}
	er_spd_note_use(sim->spd, pol, sim->now);
	res->matched = true;
	res->policy = *pol;
	res->verdict = pol->action;
	switch (pol->action) {
	case ER_ACTION_PASS:
		sim->st.passed++;
		break;
	case ER_ACTION_DROP:
		sim->st.dropped++;
		break;
	case ER_ACTION_REJECT:
		sim->st.rejected++;
		break;
	case ER_ACTION_HOLD:
		sim->st.held++;
		retain(sim, pol, pkt, bytes);
		break;
	case ER_ACTION_TRAP:
		trap(sim, pol, pkt, bytes, res);
		break;
	case ER_ACTION_IPSEC:
		sa = template_sa(sim, pol);
		if (sa == NULL) {
			/* XFRM: a template without a state acquires. */
			res->no_sa = true;
			trap(sim, pol, pkt, bytes, res);
			break;
		}
		sim->st.ipsec++;
		res->spi = sa->id.spi;
		account(sim, sa, bytes);
		break;
	}
}

int
er_sim_packet_out(struct er_sim *sim, const struct er_packet *pkt,
		  uint32_t bytes, struct er_sim_result *res)
{
	if (er_addr_bits(pkt->src.family) == 0 ||
	    pkt->src.family != pkt->dst.family)
		return -EINVAL;
	packet_out(sim, pkt, bytes, res);
	return 0;
}

int
er_sim_packet_in(struct er_sim *sim, const struct er_addr *sa_dst,
		 uint8_t proto, uint32_t spi, const struct er_packet *pkt,
		 uint32_t bytes)
{
	const struct er_sa *sa = er_sad_lookup(sim->sad, sa_dst, proto, spi);
	const struct er_policy *pol;

	if (sa == NULL || sa->state == ER_SA_LARVAL) {
		sim->st.inbound_no_sa++;
		return -ENOENT;
	}
	if (er_addr_bits(sa->sel.src.addr.family) != 0 &&
	    !er_selector_matches(&sa->sel, pkt)) {
		sim->st.inbound_policy_drops++;
		return -EPERM;
	}
	pol = er_spd_lookup(sim->spd, ER_DIR_IN, pkt);
	if (pol != NULL && pol->action == ER_ACTION_IPSEC && pol->ntmpl > 0 &&
	    pol->tmpl[0].reqid != sa->reqid) {
		sim->st.inbound_policy_drops++;
		return -EPERM;
	}
	if (pol != NULL && pol->action != ER_ACTION_IPSEC &&
	    pol->action != ER_ACTION_PASS) {
		sim->st.inbound_policy_drops++;
		return -EPERM;
	}
	account(sim, sa, bytes);
	sim->st.inbound_ok++;
	return 0;
}

struct tick_ctx {
	struct er_sim *sim;
	struct er_sa_id *ids;		/* every SA that crossed a limit */
	bool *dead;			/* ... and is to be deleted */
	size_t n, cap;
};

static void
tick_sa(void *ctx, const struct er_sa *sa, enum er_sa_expiry kind)
{
	struct tick_ctx *t = ctx;

	expire_event(t->sim, sa, kind != ER_SA_EXPIRE_SOFT);
	if (t->n == t->cap) {
		size_t cap = er_grow_cap(t->cap, 16);
		struct er_sa_id *n = reallocarray(t->ids, cap, sizeof(*n));
		bool *d;

		if (n == NULL)
			return;
		t->ids = n;
		d = reallocarray(t->dead, cap, sizeof(*d));
		if (d == NULL)
			return;
		t->dead = d;
		t->cap = cap;
	}
	t->ids[t->n] = sa->id;
	t->dead[t->n++] = kind != ER_SA_EXPIRE_SOFT;
}

struct pol_due {
	enum er_dir dir;
	struct er_selector sel;
};

/* Everything due at sim->now: the SAs and policies whose timers say so
 * (every SA while some have byte or packet limits). */
static void
tick_due(struct er_sim *sim)
{
	struct tick_ctx t = {.sim = sim};
	struct er_sa_id *sas = NULL;
	struct pol_due *pols = NULL;
	size_t nsas = 0, npols = 0, cap = 0;
	struct sa_timer *st;
	struct pol_timer *pt;

	/* The kernel deletes what reached its hard limit, then says so. */
	if (sim->sa_limits > 0) {
		er_sad_expire(sim->sad, sim->now, tick_sa, &t);
	} else {
		RB_FOREACH(st, sa_timer_due_tree, &sim->sa_due) {
			struct er_sa_id *n;

			if (st->due > sim->now)
				break;
			n = er_grow(sas, &cap, nsas, sizeof(*n), 16);
			if (n == NULL)
				break;
			sas = n;
			sas[nsas++] = st->id;
		}
		for (size_t i = 0; i < nsas; i++) {
			const struct er_sa *sa = er_sad_get(sim->sad, &sas[i]);

			if (sa != NULL)
				er_sad_expire_sa(sim->sad, sa, sim->now,
						 tick_sa, &t);
		}
		free(sas);
	}
	for (size_t i = 0; i < t.n; i++) {
		if (t.dead[i])
			er_sad_del(sim->sad, &t.ids[i]);
		sa_timer_sync(sim, &t.ids[i]);
	}
	free(t.ids);
	free(t.dead);
	cap = 0;
	RB_FOREACH(pt, pol_timer_tree, &sim->pol_due) {
		struct pol_due *n;

		if (pt->due > sim->now)
			break;
		n = er_grow(pols, &cap, npols, sizeof(*n), 16);
		if (n == NULL)
			break;
		pols = n;
		pols[npols].dir = pt->dir;
		pols[npols++].sel = pt->sel;
	}
	/* Looked up again: a release on the way may change the SPD. */
	for (size_t i = 0; i < npols; i++) {
		const struct er_policy *p =
			er_spd_get(sim->spd, pols[i].dir, &pols[i].sel);
		struct er_kernel_event ev = {.type = ER_KEV_POLICY_EXPIRE};
		struct er_packet pkt;
		uint32_t bytes;

		if (p == NULL || p->lifetime == 0 ||
		    p->created + p->lifetime > sim->now)
			continue;
		ev.dir = p->dir;
		ev.sel = p->sel;
		ev.reqid = p->reqid;
		ev.hard = true;
		oplog_add(sim, ER_SIM_OP_DEL, p->dir, &p->sel, p->action);
		queue_event(sim, &ev);
		if (p->dir == ER_DIR_OUT && unretain(sim, &p->sel, &pkt, &bytes)) {
			spd_del(sim, ev.dir, &ev.sel);
			release(sim, &pkt, bytes);
		} else {
			spd_del(sim, ev.dir, &ev.sel);
		}
	}
	free(pols);
}

void
er_sim_tick(struct er_sim *sim, uint64_t now)
{
	uint64_t next, last = 0;

	/* A jump of hours raises each expiry on the way once, in time order
	 * (a soft one before its hard one), as a kernel ticking all along
	 * would have. */
	while ((next = er_sim_next_deadline(sim)) != 0 && next <= now &&
	       next != last) {
		last = next;
		if (next > sim->now)
			sim->now = next;
		tick_due(sim);
	}
	if (now > sim->now)
		sim->now = now;
	tick_due(sim);
}

uint64_t
er_sim_next_deadline(const struct er_sim *sim)
{
	const struct sa_timer *st = RB_MIN(
		sa_timer_due_tree, (struct sa_timer_due_tree *)(uintptr_t)&sim->sa_due);
	const struct pol_timer *pt = RB_MIN(
		pol_timer_tree, (struct pol_timer_tree *)(uintptr_t)&sim->pol_due);
	uint64_t best = st != NULL ? st->due : 0;

	if (pt != NULL && (best == 0 || pt->due < best))
		best = pt->due;
	return best;
}

/* ---- struct er_kernel_ops ---------------------------------------- */

static int
sim_policy_install(void *ctx, const struct er_policy *pol, struct er_err *err)
{
	struct er_sim *sim = ctx;
	struct er_policy p = *pol;
	struct er_packet pkt;
	uint32_t bytes;
	bool had;
	int ret;

	ret = op_begin(sim, err);
	if (ret < 0)
		return ret;
	/* As XFRM: a replaced policy is a new one; its lifetime restarts. */
	p.created = sim->now;
	had = pol->dir == ER_DIR_OUT &&
	      unretain(sim, &pol->sel, &pkt, &bytes);
	ret = spd_upsert(sim, &p, NULL);
	if (ret < 0) {
		char what[ER_SELECTOR_STRLEN + 16];

		/* The old policy stays; its packet goes on as it would. */
		if (had)
			release(sim, &pkt, bytes);
		er_policy_describe(pol->dir, &pol->sel, what, sizeof(what));
		return er_err_set(err, ret, "%s: %s", what, strerror(-ret));
	}
	oplog_add(sim, ret == ER_SPD_REPLACED ? ER_SIM_OP_REPLACE : ER_SIM_OP_ADD,
		  pol->dir, &pol->sel, pol->action);
	if (had)
		release(sim, &pkt, bytes);
	return ret == ER_SPD_REPLACED ? ER_KERNEL_UPDATED : 0;
}

static int
sim_policy_del(void *ctx, enum er_dir dir, const struct er_selector *sel,
	       struct er_err *err)
{
	struct er_sim *sim = ctx;
	const struct er_policy *cur;
	struct er_packet pkt;
	uint32_t bytes;
	bool had;
	int ret;

	ret = op_begin(sim, err);
	if (ret < 0)
		return ret;
	cur = er_spd_get(sim->spd, dir, sel);
	if (cur == NULL)
		return ER_KERNEL_ABSENT;
	oplog_add(sim, ER_SIM_OP_DEL, dir, sel, cur->action);
	had = dir == ER_DIR_OUT && unretain(sim, sel, &pkt, &bytes);
	spd_del(sim, dir, sel);
	if (had)
		release(sim, &pkt, bytes);
	return 0;
}

static int
sim_sa_install(void *ctx, const struct er_sa *sa, struct er_err *err)
{
	struct er_sim *sim = ctx;
	struct er_sa s = *sa;
	char id[64];
	int ret;

	ret = op_begin(sim, err);
	if (ret < 0)
		return ret;
	if (s.created == 0)
		s.created = sim->now;
	ret = er_sad_update(sim->sad, &s, NULL);
	if (ret == 0) {
		sa_timer_sync(sim, &s.id);
		return ER_KERNEL_UPDATED;
	}
	if (ret == -ENOENT)
		ret = er_sad_add(sim->sad, &s, NULL);
	if (ret < 0) {
		er_sa_id_format(&sa->id, id, sizeof(id));
		return er_err_set(err, ret, "SA %s: %s", id, strerror(-ret));
	}
	sa_timer_sync(sim, &s.id);
	return 0;
}

/* Is a keyed SA about to go while a policy still names it?  Then that
 * policy's traffic meets no SA until it is replaced: log it for
 * er_sim_gaps(). */
static void
note_sa_in_use(struct er_sim *sim, const struct er_sa_id *id)
{
	const struct er_sa *sa = er_sad_get(sim->sad, id);
	struct tmpl_ref key, *r;
	struct er_sim_oprec *rec;

	if (sa == NULL || sa->state == ER_SA_LARVAL)
		return;
	/* The first reference to the SA, if any: the SA sorts first. */
	memset(&key, 0, sizeof(key));
	key.sa.dst = id->dst;
	key.sa.proto = id->proto;
	key.sa.spi = id->spi;
	key.dir = (enum er_dir)0;
	r = RB_NFIND(tmpl_ref_tree, &sim->refs, &key);
	if (r == NULL || sa_id_cmp(&r->sa, &key.sa) != 0)
		return;
	rec = oplog_add(sim, ER_SIM_OP_SA_DEL_IN_USE, r->dir, &r->sel,
			ER_ACTION_IPSEC);
	if (rec != NULL)
		rec->sa = *id;
}

static int
sim_sa_del(void *ctx, const struct er_sa_id *id, struct er_err *err)
{
	struct er_sim *sim = ctx;
	int ret = op_begin(sim, err);

	if (ret < 0)
		return ret;
	note_sa_in_use(sim, id);
	ret = er_sad_del(sim->sad, id);
	sa_timer_sync(sim, id);
	return ret == 0 ? 0 : ER_KERNEL_ABSENT;
}

static int
sim_spi_alloc(void *ctx, const struct er_spi_req *req, uint32_t *spi,
	      struct er_err *err)
{
	struct er_sim *sim = ctx;
	int ret = op_begin(sim, err);

	if (ret < 0)
		return ret;
	ret = er_spi_alloc(sim->sad, &sim->rng, req, spi, err);
	if (ret == 0) {
		struct er_sa_id id = {.dst = req->dst, .proto = req->proto,
				      .spi = *spi};

		sa_timer_sync(sim, &id);
	}
	return ret;
}

static int
sim_policy_dump(void *ctx, er_kernel_policy_cb *cb, void *cbctx,
		struct er_err *err)
{
	struct er_sim *sim = ctx;

	(void)err;
	for (int d = 0; d < ER_DIR_COUNT; d++) {
		for (const struct er_policy *p =
			     er_spd_first(sim->spd, (enum er_dir)d);
		     p != NULL; p = er_spd_next(sim->spd, p)) {
			int ret = cb(cbctx, p);

			if (ret != 0)
				return ret;
		}
	}
	return 0;
}

static int
sim_sa_dump(void *ctx, er_kernel_sa_cb *cb, void *cbctx, struct er_err *err)
{
	struct er_sim *sim = ctx;

	(void)err;
	for (const struct er_sa *sa = er_sad_first(sim->sad); sa != NULL;
	     sa = er_sad_next(sim->sad, sa)) {
		int ret = cb(cbctx, sa);

		if (ret != 0)
			return ret;
	}
	return 0;
}

static int
sim_poll_event(void *ctx, struct er_kernel_event *ev)
{
	struct er_sim *sim = ctx;

	if (sim->lost_pending) {
		sim->lost_pending = false;
		memset(ev, 0, sizeof(*ev));
		ev->type = ER_KEV_LOST;
		return 1;
	}
	if (sim->ev_count == 0)
		return 0;
	*ev = sim->events[sim->ev_head];
	sim->ev_head = (sim->ev_head + 1) % sim->ev_cap;
	sim->ev_count--;
	return 1;
}

/* The narrow holds a trap installed: each stands for an acquire, whether
 * or not its event was read (or lost). */
static int
sim_acquire_dump(void *ctx, er_kernel_event_cb *cb, void *cbctx,
		 struct er_err *err)
{
	struct er_sim *sim = ctx;
	const struct er_policy *p;

	(void)err;
	for (p = er_spd_first(sim->spd, ER_DIR_OUT); p != NULL;
	     p = er_spd_next(sim->spd, p)) {
		struct er_kernel_event ev = {.type = ER_KEV_ACQUIRE};
		int ret;

		if (p->action != ER_ACTION_HOLD || p->owner != ER_OWNER_BARE ||
		    !er_selector_is_host(&p->sel))
			continue;
		ev.sel = p->sel;
		ev.dir = ER_DIR_OUT;
		ev.reqid = p->reqid;
		ev.pkt.src = p->sel.src.addr;
		ev.pkt.dst = p->sel.dst.addr;
		ev.pkt.proto = p->sel.proto;
		ret = cb(cbctx, &ev);
		if (ret != 0)
			return ret;
	}
	return 0;
}

static int
sim_policy_count(void *ctx, size_t counts[ER_DIR_COUNT], struct er_err *err)
{
	struct er_sim *sim = ctx;

	(void)err;
	for (int d = 0; d < ER_DIR_COUNT; d++)
		counts[d] = er_spd_count(sim->spd, (enum er_dir)d);
	return 0;
}

static const struct er_kernel_ops sim_ops = {
	.name = "sim",
	.policy_add = sim_policy_install,
	.policy_replace = sim_policy_install,
	.policy_del = sim_policy_del,
	.sa_add = sim_sa_install,
	.sa_update = sim_sa_install,
	.sa_del = sim_sa_del,
	.spi_alloc = sim_spi_alloc,
	.policy_dump = sim_policy_dump,
	.sa_dump = sim_sa_dump,
	.poll_event = sim_poll_event,
	.acquire_dump = sim_acquire_dump,
	.policy_count = sim_policy_count,
};

/* ---- another process ----------------------------------------------- */

/*
 * What ip xfrm or another IKE daemon does to the kernel, and what the
 * kernel tells its listeners: one policy or SA changed (the CHANGED
 * events), or a flush (XFRM's FLUSHPOLICY / FLUSHSA, which backends report
 * as ER_KEV_LOST).  None of it goes into the operation log: it is not the
 * engine's doing, and er_sim_gaps() judges the engine.
 */
static void
changed_event(struct er_sim *sim, const struct er_policy *pol, bool deleted)
{
	struct er_kernel_event ev = {.type = ER_KEV_POLICY_CHANGED};

	ev.dir = pol->dir;
	ev.sel = pol->sel;
	ev.reqid = pol->reqid;
	ev.deleted = deleted;
	queue_event(sim, &ev);
}

int
er_sim_external_policy_add(struct er_sim *sim, const struct er_policy *pol)
{
	struct er_policy p = *pol;
	struct er_packet pkt;
	uint32_t bytes;
	bool had;
	int ret;

	p.owner = ER_OWNER_FOREIGN;
	p.persist = false;
	p.created = sim->now;
	had = pol->dir == ER_DIR_OUT &&
	      unretain(sim, &pol->sel, &pkt, &bytes);
	ret = spd_upsert(sim, &p, NULL);
	if (ret >= 0)
		changed_event(sim, &p, false);
	if (had)
		release(sim, &pkt, bytes);
	return ret < 0 ? ret : 0;
}

int
er_sim_external_policy_del(struct er_sim *sim, enum er_dir dir,
			   const struct er_selector *sel)
{
	const struct er_policy *cur = er_spd_get(sim->spd, dir, sel);
	struct er_policy gone;
	struct er_packet pkt;
	uint32_t bytes;
	bool had;

	if (cur == NULL)
		return -ENOENT;
	gone = *cur;
	had = dir == ER_DIR_OUT && unretain(sim, sel, &pkt, &bytes);
	spd_del(sim, dir, sel);
	changed_event(sim, &gone, true);
	if (had)
		release(sim, &pkt, bytes);
	return 0;
}

size_t
er_sim_external_policy_flush(struct er_sim *sim)
{
	struct retained *r;
	size_t n;

	n = er_spd_flush(sim->spd, NULL);
	/* What is left (persist policies) is all there is to refer. */
	refs_free_all(sim);
	pol_timers_free_all(sim);
	for (int d = 0; d < ER_DIR_COUNT; d++) {
		for (const struct er_policy *p =
			     er_spd_first(sim->spd, (enum er_dir)d);
		     p != NULL; p = er_spd_next(sim->spd, p))
			refs_change(sim, p, true);
	}
	/* As XFRM: the held flows' packets are dropped with the policies. */
	while ((r = RB_MIN(retained_tree, &sim->retained)) != NULL) {
		RB_REMOVE(retained_tree, &sim->retained, r);
		free(r);
		sim->st.retained_dropped++;
	}
	sim->lost_pending = true;
	return n;
}

int
er_sim_external_sa_del(struct er_sim *sim, const struct er_sa_id *id)
{
	const struct er_sa *sa = er_sad_get(sim->sad, id);
	struct er_kernel_event ev = {.type = ER_KEV_SA_CHANGED};

	if (sa == NULL)
		return -ENOENT;
	ev.sa = sa->id;
	ev.reqid = sa->reqid;
	ev.sel = sa->sel;
	ev.deleted = true;
	er_sad_del(sim->sad, id);
	sa_timer_sync(sim, id);
	queue_event(sim, &ev);
	return 0;
}

size_t
er_sim_external_sa_flush(struct er_sim *sim)
{
	const struct er_sa *sa;
	size_t n = 0;

	while ((sa = er_sad_first(sim->sad)) != NULL) {
		struct er_sa_id id = sa->id;

		er_sad_del(sim->sad, &id);
		n++;
	}
	sa_timers_free_all(sim);
	sim->lost_pending = true;
	return n;
}

/* ---- the operation log ------------------------------------------- */

size_t
er_sim_oplog(const struct er_sim *sim, const struct er_sim_oprec **recs)
{
	*recs = sim->oplog;
	return sim->noplog;
}

void
er_sim_oplog_clear(struct er_sim *sim)
{
	sim->noplog = 0;
}

static int
oprec_index_cmp(const void *a, const void *b, void *ctx)
{
	const struct er_sim_oprec *log = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c;

	if (log[i].dir != log[j].dir)
		return log[i].dir < log[j].dir ? -1 : 1;
	c = er_selector_cmp(&log[i].sel, &log[j].sel);
	if (c != 0)
		return c;
	return i < j ? -1 : i > j;
}

size_t
er_sim_gaps(const struct er_sim *sim, char *first, size_t len)
{
	size_t *idx, gaps = 0;

	if (first != NULL && len > 0)
		first[0] = '\0';
	if (sim->noplog == 0)
		return 0;
	for (size_t i = 0; i < sim->noplog; i++) {
		const struct er_sim_oprec *r = &sim->oplog[i];
		char sa[64], pol[ER_SELECTOR_STRLEN + 16];

		if (r->op != ER_SIM_OP_SA_DEL_IN_USE)
			continue;
		if (gaps++ == 0 && first != NULL) {
			er_sa_id_format(&r->sa, sa, sizeof(sa));
			er_policy_describe(r->dir, &r->sel, pol, sizeof(pol));
			snprintf(first, len, "SA %s was deleted while %s "
					     "still sent traffic to it", sa,
				 pol);
		}
	}
	idx = malloc(sim->noplog * sizeof(*idx));
	if (idx == NULL)
		return 0;
	for (size_t i = 0; i < sim->noplog; i++)
		idx[i] = i;
	qsort_r(idx, sim->noplog, sizeof(*idx), oprec_index_cmp, sim->oplog);
	/* Within one (dir, selector), in time order: a delete followed by an
	 * add is a window in which the selector had no policy. */
	for (size_t k = 1; k < sim->noplog; k++) {
		const struct er_sim_oprec *a = &sim->oplog[idx[k - 1]];
		const struct er_sim_oprec *b = &sim->oplog[idx[k]];

		if (a->dir != b->dir || er_selector_cmp(&a->sel, &b->sel) != 0)
			continue;
		if (a->op == ER_SIM_OP_DEL && b->op == ER_SIM_OP_ADD &&
		    !b->by_trap) {
			if (gaps == 0 && first != NULL) {
				char pol[ER_SELECTOR_STRLEN + 16];

				er_policy_describe(a->dir, &a->sel, pol,
						   sizeof(pol));
				snprintf(first, len,
					 "%s was deleted and added again", pol);
			}
			gaps++;
		}
	}
	free(idx);
	return gaps;
}
