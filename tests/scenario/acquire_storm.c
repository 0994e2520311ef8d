// SPDX-License-Identifier: MIT
/*
 * Acquire storm driver: see acquire_storm.h.
 *
 * Peers are addresses in 10.0.0.0/8 drawn by a bijection of the peer's
 * index (multiplication by an odd number modulo 2^24), so the driver finds
 * a negotiation's peer from its address without a table.  Everything the
 * driver keeps is allocated and touched before the engine exists, so the
 * memory measured after that is the engine's and the simulated kernel's.
 * Every engine input is checked for make-before-break on its own, as the
 * scenario harness does; er_engine_check() and a comparison of the
 * engine's view with the kernel run every check_every packets and at the
 * end of each phase.
 */
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "eroute/engine.h"
#include "eroute/rng.h"
#include "eroute/sim.h"

#include "acquire_storm.h"
#include "segarray.h"

#if defined(__SANITIZE_ADDRESS__)
/* The sanitizer's allocator keeps the count mallinfo2() would. */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#define GROUP "storm"
#define LOCAL_HOST 0xc0000201u		/* 192.0.2.1 */
#define PEER_NET 0x0a000000u		/* 10.0.0.0/8 */
#define PEER_MASK 0x00ffffffu

struct pending {
	size_t due;			/* answer at this packet count */
	uint64_t id;
	uint32_t peer;
};

struct storm {
	const struct storm_config *cfg;
	struct storm_result *res;
	struct er_sim *sim;
	struct er_engine *e;
	struct er_rng rng;
	uint64_t now;
	uint32_t mul, mul_inv;		/* the peer bijection */
	uint8_t *negs;			/* per peer: first negotiations */
	uint32_t *left;			/* per peer: packets still to send */
	uint32_t *active;		/* peers sending now */
	size_t nactive, next_peer;
	struct pending *heap;		/* by due, the soonest first */
	size_t nheap, heap_cap;
	size_t sent;
	size_t live_instances;
	uint32_t next_spi;
	bool failed;
};

void
storm_config_defaults(struct storm_config *c)
{
#define DEF(f, v)                                                             \
	do {                                                                  \
		if (c->f == 0)                                                \
			c->f = (v);                                           \
	} while (0)
	DEF(packets, 1000000);
	DEF(peers, 100000);
	DEF(active, 1024);
	DEF(window, 4096);
	DEF(latency_min, 2000);
	DEF(latency_max, 16000);
	DEF(fail_permille, 200);
	DEF(packets_per_second, 1000);
	DEF(drain_every, 64);
	DEF(check_every, 100000);
	DEF(shunt_lifetime, 900);
	DEF(seed, 1);
#undef DEF
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
rss_peak_kb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (size_t)ru.ru_maxrss;
}

/* malloc's, and liberoute's large segments, which it maps itself (its
 * pools, the SAD's and the classifier's arrays). */
static size_t
heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return __sanitizer_get_current_allocated_bytes() +
	       segarray_mapped_bytes();
#else
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd + segarray_mapped_bytes();
#endif
}

static void
heap_sample(struct storm *s)
{
	size_t h = heap_in_use();

	if (h > s->res->heap_peak)
		s->res->heap_peak = h;
}

static void
fail(struct storm *s, const char *fmt, ...)
{
	va_list ap;

	if (s->failed)
		return;
	s->failed = true;
	va_start(ap, fmt);
	vsnprintf(s->res->error, sizeof(s->res->error), fmt, ap);
	va_end(ap);
}

/* ---- peers ------------------------------------------------------- */

static uint32_t
peer_addr(const struct storm *s, uint32_t peer)
{
	return PEER_NET | (((peer + 1) * s->mul) & PEER_MASK);
}

/* Return: the peer's index, or UINT32_MAX for an address of no peer. */
static uint32_t
peer_index(const struct storm *s, const struct er_addr *a)
{
	uint32_t v, i;

	if (a->family != AF_INET)
		return UINT32_MAX;
	v = er_addr_v4(a);
	if ((v & ~PEER_MASK) != PEER_NET)
		return UINT32_MAX;
	i = ((v & PEER_MASK) * s->mul_inv) & PEER_MASK;
	if (i == 0 || i - 1 >= s->cfg->peers)
		return UINT32_MAX;
	return i - 1;
}

/* ---- the negotiator's queue: a binary heap by due time ---------- */

