// SPDX-License-Identifier: MIT
/*
 * The engine: connections and their instances, negotiations, SA groups,
 * reqids, bare shunts, and the inputs that move them.  The routing state
 * machine is in routing.c, claimants and kernel sync in claim.c; this file
 * turns inputs into state-machine events and states into claims.
 *
 * After every public input the engine "settles": each connection whose
 * claims were touched is checked for being eclipsed (a better claimant
 * holds all its outbound selectors) or no longer eclipsed.  Doing this at
 * the end, not after each claim change, lets a multi-step change (a broad
 * hold in, the narrow hold out) pass through states no one should see.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"
#include "grow.h"

/* Bare and failure shunts live in the kernel a little longer than their
 * lifetime -- a tenth of it, between 5 and 60 seconds -- so a shunt never
 * outlives a crashed daemon by much and never dies before the daemon's own
 * sweep removes it. */
static uint64_t
shunt_kernel_lifetime(const struct er_engine *e, uint64_t lifetime)
{
	uint64_t margin = e->cfg.shunt_lifetime / 10;

	if (margin < 5)
		margin = 5;
	if (margin > 60)
		margin = 60;
	return lifetime + margin;
}

static int
conn_name_cmp(const struct conn *a, const struct conn *b)
{
	return strcmp(a->cfg.name, b->cfg.name);
}

