// SPDX-License-Identifier: MIT
/* Scenario harness: see harness.h. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define H_HARNESS_INTERNAL
#include "harness.h"

uint32_t h_fault_every;

/* A failed invariant, naming the fault rate when there is one. */
#define H_FAIL(...)                                                           \
	do {                                                                  \
		if (h_fault_every != 0)                                       \
			print_error("[failing every %u kernel operations] ",    \
				    h_fault_every);                           \
		fail_msg(__VA_ARGS__);                                        \
	} while (0)

/* Fault mode's bookkeeping: the live harnesses (converged and freed when
 * a script stops), where a stopped script jumps to, and the counts. */
static struct h *live;
static jmp_buf stop_jmp;
static bool stop_armed;
static struct {
	uint64_t ops, injected;
	unsigned relaxed, stopped;
} sweep;

/* A scripted outcome that did not come out (fault mode only). */
static void
relaxed(const char *what, const char *file, int line)
{
	sweep.relaxed++;
	if (getenv("EROUTE_TEST_VERBOSE") != NULL)
		fprintf(stderr, "  [fail every %u] %s:%d: relaxed: %s\n",
			h_fault_every, file, line, what);
}

void
h_assert_(bool ok, bool can_go_on, const char *what, const char *file,
	  int line)
{
	if (ok)
		return;
	if (h_fault_every == 0)
		_assert_true(0, what, file, line);
	relaxed(what, file, line);
	if (!can_go_on && stop_armed) {
		sweep.stopped++;
		longjmp(stop_jmp, 1);
	}
}

void
h_assert_int_(uintmax_t a, uintmax_t b, bool equal, const char *what,
	      const char *file, int line)
{
	if ((a == b) == equal)
		return;
	if (h_fault_every == 0) {
		if (equal)
			_assert_int_equal(a, b, file, line);
		_assert_int_not_equal(a, b, file, line);
	}
	relaxed(what, file, line);
}

void
h_assert_str_(const char *a, const char *b, const char *file, int line)
{
	if (a != NULL && b != NULL && strcmp(a, b) == 0)
		return;
	if (h_fault_every == 0)
		_assert_string_equal(a, b, file, line);
	relaxed("strings differ", file, line);
}

static void
on_event(void *ctx, const struct er_event *ev)
{
	struct h *h = ctx;
	struct h_event *r;

	if (ev->type == ER_EV_LOG && ev->level == ER_LOG_WARNING) {
		h->nwarnings++;
		snprintf(h->warning, sizeof(h->warning), "%s%s%s",
			 ev->conn ? ev->conn : "", ev->conn ? ": " : "",
			 ev->text);
	}
	if (h->verbose && ev->type == ER_EV_LOG)
		fprintf(stderr, "  [%llu] %s%s%s\n",
			(unsigned long long)ev->now, ev->conn ? ev->conn : "",
			ev->conn ? ": " : "", ev->text);
	if (ev->type == ER_EV_LOG) {
		size_t i = h->nlogs++ % H_LOGS;

		snprintf(h->logs[i].conn, sizeof(h->logs[i].conn), "%s",
			 ev->conn != NULL ? ev->conn : "");
		snprintf(h->logs[i].text, sizeof(h->logs[i].text), "%s",
			 ev->text);
	}
	if (ev->type == ER_EV_LOG || h->nev == H_MAX_EVENTS)
		return;
	if (h->nev == h->ev_cap) {
		size_t cap = h->ev_cap * 2 < H_MAX_EVENTS ? h->ev_cap * 2
							  : H_MAX_EVENTS;
		struct h_event *n = realloc(h->ev, cap * sizeof(*n));

		if (n == NULL)
			return;
		h->ev = n;
		h->ev_cap = cap;
	}
	r = &h->ev[h->nev++];
	memset(r, 0, sizeof(*r));
	r->type = ev->type;
	r->now = ev->now;
	if (ev->conn != NULL)
		snprintf(r->conn, sizeof(r->conn), "%s", ev->conn);
	r->verb = ev->verb;
	r->old_state = ev->old_state;
	r->new_state = ev->new_state;
	r->negotiation = ev->negotiation;
	r->attempt = ev->attempt;
	r->spi_in = ev->nspi ? ev->spi_in[0] : 0;
	r->rekey = ev->rekey;
}