static bool
heap_less(const struct pending *a, const struct pending *b)
{
	return a->due < b->due || (a->due == b->due && a->id < b->id);
}

static void
heap_push(struct storm *s, const struct pending *p)
{
	size_t i;

	if (s->nheap == s->heap_cap) {
		fail(s, "more than %zu negotiations pending", s->heap_cap);
		return;
	}
	i = s->nheap++;
	while (i > 0 && heap_less(p, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = *p;
	if (s->nheap > s->res->pending_max)
		s->res->pending_max = s->nheap;
}

static struct pending
heap_pop(struct storm *s)
{
	struct pending top = s->heap[0], last = s->heap[--s->nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && heap_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!heap_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap > 0)
		s->heap[i] = last;
	return top;
}

/* ---- engine events ----------------------------------------------- */

static void
on_event(void *ctx, const struct er_event *ev)
{
	struct storm *s = ctx;
	struct storm_result *r = s->res;
	struct pending p;

	switch (ev->type) {
	case ER_EV_LOG:
		if (ev->level <= ER_LOG_WARNING) {
			if (r->warnings++ == 0 && !s->failed)
				fail(s, "the engine warned: %s%s%s",
				     ev->conn ? ev->conn : "",
				     ev->conn ? ": " : "", ev->text);
		}
		break;
	case ER_EV_NEGOTIATE:
		p.peer = peer_index(s, &ev->remote);
		if (p.peer == UINT32_MAX) {
			fail(s, "%s: a negotiation with no peer of the storm",
			     ev->conn ? ev->conn : "?");
			break;
		}
		if (ev->rekey)
			r->rekeys++;
		else {
			r->negotiations++;
			if (s->negs[p.peer] < UINT8_MAX)
				s->negs[p.peer]++;
		}
		p.id = ev->negotiation;
		p.due = s->sent + (size_t)er_rng_range(&s->rng,
						      s->cfg->latency_min,
						      s->cfg->latency_max);
		heap_push(s, &p);
		break;
	case ER_EV_NEGOTIATE_CANCEL:
		r->cancels++;
		fail(s, "%s: negotiation %llu cancelled",
		     ev->conn ? ev->conn : "?",
		     (unsigned long long)ev->negotiation);
		break;
	case ER_EV_CONN_ADDED:
		r->instances_added++;
		if (++s->live_instances > r->instances_max)
			r->instances_max = s->live_instances;
		break;
	case ER_EV_CONN_DELETED:
		r->instances_deleted++;
		s->live_instances--;
		break;
	case ER_EV_STATE:
	case ER_EV_UPDOWN:
		break;
	}
}

/* ---- driving ----------------------------------------------------- */

/* After one engine input (or a batch of packets, the kernel's own doing):
 * no window without protection, then the kernel events it caused, each
 * an input of its own. */
static void
settle(struct storm *s, const char *what)
{
	struct er_kernel k = er_sim_kernel(s->sim);
	struct er_kernel_event kev;
	char buf[512];
	struct er_err err = {0};

	if (er_sim_gaps(s->sim, buf, sizeof(buf)) != 0)
		fail(s, "after %s: %s", what, buf);
	er_sim_oplog_clear(s->sim);
	while (er_kernel_poll_event(&k, &kev) == 1) {
		if (kev.type == ER_KEV_LOST)
			s->res->events_lost++;
		if (er_engine_kernel_event(s->e, &kev, &err) < 0)
			fail(s, "after %s: %s event: %s", what,
			     er_kevent_name(kev.type), err.msg);
		if (er_sim_gaps(s->sim, buf, sizeof(buf)) != 0)
			fail(s, "after %s, %s event: %s", what,
			     er_kevent_name(kev.type), buf);
		er_sim_oplog_clear(s->sim);
	}
}

static void
answer(struct storm *s, const struct pending *p)
{
	struct er_err err = {0};
	int ret;

	if (er_rng_range(&s->rng, 0, 999) < s->cfg->fail_permille) {
		ret = er_engine_negotiation_failed(s->e, p->id,
						   "storm: the peer is silent",
						   &err);
		s->res->failed++;
	} else {
		struct er_sa_group_spec spec = {0};

		spec.spi_out = s->next_spi++;
		ret = er_engine_negotiated(s->e, p->id, &spec, &err);
		s->res->succeeded++;
	}
	if (ret < 0)
		fail(s, "answer to negotiation %llu: %s",
		     (unsigned long long)p->id, err.msg);
	settle(s, "an answer");
}

/* Answer what is due, and enough that the next batch of packets cannot
 * take the pending ones beyond the window. */
static void
answer_due(struct storm *s)
{
	size_t room = s->cfg->window > s->cfg->drain_every
			      ? s->cfg->window - s->cfg->drain_every
			      : 0;

	while (s->nheap > 0 && !s->failed &&
	       (s->heap[0].due <= s->sent || s->nheap > room)) {
		struct pending p = heap_pop(s);

		answer(s, &p);
	}
}

static void
advance(struct storm *s, uint64_t secs)
{
	s->now += secs;
	s->res->sim_seconds += secs;
	er_sim_tick(s->sim, s->now);
	settle(s, "a kernel tick");
	er_engine_tick(s->e, s->now);
	settle(s, "an engine tick");
}

/* The engine's view and the simulated kernel, policy by policy. */
static void
compare_views(struct storm *s, const char *what)
{
	const struct er_spd *view = er_engine_spd(s->e);
	const struct er_spd *kern = er_sim_spd(s->sim);

	for (int d = 0; d < ER_DIR_COUNT && !s->failed; d++) {
		if (er_spd_count(view, (enum er_dir)d) !=
		    er_spd_count(kern, (enum er_dir)d)) {
			fail(s, "after %s: %zu %s policies in the engine's "
				"view, %zu in the kernel", what,
			     er_spd_count(view, (enum er_dir)d),
			     er_dir_name((enum er_dir)d),
			     er_spd_count(kern, (enum er_dir)d));
			return;
		}
		for (const struct er_policy *p = er_spd_first(view, (enum er_dir)d);
		     p != NULL; p = er_spd_next(view, p)) {
			const struct er_policy *k =
				er_spd_get(kern, p->dir, &p->sel);

			if (k == NULL || k->action != p->action ||
			    k->priority != p->priority) {
				char sel[ER_SELECTOR_STRLEN + 16];

				er_policy_describe(p->dir, &p->sel, sel,
						   sizeof(sel));
				fail(s, "after %s: %s (%s) in the engine's view "
					"is %s in the kernel", what, sel,
				     er_action_name(p->action),
				     k == NULL ? "missing"
					       : er_action_name(k->action));
				return;
			}
		}
	}
}

static void
check(struct storm *s, const char *what)
{
	char buf[512];
	double t0 = mono_s();

	s->res->checks++;
	if (er_engine_check(s->e, buf, sizeof(buf)) != 0)
		fail(s, "after %s: invariant broken: %s", what, buf);
	compare_views(s, what);
	heap_sample(s);
	if (s->cfg->progress)
		fprintf(stderr,
			"storm: %s: %zu packets, %zu negotiations, %zu pending, "
			"%zu instances, heap %.1f MiB\n",
			what, s->sent, s->res->negotiations, s->nheap,
			s->live_instances,
			(double)(heap_in_use() - s->res->heap_base) / 1048576);
	s->res->check_s += mono_s() - t0;
}

static void
send_one(struct storm *s)
{
	struct er_packet pkt = {0};
	struct er_sim_result r;
	size_t j = (size_t)er_rng_range(&s->rng, 0, s->nactive - 1);
	uint32_t peer = s->active[j];

	er_addr_from_v4(&pkt.src, LOCAL_HOST);
	er_addr_from_v4(&pkt.dst, peer_addr(s, peer));
	switch (er_rng_range(&s->rng, 0, 2)) {
	case 0:
		pkt.proto = IPPROTO_TCP;
		pkt.sport = (uint16_t)er_rng_range(&s->rng, 1024, 65535);
		pkt.dport = 443;
		break;
	case 1:
		pkt.proto = IPPROTO_UDP;
		pkt.sport = (uint16_t)er_rng_range(&s->rng, 1024, 65535);
		pkt.dport = 53;
		break;
	default:
		pkt.proto = IPPROTO_ICMP;
		break;
	}
	if (er_sim_packet_out(s->sim, &pkt, 100, &r) < 0) {
		fail(s, "the sim refused a packet");
		return;
	}
	s->sent++;
	switch (r.verdict) {
	case ER_ACTION_HOLD:
	case ER_ACTION_TRAP:
		s->res->held++;
		break;
	case ER_ACTION_IPSEC:
		s->res->ipsec++;
		break;
	default:
		s->res->passed++;
		break;
	}
	if (--s->left[peer] > 0)
		return;
	/* Done with this peer: the next one takes its place. */
	if (s->next_peer < s->cfg->peers)
		s->active[j] = (uint32_t)s->next_peer++;
	else
		s->active[j] = s->active[--s->nactive];
}

static int
conn_census(void *ctx, const struct er_conn_info *info)
{
	struct storm *s = ctx;

	if (info->instance_of == NULL)
		return 0;
	if (info->routing == ER_RT_TUNNEL && !info->negotiating)
		s->res->tunnels_after_answers++;
	else
		s->res->conns_negotiating_after_answers++;
	return 0;
}

/* Every negotiation answered: nothing may be held any more. */
static void
census(struct storm *s)
{
	const struct er_spd *kern = er_sim_spd(s->sim);
	const struct er_sad *sads[2] = {er_sim_sad(s->sim),
					er_engine_sad(s->e)};
	struct storm_result *r = s->res;

	for (int d = 0; d < ER_DIR_COUNT; d++) {
		for (const struct er_policy *p = er_spd_first(kern, (enum er_dir)d);
		     p != NULL; p = er_spd_next(kern, p)) {
			if (p->action == ER_ACTION_HOLD)
				r->holds_after_answers++;
		}
	}
	for (int i = 0; i < 2; i++) {
		for (const struct er_sa *sa = er_sad_first(sads[i]); sa != NULL;
		     sa = er_sad_next(sads[i], sa)) {
			if (sa->state == ER_SA_LARVAL)
				r->larval_after_answers++;
		}
	}
	for (const struct er_shunt *sh = er_shunt_first(er_engine_shunts(s->e));
	     sh != NULL; sh = er_shunt_next(er_engine_shunts(s->e), sh)) {
		if (sh->action == ER_ACTION_HOLD)
			r->hold_shunts_after_answers++;
	}
	er_engine_conn_foreach(s->e, conn_census, s);
	for (size_t i = 0; i < s->cfg->peers; i++) {
		if (s->negs[i] != 1)
			r->peers_not_one++;
	}
}

static int
setup(struct storm *s)
{
	const struct storm_config *c = s->cfg;
	struct er_sim_config sc = {0};
	struct er_engine_config ec = {0};
	struct er_conn_config cc;
	struct er_prefix net;
	struct er_err err = {0};
	uint32_t inv;

	if (c->peers == 0 || c->peers > PEER_MASK - 1 ||
	    c->packets < c->peers || c->latency_min > c->latency_max ||
	    c->window <= c->drain_every) {
		fail(s, "bad storm: %zu packets, %zu peers, window %zu",
		     c->packets, c->peers, c->window);
		return -1;
	}
	er_rng_init(&s->rng, c->seed);
	s->mul = (uint32_t)(er_rng_next(&s->rng) & PEER_MASK) | 1;
	/* Newton's iteration: each step doubles the correct low bits. */
	inv = s->mul;
	for (int i = 0; i < 5; i++)
		inv *= 2 - s->mul * inv;
	s->mul_inv = inv & PEER_MASK;
	s->negs = calloc(c->peers, sizeof(*s->negs));
	s->left = calloc(c->peers, sizeof(*s->left));
	s->active = calloc(c->active, sizeof(*s->active));
	s->heap_cap = c->window + 16;
	s->heap = calloc(s->heap_cap, sizeof(*s->heap));
	if (s->negs == NULL || s->left == NULL || s->active == NULL ||
	    s->heap == NULL) {
		fail(s, "out of memory");
		return -1;
	}
	/* calloc()'s pages are touched here, before the base is taken. */
	memset(s->heap, 0, s->heap_cap * sizeof(*s->heap));
	for (size_t i = 0; i < c->peers; i++)
		s->left[i] = (uint32_t)(c->packets / c->peers +
					(i < c->packets % c->peers));
	while (s->nactive < c->active && s->next_peer < c->peers)
		s->active[s->nactive++] = (uint32_t)s->next_peer++;
	s->now = 1000;
	s->next_spi = 0x10000000;
	s->res->rss_base_kb = rss_peak_kb();
	s->res->heap_base = heap_in_use();
	s->res->heap_peak = s->res->heap_base;

	sc.seed = c->seed;
	sc.now = s->now;
	s->sim = er_sim_new(&sc);
	if (s->sim == NULL) {
		fail(s, "sim: out of memory");
		return -1;
	}
	ec.kernel = er_sim_kernel(s->sim);
	ec.event_cb = on_event;
	ec.event_ctx = s;
	ec.seed = c->seed + 1;
	ec.now = s->now;
	ec.shunt_lifetime = c->shunt_lifetime;
	s->e = er_engine_new(&ec, &err);
	if (s->e == NULL) {
		fail(s, "engine: %s", err.msg);
		return -1;
	}
	er_conn_config_init(&cc);
	snprintf(cc.name, sizeof(cc.name), "%s", GROUP);
	er_addr_from_v4(&cc.local, LOCAL_HOST);
	er_prefix_host(&cc.local_client, &cc.local);
	if (er_prefix_parse(&net, "10.0.0.0/8", &err) < 0) {
		fail(s, "10.0.0.0/8: %s", err.msg);
		return -1;
	}
	cc.remote_clients = &net;
	cc.nremote = 1;
	cc.group = true;
	cc.opportunistic = true;
	cc.autostart = ER_AUTO_ONDEMAND;
	cc.failshunt = ER_FAILSHUNT_PASS;
	cc.keyingtries = 1;
	if (er_engine_conn_add(s->e, &cc, &err) < 0) {
		fail(s, "add %s: %s", GROUP, err.msg);
		return -1;
	}
	settle(s, "adding the group");
	return s->failed ? -1 : 0;
}

static void
storm(struct storm *s)
{
	const struct storm_config *c = s->cfg;
	double t0 = mono_s(), checks0 = s->res->check_s;

	while (s->sent < c->packets && !s->failed) {
		send_one(s);
		if (s->sent % c->drain_every == 0 || s->sent == c->packets) {
			settle(s, "packets");
			answer_due(s);
		}
		if (s->sent % c->packets_per_second == 0)
			advance(s, 1);
		if (s->sent % c->check_every == 0)
			check(s, "packets");
	}
	settle(s, "packets");
	/* The negotiator answers the rest, as they fall due. */
	while (s->nheap > 0 && !s->failed) {
		struct pending p = heap_pop(s);

		answer(s, &p);
	}
	s->res->storm_s = mono_s() - t0 - (s->res->check_s - checks0);
}

int
storm_run(const struct storm_config *cfg, struct storm_result *res)
{
	struct storm_config c = *cfg;
	struct storm s = {0};
	struct er_sim_stats st;
	struct er_err err = {0};
	double t0 = mono_s();

	storm_config_defaults(&c);
	memset(res, 0, sizeof(*res));
	s.cfg = &c;
	s.res = res;
	if (setup(&s) < 0)
		goto out;
	storm(&s);
	if (s.failed)
		goto out;
	check(&s, "all answered");
	census(&s);

	/* Every failure shunt runs out; the group's trap covers its peer
	 * again.  Ticks of half a minute, as a daemon's would be at most. */
	for (uint64_t t = 0; t <= c.shunt_lifetime + 60 && !s.failed; t += 30)
		advance(&s, 30);
	res->shunts_after_expiry = er_shunt_count(er_engine_shunts(s.e));
	check(&s, "shunts expired");

	if (er_engine_conn_del(s.e, GROUP, &err) < 0)
		fail(&s, "delete %s: %s", GROUP, err.msg);
	settle(&s, "deleting the group");
	check(&s, "group deleted");
	res->policies_after_delete = er_spd_count(er_sim_spd(s.sim), ER_DIR_OUT) +
				     er_spd_count(er_sim_spd(s.sim), ER_DIR_IN) +
				     er_spd_count(er_sim_spd(s.sim), ER_DIR_FWD);
	res->sas_after_delete = er_sad_count(er_sim_sad(s.sim));
out:
	if (s.sim != NULL) {
		er_sim_stats(s.sim, &st);
		res->acquires = st.acquires;
		res->events_lost += st.events_lost;
	}
	res->packets = s.sent;
	er_engine_free(s.e);
	er_sim_free(s.sim);
	res->heap_end = heap_in_use();
	res->rss_peak_kb = rss_peak_kb();
	res->total_s = mono_s() - t0;
	free(s.negs);
	free(s.left);
	free(s.active);
	free(s.heap);
	return s.failed ? -1 : 0;
}
