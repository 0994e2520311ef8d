// SPDX-License-Identifier: MIT
/*
 * The routing state machine (reference 001).  Every change of a
 * connection's routing state goes through conn_transition(): it looks the
 * (state, event) pair up in one table, refuses the pairs that make no
 * sense, runs the handler -- which makes the side effects and says where the
 * connection ends up -- and logs "name: old -> new".
 *
 * Handlers only say what a state needs (conn_claims_set() turns a state
 * into claims, claim.c turns claims into kernel operations); they never
 * reach the kernel themselves.  A handler may answer RT_DELETED: the
 * connection (an opportunistic instance) is gone and conn_transition()
 * frees it.
 */
#include <errno.h>
#include <stdlib.h>

#include "engine_impl.h"

/* Not a state a connection can be in: the handler deleted it. */
#define RT_DELETED ER_RT_COUNT

static const char *const event_names[CEV_COUNT] = {
	"route", "unroute", "up", "down", "acquire", "sa-up", "neg-fail",
	"shunt-expire", "sa-gone", "eclipse", "uneclipse", "delete",
};

const char *
conn_event_name(enum conn_event ev)
{
	return (unsigned)ev < CEV_COUNT ? event_names[ev] : "?";
}

typedef unsigned handler_fn(struct er_engine *e, struct conn *c,
			    const struct conn_event_args *a);

static unsigned
h_same(struct er_engine *e, struct conn *c, const struct conn_event_args *a)
{
	(void)e;
	(void)a;
	return c->rt;
}

static unsigned
h_route(struct er_engine *e, struct conn *c, const struct conn_event_args *a)
{
	enum er_routing st = er_conn_is_never_negotiate(&c->cfg)
				     ? ER_RT_NEVER_NEGOTIATE
				     : ER_RT_PROSPECTIVE;

	(void)a;
	/* Narrow holds and drops inside our selector would shadow it. */
	bare_shunts_clear_covered(e, c, true);
	conn_claims_set(e, c, st);
	conn_route_updown(e, c, true);
	return st;
}

static unsigned
h_route_hold(struct er_engine *e, struct conn *c,
	     const struct conn_event_args *a)
{
	(void)a;
	c->routed_by_up = false;
	conn_route_updown(e, c, true);
	return ER_RT_ROUTED_HOLD;
}

static unsigned
h_unroute(struct er_engine *e, struct conn *c, const struct conn_event_args *a)
{
	(void)a;
	negotiation_cancel(e, c);
	groups_delete_all(e, c);
	conn_claims_drop(e, c);
	c->failure_expires = 0;
	c->revive_at = 0;
	c->routed_by_up = false;
	conn_route_updown(e, c, false);
	return ER_RT_UNROUTED;
}

static unsigned
h_up_unrouted(struct er_engine *e, struct conn *c,
	      const struct conn_event_args *a)
{
	(void)a;
	c->tries = 0;
	conn_claims_set(e, c, ER_RT_UNROUTED_HOLD);
	negotiation_start(e, c, false);
	return ER_RT_UNROUTED_HOLD;
}

static unsigned
h_up_routed(struct er_engine *e, struct conn *c, const struct conn_event_args *a)
{
	(void)a;
	c->tries = 0;
	c->failure_expires = 0;
	c->revive_at = 0;
	conn_claims_set(e, c, ER_RT_ROUTED_HOLD);
	negotiation_start(e, c, false);
	return ER_RT_ROUTED_HOLD;
}

static unsigned
h_up_tunnel(struct er_engine *e, struct conn *c, const struct conn_event_args *a)
{
	(void)a;
	if (c->neg == NULL) {
		c->tries = 0;
		negotiation_start(e, c, true);
	}
	return ER_RT_TUNNEL;
}

static unsigned
h_down_unrouted_hold(struct er_engine *e, struct conn *c,
		     const struct conn_event_args *a)
{
	(void)a;
	negotiation_cancel(e, c);
	conn_claims_drop(e, c);
	return ER_RT_UNROUTED;
}

static unsigned
h_down_routed_hold(struct er_engine *e, struct conn *c,
		   const struct conn_event_args *a)
{
	(void)a;
	negotiation_cancel(e, c);
	if (c->group != NULL)
		return RT_DELETED;
	if (c->routed_by_up) {
		conn_claims_drop(e, c);
		conn_route_updown(e, c, false);
		c->routed_by_up = false;
		return ER_RT_UNROUTED;
	}
	conn_claims_set(e, c, ER_RT_PROSPECTIVE);
	return ER_RT_PROSPECTIVE;
}