static void
new_engine(struct h *h)
{
	struct er_engine_config ec = {0};
	struct er_err err = {0};

	ec.kernel = er_sim_kernel(h->sim);
	ec.event_cb = on_event;
	ec.event_ctx = h;
	ec.seed = 2 + h->restarts;
	ec.now = h->now;
	ec.shunt_lifetime = h->shunt_lifetime;
	if (h->has_engine_local) {
		ec.local_addrs = &h->engine_local;
		ec.nlocal_addrs = 1;
	}
	h->e = er_engine_new(&ec, &err);
	if (h->e == NULL)
		H_FAIL("engine: %s", err.msg);
}

void
h_crash_and_restart(struct h *h)
{
	struct er_kernel k = er_sim_kernel(h->sim);
	struct er_kernel_event kev;
	struct er_err err = {0};

	er_engine_free(h->e);
	/* Events the dead daemon never read are lost with it. */
	while (er_kernel_poll_event(&k, &kev) == 1)
		;
	h->restarts++;
	free(h->covered);
	h->covered = NULL;
	h->ncovered = 0;
	new_engine(h);
	er_sim_oplog_clear(h->sim);
	if (er_engine_adopt_begin(h->e, NULL, NULL, &err) < 0)
		H_FAIL("adopt begin: %s", err.msg);
	h->adopting = true;
}

struct er_adopt_stats
h_adopt_finish(struct h *h)
{
	struct er_adopt_stats st;
	struct er_err err = {0};

	h->adopting = false;
	if (er_engine_adopt_finish(h->e, &st, &err) < 0) {
		if (h_fault_every == 0)
			H_FAIL("adopt finish: %s", err.msg);
		relaxed(err.msg, __FILE__, __LINE__);
	}
	h_step(h, "adoption");
	return st;
}

struct h *
h_new(const struct h_opts *o)
{
	static const struct h_opts none;
	struct er_sim_config sc = {0};
	struct h *h = calloc(1, sizeof(*h));

	if (o == NULL)
		o = &none;
	assert_non_null(h);
	h->ev_cap = 1024;
	h->ev = calloc(h->ev_cap, sizeof(*h->ev));
	assert_non_null(h->ev);
	h->now = 1000;
	h->next_spi = 0xc0de0000;
	h->verbose = getenv("EROUTE_TEST_VERBOSE") != NULL;
	h->check_every_step = true;
	sc.seed = 1;
	sc.now = h->now;
	sc.default_drop = o->default_drop;
	sc.fail_every = o->fail_every ? o->fail_every : h_fault_every;
	/* Fault mode makes thousands of sims: a smaller event queue (still
	 * far beyond what one step leaves in it) keeps that cheap. */
	if (h_fault_every != 0)
		sc.max_events = 8192;
	h->sim = er_sim_new(&sc);
	assert_non_null(h->sim);
	if (o->local_addr != NULL) {
		struct er_addr a;

		assert_int_equal(er_addr_parse(&a, o->local_addr, NULL), 0);
		er_sim_add_local(h->sim, &a);
	}
	h->shunt_lifetime = o->shunt_lifetime;
	if (o->engine_local_addr != NULL) {
		assert_int_equal(er_addr_parse(&h->engine_local,
					       o->engine_local_addr, NULL),
				 0);
		h->has_engine_local = true;
	}
	new_engine(h);
	h->next_live = live;
	live = h;
	return h;
}

void
h_free(struct h *h)
{
	struct er_sim_stats st;

	if (h_fault_every != 0)
		h_converge(h, "end of script");
	er_sim_stats(h->sim, &st);
	sweep.ops += st.ops;
	sweep.injected += st.ops_failed;
	for (struct h **p = &live; *p != NULL; p = &(*p)->next_live) {
		if (*p == h) {
			*p = h->next_live;
			break;
		}
	}
	free(h->covered);
	er_engine_free(h->e);
	er_sim_free(h->sim);
	free(h->ev);
	free(h);
}