int
conn_id_cmp(const struct conn *a, const struct conn *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

static int
conn_timer_cmp(const struct conn *a, const struct conn *b)
{
	if (a->timer != b->timer)
		return a->timer < b->timer ? -1 : 1;
	return conn_id_cmp(a, b);
}

static int
negotiation_cmp(const struct negotiation *a, const struct negotiation *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

static int
group_cmp(const struct sa_group *a, const struct sa_group *b)
{
	return a->serial < b->serial ? -1 : a->serial > b->serial;
}

RB_GENERATE_STATIC(conn_name_tree, conn, by_name, conn_name_cmp)
RB_GENERATE(conn_id_tree, conn, by_id, conn_id_cmp)
RB_GENERATE_STATIC(conn_timer_tree, conn, by_timer, conn_timer_cmp)
RB_GENERATE_STATIC(negotiation_tree, negotiation, by_id, negotiation_cmp)
RB_GENERATE_STATIC(group_tree, sa_group, by_serial, group_cmp)

static const char *const routing_names[ER_RT_COUNT] = {
	"unrouted", "unrouted-hold", "prospective", "routed-hold",
	"failure",  "tunnel",        "never-negotiate", "eclipsed",
};

const char *
er_routing_name(enum er_routing rt)
{
	return (unsigned)rt < ER_RT_COUNT ? routing_names[rt] : "?";
}

const char *
er_updown_verb_name(enum er_updown_verb verb)
{
	static const char *const names[] = {
		"prepare-client", "route-client", "unroute-client",
		"up-client", "down-client",
	};

	return (unsigned)verb < 5 ? names[verb] : "?";
}

const char *
er_log_level_name(enum er_log_level level)
{
	static const char *const names[] = {"error", "warning", "info",
					    "debug"};

	return (unsigned)level < 4 ? names[level] : "?";
}

/* ---- events out -------------------------------------------------- */

void
engine_emit(struct er_engine *e, struct er_event *ev, const struct conn *c)
{
	ev->now = e->now;
	if (c != NULL) {
		ev->conn = c->cfg.name;
		ev->conn_id = c->id;
		ev->config = &c->cfg;
		if (ev->reqid == 0)
			ev->reqid = c->reqids[0];
	}
	if (e->cfg.event_cb != NULL)
		e->cfg.event_cb(e->cfg.event_ctx, ev);
}

void
engine_log(struct er_engine *e, enum er_log_level level, const struct conn *c,
	   const char *fmt, ...)
{
	struct er_event ev = {.type = ER_EV_LOG, .level = level};
	char text[512];
	va_list ap;

	if (e->cfg.event_cb == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* It quotes what negotiators and users wrote (a failure's reason):
	 * one line of text, whatever they sent. */
	er_text_clean(text);
	ev.text = text;
	engine_emit(e, &ev, c);
}

/* ---- lookups ----------------------------------------------------- */

/* What tick_due() would take a connection for, and when. */
static uint64_t
conn_timer_want(const struct conn *c)
{
	if (c->rt == ER_RT_FAILURE)
		return c->failure_expires;
	if (c->rt == ER_RT_PROSPECTIVE)
		return c->revive_at;
	return 0;
}

void
conn_timer_sync(struct er_engine *e, struct conn *c)
{
	uint64_t want = conn_timer_want(c);

	if (want == c->timer)
		return;
	if (c->timer != 0)
		RB_REMOVE(conn_timer_tree, &e->timers, c);
	c->timer = want;
	if (want != 0)
		RB_INSERT(conn_timer_tree, &e->timers, c);
}

struct conn *
engine_conn_by_id(const struct er_engine *e, uint32_t id)
{
	struct conn key;

	if (id == ER_OWNER_BARE)
		return NULL;
	key.id = id;
	return RB_FIND(conn_id_tree,
		       (struct conn_id_tree *)(uintptr_t)&e->conns_by_id, &key);
}

struct conn *
conn_by_name(const struct er_engine *e, const char *name)
{
	struct conn key;

	if (strlen(name) >= sizeof(key.cfg.name))
		return NULL;
	strcpy(key.cfg.name, name);
	return RB_FIND(conn_name_tree,
		       (struct conn_name_tree *)(uintptr_t)&e->conns_by_name,
		       &key);
}

struct sa_group *
group_by_serial(const struct er_engine *e, uint64_t serial)
{
	struct sa_group key;

	key.serial = serial;
	return RB_FIND(group_tree, (struct group_tree *)(uintptr_t)&e->groups,
		       &key);
}

static struct negotiation *
negotiation_by_id(const struct er_engine *e, uint64_t id)
{
	struct negotiation key;

	key.id = id;
	return RB_FIND(negotiation_tree,
		       (struct negotiation_tree *)(uintptr_t)&e->negs_by_id,
		       &key);
}

/* The address this host uses for a connection. */
void
conn_local_addr(const struct conn *c, struct er_addr *out)
{
	if (er_addr_bits(c->cfg.local.family) != 0)
		*out = c->cfg.local;
	else
		*out = c->cfg.local_client.addr;
}

void
conn_remote_addr(const struct conn *c, struct er_addr *out)
{
	if (er_addr_bits(c->cfg.remote.family) != 0)
		*out = c->cfg.remote;
	else
		*out = c->remote_clients[0].addr;
}

static int
local_cmp(const struct local_ref *a, const struct local_ref *b)
{
	return er_addr_cmp(&a->addr, &b->addr);
}

RB_GENERATE_STATIC(local_tree, local_ref, link, local_cmp)

static struct local_ref *
local_find(const struct er_engine *e, const struct er_addr *a)
{
	struct local_ref key;

	key.addr = *a;
	return RB_FIND(local_tree, (struct local_tree *)(uintptr_t)&e->locals,
		       &key);
}

/* A configured connection's left= counts as this host's. */
static int
local_ref_get(struct er_engine *e, const struct er_addr *a)
{
	struct local_ref *r = local_find(e, a);

	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return -ENOMEM;
		r->addr = *a;
		RB_INSERT(local_tree, &e->locals, r);
	}
	r->users++;
	return 0;
}

static void
local_ref_put(struct er_engine *e, const struct er_addr *a)
{
	struct local_ref *r = local_find(e, a);

	if (r != NULL && --r->users == 0) {
		RB_REMOVE(local_tree, &e->locals, r);
		free(r);
	}
}

static bool
is_local_addr(const struct er_engine *e, const struct er_addr *a)
{
	for (size_t i = 0; i < e->cfg.nlocal_addrs; i++) {
		if (er_addr_equal(&e->local_addrs[i], a))
			return true;
	}
	return local_find(e, a) != NULL;
}

/* ---- reqids ------------------------------------------------------ */

static uint32_t
selector_hash(const struct er_selector *sel)
{
	uint32_t h = 2166136261u;
	const uint8_t *parts[2] = {sel->src.addr.a, sel->dst.addr.a};

	for (int p = 0; p < 2; p++) {
		for (int i = 0; i < 16; i++)
			h = (h ^ parts[p][i]) * 16777619u;
	}
	h = (h ^ sel->src.len) * 16777619u;
	h = (h ^ sel->dst.len) * 16777619u;
	h = (h ^ sel->proto) * 16777619u;
	h = (h ^ sel->sport.lo) * 16777619u;
	h = (h ^ sel->dport.lo) * 16777619u;
	return h;
}

static struct reqid_entry *
reqid_find_num(const struct er_engine *e, uint32_t reqid)
{
	uint32_t hv = er_mix32(reqid);
	struct lhash_node *n;

	for (n = lhash_chain(&e->reqid_by_num, hv); n != NULL; n = n->next) {
		struct reqid_entry *r =
			lhash_entry(n, struct reqid_entry, by_num);

		if (n->hash == hv && r->reqid == reqid)
			return r;
	}
	return NULL;
}

static struct reqid_entry *
reqid_find_sel(const struct er_engine *e, const struct er_selector *sel)
{
	uint32_t hv = er_mix32(selector_hash(sel));
	struct lhash_node *n;

	for (n = lhash_chain(&e->reqid_by_sel, hv); n != NULL; n = n->next) {
		struct reqid_entry *r =
			lhash_entry(n, struct reqid_entry, by_sel);

		if (n->hash == hv && er_selector_cmp(&r->sel, sel) == 0)
			return r;
	}
	return NULL;
}

/* Index @r (its selector and reqid set) by both. */
static void
reqid_index(struct er_engine *e, struct reqid_entry *r)
{
	lhash_insert(&e->reqid_by_sel, &r->by_sel,
		     er_mix32(selector_hash(&r->sel)));
	lhash_insert(&e->reqid_by_num, &r->by_num, er_mix32(r->reqid));
}

/*
 * A reqid belongs to a selector: every connection with the same outbound
 * selector gets the same one, and it is a hash of the selector inside
 * eroute's range, so it comes out the same after a restart even without
 * the journal (collisions probe onwards; the journal pins those).
 */
static int
reqid_get(struct er_engine *e, const struct er_selector *sel, uint32_t *out)
{
	struct reqid_entry *r = reqid_find_sel(e, sel);
	uint32_t h;

	if (r != NULL) {
		r->users++;
		*out = r->reqid;
		return 0;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	h = selector_hash(sel) % e->cfg.reqid_count;
	for (uint32_t i = 0; i < e->cfg.reqid_count; i++) {
		uint32_t cand =
			e->cfg.reqid_base + (h + i) % e->cfg.reqid_count;

		if (reqid_find_num(e, cand) != NULL)
			continue;
		r->sel = *sel;
		r->reqid = cand;
		r->users = 1;
		reqid_index(e, r);
		*out = cand;
		return 0;
	}
	free(r);
	return -ENOSPC;
}

static void
reqid_put(struct er_engine *e, const struct er_selector *sel)
{
	struct reqid_entry *r = reqid_find_sel(e, sel);

	if (r == NULL || --r->users > 0)
		return;
	lhash_remove(&e->reqid_by_sel, &r->by_sel);
	lhash_remove(&e->reqid_by_num, &r->by_num);
	free(r);
}

int
er_engine_reqid_reserve(struct er_engine *e, const struct er_selector *sel,
			uint32_t reqid)
{
	struct reqid_entry *r = reqid_find_sel(e, sel);

	if (r != NULL)
		return r->reqid == reqid ? 0 : -EEXIST;
	if (reqid_find_num(e, reqid) != NULL)
		return -EEXIST;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->sel = *sel;
	r->reqid = reqid;
	/* A reservation is a user of its own until the engine goes. */
	r->users = 1;
	reqid_index(e, r);
	return 0;
}

/* ---- engine life ------------------------------------------------- */

struct er_engine *
er_engine_new(const struct er_engine_config *cfg, struct er_err *err)
{
	struct er_engine *e;
	int hashes;

	if (cfg->kernel.ops == NULL) {
		er_err_set(err, -EINVAL, "engine: no kernel backend");
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		er_err_set(err, -ENOMEM, "engine: out of memory");
		return NULL;
	}
	e->cfg = *cfg;
	if (e->cfg.shunt_lifetime == 0)
		e->cfg.shunt_lifetime = 900;
	if (e->cfg.larval_timeout == 0)
		e->cfg.larval_timeout = 30;
	if (e->cfg.reqid_count == 0) {
		e->cfg.reqid_base = ER_REQID_BASE;
		e->cfg.reqid_count = ER_REQID_COUNT;
	}
	if (cfg->nlocal_addrs > 0) {
		e->local_addrs = calloc(cfg->nlocal_addrs, sizeof(struct er_addr));
		if (e->local_addrs != NULL)
			memcpy(e->local_addrs, cfg->local_addrs,
			       cfg->nlocal_addrs * sizeof(struct er_addr));
		else
			e->cfg.nlocal_addrs = 0;
	}
	e->cfg.local_addrs = NULL;
	e->now = cfg->now;
	er_rng_init(&e->rng, cfg->seed);
	e->view = er_spd_new();
	e->sad = er_sad_new();
	e->shunts = er_shunt_table_new();
	RB_INIT(&e->claims);
	pool_init(&e->conn_pool, sizeof(struct conn));
	pool_init(&e->claim_pool, sizeof(struct claim));
	pool_init(&e->key_pool, sizeof(struct claim_key));
	TAILQ_INIT(&e->touched);
	TAILQ_INIT(&e->dirty);
	RB_INIT(&e->conns_by_name);
	RB_INIT(&e->conns_by_id);
	RB_INIT(&e->timers);
	TAILQ_INIT(&e->negs);
	RB_INIT(&e->negs_by_id);
	RB_INIT(&e->groups);
	hashes = lhash_init(&e->reqid_by_sel) | lhash_init(&e->reqid_by_num) |
		 lhash_init(&e->routes);
	RB_INIT(&e->foreign);
	RB_INIT(&e->locals);
	e->next_conn_id = 1;
	if (e->view == NULL || e->sad == NULL || e->shunts == NULL ||
	    hashes != 0) {
		er_err_set(err, -ENOMEM, "engine: out of memory");
		er_engine_free(e);
		return NULL;
	}
	return e;
}

static void
reqid_entry_free(struct lhash_node *n, void *arg)
{
	(void)arg;
	free(lhash_entry(n, struct reqid_entry, by_num));
}

static void
conn_free(struct er_engine *e, struct conn *c)
{
	free(c->remote_clients);
	free(c->reqids);
	pool_put(&e->conn_pool, c);
}

void
er_engine_free(struct er_engine *e)
{
	struct conn *c;
	struct sa_group *g;
	struct negotiation *n;
	struct local_ref *l;

	if (e == NULL)
		return;
	while ((n = TAILQ_FIRST(&e->negs)) != NULL) {
		TAILQ_REMOVE(&e->negs, n, link);
		free(n);
	}
	while ((g = RB_MIN(group_tree, &e->groups)) != NULL) {
		RB_REMOVE(group_tree, &e->groups, g);
		free(g);
	}
	while ((c = RB_MIN(conn_id_tree, &e->conns_by_id)) != NULL) {
		RB_REMOVE(conn_id_tree, &e->conns_by_id, c);
		conn_free(e, c);
	}
	lhash_fini(&e->reqid_by_sel);
	lhash_drain(&e->reqid_by_num, reqid_entry_free, NULL);
	lhash_fini(&e->reqid_by_num);
	while ((l = RB_MIN(local_tree, &e->locals)) != NULL) {
		RB_REMOVE(local_tree, &e->locals, l);
		free(l);
	}
	claim_free_all(e);
	foreign_free_all(e);
	route_free_all(e);
	pool_fini(&e->conn_pool);
	pool_fini(&e->claim_pool);
	pool_fini(&e->key_pool);
	er_spd_free(e->view);
	er_sad_free(e->sad);
	er_shunt_table_free(e->shunts);
	free(e->doomed);
	free(e->kept);
	free(e->settled);
	free(e->local_addrs);
	free(e);
}

/* ---- claims of a connection ------------------------------------- */

bool
conn_is_routed_state(enum er_routing rt)
{
	switch (rt) {
	case ER_RT_PROSPECTIVE:
	case ER_RT_ROUTED_HOLD:
	case ER_RT_FAILURE:
	case ER_RT_TUNNEL:
	case ER_RT_NEVER_NEGOTIATE:
	case ER_RT_ECLIPSED:
		return true;
	default:
		return false;
	}
}

enum er_routing
conn_resume_state(const struct conn *c)
{
	if (!TAILQ_EMPTY(&c->groups))
		return ER_RT_TUNNEL;
	if (er_conn_is_never_negotiate(&c->cfg))
		return ER_RT_NEVER_NEGOTIATE;
	return ER_RT_PROSPECTIVE;
}

static uint32_t
conn_priority(const struct conn *c, const struct er_selector *sel)
{
	/* An instance beats its group's template, explicit priority= or not:
	 * where the group's trap has the instance's very selector (a host in
	 * the group), equal priorities would let the older claimant, the
	 * group, eclipse its own instance. */
	if (c->cfg.priority != 0)
		return c->group != NULL ? c->cfg.priority - 1
					: c->cfg.priority;
	return er_priority_default(sel, c->group != NULL ? ER_PRIO_INSTANCE
							  : ER_PRIO_CONN);
}

static enum er_action
failure_action(enum er_failshunt f)
{
	switch (f) {
	case ER_FAILSHUNT_PASS:
		return ER_ACTION_PASS;
	case ER_FAILSHUNT_DROP:
		return ER_ACTION_DROP;
	case ER_FAILSHUNT_REJECT:
		return ER_ACTION_REJECT;
	case ER_FAILSHUNT_NONE:
	default:
		/* failureshunt=none: the negotiation shunt's semantics stay
		 * (hold: block and retain) for the failure context. */
		return ER_ACTION_HOLD;
	}
}

static enum er_action
never_action(enum er_conn_type t)
{
	return t == ER_CONN_PASSTHROUGH ? ER_ACTION_PASS
	       : t == ER_CONN_DROP	 ? ER_ACTION_DROP
					 : ER_ACTION_REJECT;
}

static void
set_tmpl(const struct conn *c, struct er_tmpl *t, bool outbound, uint32_t spi,
	 uint32_t reqid)
{
	struct er_addr local, remote;

	memset(t, 0, sizeof(*t));
	t->proto = IPPROTO_ESP;
	t->spi = spi;
	t->reqid = reqid;
	if (c->cfg.group) {
		/* A group has no peer: a transport template without
		 * addresses makes the kernel name each packet's own
		 * destination in its ACQUIRE. */
		t->mode = ER_MODE_TRANSPORT;
		t->src.family = t->dst.family = c->cfg.local_client.addr.family;
		return;
	}
	conn_local_addr(c, &local);
	conn_remote_addr(c, &remote);
	t->mode = c->cfg.type == ER_CONN_TRANSPORT ? ER_MODE_TRANSPORT
						   : ER_MODE_TUNNEL;
	t->src = outbound ? local : remote;
	t->dst = outbound ? remote : local;
}

/* The claims a state needs, for one remote client. */
static void
claims_for(struct er_engine *e, struct conn *c, size_t i,
	   enum er_routing st)
{
	struct er_policy out = {0}, in = {0}, fwd;
	struct sa_group *g = NULL;
	bool with_in = false, with_fwd = false;

	if (st == ER_RT_ECLIPSED)
		st = conn_resume_state(c);
	out.dir = ER_DIR_OUT;
	er_conn_out_selector(&c->cfg, &c->remote_clients[i], &out.sel);
	out.priority = conn_priority(c, &out.sel);
	out.reqid = c->reqids[i];
	in.dir = ER_DIR_IN;
	er_conn_in_selector(&c->cfg, &c->remote_clients[i], &in.sel);
	in.priority = conn_priority(c, &in.sel);
	in.reqid = c->reqids[i];

	switch (st) {
	case ER_RT_UNROUTED:
		claim_drop(e, ER_DIR_OUT, &out.sel, c->id);
		break;
	case ER_RT_UNROUTED_HOLD:
	case ER_RT_ROUTED_HOLD:
		out.action = c->cfg.negshunt == ER_NEGSHUNT_PASS
				     ? ER_ACTION_PASS
				     : ER_ACTION_HOLD;
		/* A hold keeps the trap's template: on XFRM that is what
		 * holds (the kernel's acquire state drops meanwhile). */
		if (out.action == ER_ACTION_HOLD) {
			out.ntmpl = 1;
			set_tmpl(c, &out.tmpl[0], true, 0, out.reqid);
		}
		claim_set(e, c->id, &out);
		break;
	case ER_RT_PROSPECTIVE:
		out.action = ER_ACTION_TRAP;
		out.ntmpl = 1;
		set_tmpl(c, &out.tmpl[0], true, 0, out.reqid);
		claim_set(e, c->id, &out);
		break;
	case ER_RT_FAILURE:
		out.action = c->kernel_failed
				     ? ER_ACTION_HOLD
				     : failure_action(c->cfg.failshunt);
		if (out.action == ER_ACTION_HOLD) {
			out.ntmpl = 1;
			set_tmpl(c, &out.tmpl[0], true, 0, out.reqid);
		}
		out.lifetime = shunt_kernel_lifetime(e, e->cfg.shunt_lifetime);
		claim_set(e, c->id, &out);
		break;
	case ER_RT_TUNNEL:
		g = group_by_serial(e, c->eroute_owner);
		if (g == NULL)
			g = TAILQ_LAST(&c->groups, sa_group_list);
		out.action = in.action = ER_ACTION_IPSEC;
		out.ntmpl = in.ntmpl = 1;
		/* The out template names the newest group's SA: the eroute
		 * goes to exactly that group.  Inbound accepts any SA of the
		 * reqid, so the old group works until it is deleted. */
		set_tmpl(c, &out.tmpl[0], true, g != NULL ? g->out.spi : 0,
			 out.reqid);
		set_tmpl(c, &in.tmpl[0], false, 0, in.reqid);
		claim_set(e, c->id, &out);
		with_in = true;
		with_fwd = c->cfg.type != ER_CONN_TRANSPORT;
		break;
	case ER_RT_NEVER_NEGOTIATE:
		out.action = in.action = never_action(c->cfg.type);
		claim_set(e, c->id, &out);
		with_in = with_fwd = true;
		break;
	case ER_RT_ECLIPSED:
		break;
	}
	/* Outbound first, then the rest: make before break. */
	if (with_in) {
		claim_set(e, c->id, &in);
	} else {
		claim_drop(e, ER_DIR_IN, &in.sel, c->id);
	}
	fwd = in;
	fwd.dir = ER_DIR_FWD;
	if (with_fwd)
		claim_set(e, c->id, &fwd);
	else
		claim_drop(e, ER_DIR_FWD, &fwd.sel, c->id);
}

void
conn_claims_set(struct er_engine *e, struct conn *c, enum er_routing st)
{
	for (size_t i = 0; i < c->cfg.nremote; i++)
		claims_for(e, c, i, st);
}

void
conn_claims_drop(struct er_engine *e, struct conn *c)
{
	conn_claims_set(e, c, ER_RT_UNROUTED);
}

/* ---- bare shunts ------------------------------------------------- */

static void kept_holds_release(struct er_engine *e);
static bool is_kept_hold(const struct er_shunt *s);
static bool dirty_key_covers(const struct er_engine *e,
			     const struct er_selector *sel);
static void hold_keep(struct er_engine *e, const struct er_selector *sel,
		      uint32_t reqid);

static void
bare_claim(struct er_engine *e, const struct er_shunt *s)
{
	struct er_policy p = {0};

	p.dir = ER_DIR_OUT;
	p.sel = s->sel;
	p.priority = er_priority_default(&s->sel, ER_PRIO_BARE);
	p.action = s->action;
	p.reqid = s->reqid;
	if (s->expires != 0)
		p.lifetime = shunt_kernel_lifetime(e, s->expires - e->now);
	claim_set(e, ER_OWNER_BARE, &p);
}

static void
bare_add(struct er_engine *e, const struct er_shunt *s)
{
	const struct er_shunt *old = er_shunt_get(e->shunts, &s->sel);

	if (old != NULL)
		engine_log(e, ER_LOG_DEBUG, NULL,
			   "bare shunt replaced (was %s, %s)",
			   er_action_name(old->action), old->origin);
	if (er_shunt_add(e->shunts, s, NULL) < 0)
		return;
	bare_claim(e, s);
}

static void
bare_remove(struct er_engine *e, const struct er_selector *sel)
{
	/* @sel may live in the shunt being freed. */
	struct er_selector copy = *sel;

	er_shunt_del(e->shunts, &copy);
	claim_drop(e, ER_DIR_OUT, &copy, ER_OWNER_BARE);
}

/* Remove the bare shunts inside one selector.  Host-to-host selectors
 * (instances) find theirs in the shunt tree's order without a scan. */
static void
bare_clear_in(struct er_engine *e, const struct er_selector *outer,
	      bool holds_and_drops_only)
{
	const struct er_shunt *s, *next;
	struct er_selector lo;

	if (er_shunt_count(e->shunts) == 0)
		return;
	if (er_selector_is_host(outer)) {
		lo = *outer;
		lo.proto = 1;
		lo.sport = lo.dport = (struct er_port_range){0, 0};
		s = er_shunt_ceil(e->shunts, &lo);
	} else {
		s = er_shunt_first(e->shunts);
	}
	for (; s != NULL; s = next) {
		next = er_shunt_next(e->shunts, s);
		if (er_selector_is_host(outer) &&
		    (!er_prefix_equal(&s->sel.src, &outer->src) ||
		     !er_prefix_equal(&s->sel.dst, &outer->dst)))
			break;
		if (!er_selector_contains(outer, &s->sel))
			continue;
		if (holds_and_drops_only && s->action != ER_ACTION_HOLD &&
		    s->action != ER_ACTION_DROP)
			continue;
		/* A hold's packet would meet the old policy around it
		 * again: it goes once that one is settled. */
		if (s->action == ER_ACTION_HOLD &&
		    dirty_key_covers(e, &s->sel)) {
			hold_keep(e, &s->sel, s->reqid);
			continue;
		}
		bare_remove(e, &s->sel);
	}
}

void
bare_shunts_clear_covered(struct er_engine *e, struct conn *c,
			  bool holds_and_drops_only)
{
	struct er_selector sel;

	for (size_t i = 0; i < c->cfg.nremote; i++) {
		er_conn_out_selector(&c->cfg, &c->remote_clients[i], &sel);
		bare_clear_in(e, &sel, holds_and_drops_only);
	}
}

void
instance_to_bare(struct er_engine *e, struct conn *c)
{
	struct er_shunt s = {0};

	er_conn_out_selector(&c->cfg, &c->remote_clients[0], &s.sel);
	s.action = c->kernel_failed ? ER_ACTION_HOLD
				    : failure_action(c->cfg.failshunt);
	snprintf(s.origin, sizeof(s.origin), "oe-failure");
	s.created = e->now;
	s.expires = c->failure_expires != 0
			    ? c->failure_expires
			    : e->now + e->cfg.shunt_lifetime;
	/* Installed first: it beats the instance's claim on the same
	 * selector, so the kernel sees one replace, then nothing when the
	 * instance's claims go. */
	bare_add(e, &s);
}

/* ---- updown ------------------------------------------------------ */

void
conn_updown(struct er_engine *e, struct conn *c, enum er_updown_verb verb)
{
	struct er_event ev = {.type = ER_EV_UPDOWN, .verb = verb};
	struct sa_group *g;

	er_conn_out_selector(&c->cfg, &c->remote_clients[0], &ev.sel);
	conn_local_addr(c, &ev.local);
	conn_remote_addr(c, &ev.remote);
	g = group_by_serial(e, c->eroute_owner);
	if (g != NULL)
		ev.spi_out = g->out.spi;
	engine_emit(e, &ev, c);
}

static uint32_t
route_hash(const struct er_prefix *p)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ p->addr.a[i]) * 16777619u;
	h = (h ^ p->addr.family) * 16777619u;
	return er_mix32((h ^ p->len) * 16777619u);
}

static struct route_entry *
route_find(const struct er_engine *e, const struct er_prefix *client)
{
	uint32_t hv = route_hash(client);
	struct lhash_node *n;

	for (n = lhash_chain(&e->routes, hv); n != NULL; n = n->next) {
		struct route_entry *r = lhash_entry(n, struct route_entry, link);

		if (n->hash == hv && er_prefix_equal(&r->client, client))
			return r;
	}
	return NULL;
}

/* Does @c take part in route sharing?  Instances ride on their group's
 * route, and a group's many prefixes are its own. */
static bool
route_shares(const struct conn *c)
{
	return c->group == NULL && !c->cfg.group;
}

/* Keep @c on (or off) its remote client's route as it becomes routed (or
 * not); conn_transition() calls this for every change of state. */
void
route_follow(struct er_engine *e, struct conn *c, bool routed)
{
	struct route_entry *r;

	if (!route_shares(c) || routed == (c->route != NULL))
		return;
	if (!routed) {
		r = c->route;
		TAILQ_REMOVE(&r->conns, c, route_link);
		c->route = NULL;
		if (TAILQ_EMPTY(&r->conns)) {
			lhash_remove(&e->routes, &r->link);
			free(r);
		}
		return;
	}
	r = route_find(e, &c->remote_clients[0]);
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return;
		r->client = c->remote_clients[0];
		TAILQ_INIT(&r->conns);
		lhash_insert(&e->routes, &r->link, route_hash(&r->client));
	}
	TAILQ_INSERT_TAIL(&r->conns, c, route_link);
	c->route = r;
}

/* Another routed connection to the same remote client, or NULL. */
struct conn *
route_sharer(const struct er_engine *e, const struct conn *c)
{
	struct route_entry *r;
	struct conn *d;

	if (!route_shares(c))
		return NULL;
	r = route_find(e, &c->remote_clients[0]);
	if (r == NULL)
		return NULL;
	TAILQ_FOREACH(d, &r->conns, route_link) {
		if (d != c)
			return d;
	}
	return NULL;
}

static void
route_entry_free(struct lhash_node *n, void *arg)
{
	(void)arg;
	free(lhash_entry(n, struct route_entry, link));
}

void
route_free_all(struct er_engine *e)
{
	lhash_drain(&e->routes, route_entry_free, NULL);
	lhash_fini(&e->routes);
}

void
conn_route_updown(struct er_engine *e, struct conn *c, bool route)
{
	/* Instances ride on their group's route. */
	if (c->group != NULL)
		return;
	if (route_sharer(e, c) != NULL)
		return;
	if (route) {
		conn_updown(e, c, ER_UPDOWN_PREPARE);
		conn_updown(e, c, ER_UPDOWN_ROUTE);
	} else {
		conn_updown(e, c, ER_UPDOWN_UNROUTE);
	}
}

/* ---- deleting SAs ------------------------------------------------ */

/* Does an outbound policy in the view send traffic to SA @id?  @c: only
 * its selectors can (an SA belongs to one connection's group); NULL: look
 * at every one (the retry, after the connection may have gone). */
static bool
sa_in_use(const struct er_engine *e, const struct conn *c,
	  const struct er_sa_id *id)
{
	const struct er_policy *p;
	struct er_selector sel;

	if (c != NULL) {
		for (size_t i = 0; i < c->cfg.nremote; i++) {
			er_conn_out_selector(&c->cfg, &c->remote_clients[i],
					     &sel);
			p = er_spd_get(e->view, ER_DIR_OUT, &sel);
			if (p != NULL && p->action == ER_ACTION_IPSEC &&
			    p->ntmpl > 0 && p->tmpl[0].spi == id->spi &&
			    p->tmpl[0].proto == id->proto &&
			    er_addr_equal(&p->tmpl[0].dst, &id->dst))
				return true;
		}
		return false;
	}
	for (p = er_spd_first(e->view, ER_DIR_OUT); p != NULL;
	     p = er_spd_next(e->view, p)) {
		if (p->action == ER_ACTION_IPSEC && p->ntmpl > 0 &&
		    p->tmpl[0].spi == id->spi &&
		    p->tmpl[0].proto == id->proto &&
		    er_addr_equal(&p->tmpl[0].dst, &id->dst))
			return true;
	}
	return false;
}

static bool
sa_id_equal(const struct er_sa_id *a, const struct er_sa_id *b)
{
	return a->spi == b->spi && a->proto == b->proto &&
	       er_addr_equal(&a->dst, &b->dst);
}

static void
doomed_add(struct er_engine *e, const struct er_sa_id *id)
{
	struct er_sa_id *n;

	for (size_t i = 0; i < e->ndoomed; i++)
		if (sa_id_equal(&e->doomed[i], id))
			return;
	n = er_grow(e->doomed, &e->doomed_cap, e->ndoomed, sizeof(*n), 8);
	if (n == NULL)
		return;
	e->doomed = n;
	e->doomed[e->ndoomed++] = *id;
}

/* @id is the engine's again (a new SA with that id), or the kernel let
 * it go by itself: nothing to delete. */
static void
doomed_forget(struct er_engine *e, const struct er_sa_id *id)
{
	for (size_t i = 0; i < e->ndoomed; i++) {
		if (sa_id_equal(&e->doomed[i], id)) {
			e->doomed[i] = e->doomed[--e->ndoomed];
			return;
		}
	}
}

/*
 * Delete an SA of ours from the kernel.  Make before break holds here too:
 * an SA a policy still sends traffic to -- the policy's move to another
 * group or state failed, and the old policy stayed -- is not deleted until
 * that policy has moved.  A delete that fails is not forgotten.  Either
 * way the SA waits on the doomed list and each tick tries again.
 */
void
engine_sa_remove(struct er_engine *e, const struct conn *c,
		 const struct er_sa_id *id)
{
	struct er_err err = {0};
	char buf[64];

	if (sa_in_use(e, c, id)) {
		er_sa_id_format(id, buf, sizeof(buf));
		engine_log(e, ER_LOG_WARNING, c,
			   "SA %s still carries the old policy's traffic; "
			   "deleted once that policy has moved", buf);
		doomed_add(e, id);
		return;
	}
	if (er_kernel_sa_del(&e->cfg.kernel, id, &err) < 0) {
		er_sa_id_format(id, buf, sizeof(buf));
		engine_log(e, ER_LOG_ERROR, c,
			   "kernel: deleting SA %s failed: %s (will retry)",
			   buf, err.msg);
		doomed_add(e, id);
		return;
	}
	doomed_forget(e, id);
}

static void
doomed_retry(struct er_engine *e)
{
	struct er_err err = {0};
	char buf[64];

	for (size_t i = 0; i < e->ndoomed;) {
		struct er_sa_id id = e->doomed[i];

		if (sa_in_use(e, NULL, &id) ||
		    er_kernel_sa_del(&e->cfg.kernel, &id, &err) < 0) {
			i++;
			continue;
		}
		er_sa_id_format(&id, buf, sizeof(buf));
		engine_log(e, ER_LOG_INFO, NULL, "SA %s deleted (retried)",
			   buf);
		e->doomed[i] = e->doomed[--e->ndoomed];
	}
}

size_t
er_engine_retries(const struct er_engine *e)
{
	return e->ndirty + e->ndoomed;
}

/* ---- negotiations ------------------------------------------------ */

static void
spi_release(struct er_engine *e, struct conn *c, uint32_t spi)
{
	struct er_sa_id id = {.proto = IPPROTO_ESP, .spi = spi};

	if (spi == 0)
		return;
	conn_local_addr(c, &id.dst);
	engine_sa_remove(e, c, &id);
	er_sad_del(e->sad, &id);
}

/* GETSPI: one inbound SPI per SA, from the kernel, remembered larval. */
static int
spi_reserve(struct er_engine *e, struct conn *c, uint32_t *spi)
{
	struct er_spi_req req = {0};
	struct er_err err = {0};
	struct er_sa sa = {0};
	int ret;

	conn_remote_addr(c, &req.src);
	conn_local_addr(c, &req.dst);
	req.proto = IPPROTO_ESP;
	req.mode = c->cfg.type == ER_CONN_TRANSPORT ? ER_MODE_TRANSPORT
						    : ER_MODE_TUNNEL;
	req.reqid = c->reqids[0];
	req.owner = c->id;
	req.now = e->now;
	req.larval_timeout = e->cfg.larval_timeout;
	ret = er_kernel_spi_alloc(&e->cfg.kernel, &req, spi, &err);
	if (ret < 0) {
		engine_log(e, ER_LOG_ERROR, c, "GETSPI: %s", err.msg);
		return ret;
	}
	sa.id.dst = req.dst;
	sa.id.proto = req.proto;
	sa.id.spi = *spi;
	sa.src = req.src;
	sa.mode = req.mode;
	sa.reqid = req.reqid;
	sa.owner = c->id;
	sa.state = ER_SA_LARVAL;
	sa.created = e->now;
	sa.larval_expires = e->now + e->cfg.larval_timeout;
	er_sad_add(e->sad, &sa, NULL);
	return 0;
}

int
negotiation_start(struct er_engine *e, struct conn *c, bool rekey)
{
	struct er_event ev = {.type = ER_EV_NEGOTIATE};
	struct negotiation *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return -ENOMEM;
	n->id = ++e->next_neg_id;
	n->c = c;
	n->attempt = ++c->tries;
	n->rekey = rekey;
	n->started = e->now;
	if (spi_reserve(e, c, &n->spi_in) < 0)
		n->spi_in = 0;
	c->neg = n;
	TAILQ_INSERT_TAIL(&e->negs, n, link);
	RB_INSERT(negotiation_tree, &e->negs_by_id, n);
	ev.negotiation = n->id;
	ev.attempt = n->attempt;
	ev.rekey = rekey;
	er_conn_out_selector(&c->cfg, &c->remote_clients[0], &ev.sel);
	conn_local_addr(c, &ev.local);
	conn_remote_addr(c, &ev.remote);
	if (n->spi_in != 0) {
		ev.spi_in[0] = n->spi_in;
		ev.nspi = 1;
	}
	engine_log(e, ER_LOG_INFO, c, "negotiating%s (attempt %u)",
		   rekey ? " a replacement" : "", n->attempt);
	engine_emit(e, &ev, c);
	return 0;
}

/* Forget a negotiation; @release gives its reserved SPI back. */
static void
negotiation_end(struct er_engine *e, struct negotiation *n, bool release)
{
	if (release)
		spi_release(e, n->c, n->spi_in);
	n->c->neg = NULL;
	TAILQ_REMOVE(&e->negs, n, link);
	RB_REMOVE(negotiation_tree, &e->negs_by_id, n);
	free(n);
}

void
negotiation_cancel(struct er_engine *e, struct conn *c)
{
	struct er_event ev = {.type = ER_EV_NEGOTIATE_CANCEL};

	if (c->neg == NULL)
		return;
	ev.negotiation = c->neg->id;
	ev.attempt = c->neg->attempt;
	engine_emit(e, &ev, c);
	negotiation_end(e, c->neg, true);
}

/* ---- SA groups --------------------------------------------------- */

/* Take a group off its connection; its SAs stay until group_destroy(). */
static void
group_unlink(struct er_engine *e, struct sa_group *g)
{
	struct conn *c = g->c;

	TAILQ_REMOVE(&c->groups, g, link);
	RB_REMOVE(group_tree, &e->groups, g);
	if (c->eroute_owner == g->serial)
		c->eroute_owner = 0;
	g->c = NULL;
}

/* Delete an unlinked group's SAs (of connection @c) and free it. */
static void
group_destroy(struct er_engine *e, struct conn *c, struct sa_group *g)
{
	engine_sa_remove(e, c, &g->out);
	engine_sa_remove(e, c, &g->in);
	er_sad_del(e->sad, &g->out);
	er_sad_del(e->sad, &g->in);
	free(g);
}

static void
group_delete(struct er_engine *e, struct sa_group *g)
{
	struct conn *c = g->c;

	group_unlink(e, g);
	group_destroy(e, c, g);
}

void
groups_delete_all(struct er_engine *e, struct conn *c)
{
	struct sa_group *g;

	while ((g = TAILQ_FIRST(&c->groups)) != NULL)
		group_delete(e, g);
	c->eroute_owner = 0;
}

static void
lifetimes(const struct conn *c, const struct er_sa_group_spec *spec,
	  struct er_lifetime *soft, struct er_lifetime *hard)
{
	uint64_t life = spec->lifetime ? spec->lifetime : c->cfg.sa_lifetime;

	memset(soft, 0, sizeof(*soft));
	memset(hard, 0, sizeof(*hard));
	hard->secs = life;
	if (spec->soft_lifetime != 0)
		soft->secs = spec->soft_lifetime;
	else if (life > c->cfg.rekey_margin)
		soft->secs = life - c->cfg.rekey_margin;
	hard->bytes = spec->bytes;
	hard->packets = spec->packets;
	/* Rekey when nine tenths of a volume limit are used. */
	soft->bytes = spec->bytes - spec->bytes / 10;
	soft->packets = spec->packets - spec->packets / 10;
}

struct sa_group *
group_new(struct er_engine *e, struct conn *c)
{
	struct sa_group *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->serial = ++e->next_group;
	g->c = c;
	g->created = e->now;
	return g;
}

void
group_link(struct er_engine *e, struct sa_group *g)
{
	TAILQ_INSERT_TAIL(&g->c->groups, g, link);
	RB_INSERT(group_tree, &e->groups, g);
}

/* Is the negotiator's answer well formed?  A bad answer is refused and
 * the negotiation stays pending, so the negotiator can answer again. */
static int
spec_check(const struct conn *c, const struct er_sa_group_spec *spec,
	   struct er_err *err)
{
	if (spec->proto != 0 && spec->proto != IPPROTO_ESP &&
	    spec->proto != IPPROTO_AH)
		return er_err_set(err, -EINVAL,
				  "%s: SA group protocol must be esp or ah",
				  c->cfg.name);
	if (spec->spi_out < ER_SPI_MIN)
		return er_err_set(err, -EINVAL,
				  "%s: outbound SPI 0x%x is below 0x100",
				  c->cfg.name, spec->spi_out);
	if (spec->spi_in != 0 && spec->spi_in < ER_SPI_MIN)
		return er_err_set(err, -EINVAL,
				  "%s: inbound SPI 0x%x is below 0x100",
				  c->cfg.name, spec->spi_in);
	if (spec->keys_in.enc_key_len > ER_SA_KEY_MAX ||
	    spec->keys_in.integ_key_len > ER_SA_KEY_MAX ||
	    spec->keys_out.enc_key_len > ER_SA_KEY_MAX ||
	    spec->keys_out.integ_key_len > ER_SA_KEY_MAX)
		return er_err_set(err, -EINVAL, "%s: key too long",
				  c->cfg.name);
	return 0;
}

/*
 * Are the answer's SPIs free?  An SA the engine holds already must not be
 * written over: two SA groups would share it, and its expiry would take
 * an SA from under the other.  Free is: no SA with that id, a dead one,
 * or (inbound) a larval SA this connection reserved.
 */
static int
spec_spis_free(const struct er_engine *e, const struct conn *c,
	       const struct er_sa_group_spec *spec, uint32_t reserved,
	       struct er_err *err)
{
	struct er_sa_id in = {0}, out = {0};
	const struct er_sa *a, *b;
	char buf[64];
	int ret = 0;

	in.proto = out.proto = spec->proto ? spec->proto : IPPROTO_ESP;
	conn_local_addr(c, &in.dst);
	in.spi = spec->spi_in ? spec->spi_in : reserved;
	conn_remote_addr(c, &out.dst);
	out.spi = spec->spi_out;
	a = in.spi != 0 ? er_sad_get(e->sad, &in) : NULL;
	b = er_sad_get(e->sad, &out);
	if (a != NULL && a->state != ER_SA_DEAD &&
	    !(a->state == ER_SA_LARVAL && a->owner == c->id)) {
		er_sa_id_format(&in, buf, sizeof(buf));
		ret = er_err_set(err, -EEXIST,
				 "%s: inbound SA %s is in use already",
				 c->cfg.name, buf);
	} else if (b != NULL && b->state != ER_SA_DEAD) {
		er_sa_id_format(&out, buf, sizeof(buf));
		ret = er_err_set(err, -EEXIST,
				 "%s: outbound SA %s is in use already",
				 c->cfg.name, buf);
	}
	return ret;
}

/* Install an SA group's two SAs; the policies follow in the state
 * machine.  Return: 0 or -errno, with nothing left behind on failure. */
static int
group_install(struct er_engine *e, struct conn *c,
	      const struct er_sa_group_spec *spec, uint32_t reserved,
	      struct sa_group **out, struct er_err *err)
{
	struct er_sa in = {0}, sa_out = {0};
	struct sa_group *g;
	uint8_t proto = spec->proto ? spec->proto : IPPROTO_ESP;
	uint32_t spi_in = spec->spi_in ? spec->spi_in : reserved;
	int ret;

	/* The kernel's reason goes into the log even when the caller did
	 * not ask for it. */
	struct er_err local = {0};

	if (err == NULL)
		err = &local;

	ret = spec_check(c, spec, err);
	if (ret == 0)
		ret = spec_spis_free(e, c, spec, reserved, err);
	if (ret < 0)
		return ret;
	if (spi_in == 0) {
		ret = spi_reserve(e, c, &spi_in);
		if (ret < 0)
			return er_err_set(err, ret, "%s: no inbound SPI",
					  c->cfg.name);
	}
	g = group_new(e, c);
	if (g == NULL)
		return er_err_set(err, -ENOMEM, "out of memory");

	conn_local_addr(c, &in.id.dst);
	in.id.proto = proto;
	in.id.spi = spi_in;
	conn_remote_addr(c, &in.src);
	in.mode = c->cfg.type == ER_CONN_TRANSPORT ? ER_MODE_TRANSPORT
						   : ER_MODE_TUNNEL;
	in.reqid = c->reqids[0];
	in.owner = c->id;
	in.group = g->serial;
	in.state = ER_SA_MATURE;
	er_conn_in_selector(&c->cfg, &c->remote_clients[0], &in.sel);
	lifetimes(c, spec, &in.soft, &in.hard);
	in.created = e->now;
	in.keys = spec->keys_in;

	sa_out = in;
	conn_remote_addr(c, &sa_out.id.dst);
	sa_out.id.spi = spec->spi_out;
	conn_local_addr(c, &sa_out.src);
	er_conn_out_selector(&c->cfg, &c->remote_clients[0], &sa_out.sel);
	sa_out.keys = spec->keys_out;

	/* An SA of that id waiting to be deleted is ours again. */
	doomed_forget(e, &in.id);
	doomed_forget(e, &sa_out.id);
	ret = er_kernel_sa_update(&e->cfg.kernel, &in, err);
	if (ret >= 0) {
		ret = er_kernel_sa_add(&e->cfg.kernel, &sa_out, err);
		if (ret < 0)
			engine_sa_remove(e, c, &in.id);
	}
	explicit_bzero(&in.keys, sizeof(in.keys));
	explicit_bzero(&sa_out.keys, sizeof(sa_out.keys));
	if (ret < 0) {
		engine_log(e, ER_LOG_ERROR, c,
			   "cannot install SA group: %s; the negotiation "
			   "shunt stays", err->msg);
		spi_release(e, c, spi_in);
		free(g);
		return ret;
	}
	/* The engine keeps identifiers and lifetimes, never keys. */
	if (er_sad_update(e->sad, &in, NULL) == -ENOENT)
		er_sad_add(e->sad, &in, NULL);
	if (er_sad_update(e->sad, &sa_out, NULL) == -ENOENT)
		er_sad_add(e->sad, &sa_out, NULL);
	g->in = in.id;
	g->out = sa_out.id;
	group_link(e, g);
	*out = g;
	return 0;
}

/* ---- connections ------------------------------------------------- */

static int
conn_insert(struct er_engine *e, const struct er_conn_config *cc,
	    struct conn *group, struct conn **out, struct er_err *err)
{
	struct conn *c;
	struct er_selector sel;
	int ret;

	ret = er_conn_config_check(cc, err);
	if (ret < 0)
		return ret;
	if (conn_by_name(e, cc->name) != NULL)
		return er_err_set(err, -EEXIST, "%s: connection exists",
				  cc->name);
	c = pool_get(&e->conn_pool);
	if (c == NULL)
		return er_err_set(err, -ENOMEM, "out of memory");
	c->cfg = *cc;
	c->remote_clients = calloc(cc->nremote, sizeof(*c->remote_clients));
	c->reqids = calloc(cc->nremote, sizeof(*c->reqids));
	if (c->remote_clients == NULL || c->reqids == NULL) {
		conn_free(e, c);
		return er_err_set(err, -ENOMEM, "out of memory");
	}
	memcpy(c->remote_clients, cc->remote_clients,
	       cc->nremote * sizeof(*c->remote_clients));
	c->cfg.remote_clients = c->remote_clients;
	for (size_t i = 0; i < cc->nremote; i++) {
		er_conn_out_selector(cc, &cc->remote_clients[i], &sel);
		if (cc->reqid != 0) {
			c->reqids[i] = cc->reqid;
			continue;
		}
		ret = reqid_get(e, &sel, &c->reqids[i]);
		if (ret < 0) {
			while (i-- > 0) {
				er_conn_out_selector(cc, &cc->remote_clients[i],
						     &sel);
				reqid_put(e, &sel);
			}
			conn_free(e, c);
			return er_err_set(err, ret, "%s: no reqid left",
					  cc->name);
		}
	}
	if (group == NULL && local_ref_get(e, &cc->local) < 0) {
		for (size_t i = 0; cc->reqid == 0 && i < cc->nremote; i++) {
			er_conn_out_selector(cc, &cc->remote_clients[i], &sel);
			reqid_put(e, &sel);
		}
		conn_free(e, c);
		return er_err_set(err, -ENOMEM, "out of memory");
	}
	c->id = e->next_conn_id++;
	c->group = group;
	c->rt = ER_RT_UNROUTED;
	TAILQ_INIT(&c->groups);
	RB_INSERT(conn_name_tree, &e->conns_by_name, c);
	RB_INSERT(conn_id_tree, &e->conns_by_id, c);
	if (group != NULL)
		group->ninstances++;
	*out = c;
	return 0;
}

void conn_free_deleted(struct er_engine *e, struct conn *c);

void
conn_free_deleted(struct er_engine *e, struct conn *c)
{
	struct er_event ev = {.type = ER_EV_CONN_DELETED};
	struct er_selector sel;

	if (c->group != NULL) {
		/* An instance's delete is news; a configured connection's
		 * delete was asked for. */
		engine_emit(e, &ev, c);
		c->group->ninstances--;
	} else {
		local_ref_put(e, &c->cfg.local);
	}
	if (c->cfg.reqid == 0) {
		for (size_t i = 0; i < c->cfg.nremote; i++) {
			er_conn_out_selector(&c->cfg, &c->remote_clients[i],
					     &sel);
			reqid_put(e, &sel);
		}
	}
	if (c->timer != 0)
		RB_REMOVE(conn_timer_tree, &e->timers, c);
	RB_REMOVE(conn_name_tree, &e->conns_by_name, c);
	RB_REMOVE(conn_id_tree, &e->conns_by_id, c);
	conn_free(e, c);
}

/* The instance of a group for one peer, made if needed.  A new instance
 * starts "prospective" with no claims: the caller's event (an acquire or
 * an arriving SA group) gives it its first policy at once. */
struct conn *
instance_get(struct er_engine *e, struct conn *grp, const struct er_addr *peer,
	     bool *created, struct er_err *err)
{
	struct er_conn_config cc = grp->cfg;
	struct er_prefix host;
	char a[ER_PREFIX_STRLEN];
	struct conn *c;

	*created = false;
	er_prefix_host(&host, peer);
	er_prefix_format(&host, a, sizeof(a));
	if ((size_t)snprintf(cc.name, sizeof(cc.name), "%s#%s", grp->cfg.name,
			     a) >= sizeof(cc.name)) {
		er_err_set(err, -ENAMETOOLONG, "%s: instance name too long",
			   grp->cfg.name);
		return NULL;
	}
	c = conn_by_name(e, cc.name);
	if (c != NULL)
		return c;
	cc.remote = *peer;
	cc.remote_clients = &host;
	cc.nremote = 1;
	cc.group = false;
	cc.autostart = ER_AUTO_ADD;
	if (conn_insert(e, &cc, grp, &c, err) < 0)
		return NULL;
	c->rt = ER_RT_PROSPECTIVE;
	*created = true;
	{
		struct er_event ev = {.type = ER_EV_CONN_ADDED};

		engine_emit(e, &ev, c);
	}
	return c;
}

/* Delete a group's instances.  The group's traps go first when it is
 * going away itself, so that packets the instances' holds retained are
 * not trapped again by a group about to vanish. */
static void
instances_delete(struct er_engine *e, struct conn *grp, bool group_too)
{
	struct conn *c, *next;

	if (group_too)
		conn_claims_drop(e, grp);
	if (grp->ninstances == 0)
		return;
	for (c = RB_MIN(conn_id_tree, &e->conns_by_id); c != NULL; c = next) {
		next = RB_NEXT(conn_id_tree, &e->conns_by_id, c);
		if (c->group == grp)
			conn_transition(e, c, CEV_DELETE, NULL, NULL);
	}
}

/*
 * Two instances for one peer: within a group there is only ever one (it
 * is named after the peer), but two groups whose destinations overlap
 * make one each, with the same host-to-host selector.  They must not
 * fight over that eroute: the newer authenticated one wins, as in
 * reference 000's AUTH_NULL case, and when an instance's SA group comes
 * up every other instance for its peer is deleted (cleanly: no shunt).
 */
static void
instances_supersede(struct er_engine *e, struct conn *c)
{
	struct er_selector sel;
	struct claim_key *k;
	struct claim *cl;
	struct conn *d;
	bool again = true;

	if (c->group == NULL)
		return;
	er_conn_out_selector(&c->cfg, &c->remote_clients[0], &sel);
	k = claim_key_find(e, ER_DIR_OUT, &sel);
	while (k != NULL && again) {
		again = false;
		TAILQ_FOREACH(cl, &k->claims, link) {
			d = engine_conn_by_id(e, cl->owner);
			if (d == NULL || d == c || d->group == NULL)
				continue;
			engine_log(e, ER_LOG_INFO, d,
				   "superseded by %s, authenticated later",
				   c->cfg.name);
			/* The walk cannot go on: the key changed, and may be
			 * gone if it was the last claim but ours. */
			conn_transition(e, d, CEV_DELETE, NULL, NULL);
			k = claim_key_find(e, ER_DIR_OUT, &sel);
			again = true;
			break;
		}
	}
}

/* ---- settling: eclipse ------------------------------------------ */

/* Does a better claimant hold every outbound selector of @c? */
static bool
conn_beaten(const struct er_engine *e, const struct conn *c, bool *claims)
{
	struct er_selector sel;
	bool any_best = false;

	*claims = false;
	for (size_t i = 0; i < c->cfg.nremote; i++) {
		struct claim *cl;

		er_conn_out_selector(&c->cfg, &c->remote_clients[i], &sel);
		cl = claim_find(e, ER_DIR_OUT, &sel, c->id);
		if (cl == NULL)
			continue;
		*claims = true;
		if (claim_is_best(cl))
			any_best = true;
	}
	return *claims && !any_best;
}

static void
settle_conn(struct er_engine *e, struct conn *c)
{
	bool claims, beaten;

	if (!conn_is_routed_state(c->rt))
		return;
	beaten = conn_beaten(e, c, &claims);
	if (!claims)
		return;
	if (beaten && c->rt != ER_RT_ECLIPSED)
		conn_transition(e, c, CEV_ECLIPSE, NULL, NULL);
	else if (!beaten && c->rt == ER_RT_ECLIPSED)
		conn_transition(e, c, CEV_UNECLIPSE, NULL, NULL);
}

void
engine_settle(struct er_engine *e)
{
	struct claim_key *k;
	uint32_t ids[64];
	size_t n;

	kept_holds_release(e);
	/* Transitions here may touch further keys; go until quiet. */
	while ((k = TAILQ_FIRST(&e->touched)) != NULL) {
		struct claim *cl;

		TAILQ_REMOVE(&e->touched, k, touched_link);
		k->touched = false;
		if (k->dir != ER_DIR_OUT)
			continue;
		n = 0;
		TAILQ_FOREACH(cl, &k->claims, link) {
			if (cl->owner != ER_OWNER_BARE && n < 64)
				ids[n++] = cl->owner;
		}
		for (size_t i = 0; i < n; i++) {
			struct conn *c = engine_conn_by_id(e, ids[i]);

			if (c != NULL)
				settle_conn(e, c);
		}
	}
}

/* ---- public inputs ----------------------------------------------- */

static struct conn *
conn_lookup(const struct er_engine *e, const char *name, struct er_err *err)
{
	struct conn *c = conn_by_name(e, name);

	if (c == NULL)
		er_err_set(err, -ENOENT, "%s: no such connection", name);
	return c;
}

int
er_engine_conn_add(struct er_engine *e, const struct er_conn_config *cc,
		   struct er_err *err)
{
	struct conn *c;
	int ret;

	ret = conn_insert(e, cc, NULL, &c, err);
	if (ret < 0)
		return ret;
	engine_log(e, ER_LOG_INFO, c, "added (%s, auto=%s)",
		   er_conn_type_name(cc->type), er_auto_name(cc->autostart));
	if (cc->autostart >= ER_AUTO_ONDEMAND) {
		bool start = cc->autostart == ER_AUTO_START &&
			     !er_conn_is_never_negotiate(cc) && !cc->group;

		ret = er_engine_route(e, cc->name, err);
		/* At a restart, its SAs may still be there: wait and see. */
		if (ret == 0 && start && e->adopting)
			c->pending_start = true;
		else if (ret == 0 && start)
			ret = er_engine_up(e, cc->name, err);
		if (ret < 0)
			engine_log(e, ER_LOG_WARNING, c, "auto=%s: %s",
				   er_auto_name(cc->autostart),
				   err != NULL ? err->msg : "failed");
	}
	engine_settle(e);
	return (int)c->id;
}

int
er_engine_conn_del(struct er_engine *e, const char *name, struct er_err *err)
{
	struct conn *c = conn_lookup(e, name, err);

	if (c == NULL)
		return -ENOENT;
	if (c->cfg.group)
		instances_delete(e, c, true);
	conn_transition(e, c, CEV_DELETE, NULL, err);
	engine_settle(e);
	return 0;
}

int
er_engine_conn_replace(struct er_engine *e, const struct er_conn_config *cc,
		       struct er_err *err)
{
	struct conn *old = conn_by_name(e, cc->name);
	char name[ER_CONN_NAME_MAX];
	int ret;

	if (old == NULL)
		return er_engine_conn_add(e, cc, err);
	ret = er_conn_config_check(cc, err);
	if (ret < 0)
		return ret;
	/* The old one steps aside under another name while the new one is
	 * added; its claims stay, so nothing is uncovered. */
	snprintf(name, sizeof(name), "%s", old->cfg.name);
	RB_REMOVE(conn_name_tree, &e->conns_by_name, old);
	snprintf(old->cfg.name, sizeof(old->cfg.name), "%.100s (old)", name);
	RB_INSERT(conn_name_tree, &e->conns_by_name, old);
	ret = er_engine_conn_add(e, cc, err);
	if (ret < 0) {
		RB_REMOVE(conn_name_tree, &e->conns_by_name, old);
		snprintf(old->cfg.name, sizeof(old->cfg.name), "%s", name);
		RB_INSERT(conn_name_tree, &e->conns_by_name, old);
		return ret;
	}
	if (old->cfg.group)
		instances_delete(e, old, true);
	conn_transition(e, old, CEV_DELETE, NULL, NULL);
	engine_settle(e);
	return ret;
}

void
er_engine_set_shunt_lifetime(struct er_engine *e, uint64_t secs)
{
	if (secs != 0)
		e->cfg.shunt_lifetime = secs;
}

int
er_engine_route(struct er_engine *e, const char *name, struct er_err *err)
{
	struct conn *c = conn_lookup(e, name, err), *d;
	int ret;

	if (c == NULL)
		return -ENOENT;
	if (c->group != NULL)
		return er_err_set(err, -EINVAL,
				  "%s: an instance is routed by its group",
				  name);
	if (conn_is_routed_state(c->rt))
		return 0;
	d = c->cfg.group ? NULL : route_sharer(e, c);
	if (d != NULL && !er_addr_equal(&d->cfg.local, &c->cfg.local)) {
		char a[ER_ADDR_STRLEN];

		er_addr_format(&d->cfg.local, a, sizeof(a));
		return er_err_set(err, -EBUSY,
				  "%s: route to its peer's client is owned by "
				  "\"%s\" via %s", name, d->cfg.name, a);
	}
	for (size_t i = 0; i < c->cfg.nremote; i++) {
		struct er_selector out, in;

		er_conn_out_selector(&c->cfg, &c->remote_clients[i], &out);
		er_conn_in_selector(&c->cfg, &c->remote_clients[i], &in);
		if (foreign_has(e, ER_DIR_OUT, &out) ||
		    foreign_has(e, ER_DIR_IN, &in) ||
		    foreign_has(e, ER_DIR_FWD, &in)) {
			char what[ER_SELECTOR_STRLEN + 16];

			er_policy_describe(foreign_has(e, ER_DIR_OUT, &out)
						   ? ER_DIR_OUT
						   : ER_DIR_IN,
					   foreign_has(e, ER_DIR_OUT, &out)
						   ? &out
						   : &in,
					   what, sizeof(what));
			return er_err_set(err, -EBUSY,
					  "%s: %s belongs to another IPsec "
					  "daemon; not overwriting it, so the "
					  "connection stays unrouted",
					  name, what);
		}
	}
	ret = conn_transition(e, c, CEV_ROUTE, NULL, err);
	engine_settle(e);
	return ret;
}

int
er_engine_unroute(struct er_engine *e, const char *name, struct er_err *err)
{
	struct conn *c = conn_lookup(e, name, err);
	int ret;

	if (c == NULL)
		return -ENOENT;
	if (c->group != NULL)
		return er_err_set(err, -EINVAL,
				  "%s: an instance is routed by its group; "
				  "use down", name);
	if (c->rt == ER_RT_TUNNEL)
		return er_err_set(err, -EBUSY,
				  "%s: connection is up; down it first", name);
	if (c->cfg.group)
		instances_delete(e, c, conn_is_routed_state(c->rt));
	ret = conn_transition(e, c, CEV_UNROUTE, NULL, err);
	engine_settle(e);
	return ret;
}

int
er_engine_up(struct er_engine *e, const char *name, struct er_err *err)
{
	struct conn *c = conn_lookup(e, name, err);
	int ret;

	if (c == NULL)
		return -ENOENT;
	if (c->cfg.group)
		return er_err_set(err, -EINVAL,
				  "%s: an opportunistic group negotiates per "
				  "peer, when traffic arrives", name);
	if (er_conn_is_never_negotiate(&c->cfg))
		return er_err_set(err, -EINVAL,
				  "%s: a %s connection never negotiates", name,
				  er_conn_type_name(c->cfg.type));
	if (c->rt == ER_RT_ECLIPSED)
		return er_err_set(err, -EBUSY,
				  "%s: its eroute is held by a better "
				  "claimant", name);
	ret = conn_transition(e, c, CEV_UP, NULL, err);
	engine_settle(e);
	return ret;
}

int
er_engine_down(struct er_engine *e, const char *name, struct er_err *err)
{
	struct conn *c = conn_lookup(e, name, err);
	int ret;

	if (c == NULL)
		return -ENOENT;
	if (c->cfg.group) {
		instances_delete(e, c, false);
		engine_settle(e);
		return 0;
	}
	ret = conn_transition(e, c, CEV_DOWN, NULL, err);
	engine_settle(e);
	return ret;
}

/* ---- kernel events ----------------------------------------------- */

/* The connection whose trap an ACQUIRE hit: the installed claimant of the
 * trap policy, else the reqid's selector, else the best routed connection
 * whose selector covers the packet. */
static struct conn *
acquire_conn(const struct er_engine *e, const struct er_kernel_event *ev)
{
	const struct claim_key *k = NULL;
	const struct reqid_entry *r;
	struct conn *c, *best = NULL;
	uint32_t best_prio = UINT32_MAX;

	if (er_addr_bits(ev->policy_sel.src.addr.family) != 0)
		k = claim_key_find(e, ER_DIR_OUT, &ev->policy_sel);
	if (k == NULL && ev->reqid != 0) {
		r = reqid_find_num(e, ev->reqid);
		if (r != NULL)
			k = claim_key_find(e, ER_DIR_OUT, &r->sel);
	}
	if (k != NULL && !TAILQ_EMPTY(&k->claims)) {
		c = engine_conn_by_id(e, TAILQ_FIRST(&k->claims)->owner);
		if (c != NULL)
			return c;
	}
	RB_FOREACH(c, conn_id_tree,
		   (struct conn_id_tree *)(uintptr_t)&e->conns_by_id) {
		if (c->rt != ER_RT_PROSPECTIVE && c->rt != ER_RT_TUNNEL)
			continue;
		for (size_t i = 0; i < c->cfg.nremote; i++) {
			struct er_selector sel;
			uint32_t prio;

			er_conn_out_selector(&c->cfg, &c->remote_clients[i],
					     &sel);
			if (!er_selector_matches(&sel, &ev->pkt))
				continue;
			prio = conn_priority(c, &sel);
			if (prio < best_prio) {
				best = c;
				best_prio = prio;
			}
		}
	}
	return best;
}

/* Is a broader outbound key around @sel waiting for a retry?  Then the
 * kernel may still hold the old policy there (a trap): an acquire hold
 * inside it that goes would send its packet to that policy again. */
static bool
dirty_key_covers(const struct er_engine *e, const struct er_selector *sel)
{
	struct claim_key *k;

	TAILQ_FOREACH(k, &e->dirty, dirty_link) {
		if (k->dir != ER_DIR_OUT ||
		    er_selector_equal(&k->sel, sel) ||
		    !er_selector_contains(&k->sel, sel))
			continue;
		return true;
	}
	return false;
}

/* Keep the acquire hold on @sel (bare, claimed as the kernel has it)
 * until kept_holds_release() finds the policies around it settled. */
static void
hold_keep(struct er_engine *e, const struct er_selector *sel, uint32_t reqid)
{
	const struct er_shunt *old = er_shunt_get(e->shunts, sel);
	struct er_shunt s = {0};
	bool listed = old != NULL && is_kept_hold(old);

	if (old != NULL)
		s = *old;
	s.sel = *sel;
	s.action = ER_ACTION_HOLD;
	if (old == NULL) {
		s.reqid = reqid;
		s.created = e->now;
	}
	old = NULL;
	snprintf(s.origin, sizeof(s.origin), "acquire");
	s.expires = e->now + e->cfg.shunt_lifetime;
	/* @old is gone after this. */
	if (er_shunt_add(e->shunts, &s, NULL) < 0)
		return;
	if (!listed) {
		struct er_selector *n = er_grow(e->kept, &e->kept_cap,
		                                e->nkept, sizeof(*n), 16);

		if (n != NULL) {
			e->kept = n;
			e->kept[e->nkept++] = *sel;
		}
	}
	if (claim_find(e, ER_DIR_OUT, sel, ER_OWNER_BARE) == NULL) {
		struct er_policy p = {0};

		p.dir = ER_DIR_OUT;
		p.sel = *sel;
		p.priority = er_priority_default(sel, ER_PRIO_BARE);
		p.action = ER_ACTION_HOLD;
		p.reqid = s.reqid;
		claim_adopt(e, ER_OWNER_BARE, &p);
	}
}

/* A kept acquire hold (on_acquire()). */
static bool
is_kept_hold(const struct er_shunt *s)
{
	return s->action == ER_ACTION_HOLD && s->expires != 0 &&
	       strcmp(s->origin, "acquire") == 0;
}

/* Kept acquire holds whose connection's policy is in now (or which no
 * connection waits for any more) go: the broad policy is there. */
static void
kept_holds_release(struct er_engine *e)
{
	size_t n = e->nsettled;

	/* Only a key that stopped being dirty can let one go: the ones
	 * inside it are looked at again. */
	if (n == 0)
		return;
	e->nsettled = 0;
	for (size_t i = 0; i < e->nkept;) {
		struct er_selector sel = e->kept[i];
		const struct er_shunt *s = er_shunt_get(e->shunts, &sel);
		bool inside = false;

		for (size_t j = 0; j < n && !inside; j++)
			inside = er_selector_contains(&e->settled[j], &sel);
		if (s != NULL && is_kept_hold(s) &&
		    (!inside || dirty_key_covers(e, &sel))) {
			i++;
			continue;
		}
		e->kept[i] = e->kept[--e->nkept];
		if (s != NULL && is_kept_hold(s))
			bare_remove(e, &sel);
	}
}

/* Is the claim of @c that covers @sel waiting for a retry (its kernel
 * operation failed, so the old policy is still there)? */
static bool
conn_covering_key_failed(const struct er_engine *e, const struct conn *c,
			 const struct er_selector *sel)
{
	struct er_selector out;
	struct claim_key *k;

	for (size_t i = 0; i < c->cfg.nremote; i++) {
		er_conn_out_selector(&c->cfg, &c->remote_clients[i], &out);
		if (er_selector_equal(&out, sel) ||
		    !er_selector_contains(&out, sel))
			continue;
		k = claim_key_find(e, ER_DIR_OUT, &out);
		if (k != NULL && k->dirty &&
		    claim_find(e, ER_DIR_OUT, &out, c->id) != NULL)
			return true;
	}
	return false;
}

static int
on_acquire(struct er_engine *e, const struct er_kernel_event *ev,
	   struct er_err *err)
{
	struct er_shunt hold = {0};
	char what[ER_SELECTOR_STRLEN];
	struct conn *c;
	bool created;

	if (er_addr_bits(ev->sel.src.addr.family) == 0 ||
	    ev->sel.src.addr.family != ev->sel.dst.addr.family)
		return er_err_set(err, -EINVAL, "acquire: bad selector");
	er_selector_format(&ev->sel, what, sizeof(what));
	if (e->stopped) {
		/* Shutting down: the narrow hold goes, nothing starts --
		 * unless a trap around it is still in (its delete failed):
		 * then it stays, known, until that one has gone. */
		if (!dirty_key_covers(e, &ev->sel) &&
		    er_kernel_policy_del(&e->cfg.kernel, ER_DIR_OUT, &ev->sel,
					 NULL) >= 0)
			return 0;
		hold_keep(e, &ev->sel, ev->reqid);
		return 0;
	}
	/* The kernel's narrow hold, held bare until a connection takes it. */
	hold.sel = ev->sel;
	hold.action = ER_ACTION_HOLD;
	snprintf(hold.origin, sizeof(hold.origin), "acquire");
	hold.reqid = ev->reqid;
	hold.created = e->now;
	if (er_shunt_add(e->shunts, &hold, NULL) < 0)
		return er_err_set(err, -ENOMEM, "out of memory");
	{
		struct er_policy p = {0};

		p.dir = ER_DIR_OUT;
		p.sel = hold.sel;
		p.priority = er_priority_default(&hold.sel, ER_PRIO_BARE);
		p.action = ER_ACTION_HOLD;
		p.reqid = ev->reqid;
		claim_adopt(e, ER_OWNER_BARE, &p);
	}

	if (!er_selector_is_host(&ev->sel)) {
		engine_log(e, ER_LOG_WARNING, NULL,
			   "acquire %s refused: not host-to-host", what);
		bare_remove(e, &ev->sel);
		return er_err_set(err, -EINVAL, "acquire %s: not host-to-host",
				  what);
	}
	if (is_local_addr(e, &ev->pkt.dst)) {
		/* Traffic to this host needs no IPsec.  A bare pass lets it
		 * through for a while instead of trapping it again at once
		 * (on the simulated kernel the retained packet, released by
		 * a plain delete, would trap again for ever). */
		engine_log(e, ER_LOG_WARNING, NULL,
			   "acquire %s refused: destination is this host; "
			   "bare pass", what);
		hold.action = ER_ACTION_PASS;
		snprintf(hold.origin, sizeof(hold.origin), "to-this-host");
		hold.expires = e->now + e->cfg.shunt_lifetime;
		bare_add(e, &hold);
		return er_err_set(err, -EINVAL,
				  "acquire %s: destination is this host", what);
	}
	c = acquire_conn(e, ev);
	if (c != NULL && c->cfg.group) {
		c = instance_get(e, c, &ev->pkt.dst, &created, err);
		if (c == NULL) {
			bare_remove(e, &ev->sel);
			return err != NULL ? err->code : -ENOMEM;
		}
	}
	if (c == NULL || er_conn_is_never_negotiate(&c->cfg)) {
		/* Reference 001: no gateway to negotiate with -- let the
		 * flow through for a while, as a bare pass shunt. */
		hold.action = ER_ACTION_PASS;
		snprintf(hold.origin, sizeof(hold.origin), "no-connection");
		hold.expires = e->now + e->cfg.shunt_lifetime;
		engine_log(e, ER_LOG_INFO, NULL,
			   "acquire %s: no connection covers it; bare pass",
			   what);
		bare_add(e, &hold);
		return 0;
	}
	switch (c->rt) {
	case ER_RT_TUNNEL:
		/* Only the tunnel's own policy, finding its SA gone, calls
		 * for a replacement; a stale or rescanned acquire (a larval
		 * state that outlived its negotiation) does not. */
		{
			struct er_selector own;

			er_conn_out_selector(&c->cfg, &c->remote_clients[0],
					     &own);
			if (er_addr_bits(ev->policy_sel.src.addr.family) == 0 ||
			    !er_selector_equal(&ev->policy_sel, &own)) {
				engine_log(e, ER_LOG_DEBUG, c,
					   "acquire %s: already up", what);
				break;
			}
		}
		/* fall through */
	case ER_RT_PROSPECTIVE:
		engine_log(e, ER_LOG_INFO, c, "acquire %s", what);
		conn_transition(e, c, CEV_ACQUIRE, NULL, err);
		break;
	case ER_RT_ROUTED_HOLD:
	case ER_RT_UNROUTED_HOLD:
		engine_log(e, ER_LOG_DEBUG, c,
			   "acquire %s absorbed: already negotiating", what);
		break;
	default:
		engine_log(e, ER_LOG_INFO, c, "acquire %s ignored while %s",
			   what, er_routing_name(c->rt));
		break;
	}
	/* The connection's broad shunt is in; the narrow one can go.  If
	 * it is not in (its kernel operation failed), the narrow hold stays
	 * until the retry puts it in (engine_key_installed()); a lifetime
	 * makes sure it goes some day whatever happens. */
	if (c != NULL && conn_covering_key_failed(e, c, &ev->sel)) {
		const struct er_shunt *s = er_shunt_get(e->shunts, &ev->sel);

		if (s != NULL && s->action == ER_ACTION_HOLD &&
		    s->expires == 0) {
			engine_log(e, ER_LOG_WARNING, c,
				   "acquire %s: the connection's policy is "
				   "not in the kernel yet; the narrow hold "
				   "stays until it is", what);
			/* The kernel's hold as it is (no lifetime: the
			 * kernel must not drop it behind our back). */
			hold_keep(e, &ev->sel, ev->reqid);
		}
		return 0;
	}
	bare_remove(e, &ev->sel);
	return 0;
}

static void
on_sa_expire(struct er_engine *e, const struct er_kernel_event *ev)
{
	const struct er_sa *sa;
	struct sa_group *g;
	struct conn *c;
	char id[64];

	/* An acquire's larval state has SPI 0: nothing of ours. */
	if (ev->sa.spi == 0)
		return;
	sa = er_sad_get(e->sad, &ev->sa);
	er_sa_id_format(&ev->sa, id, sizeof(id));
	if (sa == NULL) {
		/* One we were about to delete, perhaps: the kernel did. */
		if (ev->hard)
			doomed_forget(e, &ev->sa);
		engine_log(e, ER_LOG_DEBUG, NULL, "expire of unknown SA %s",
			   id);
		return;
	}
	if (sa->state == ER_SA_LARVAL) {
		/* Our SPI reservation timed out; a late success allocates
		 * again. */
		struct negotiation *n;
		struct conn *owner = NULL;

		TAILQ_FOREACH(n, &e->negs, link) {
			if (n->spi_in == ev->sa.spi) {
				n->spi_in = 0;
				owner = n->c;
			}
		}
		engine_log(e, ER_LOG_INFO, owner, "SA %s larval expired", id);
		if (ev->hard)
			er_sad_del(e->sad, &ev->sa);
		return;
	}
	g = group_by_serial(e, sa->group);
	if (g == NULL)
		return;
	c = g->c;
	if (!ev->hard) {
		er_sad_set_state(e->sad, sa, ER_SA_DYING);
		/* One rekey, however many SAs of the group say so. */
		if (g->rekey_started || c->neg != NULL ||
		    TAILQ_LAST(&c->groups, sa_group_list) != g)
			return;
		g->rekey_started = true;
		engine_log(e, ER_LOG_INFO, c, "SA %s soft expired: rekeying",
			   id);
		c->tries = 0;
		negotiation_start(e, c, true);
		return;
	}
	engine_log(e, ER_LOG_INFO, c, "SA %s hard expired", id);
	/* The group's other SA may still be alive, and the eroute may name
	 * it: the eroute moves on first, then the SAs go (make before
	 * break). */
	group_unlink(e, g);
	if (!TAILQ_EMPTY(&c->groups)) {
		/* An older group went, or the newest with an older one
		 * left: the eroute goes to the newest remaining. */
		if (c->rt == ER_RT_TUNNEL) {
			c->eroute_owner =
				TAILQ_LAST(&c->groups, sa_group_list)->serial;
			conn_claims_set(e, c, ER_RT_TUNNEL);
		}
	} else if (c->rt == ER_RT_TUNNEL || c->rt == ER_RT_ECLIPSED) {
		conn_transition(e, c, CEV_SA_GONE, NULL, NULL);
	}
	group_destroy(e, c, g);
}

static void
on_policy_expire(struct er_engine *e, const struct er_kernel_event *ev)
{
	struct claim_key *k = claim_key_find(e, ev->dir, &ev->sel);
	struct claim *best;
	struct conn *c;

	/* The kernel removed it: our view follows first. */
	er_spd_del(e->view, ev->dir, &ev->sel);
	if (k == NULL) {
		/* Another daemon's policy, if anybody's. */
		er_engine_foreign_note(e, ev->dir, &ev->sel, false);
		return;
	}
	best = TAILQ_FIRST(&k->claims);
	if (best == NULL)
		return;
	if (best->owner == ER_OWNER_BARE) {
		engine_log(e, ER_LOG_INFO, NULL, "bare shunt expired in kernel");
		bare_remove(e, &ev->sel);
		return;
	}
	c = engine_conn_by_id(e, best->owner);
	if (c != NULL && c->rt == ER_RT_FAILURE) {
		conn_transition(e, c, CEV_SHUNT_EXPIRE, NULL, NULL);
		return;
	}
	/* Not something that should have expired: put it back. */
	claim_set(e, best->owner, &best->pol);
}

/* An SA of ours is gone from the kernel without an expire (another process
 * deleted or flushed it): what its hard expiry would have done. */
void
engine_sa_gone(struct er_engine *e, const struct er_sa_id *id)
{
	struct er_kernel_event ev = {.type = ER_KEV_SA_EXPIRE, .hard = true};

	ev.sa = *id;
	on_sa_expire(e, &ev);
}

int
er_engine_kernel_event(struct er_engine *e, const struct er_kernel_event *ev,
		       struct er_err *err)
{
	int ret = 0;

	switch (ev->type) {
	case ER_KEV_ACQUIRE:
		ret = on_acquire(e, ev, err);
		break;
	case ER_KEV_SA_EXPIRE:
		on_sa_expire(e, ev);
		break;
	case ER_KEV_POLICY_EXPIRE:
		on_policy_expire(e, ev);
		break;
	case ER_KEV_LOST:
		engine_log(e, ER_LOG_WARNING, NULL,
			   "kernel events were lost (or the kernel was "
			   "flushed): resyncing");
		ret = er_engine_resync(e, err);
		break;
	case ER_KEV_POLICY_CHANGED:
		/* Backends report only other processes' changes here. */
		resync_policy_changed(e, ev);
		break;
	case ER_KEV_SA_CHANGED:
		resync_sa_changed(e, ev);
		break;
	default:
		ret = er_err_set(err, -EINVAL, "unknown kernel event %d",
				 (int)ev->type);
		break;
	}
	engine_settle(e);
	return ret;
}

/* ---- negotiation results ----------------------------------------- */

static int negotiation_failed(struct er_engine *e, uint64_t id,
			      const char *reason, bool kernel,
			      struct er_err *err);

int
er_engine_negotiated(struct er_engine *e, uint64_t id,
		     const struct er_sa_group_spec *spec, struct er_err *err)
{
	struct negotiation *n = negotiation_by_id(e, id);
	struct conn_event_args a = {0};
	struct sa_group *g;
	struct conn *c;
	int ret;

	if (n == NULL)
		return er_err_set(err, -ENOENT,
				  "no negotiation %llu (finished, cancelled "
				  "or never started)", (unsigned long long)id);
	c = n->c;
	ret = spec_check(c, spec, err);
	if (ret == 0)
		ret = spec_spis_free(e, c, spec, n->spi_in, err);
	if (ret < 0)
		return ret;
	ret = group_install(e, c, spec, n->spi_in, &g, err);
	if (ret < 0) {
		char why[ER_ERR_MSG_MAX];

		/* The peer agreed, our kernel refused: that is no reason to
		 * open the failure shunt.  The hold stays. */
		snprintf(why, sizeof(why), "%s", err != NULL ? err->msg : "");
		negotiation_failed(e, id, why, true, NULL);
		return ret;
	}
	/* The reservation goes back unless the group took it (the
	 * negotiator may bring an inbound SPI of its own). */
	negotiation_end(e, n, n->spi_in != g->in.spi);
	engine_log(e, ER_LOG_INFO, c, "SA group #%llu established",
		   (unsigned long long)g->serial);
	a.group = g;
	ret = conn_transition(e, c, CEV_SA_UP, &a, err);
	instances_supersede(e, c);
	engine_settle(e);
	return ret;
}

int
er_engine_negotiation_failed(struct er_engine *e, uint64_t id,
			     const char *reason, struct er_err *err)
{
	return negotiation_failed(e, id, reason, false, err);
}

/* @kernel: the attempt failed because our kernel refused the SAs. */
static int
negotiation_failed(struct er_engine *e, uint64_t id, const char *reason,
		   bool kernel, struct er_err *err)
{
	struct negotiation *n = negotiation_by_id(e, id);
	struct conn_event_args a = {0};
	struct conn *c;

	if (n == NULL)
		return er_err_set(err, -ENOENT,
				  "no negotiation %llu (finished, cancelled "
				  "or never started)", (unsigned long long)id);
	c = n->c;
	c->kernel_failed = kernel;
	a.rekey = n->rekey;
	a.spent = c->cfg.keyingtries != 0 && c->tries >= c->cfg.keyingtries;
	engine_log(e, ER_LOG_INFO, c, "attempt %u failed: %s%s", n->attempt,
		   reason != NULL ? reason : "no reason given",
		   a.spent ? " (tries spent)" : "");
	negotiation_end(e, n, true);
	if (!conn_event_allowed(c->rt, CEV_NEG_FAIL)) {
		engine_settle(e);
		return 0;
	}
	/* A tunnel whose initial negotiation lost to the peer's (reference
	 * 000) has nothing to retry. */
	if (c->rt == ER_RT_TUNNEL && !a.rekey) {
		engine_settle(e);
		return 0;
	}
	id = c->id;
	conn_transition(e, c, CEV_NEG_FAIL, &a, err);
	/* Still there and tries left: the next attempt. */
	c = engine_conn_by_id(e, (uint32_t)id);
	if (c != NULL && !a.spent && c->neg == NULL &&
	    (c->rt == ER_RT_ROUTED_HOLD || c->rt == ER_RT_UNROUTED_HOLD ||
	     c->rt == ER_RT_TUNNEL))
		negotiation_start(e, c, a.rekey);
	engine_settle(e);
	return 0;
}

int
er_engine_responder(struct er_engine *e, const char *name,
		    const struct er_addr *peer,
		    const struct er_sa_group_spec *spec, struct er_err *err)
{
	struct conn_event_args a = {0};
	struct er_addr p;
	struct sa_group *g;
	struct conn *c = conn_by_name(e, name);
	bool created = false;
	int ret;

	if (c == NULL && strchr(name, '#') != NULL) {
		/* "GROUP#ADDR/32": a peer of an opportunistic group. */
		char grp[ER_CONN_NAME_MAX], *hash;
		struct er_prefix pp;

		snprintf(grp, sizeof(grp), "%s", name);
		hash = strchr(grp, '#');
		*hash = '\0';
		c = conn_by_name(e, grp);
		if (c == NULL || !c->cfg.group ||
		    er_prefix_parse(&pp, hash + 1, NULL) != 0 ||
		    !er_prefix_is_host(&pp))
			return er_err_set(err, -ENOENT,
					  "%s: no such connection", name);
		p = pp.addr;
		peer = &p;
	}
	if (c == NULL)
		return er_err_set(err, -ENOENT, "%s: no such connection", name);
	if (c->cfg.group) {
		bool inside = false;

		if (peer == NULL || er_addr_bits(peer->family) == 0)
			return er_err_set(err, -EINVAL,
					  "%s: an opportunistic group needs "
					  "the peer's address", name);
		for (size_t i = 0; i < c->cfg.nremote; i++)
			inside |= er_prefix_has(&c->remote_clients[i], peer);
		if (!inside)
			return er_err_set(err, -EINVAL,
					  "%s: peer is outside the group",
					  name);
		c = instance_get(e, c, peer, &created, err);
		if (c == NULL)
			return err != NULL ? err->code : -ENOMEM;
	}
	if (er_conn_is_never_negotiate(&c->cfg))
		return er_err_set(err, -EINVAL,
				  "%s: a %s connection never negotiates", name,
				  er_conn_type_name(c->cfg.type));
	ret = group_install(e, c, spec, 0, &g, err);
	if (ret < 0) {
		if (created)
			conn_transition(e, c, CEV_DELETE, NULL, NULL);
		engine_settle(e);
		return ret;
	}
	engine_log(e, ER_LOG_INFO, c, "SA group #%llu established (responder)",
		   (unsigned long long)g->serial);
	a.group = g;
	ret = conn_transition(e, c, CEV_SA_UP, &a, err);
	instances_supersede(e, c);
	engine_settle(e);
	return ret;
}

uint64_t
er_engine_oldest_negotiation(const struct er_engine *e, const char *name)
{
	struct conn *c = conn_by_name(e, name);

	return c != NULL && c->neg != NULL ? c->neg->id : 0;
}

/* ---- time -------------------------------------------------------- */

struct expired_list {
	struct er_selector *sel;
	size_t n, cap;
};

static void
collect_expired(void *ctx, const struct er_shunt *s)
{
	struct expired_list *l = ctx;
	struct er_selector *n = er_grow(l->sel, &l->cap, l->n, sizeof(*n), 16);

	if (n == NULL)
		return;
	l->sel = n;
	l->sel[l->n++] = s->sel;
}

static int
id_order(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Everything due at e->now: bare shunts, failure shunts, revivals.  The
 * timer tree yields the connections that are due; they are taken in
 * order of id, as a walk over all of them would. */
static void
tick_due(struct er_engine *e)
{
	struct expired_list ex = {0};
	struct conn *c;
	uint32_t *ids = NULL;
	size_t nids = 0, cap = 0;
	char sel[ER_SELECTOR_STRLEN];

	er_shunt_expire(e->shunts, e->now, collect_expired, &ex);
	for (size_t i = 0; i < ex.n; i++) {
		struct claim *cl = claim_find(e, ER_DIR_OUT, &ex.sel[i],
					      ER_OWNER_BARE);

		er_selector_format(&ex.sel[i], sel, sizeof(sel));
		/* A hold whose connection's broad policy is still not in
		 * the kernel (its retries keep failing) stays: deleting it
		 * would send its flow to the old policy, or to none. */
		if (cl != NULL && cl->pol.action == ER_ACTION_HOLD &&
		    dirty_key_covers(e, &ex.sel[i])) {
			hold_keep(e, &ex.sel[i], cl->pol.reqid);
			engine_log(e, ER_LOG_WARNING, NULL,
				   "bare hold %s kept: its connection's "
				   "policy is still not in the kernel", sel);
			continue;
		}
		engine_log(e, ER_LOG_INFO, NULL, "bare shunt %s expired", sel);
		/* Dropping the claim restores what it covered (a group's
		 * trap) with one replace, or deletes the policy. */
		claim_drop(e, ER_DIR_OUT, &ex.sel[i], ER_OWNER_BARE);
	}
	free(ex.sel);
	RB_FOREACH(c, conn_timer_tree, &e->timers) {
		uint32_t *n;

		if (c->timer > e->now)
			break;
		n = er_grow(ids, &cap, nids, sizeof(*n), 16);
		if (n == NULL)
			break;
		ids = n;
		ids[nids++] = c->id;
	}
	if (nids > 1)
		qsort(ids, nids, sizeof(*ids), id_order);
	for (size_t i = 0; i < nids; i++) {
		/* An earlier one's transition may have deleted this one. */
		c = engine_conn_by_id(e, ids[i]);
		if (c == NULL)
			continue;
		if (c->rt == ER_RT_FAILURE && c->failure_expires != 0 &&
		    c->failure_expires <= e->now) {
			conn_transition(e, c, CEV_SHUNT_EXPIRE, NULL, NULL);
		}
		if (c->rt == ER_RT_PROSPECTIVE && c->revive_at != 0 &&
		    c->revive_at <= e->now) {
			c->revive_at = 0;
			conn_timer_sync(e, c);
			engine_log(e, ER_LOG_INFO, c, "reviving (auto=start)");
			conn_transition(e, c, CEV_UP, NULL, NULL);
		}
	}
	free(ids);
	engine_settle(e);
}

/* The earliest expiry of ours, or 0: er_engine_next_deadline() without
 * the retry of failed kernel calls, which expires nothing. */
static uint64_t
next_expiry(const struct er_engine *e)
{
	uint64_t best = er_shunt_next_expiry(e->shunts);
	const struct conn *c =
		RB_MIN(conn_timer_tree, (struct conn_timer_tree *)(uintptr_t)&e->timers);

	/* The timer tree holds what tick_due() would take, and nothing
	 * else. */
	if (c != NULL && (best == 0 || c->timer < best))
		best = c->timer;
	return best;
}

void
er_engine_tick(struct er_engine *e, uint64_t now)
{
	uint64_t next, last = 0;

	claim_retry_dirty(e);
	/* After the policies: an SA waits for the policy that named it. */
	doomed_retry(e);
	/* However far the clock jumped (a suspend, a manual clock), every
	 * expiry on the way fires once, in time order, on its own time: what
	 * it starts -- a revival, an instance's bare shunt -- is timed from
	 * then, as if every second had been ticked. */
	while ((next = next_expiry(e)) != 0 && next <= now && next != last) {
		last = next;
		if (next > e->now)
			e->now = next;
		tick_due(e);
	}
	if (now > e->now)
		e->now = now;
	/* Anything still due (the loop above never spins on it). */
	tick_due(e);
}

uint64_t
er_engine_now(const struct er_engine *e)
{
	return e->now;
}

uint64_t
er_engine_next_deadline(const struct er_engine *e)
{
	uint64_t best = next_expiry(e);

	/* Failed kernel calls are retried on the next tick. */
	if (er_engine_retries(e) > 0 && (best == 0 || e->now + 1 < best))
		best = e->now + 1;
	return best;
}

void
er_engine_shutdown(struct er_engine *e)
{
	struct conn *c;
	const struct er_shunt *s;

	/* From now on a trapped packet starts nothing. */
	e->stopped = true;
	/* The deletes go out in bulk; anything else flushes them first. */
	kbatch_begin(e);
	/* Groups' traps first, then instances, so that packets their holds
	 * retained are not trapped again on the way out. */
	RB_FOREACH(c, conn_id_tree, &e->conns_by_id) {
		if (c->cfg.group)
			conn_claims_drop(e, c);
	}
	while ((c = RB_MAX(conn_id_tree, &e->conns_by_id)) != NULL)
		conn_transition(e, c, CEV_DELETE, NULL, NULL);
	while ((s = er_shunt_first(e->shunts)) != NULL) {
		struct er_selector sel = s->sel;

		bare_remove(e, &sel);
	}
	engine_settle(e);
	kbatch_end(e);
}

/* ---- queries ----------------------------------------------------- */

static void
fill_info(const struct conn *c, struct er_conn_info *info)
{
	memset(info, 0, sizeof(*info));
	info->id = c->id;
	info->name = c->cfg.name;
	info->config = &c->cfg;
	info->routing = c->rt;
	info->eroute_owner = c->eroute_owner;
	info->negotiating = c->neg != NULL;
	info->tries = c->tries;
	info->instance_of = c->group != NULL ? c->group->cfg.name : NULL;
	info->reqid = c->reqids[0];
	info->failure_expires = c->failure_expires;
	info->revive_at = c->revive_at;
	for (struct sa_group *g = TAILQ_FIRST(&c->groups); g != NULL;
	     g = TAILQ_NEXT(g, link))
		info->ngroups++;
}

int
er_engine_conn_info(const struct er_engine *e, const char *name,
		    struct er_conn_info *info)
{
	struct conn *c = conn_by_name(e, name);

	if (c == NULL)
		return -ENOENT;
	fill_info(c, info);
	return 0;
}

int
er_engine_conn_foreach(const struct er_engine *e, er_engine_conn_cb *cb,
		       void *ctx)
{
	struct conn *c;
	struct er_conn_info info;
	int ret;

	RB_FOREACH(c, conn_id_tree,
		   (struct conn_id_tree *)(uintptr_t)&e->conns_by_id) {
		fill_info(c, &info);
		ret = cb(ctx, &info);
		if (ret != 0)
			return ret;
	}
	return 0;
}

const char *
er_engine_conn_name(const struct er_engine *e, uint32_t id)
{
	struct conn *c = engine_conn_by_id(e, id);

	return c != NULL ? c->cfg.name : NULL;
}

const struct er_spd *
er_engine_spd(const struct er_engine *e)
{
	return e->view;
}

const struct er_sad *
er_engine_sad(const struct er_engine *e)
{
	return e->sad;
}

const struct er_shunt_table *
er_engine_shunts(const struct er_engine *e)
{
	return e->shunts;
}

int
er_engine_trace(const struct er_engine *e, enum er_dir dir,
		const struct er_packet *pkt, er_engine_trace_cb *cb, void *ctx)
{
	const struct er_policy *p;
	bool first = true;
	int ret;

	for (p = er_spd_first(e->view, dir); p != NULL;
	     p = er_spd_next(e->view, p)) {
		if (!er_selector_matches(&p->sel, pkt))
			continue;
		ret = cb(ctx, p, first);
		if (ret != 0)
			return ret;
		first = false;
	}
	return 0;
}

/* ---- invariants --------------------------------------------------- */

#define FAIL(...)                                                             \
	do {                                                                  \
		snprintf(buf, len, __VA_ARGS__);                              \
		return -1;                                                    \
	} while (0)

/* What a connection in @st must have claimed outbound, or -1 for none. */
static int
expected_out_action(const struct conn *c, enum er_routing st)
{
	switch (st) {
	case ER_RT_UNROUTED:
		return -1;
	case ER_RT_UNROUTED_HOLD:
	case ER_RT_ROUTED_HOLD:
		return c->cfg.negshunt == ER_NEGSHUNT_PASS ? ER_ACTION_PASS
							   : ER_ACTION_HOLD;
	case ER_RT_PROSPECTIVE:
		return ER_ACTION_TRAP;
	case ER_RT_FAILURE:
		return c->kernel_failed ? ER_ACTION_HOLD
					: failure_action(c->cfg.failshunt);
	case ER_RT_TUNNEL:
		return ER_ACTION_IPSEC;
	case ER_RT_NEVER_NEGOTIATE:
		return never_action(c->cfg.type);
	case ER_RT_ECLIPSED:
		return expected_out_action(c, conn_resume_state(c));
	}
	return -1;
}

static int
check_claims(const struct er_engine *e, char *buf, size_t len)
{
	struct claim_key *k;
	size_t nkeys[ER_DIR_COUNT] = {0};

	RB_FOREACH(k, claim_tree, (struct claim_tree *)(uintptr_t)&e->claims) {
		const struct er_policy *inst =
			er_spd_get(e->view, k->dir, &k->sel);
		struct claim *best = TAILQ_FIRST(&k->claims), *cl, *prev = NULL;
		char what[ER_SELECTOR_STRLEN + 16];

/* The key is named only when something is wrong with it: formatting
 * every key's selector would cost more than checking it. */
#define KFAIL(...)                                                            \
	do {                                                                  \
		er_policy_describe(k->dir, &k->sel, what, sizeof(what));      \
		FAIL(__VA_ARGS__);                                            \
	} while (0)
		TAILQ_FOREACH(cl, &k->claims, link) {
			if (cl->key != k)
				KFAIL("%s: claim linked to another key", what);
			if (prev != NULL &&
			    (prev->pol.priority > cl->pol.priority ||
			     (prev->pol.priority == cl->pol.priority &&
			      prev->owner >= cl->owner)))
				KFAIL("%s: claimants out of order", what);
			if (cl->owner != ER_OWNER_BARE &&
			    engine_conn_by_id(e, cl->owner) == NULL)
				KFAIL("%s: claim of deleted connection %u",
				     what, cl->owner);
			if (cl->owner == ER_OWNER_BARE &&
			    er_shunt_get(e->shunts, &k->sel) == NULL)
				KFAIL("%s: bare claim without a bare shunt",
				     what);
			prev = cl;
		}
		if (inst != NULL)
			nkeys[k->dir]++;
		if (k->blocked && inst == NULL &&
		    !foreign_has(e, k->dir, &k->sel))
			KFAIL("%s: blocked by no foreign policy", what);
		if (k->dirty || (k->blocked && inst == NULL))
			continue;
		if (best == NULL)
			KFAIL("%s: key with no claimant left behind", what);
		if (inst == NULL)
			KFAIL("%s: claimed but not installed", what);
		{
			struct er_policy want = best->pol;

			want.owner = best->owner;
			if (!policy_same(inst, &want))
				KFAIL("%s: installed %s (owner %u), best "
				     "claimant wants %s (owner %u)", what,
				     er_action_name(inst->action), inst->owner,
				     er_action_name(want.action), want.owner);
		}
	}
	for (int d = 0; d < ER_DIR_COUNT; d++) {
		if (er_spd_count(e->view, (enum er_dir)d) != nkeys[d])
			FAIL("view has %zu %s policies, %zu claimed",
			     er_spd_count(e->view, (enum er_dir)d),
			     er_dir_name((enum er_dir)d), nkeys[d]);
	}
	return 0;
#undef KFAIL
}

static int
check_conn(const struct er_engine *e, const struct conn *c, char *buf,
	   size_t len)
{
	const char *n = c->cfg.name;
	struct sa_group *g, *prev = NULL;
	int want = expected_out_action(c, c->rt);
	bool claims, beaten;

	/* Reference 001: an eroute owner exists only in the tunnel state. */
	if ((c->eroute_owner != 0) != (c->rt == ER_RT_TUNNEL))
		FAIL("%s: eroute owner #%llu while %s", n,
		     (unsigned long long)c->eroute_owner,
		     er_routing_name(c->rt));
	if (c->rt == ER_RT_TUNNEL) {
		g = TAILQ_LAST(&c->groups, sa_group_list);
		if (g == NULL || g->serial != c->eroute_owner)
			FAIL("%s: eroute owner is not the newest SA group", n);
	}
	TAILQ_FOREACH(g, &c->groups, link) {
		if (g->c != c || group_by_serial(e, g->serial) != g)
			FAIL("%s: SA group #%llu misfiled", n,
			     (unsigned long long)g->serial);
		if (prev != NULL && prev->serial >= g->serial)
			FAIL("%s: SA groups out of order", n);
		if (er_sad_get(e->sad, &g->in) == NULL ||
		    er_sad_get(e->sad, &g->out) == NULL)
			FAIL("%s: SA group #%llu lost an SA", n,
			     (unsigned long long)g->serial);
		prev = g;
	}
	if (!TAILQ_EMPTY(&c->groups) && c->rt != ER_RT_TUNNEL &&
	    c->rt != ER_RT_ECLIPSED && c->rt != ER_RT_ROUTED_HOLD)
		FAIL("%s: has SA groups while %s", n, er_routing_name(c->rt));
	if ((c->rt == ER_RT_ROUTED_HOLD || c->rt == ER_RT_UNROUTED_HOLD) &&
	    c->neg == NULL)
		FAIL("%s: %s without a negotiation", n,
		     er_routing_name(c->rt));
	if (c->neg != NULL && (c->neg->c != c || c->rt == ER_RT_UNROUTED ||
			       c->rt == ER_RT_PROSPECTIVE ||
			       c->rt == ER_RT_FAILURE ||
			       c->rt == ER_RT_ECLIPSED ||
			       c->rt == ER_RT_NEVER_NEGOTIATE))
		FAIL("%s: negotiating while %s", n, er_routing_name(c->rt));
	if (c->rt == ER_RT_FAILURE && c->failure_expires == 0)
		FAIL("%s: failure without an expiry", n);
	if (c->timer != conn_timer_want(c))
		FAIL("%s: timer at %llu, not %llu", n,
		     (unsigned long long)c->timer,
		     (unsigned long long)conn_timer_want(c));
	if (er_conn_is_never_negotiate(&c->cfg) &&
	    c->rt != ER_RT_UNROUTED && c->rt != ER_RT_NEVER_NEGOTIATE &&
	    c->rt != ER_RT_ECLIPSED)
		FAIL("%s: %s connection in %s", n,
		     er_conn_type_name(c->cfg.type), er_routing_name(c->rt));
	if (c->group != NULL && c->rt == ER_RT_UNROUTED)
		FAIL("%s: unrouted instance left behind", n);
	for (size_t i = 0; i < c->cfg.nremote; i++) {
		struct er_selector sel;
		struct claim *cl;

		er_conn_out_selector(&c->cfg, &c->remote_clients[i], &sel);
		cl = claim_find(e, ER_DIR_OUT, &sel, c->id);
		if (want < 0 && cl != NULL)
			FAIL("%s: unrouted but claims %s", n,
			     er_action_name(cl->pol.action));
		if (want >= 0 && cl == NULL)
			FAIL("%s: %s but claims nothing", n,
			     er_routing_name(c->rt));
		if (cl != NULL && (int)cl->pol.action != want)
			FAIL("%s: %s but claims %s", n, er_routing_name(c->rt),
			     er_action_name(cl->pol.action));
		if (cl != NULL && cl->pol.reqid != c->reqids[i])
			FAIL("%s: claim carries reqid %u, not %u", n,
			     cl->pol.reqid, c->reqids[i]);
		if (c->rt == ER_RT_TUNNEL) {
			g = group_by_serial(e, c->eroute_owner);
			if (cl->pol.tmpl[0].spi != g->out.spi)
				FAIL("%s: eroute not to its newest SA group",
				     n);
		}
	}
	/* Refined reference-001 invariant: of the claimants of one
	 * selector only the best is installed, and every other routed one
	 * is eclipsed. */
	if (conn_is_routed_state(c->rt)) {
		beaten = conn_beaten(e, c, &claims);
		if (claims && beaten != (c->rt == ER_RT_ECLIPSED))
			FAIL("%s: %s but %s", n, er_routing_name(c->rt),
			     beaten ? "a better claimant holds its selector"
				    : "it holds its selector");
	}
	return 0;
}

int
er_engine_check(const struct er_engine *e, char *buf, size_t len)
{
	struct conn *c, *d;
	const struct er_shunt *s;
	struct negotiation *neg;
	int ret;

	ret = check_claims(e, buf, len);
	if (ret < 0)
		return ret;
	RB_FOREACH(c, conn_id_tree,
		   (struct conn_id_tree *)(uintptr_t)&e->conns_by_id) {
		ret = check_conn(e, c, buf, len);
		if (ret < 0)
			return ret;
	}
	/* Reference 001 route sharing: connections routed to the same
	 * remote client agree on the route (here: the local address); the
	 * route index holds exactly the routed ones. */
	RB_FOREACH(c, conn_id_tree,
		   (struct conn_id_tree *)(uintptr_t)&e->conns_by_id) {
		bool routed = route_shares(c) && conn_is_routed_state(c->rt);

		if (routed != (c->route != NULL))
			FAIL("%s: %s but %s the route index", c->cfg.name,
			     er_routing_name(c->rt),
			     c->route != NULL ? "on" : "not on");
		if (c->route != NULL &&
		    !er_prefix_equal(&c->route->client, &c->remote_clients[0]))
			FAIL("%s: on another client's route", c->cfg.name);
		if (!routed)
			continue;
		d = route_sharer(e, c);
		if (d != NULL && !er_addr_equal(&d->cfg.local, &c->cfg.local))
			FAIL("%s and %s share a route but not an interface",
			     c->cfg.name, d->cfg.name);
	}
	/* Every bare shunt is claimed; no acquire hold outlives its input;
	 * at most one instance per peer is by construction (named). */
	for (s = er_shunt_first(e->shunts); s != NULL;
	     s = er_shunt_next(e->shunts, s)) {
		char what[ER_SELECTOR_STRLEN];
		bool claimed = claim_find(e, ER_DIR_OUT, &s->sel,
					  ER_OWNER_BARE) != NULL;

		if (!claimed || (s->action == ER_ACTION_HOLD && s->expires == 0))
			er_selector_format(&s->sel, what, sizeof(what));
		if (!claimed)
			FAIL("bare shunt %s has no claim", what);
		if (s->action == ER_ACTION_HOLD && s->expires == 0)
			FAIL("bare hold %s leaked (%s)", what, s->origin);
	}
	TAILQ_FOREACH(neg, &e->negs, link) {
		if (neg->c->neg != neg ||
		    negotiation_by_id(e, neg->id) != neg)
			FAIL("%s: stray negotiation %llu", neg->c->cfg.name,
			     (unsigned long long)neg->id);
	}
	return 0;
}

/* ---- lost acquires and idle shunts -------------------------------- */

struct rescan_ctx {
	struct er_engine *e;
	int fed;
	struct er_kernel_event *evs;
	size_t n, cap;
	uint64_t patience;
};

static int
collect_acquire(void *ctx, const struct er_kernel_event *ev)
{
	struct rescan_ctx *r = ctx;
	struct er_kernel_event *n;

	if (ev->type != ER_KEV_ACQUIRE)
		return 0;
	n = er_grow(r->evs, &r->cap, r->n, sizeof(*n), 64);
	if (n == NULL)
		return -ENOMEM;
	r->evs = n;
	r->evs[r->n++] = *ev;
	return 0;
}

/* A bare pass shunt's last use as the kernel counts it. */
static int
idle_pass(void *ctx, const struct er_policy *pol)
{
	struct rescan_ctx *r = ctx;
	struct er_engine *e = r->e;
	const struct er_shunt *s;
	uint64_t last;

	if (pol->dir != ER_DIR_OUT || pol->action != ER_ACTION_PASS)
		return 0;
	s = er_shunt_get(e->shunts, &pol->sel);
	if (s == NULL || s->action != ER_ACTION_PASS)
		return 0;
	last = pol->last_used > s->created ? pol->last_used : s->created;
	if (e->now < last + r->patience)
		return 0;
	return collect_acquire(r, &(struct er_kernel_event){
					  .type = ER_KEV_ACQUIRE,
					  .sel = pol->sel});
}

int
er_engine_rescan(struct er_engine *e, uint64_t patience, struct er_err *err)
{
	struct rescan_ctx r = {.e = e, .patience = patience};
	int ret;

	if (e->stopped)
		return 0;
	ret = er_kernel_acquire_dump(&e->cfg.kernel, collect_acquire, &r, err);
	if (ret < 0 && ret != -EOPNOTSUPP) {
		free(r.evs);
		return ret;
	}
	/* Collected first, fed after: the dump must not see the changes. */
	for (size_t i = 0; i < r.n; i++) {
		if (er_engine_kernel_event(e, &r.evs[i], NULL) == 0)
			r.fed++;
	}
	if (r.n > 0)
		engine_log(e, ER_LOG_INFO, NULL,
			   "rescan: %zu acquires found in the kernel", r.n);
	r.n = 0;
	/* Reference 001's SHUNT_PATIENCE: an unused bare pass shunt goes
	 * before its lifetime ends. */
	if (patience != 0 && er_shunt_count(e->shunts) > 0 &&
	    er_kernel_policy_dump(&e->cfg.kernel, idle_pass, &r, NULL) == 0) {
		for (size_t i = 0; i < r.n; i++)
			bare_remove(e, &r.evs[i].sel);
		if (r.n > 0)
			engine_log(e, ER_LOG_INFO, NULL,
				   "rescan: %zu idle bare pass shunts removed",
				   r.n);
	}
	free(r.evs);
	engine_settle(e);
	return r.fed;
}