static unsigned
h_down_tunnel(struct er_engine *e, struct conn *c,
	      const struct conn_event_args *a)
{
	(void)a;
	conn_updown(e, c, ER_UPDOWN_DOWN);
	negotiation_cancel(e, c);
	if (c->group != NULL)
		return RT_DELETED;
	/* The policy leaves the SAs before the SAs go. */
	if (c->routed_by_up) {
		conn_claims_drop(e, c);
		conn_route_updown(e, c, false);
		c->routed_by_up = false;
		groups_delete_all(e, c);
		return ER_RT_UNROUTED;
	}
	conn_claims_set(e, c, ER_RT_PROSPECTIVE);
	groups_delete_all(e, c);
	return ER_RT_PROSPECTIVE;
}

static unsigned
h_down_failure(struct er_engine *e, struct conn *c,
	       const struct conn_event_args *a)
{
	(void)a;
	/* Nothing is up; an instance has nothing left to wait for. */
	if (c->group != NULL) {
		instance_to_bare(e, c);
		return RT_DELETED;
	}
	/* Down ends the failure context like any other: a routed
	 * connection waits for traffic again (one replace of the failure
	 * shunt by the trap), one only up by hand is unrouted. */
	c->failure_expires = 0;
	c->revive_at = 0;
	c->kernel_failed = false;
	if (c->routed_by_up) {
		conn_claims_drop(e, c);
		conn_route_updown(e, c, false);
		c->routed_by_up = false;
		return ER_RT_UNROUTED;
	}
	conn_claims_set(e, c, ER_RT_PROSPECTIVE);
	return ER_RT_PROSPECTIVE;
}

static unsigned
h_down_eclipsed(struct er_engine *e, struct conn *c,
		const struct conn_event_args *a)
{
	(void)a;
	negotiation_cancel(e, c);
	if (c->group != NULL)
		return RT_DELETED;
	/* Eclipsed claims are not in the kernel, so the SAs can go first;
	 * then the claims fall back to the prospective ones. */
	groups_delete_all(e, c);
	conn_claims_set(e, c, ER_RT_ECLIPSED);
	return ER_RT_ECLIPSED;
}

static unsigned
h_acquire(struct er_engine *e, struct conn *c, const struct conn_event_args *a)
{
	(void)a;
	c->tries = 0;
	conn_claims_set(e, c, ER_RT_ROUTED_HOLD);
	negotiation_start(e, c, false);
	return ER_RT_ROUTED_HOLD;
}

static unsigned
h_acquire_tunnel(struct er_engine *e, struct conn *c,
		 const struct conn_event_args *a)
{
	/* XFRM acquires on an ipsec policy whose SA is gone: replace it. */
	return h_up_tunnel(e, c, a);
}

static unsigned
h_sa_up(struct er_engine *e, struct conn *c, const struct conn_event_args *a)
{
	if (c->rt == ER_RT_UNROUTED || c->rt == ER_RT_UNROUTED_HOLD) {
		c->routed_by_up = true;
		conn_route_updown(e, c, true);
	}
	c->eroute_owner = a->group->serial;
	c->rekey_failed = false;
	c->kernel_failed = false;
	c->failure_expires = 0;
	c->revive_at = 0;
	c->revivals = 0;
	if (c->neg == NULL)
		c->tries = 0;
	conn_claims_set(e, c, ER_RT_TUNNEL);
	/* An established tunnel supersedes any bare shunt on its selector. */
	bare_shunts_clear_covered(e, c, false);
	conn_updown(e, c, ER_UPDOWN_UP);
	return ER_RT_TUNNEL;
}

static unsigned
h_sa_up_eclipsed(struct er_engine *e, struct conn *c,
		 const struct conn_event_args *a)
{
	(void)a;
	conn_claims_set(e, c, ER_RT_ECLIPSED);
	return ER_RT_ECLIPSED;
}

static unsigned
h_neg_fail_hold(struct er_engine *e, struct conn *c,
		const struct conn_event_args *a)
{
	if (!a->spent)
		return c->rt;
	if (c->rt == ER_RT_UNROUTED_HOLD) {
		conn_claims_drop(e, c);
		return ER_RT_UNROUTED;
	}
	c->failure_expires = e->now + e->cfg.shunt_lifetime;
	if (c->group != NULL) {
		/* Reference 000: the instance goes, its shunt stays bare. */
		instance_to_bare(e, c);
		return RT_DELETED;
	}
	conn_claims_set(e, c, ER_RT_FAILURE);
	return ER_RT_FAILURE;
}

static unsigned
h_neg_fail_tunnel(struct er_engine *e, struct conn *c,
		  const struct conn_event_args *a)
{
	(void)e;
	/* "If this was a rekeying, we should just leave the old normal
	 * eroute be -- it might still work."  Remember it for when the old
	 * group goes: then the failure context applies. */
	if (a->rekey && a->spent)
		c->rekey_failed = true;
	return ER_RT_TUNNEL;
}