/* Engine view == sim SPD, policy by policy. */
static void
compare_views(struct h *h, const char *what)
{
	const struct er_spd *view = er_engine_spd(h->e);
	const struct er_spd *kern = er_sim_spd(h->sim);
	char s[ER_SELECTOR_STRLEN + 16];

	for (int d = 0; d < ER_DIR_COUNT; d++) {
		for (const struct er_policy *p = er_spd_first(view, (enum er_dir)d);
		     p != NULL; p = er_spd_next(view, p)) {
			const struct er_policy *k =
				er_spd_get(kern, p->dir, &p->sel);

			er_policy_describe(p->dir, &p->sel, s, sizeof(s));
			/* A script's hand-made ACQUIRE comes without the
			 * kernel's hold the engine takes it to stand for;
			 * with the engine's replace of it failed, the view
			 * has it alone until the retry (h_converge()). */
			if (k == NULL && h_fault_every != 0 &&
			    p->owner == ER_OWNER_BARE &&
			    p->action == ER_ACTION_HOLD)
				continue;
			if (k == NULL)
				H_FAIL("after %s: %s in the engine's view, "
					 "not in the kernel", what, s);
			/* Another process overwrote it and the engine's
			 * replace failed: a retry is due (h_converge()). */
			if (h_fault_every != 0 &&
			    k->owner == ER_OWNER_FOREIGN)
				continue;
			if (k->action != p->action ||
			    k->priority != p->priority ||
			    k->ntmpl != p->ntmpl ||
			    (k->ntmpl && k->tmpl[0].spi != p->tmpl[0].spi))
				H_FAIL("after %s: %s differs: kernel %s, "
					 "view %s", what, s,
					 er_action_name(k->action),
					 er_action_name(p->action));
		}
		for (const struct er_policy *k = er_spd_first(kern, (enum er_dir)d);
		     k != NULL; k = er_spd_next(kern, k)) {
			/* Another daemon's policies are not the engine's. */
			if (k->owner != ER_OWNER_FOREIGN &&
			    er_spd_get(view, k->dir, &k->sel) == NULL) {
				er_policy_describe(k->dir, &k->sel, s,
						   sizeof(s));
				H_FAIL("after %s: %s (%s) in the kernel, "
					 "unknown to the engine", what, s,
					 er_action_name(k->action));
			}
		}
	}
}

/* Selectors whose policy the kernel itself (a lifetime) or another
 * process removed in this step: not the engine's doing. */
#define H_GONE_MAX 64
static struct er_selector gone[H_GONE_MAX];
static size_t ngone;
static bool gone_all;

static void
note_gone(const struct er_kernel_event *kev)
{
	if (kev->type == ER_KEV_LOST) {
		gone_all = true;
	} else if ((kev->type == ER_KEV_POLICY_EXPIRE ||
		    (kev->type == ER_KEV_POLICY_CHANGED && kev->deleted)) &&
		   kev->dir == ER_DIR_OUT) {
		if (ngone == H_GONE_MAX)
			gone_all = true;
		else
			gone[ngone++] = kev->sel;
	}
}

/* Out selectors whose policy a kernel call deleted in this step (the
 * engine's, or the kernel's own expiry, which was_gone() knows); another
 * process's deletes are not in the operation log. */
#define H_DELETED_MAX 256
static struct er_selector deleted[H_DELETED_MAX];
static size_t ndeleted;
static bool deleted_all;

static void
note_deleted(struct h *h)
{
	const struct er_sim_oprec *recs;
	size_t n = er_sim_oplog(h->sim, &recs);

	for (size_t i = 0; i < n; i++) {
		if (recs[i].op != ER_SIM_OP_DEL || recs[i].dir != ER_DIR_OUT)
			continue;
		if (ndeleted == H_DELETED_MAX)
			deleted_all = true;
		else
			deleted[ndeleted++] = recs[i].sel;
	}
}

static bool
was_deleted(const struct er_selector *sel)
{
	if (deleted_all)
		return true;
	for (size_t i = 0; i < ndeleted; i++)
		if (er_selector_equal(&deleted[i], sel))
			return true;
	return false;
}

static bool
was_gone(const struct er_selector *sel)
{
	if (gone_all)
		return true;
	for (size_t i = 0; i < ngone; i++)
		if (er_selector_equal(&gone[i], sel))
			return true;
	return false;
}

struct cover_ctx {
	struct h *h;
	const char *what;
};

/*
 * A connection in any state but unrouted has the kernel policy for each of
 * its out selectors (trap, hold, ipsec, a shunt, or a better claimant's):
 * once it had one it never loses it while it stays routed, unless the
 * kernel or another process removed it; one it never got (the add failed)
 * has a retry due within a second.
 */
static int
cover_conn(void *ctx, const struct er_conn_info *info)
{
	struct cover_ctx *cx = ctx;
	struct h *h = cx->h;
	const struct er_conn_config *cc = info->config;
	uint64_t *bits, deadline;
	char s[ER_SELECTOR_STRLEN];

	if (info->id >= h->ncovered) {
		size_t n = info->id + 64;
		uint64_t *nc = realloc(h->covered, n * sizeof(*nc));

		assert_non_null(nc);
		memset(nc + h->ncovered, 0,
		       (n - h->ncovered) * sizeof(*nc));
		h->covered = nc;
		h->ncovered = n;
	}
	bits = &h->covered[info->id];
	if (info->routing == ER_RT_UNROUTED) {
		*bits = 0;
		return 0;
	}
	for (size_t i = 0; i < cc->nremote && i < 64; i++) {
		struct er_selector sel;
		uint64_t bit = (uint64_t)1 << i;

		er_conn_out_selector(cc, &cc->remote_clients[i], &sel);
		if (er_spd_get(er_sim_spd(h->sim), ER_DIR_OUT, &sel) != NULL) {
			*bits |= bit;
			continue;
		}
		er_selector_format(&sel, s, sizeof(s));
		if ((*bits & bit) && was_deleted(&sel) && !was_gone(&sel))
			H_FAIL("after %s: %s (%s) lost the kernel policy for "
			       "%s: its traffic has no policy at all",
			       cx->what, info->name,
			       er_routing_name(info->routing), s);
		*bits &= ~bit;
		if (h_fault_every == 0 && was_deleted(&sel) &&
		    !was_gone(&sel))
			H_FAIL("after %s: %s is %s but the kernel has no "
			       "policy for %s", cx->what, info->name,
			       er_routing_name(info->routing), s);
		deadline = er_engine_next_deadline(h->e);
		if (er_engine_retries(h->e) == 0 || deadline == 0 ||
		    deadline > h->now + 1)
			H_FAIL("after %s: %s (%s) has no kernel policy for %s "
			       "and no retry is due (%zu retries, next "
			       "deadline %llu, now %llu)", cx->what,
			       info->name, er_routing_name(info->routing), s,
			       er_engine_retries(h->e),
			       (unsigned long long)deadline,
			       (unsigned long long)h->now);
	}
	return 0;
}

static void
check_cover(struct h *h, const char *what)
{
	struct cover_ctx cx = {.h = h, .what = what};

	er_engine_conn_foreach(h->e, cover_conn, &cx);
}

void
h_step(struct h *h, const char *what)
{
	struct er_kernel k = er_sim_kernel(h->sim);
	struct er_kernel_event kev;
	char buf[512];

	if (h->adopting) {
		const struct er_sim_oprec *recs;

		if (er_sim_oplog(h->sim, &recs) != 0)
			H_FAIL("after %s: a kernel call while adopting",
				 what);
		return;
	}
	/* Make before break, per engine input: the step's own input, then
	 * each kernel event it caused. */
	if (er_sim_gaps(h->sim, buf, sizeof(buf)) != 0)
		H_FAIL("after %s: %s (a window without protection)", what,
			 buf);
	ngone = ndeleted = 0;
	gone_all = deleted_all = false;
	note_deleted(h);
	er_sim_oplog_clear(h->sim);
	while (er_kernel_poll_event(&k, &kev) == 1) {
		note_gone(&kev);
		er_engine_kernel_event(h->e, &kev, NULL);
		if (er_sim_gaps(h->sim, buf, sizeof(buf)) != 0)
			H_FAIL("after %s, %s event: %s", what,
				 er_kevent_name(kev.type), buf);
		note_deleted(h);
		er_sim_oplog_clear(h->sim);
	}
	if (!h->check_every_step)
		return;
	if (er_engine_check(h->e, buf, sizeof(buf)) != 0)
		H_FAIL("after %s: invariant broken: %s", what, buf);
	compare_views(h, what);
	check_cover(h, what);
}