static unsigned
h_shunt_expire(struct er_engine *e, struct conn *c,
	       const struct conn_event_args *a)
{
	uint64_t backoff;

	(void)a;
	c->failure_expires = 0;
	c->kernel_failed = false;
	conn_claims_set(e, c, ER_RT_PROSPECTIVE);
	if (c->cfg.autostart == ER_AUTO_START) {
		/* Revive after 5 s more per attempt, at most 5 minutes. */
		backoff = 5 * (uint64_t)(c->revivals + 1);
		if (backoff > 300)
			backoff = 300;
		c->revivals++;
		c->revive_at = e->now + backoff;
	}
	return ER_RT_PROSPECTIVE;
}

static unsigned
h_sa_gone(struct er_engine *e, struct conn *c, const struct conn_event_args *a)
{
	(void)a;
	conn_updown(e, c, ER_UPDOWN_DOWN);
	c->eroute_owner = 0;
	if (c->neg != NULL) {
		/* A replacement is under way: hold meanwhile. */
		conn_claims_set(e, c, ER_RT_ROUTED_HOLD);
		return ER_RT_ROUTED_HOLD;
	}
	if (c->rekey_failed) {
		/* "If there was an attempt to replace the group, the
		 * replacement is in the failure context." */
		c->rekey_failed = false;
		c->failure_expires = e->now + e->cfg.shunt_lifetime;
		if (c->group != NULL) {
			instance_to_bare(e, c);
			return RT_DELETED;
		}
		conn_claims_set(e, c, ER_RT_FAILURE);
		return ER_RT_FAILURE;
	}
	/* "... otherwise the replacement is in the prospective context." */
	if (c->group != NULL)
		return RT_DELETED;
	if (c->routed_by_up) {
		conn_claims_drop(e, c);
		conn_route_updown(e, c, false);
		c->routed_by_up = false;
		return ER_RT_UNROUTED;
	}
	conn_claims_set(e, c, ER_RT_PROSPECTIVE);
	return ER_RT_PROSPECTIVE;
}

static unsigned
h_sa_gone_eclipsed(struct er_engine *e, struct conn *c,
		   const struct conn_event_args *a)
{
	(void)a;
	c->eroute_owner = 0;
	conn_claims_set(e, c, ER_RT_ECLIPSED);
	return ER_RT_ECLIPSED;
}

static unsigned
h_eclipse(struct er_engine *e, struct conn *c, const struct conn_event_args *a)
{
	(void)a;
	if (c->rt == ER_RT_TUNNEL)
		conn_updown(e, c, ER_UPDOWN_DOWN);
	/* The better claimant has the selector: our negotiation could not
	 * take the eroute, and our failure context is moot. */
	negotiation_cancel(e, c);
	c->failure_expires = 0;
	c->eroute_owner = 0;
	conn_claims_set(e, c, ER_RT_ECLIPSED);
	return ER_RT_ECLIPSED;
}

static unsigned
h_uneclipse(struct er_engine *e, struct conn *c,
	    const struct conn_event_args *a)
{
	enum er_routing st = conn_resume_state(c);

	(void)a;
	if (st == ER_RT_TUNNEL)
		c->eroute_owner = TAILQ_LAST(&c->groups, sa_group_list)->serial;
	conn_claims_set(e, c, st);
	return st;
}

static unsigned
h_delete(struct er_engine *e, struct conn *c, const struct conn_event_args *a)
{
	bool routed = conn_is_routed_state(c->rt);

	(void)a;
	if (c->rt == ER_RT_TUNNEL)
		conn_updown(e, c, ER_UPDOWN_DOWN);
	negotiation_cancel(e, c);
	if (c->group != NULL && c->rt == ER_RT_FAILURE)
		instance_to_bare(e, c);
	conn_claims_drop(e, c);
	groups_delete_all(e, c);
	if (routed)
		conn_route_updown(e, c, false);
	return RT_DELETED;
}

#define U ER_RT_UNROUTED
#define UH ER_RT_UNROUTED_HOLD
#define P ER_RT_PROSPECTIVE
#define RH ER_RT_ROUTED_HOLD
#define F ER_RT_FAILURE
#define T ER_RT_TUNNEL
#define NN ER_RT_NEVER_NEGOTIATE
#define EC ER_RT_ECLIPSED