static void
parse_prefix(struct er_prefix *p, const char *s)
{
	struct er_err err = {0};

	if (er_prefix_parse(p, s, &err) < 0)
		H_FAIL("prefix %s: %s", s, err.msg);
}

void
h_conn(struct er_conn_config *cc, const char *name, const char *left,
       const char *right, const char *leftsubnet, const char *rightsubnet)
{
	static struct er_prefix remotes[1024];
	static size_t nremotes;
	struct er_prefix *r = &remotes[nremotes++ % 1024];

	er_conn_config_init(cc);
	snprintf(cc->name, sizeof(cc->name), "%s", name);
	assert_int_equal(er_addr_parse(&cc->local, left, NULL), 0);
	assert_int_equal(er_addr_parse(&cc->remote, right, NULL), 0);
	if (leftsubnet != NULL)
		parse_prefix(&cc->local_client, leftsubnet);
	else
		er_prefix_host(&cc->local_client, &cc->local);
	if (rightsubnet != NULL)
		parse_prefix(r, rightsubnet);
	else
		er_prefix_host(r, &cc->remote);
	cc->remote_clients = r;
	cc->nremote = 1;
	cc->autostart = ER_AUTO_ADD;
}

void
h_group(struct er_conn_config *cc, const char *name, const char *left,
	const char *prefixes)
{
	static struct er_prefix groups[8][64];
	static size_t ngroups;
	struct er_prefix *g = groups[ngroups++ % 8];
	char buf[1024], *tok, *save;
	size_t n = 0;

	er_conn_config_init(cc);
	snprintf(cc->name, sizeof(cc->name), "%s", name);
	assert_int_equal(er_addr_parse(&cc->local, left, NULL), 0);
	er_prefix_host(&cc->local_client, &cc->local);
	snprintf(buf, sizeof(buf), "%s", prefixes);
	for (tok = strtok_r(buf, " ", &save); tok != NULL && n < 64;
	     tok = strtok_r(NULL, " ", &save))
		parse_prefix(&g[n++], tok);
	cc->remote_clients = g;
	cc->nremote = n;
	cc->group = true;
	cc->opportunistic = true;
	cc->autostart = ER_AUTO_ONDEMAND;
	cc->failshunt = ER_FAILSHUNT_PASS;
	cc->keyingtries = 1;
}

int
h_add(struct h *h, struct er_conn_config *cc)
{
	struct er_err err = {0};
	int ret = er_engine_conn_add(h->e, cc, &err);

	if (ret < 0)
		H_FAIL("add %s: %s", cc->name, err.msg);
	h_step(h, "add");
	return ret;
}

struct er_packet
h_pkt(const char *src, const char *dst, uint8_t proto, uint16_t sport,
      uint16_t dport)
{
	struct er_packet p = {.proto = proto, .sport = sport, .dport = dport};

	assert_int_equal(er_addr_parse(&p.src, src, NULL), 0);
	assert_int_equal(er_addr_parse(&p.dst, dst, NULL), 0);
	return p;
}

struct er_sim_result
h_send(struct h *h, const char *src, const char *dst, uint8_t proto,
       uint16_t sport, uint16_t dport)
{
	struct er_packet p = h_pkt(src, dst, proto, sport, dport);
	struct er_sim_result r;

	assert_int_equal(er_sim_packet_out(h->sim, &p, 100, &r), 0);
	h_step(h, "packet");
	return r;
}

void
h_advance(struct h *h, uint64_t secs)
{
	h->now += secs;
	er_sim_tick(h->sim, h->now);
	h_step(h, "kernel tick");
	er_engine_tick(h->e, h->now);
	h_step(h, "engine tick");
}

int
h_ok(struct h *h, const char *name)
{
	uint64_t id = er_engine_oldest_negotiation(h->e, name);
	struct er_sa_group_spec spec = {0};
	struct er_err err = {0};
	int ret;

	if (id == 0) {
		if (h_fault_every == 0)
			H_FAIL("%s: no negotiation pending", name);
		relaxed("no negotiation pending", __FILE__, __LINE__);
		return -ENOENT;
	}
	spec.spi_out = h->next_spi++;
	ret = er_engine_negotiated(h->e, id, &spec, &err);
	h_step(h, "negotiation ok");
	return ret;
}

int
h_fail(struct h *h, const char *name)
{
	uint64_t id = er_engine_oldest_negotiation(h->e, name);
	int ret;

	if (id == 0) {
		if (h_fault_every == 0)
			H_FAIL("%s: no negotiation pending", name);
		relaxed("no negotiation pending", __FILE__, __LINE__);
		return -ENOENT;
	}
	ret = er_engine_negotiation_failed(h->e, id, "peer is silent", NULL);
	h_step(h, "negotiation failed");
	return ret;
}

int
h_responder(struct h *h, const char *name, const char *peer)
{
	struct er_sa_group_spec spec = {0};
	struct er_addr a;
	struct er_err err = {0};
	int ret;

	spec.spi_out = h->next_spi++;
	if (peer != NULL)
		assert_int_equal(er_addr_parse(&a, peer, NULL), 0);
	ret = er_engine_responder(h->e, name, peer ? &a : NULL, &spec, &err);
	if (ret < 0 && h->verbose)
		fprintf(stderr, "responder: %s\n", err.msg);
	h_step(h, "responder");
	return ret;
}

struct er_conn_info
h_info(struct h *h, const char *name)
{
	struct er_conn_info info;

	if (er_engine_conn_info(h->e, name, &info) != 0) {
		if (h_fault_every == 0)
			H_FAIL("%s: no such connection", name);
		/* Fault mode: a state no scripted outcome expects. */
		relaxed("no such connection", __FILE__, __LINE__);
		memset(&info, 0, sizeof(info));
		info.routing = (enum er_routing)ER_RT_COUNT;
	}
	return info;
}

enum er_routing
h_state(struct h *h, const char *name)
{
	return h_info(h, name).routing;
}

bool
h_exists(struct h *h, const char *name)
{
	struct er_conn_info info;

	return er_engine_conn_info(h->e, name, &info) == 0;
}

size_t
h_count(struct h *h, enum er_event_type type, const char *conn)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nev; i++) {
		if (h->ev[i].type == type &&
		    (conn == NULL || strcmp(h->ev[i].conn, conn) == 0))
			n++;
	}
	return n;
}

size_t
h_count_updown(struct h *h, enum er_updown_verb verb, const char *conn)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nev; i++) {
		if (h->ev[i].type == ER_EV_UPDOWN && h->ev[i].verb == verb &&
		    (conn == NULL || strcmp(h->ev[i].conn, conn) == 0))
			n++;
	}
	return n;
}

void
h_clear_events(struct h *h)
{
	h->nev = 0;
}

bool
h_logged(struct h *h, const char *conn, const char *text)
{
	size_t n = h->nlogs < H_LOGS ? h->nlogs : H_LOGS;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(h->logs[i].conn, conn) == 0 &&
		    strcmp(h->logs[i].text, text) == 0)
			return true;
	}
	return false;
}

const struct er_policy *
h_policy(struct h *h, enum er_dir dir, const char *src, const char *dst)
{
	static struct er_policy none;
	const struct er_policy *p;
	struct er_selector sel;
	struct er_prefix s, d;

	parse_prefix(&s, src);
	parse_prefix(&d, dst);
	assert_int_equal(er_selector_init(&sel, &s, &d, 0, NULL, NULL, NULL), 0);
	p = er_spd_get(er_sim_spd(h->sim), dir, &sel);
	/* Fault mode: scripts read the policy they expect without looking;
	 * none there is an outcome that differs, not a crash. */
	if (p == NULL && h_fault_every != 0) {
		relaxed("no such policy", __FILE__, __LINE__);
		memset(&none, 0, sizeof(none));
		none.action = (enum er_action)ER_ACTION_COUNT;
		return &none;
	}
	return p;
}