/* NULL: the event makes no sense in that state and is refused. */
static handler_fn *const table[ER_RT_COUNT][CEV_COUNT] = {
	[U] = {
		[CEV_ROUTE] = h_route,
		[CEV_UNROUTE] = h_same,
		[CEV_UP] = h_up_unrouted,
		[CEV_DOWN] = h_same,
		[CEV_SA_UP] = h_sa_up,
		[CEV_DELETE] = h_delete,
	},
	[UH] = {
		[CEV_ROUTE] = h_route_hold,
		[CEV_UNROUTE] = h_same,
		[CEV_UP] = h_same,
		[CEV_DOWN] = h_down_unrouted_hold,
		[CEV_ACQUIRE] = h_same,
		[CEV_SA_UP] = h_sa_up,
		[CEV_NEG_FAIL] = h_neg_fail_hold,
		[CEV_DELETE] = h_delete,
	},
	[P] = {
		[CEV_ROUTE] = h_same,
		[CEV_UNROUTE] = h_unroute,
		[CEV_UP] = h_up_routed,
		[CEV_DOWN] = h_same,
		[CEV_ACQUIRE] = h_acquire,
		[CEV_SA_UP] = h_sa_up,
		[CEV_ECLIPSE] = h_eclipse,
		[CEV_DELETE] = h_delete,
	},
	[RH] = {
		[CEV_ROUTE] = h_same,
		[CEV_UNROUTE] = h_unroute,
		[CEV_UP] = h_same,
		[CEV_DOWN] = h_down_routed_hold,
		[CEV_ACQUIRE] = h_same,
		[CEV_SA_UP] = h_sa_up,
		[CEV_NEG_FAIL] = h_neg_fail_hold,
		[CEV_ECLIPSE] = h_eclipse,
		[CEV_DELETE] = h_delete,
	},
	[F] = {
		[CEV_ROUTE] = h_same,
		[CEV_UNROUTE] = h_unroute,
		[CEV_UP] = h_up_routed,
		[CEV_DOWN] = h_down_failure,
		[CEV_SA_UP] = h_sa_up,
		[CEV_SHUNT_EXPIRE] = h_shunt_expire,
		[CEV_ECLIPSE] = h_eclipse,
		[CEV_DELETE] = h_delete,
	},
	[T] = {
		[CEV_ROUTE] = h_same,
		[CEV_UP] = h_up_tunnel,
		[CEV_DOWN] = h_down_tunnel,
		[CEV_ACQUIRE] = h_acquire_tunnel,
		[CEV_SA_UP] = h_sa_up,
		[CEV_NEG_FAIL] = h_neg_fail_tunnel,
		[CEV_SA_GONE] = h_sa_gone,
		[CEV_ECLIPSE] = h_eclipse,
		[CEV_DELETE] = h_delete,
	},
	[NN] = {
		[CEV_ROUTE] = h_same,
		[CEV_UNROUTE] = h_unroute,
		[CEV_DOWN] = h_same,
		[CEV_ECLIPSE] = h_eclipse,
		[CEV_DELETE] = h_delete,
	},
	[EC] = {
		[CEV_ROUTE] = h_same,
		[CEV_UNROUTE] = h_unroute,
		[CEV_DOWN] = h_down_eclipsed,
		[CEV_SA_UP] = h_sa_up_eclipsed,
		[CEV_SA_GONE] = h_sa_gone_eclipsed,
		[CEV_UNECLIPSE] = h_uneclipse,
		[CEV_DELETE] = h_delete,
	},
};

bool
conn_event_allowed(enum er_routing rt, enum conn_event ev)
{
	return (unsigned)rt < ER_RT_COUNT && (unsigned)ev < CEV_COUNT &&
	       table[rt][ev] != NULL;
}

/* Forward: engine.c frees a deleted connection. */
void conn_free_deleted(struct er_engine *e, struct conn *c);

int
conn_transition(struct er_engine *e, struct conn *c, enum conn_event ev,
		const struct conn_event_args *args, struct er_err *err)
{
	static const struct conn_event_args none;
	enum er_routing old = c->rt;
	struct er_event out = {.type = ER_EV_STATE};
	unsigned st;

	if (!conn_event_allowed(old, ev))
		return er_err_set(err, -EINVAL, "%s: cannot %s while %s",
				  c->cfg.name, conn_event_name(ev),
				  er_routing_name(old));
	st = table[old][ev](e, c, args != NULL ? args : &none);
	route_follow(e, c, st != RT_DELETED &&
				   conn_is_routed_state((enum er_routing)st));
	if (st == RT_DELETED) {
		/* Whatever the handler left: policy first, then SAs. */
		negotiation_cancel(e, c);
		conn_claims_drop(e, c);
		groups_delete_all(e, c);
		engine_log(e, ER_LOG_INFO, c, "%s -> deleted (%s)",
			   er_routing_name(old), conn_event_name(ev));
		conn_free_deleted(e, c);
		return 0;
	}
	c->rt = (enum er_routing)st;
	/* Every change of state or of its deadlines ends here. */
	conn_timer_sync(e, c);
	if (st != old) {
		engine_log(e, ER_LOG_INFO, c, "%s -> %s (%s)",
			   er_routing_name(old), er_routing_name(c->rt),
			   conn_event_name(ev));
		out.old_state = old;
		out.new_state = c->rt;
		engine_emit(e, &out, c);
	}
	return 0;
}