size_t
h_policies(struct h *h)
{
	const struct er_spd *k = er_sim_spd(h->sim);

	return er_spd_count(k, ER_DIR_OUT) + er_spd_count(k, ER_DIR_IN) +
	       er_spd_count(k, ER_DIR_FWD);
}

/* Bring "c" (10.1/16 -> 10.2/16, or 2001:db8:1::/48 -> 2001:db8:2::/48)
 * into @want. */
struct h *
h_into_state_af(enum er_routing want, int family)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	bool v6 = family == AF_INET6;
	const char *left = v6 ? "2001:db8::1" : "192.0.2.1";
	const char *right = v6 ? "2001:db8::2" : "198.51.100.1";
	const char *lsub = v6 ? "2001:db8:1::/48" : "10.1.0.0/16";
	const char *rsub = v6 ? "2001:db8:2::/48" : "10.2.0.0/16";

	h_conn(&cc, "c", left, right, lsub, rsub);
	cc.keyingtries = 1;
	cc.failshunt = ER_FAILSHUNT_DROP;
	if (want == ER_RT_NEVER_NEGOTIATE)
		cc.type = ER_CONN_PASSTHROUGH;
	h_add(h, &cc);
	switch (want) {
	case ER_RT_UNROUTED:
	case ER_RT_NEVER_NEGOTIATE:
		break;
	case ER_RT_UNROUTED_HOLD:
		er_engine_up(h->e, "c", NULL);
		break;
	case ER_RT_PROSPECTIVE:
	case ER_RT_ECLIPSED:
		er_engine_route(h->e, "c", NULL);
		break;
	case ER_RT_ROUTED_HOLD:
	case ER_RT_FAILURE:
	case ER_RT_TUNNEL:
		er_engine_route(h->e, "c", NULL);
		er_engine_up(h->e, "c", NULL);
		break;
	}
	if (want == ER_RT_NEVER_NEGOTIATE)
		er_engine_route(h->e, "c", NULL);
	h_step(h, "setup");
	if (want == ER_RT_FAILURE)
		h_fail(h, "c");
	if (want == ER_RT_TUNNEL)
		h_ok(h, "c");
	if (want == ER_RT_ECLIPSED) {
		h_conn(&cc, "better", left, right, lsub, rsub);
		cc.type = ER_CONN_DROP;
		cc.priority = 7;
		cc.autostart = ER_AUTO_ONDEMAND;
		h_add(h, &cc);
	}
	h_assert_int_(h_state(h, "c"), want, true, "h_state(h, \"c\") == want",
		      __FILE__, __LINE__);
	return h;
}

struct h *
h_into_state(enum er_routing want)
{
	return h_into_state_af(want, AF_INET);
}


/* ---- fault mode ---------------------------------------------------- */

/* Every SA the kernel holds is one the engine knows, and every SA of the
 * engine's SA groups is in the kernel: nothing leaked, nothing lost. */
static void
compare_sads(struct h *h, const char *what)
{
	const struct er_sad *kern = er_sim_sad(h->sim);
	const struct er_sad *view = er_engine_sad(h->e);
	char id[64];

	for (const struct er_sa *sa = er_sad_first(kern); sa != NULL;
	     sa = er_sad_next(kern, sa)) {
		if (er_sad_get(view, &sa->id) != NULL)
			continue;
		er_sa_id_format(&sa->id, id, sizeof(id));
		H_FAIL("after %s: SA %s (%s) in the kernel, unknown to the "
		       "engine", what, id, er_sa_state_name(sa->state));
	}
	for (const struct er_sa *sa = er_sad_first(view); sa != NULL;
	     sa = er_sad_next(view, sa)) {
		if (sa->state == ER_SA_LARVAL || sa->state == ER_SA_DEAD ||
		    er_sad_get(kern, &sa->id) != NULL)
			continue;
		er_sa_id_format(&sa->id, id, sizeof(id));
		H_FAIL("after %s: SA %s in the engine's view, not in the "
		       "kernel", what, id);
	}
}

void
h_converge(struct h *h, const char *what)
{
	char buf[512];
	uint64_t deadline;

	if (h->adopting)
		h_adopt_finish(h);
	er_sim_set_fail_every(h->sim, 0);
	h_step(h, what);
	/* What failed is retried when the daemon's timer fires: at the
	 * engine's next deadline, within a second. */
	deadline = er_engine_next_deadline(h->e);
	if (er_engine_retries(h->e) > 0 &&
	    (deadline == 0 || deadline > h->now + 1))
		H_FAIL("after %s: %zu kernel operations to retry but the next "
		       "deadline is %llu (now %llu)", what,
		       er_engine_retries(h->e), (unsigned long long)deadline,
		       (unsigned long long)h->now);
	h_advance(h, 1);
	if (er_engine_retries(h->e) != 0)
		H_FAIL("after %s and a tick without failures: %zu kernel "
		       "operations still to retry", what,
		       er_engine_retries(h->e));
	if (er_engine_check(h->e, buf, sizeof(buf)) != 0)
		H_FAIL("after %s, converged: invariant broken: %s", what, buf);
	/* Strict now: the kernel holds exactly the engine's view. */
	{
		uint32_t every = h_fault_every;

		h_fault_every = 0;
		compare_views(h, what);
		h_fault_every = every;
	}
	compare_sads(h, what);
}

/* The sweep of one test: every fault rate, each from a fresh start. */
static uint32_t sweep_from, sweep_to;

static void
sweep_test(void **state)
{
	const struct CMUnitTest *t = *state;

	memset(&sweep, 0, sizeof(sweep));
	for (volatile uint32_t n = sweep_from; n <= sweep_to; n++) {
		void *st = t->initial_state;

		h_fault_every = n;
		live = NULL;
		if (t->setup_func != NULL)
			assert_int_equal(t->setup_func(&st), 0);
		if (setjmp(stop_jmp) == 0) {
			stop_armed = true;
			t->test_func(&st);
		}
		stop_armed = false;
		/* A stopped script leaves its harnesses: converge them. */
		while (live != NULL)
			h_free(live);
		if (t->teardown_func != NULL)
			t->teardown_func(&st);
	}
	h_fault_every = 0;
	print_message("%s: failing every 1 in %u..%u kernel operations: %llu "
		      "of %llu failed, %u outcomes differed, %u scripts "
		      "stopped early; invariants held\n",
		      t->name, sweep_from, sweep_to,
		      (unsigned long long)sweep.injected,
		      (unsigned long long)sweep.ops, sweep.relaxed,
		      sweep.stopped);
	/* A sweep in which nothing failed tested nothing. */
	if (sweep.injected == 0)
		fail_msg("%s: no kernel operation failed", t->name);
}

int
h_run_tests_(const char *name, const struct CMUnitTest *tests, size_t n)
{
	const char *env = getenv("EROUTE_FAULT_SWEEP");
	struct CMUnitTest *swept;
	unsigned from, to;
	int ret;

	/* One test by name, to chase a failure. */
	if (getenv("EROUTE_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("EROUTE_TEST_FILTER"));
	if (env == NULL || *env == '\0')
		return _cmocka_run_group_tests(name, tests, n, NULL, NULL);
	if (sscanf(env, "%u-%u", &from, &to) != 2 || from == 0 || to < from) {
		fprintf(stderr, "EROUTE_FAULT_SWEEP=%s: want FROM-TO, e.g. "
				"1-20\n", env);
		return 2;
	}
	sweep_from = from;
	sweep_to = to;
	swept = calloc(n, sizeof(*swept));
	if (swept == NULL)
		return 2;
	for (size_t i = 0; i < n; i++) {
		swept[i].name = tests[i].name;
		swept[i].test_func = sweep_test;
		swept[i].initial_state = (void *)(uintptr_t)&tests[i];
	}
	ret = _cmocka_run_group_tests(name, swept, n, NULL, NULL);
	free(swept);
	return ret;
}
