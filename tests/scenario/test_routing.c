// SPDX-License-Identifier: MIT
/* Route, unroute, trap, acquire, hold, negotiate, tunnel (reference 001). */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

static void
net_to_net(struct h *h, const char *name)
{
	struct er_conn_config cc;

	h_conn(&cc, name, "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	h_add(h, &cc);
}

static void
test_route_unroute(void **state)
{
	struct h *h = h_new(NULL);
	const struct er_policy *p;
	struct er_err err = {0};

	(void)state;
	net_to_net(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_UNROUTED);
	assert_int_equal(h_policies(h), 0);
	assert_int_equal(er_engine_route(h->e, "west", &err), 0);
	h_step(h, "route");
	assert_int_equal(h_state(h, "west"), ER_RT_PROSPECTIVE);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_non_null(p);
	assert_int_equal(p->action, ER_ACTION_TRAP);
	assert_int_equal(p->reqid, h_info(h, "west").reqid);
	assert_int_equal(p->tmpl[0].reqid, p->reqid);
	assert_true(p->reqid >= ER_REQID_BASE);
	assert_int_equal(h_policies(h), 1);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_PREPARE, "west"), 1);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_ROUTE, "west"), 1);
	/* Routing again changes nothing. */
	h_clear_events(h);
	assert_int_equal(er_engine_route(h->e, "west", &err), 0);
	h_step(h, "route again");
	assert_int_equal(h->nev, 0);
	assert_int_equal(er_engine_unroute(h->e, "west", &err), 0);
	h_step(h, "unroute");
	assert_int_equal(h_state(h, "west"), ER_RT_UNROUTED);
	assert_int_equal(h_policies(h), 0);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_UNROUTE, "west"), 1);
	assert_int_equal(er_engine_route(h->e, "nope", &err), -ENOENT);
	assert_string_equal(err.msg, "nope: no such connection");
	h_free(h);
}

static void
test_route_unroute_ipv6(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;

	(void)state;
	h_conn(&cc, "v6", "2001:db8::1", "2001:db8::2", "2001:db8:1::/48",
	       "2001:db8:2::/48");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	assert_int_equal(h_state(h, "v6"), ER_RT_PROSPECTIVE);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "2001:db8:1::/48",
				  "2001:db8:2::/48")->action,
			 ER_ACTION_TRAP);
	h_send(h, "2001:db8:1::5", "2001:db8:2::7", IPPROTO_TCP, 999, 80);
	assert_int_equal(h_state(h, "v6"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_ok(h, "v6"), 0);
	assert_int_equal(h_state(h, "v6"), ER_RT_TUNNEL);
	assert_int_equal(h_send(h, "2001:db8:1::5", "2001:db8:2::7",
				IPPROTO_TCP, 999, 80)
				 .verdict,
			 ER_ACTION_IPSEC);
	assert_int_equal(er_engine_down(h->e, "v6", NULL), 0);
	h_step(h, "down");
	assert_int_equal(h_state(h, "v6"), ER_RT_PROSPECTIVE);
	assert_int_equal(er_engine_unroute(h->e, "v6", NULL), 0);
	h_step(h, "unroute");
	assert_int_equal(h_policies(h), 0);
	h_free(h);
}

static void
test_trap_acquire_hold_tunnel_and_the_packet_goes_through(void **state)
{
	struct h *h = h_new(NULL);
	struct er_sim_result r;
	struct er_sim_stats st;
	const struct er_policy *p;
	struct er_conn_info info;

	(void)state;
	net_to_net(h, "west");
	er_engine_route(h->e, "west", NULL);
	h_step(h, "route");
	r = h_send(h, "10.1.0.5", "10.2.0.7", IPPROTO_UDP, 1000, 53);
	assert_int_equal(r.verdict, ER_ACTION_TRAP);
	assert_true(r.acquire);
	/* The narrow hold was moved onto the connection and broadened. */
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_int_equal(p->action, ER_ACTION_HOLD);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	assert_int_equal(er_spd_count(er_sim_spd(h->sim), ER_DIR_OUT), 1);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 1);
	info = h_info(h, "west");
	assert_true(info.negotiating);
	assert_int_equal(info.tries, 1);
	/* More traffic meanwhile is held, not trapped again. */
	r = h_send(h, "10.1.0.9", "10.2.0.7", IPPROTO_UDP, 1000, 53);
	assert_int_equal(r.verdict, ER_ACTION_HOLD);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 1);
	assert_int_equal(h_ok(h, "west"), 0);
	info = h_info(h, "west");
	assert_int_equal(info.routing, ER_RT_TUNNEL);
	assert_true(info.eroute_owner != 0);
	assert_false(info.negotiating);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_int_equal(p->action, ER_ACTION_IPSEC);
	assert_non_null(h_policy(h, ER_DIR_IN, "10.2.0.0/16", "10.1.0.0/16"));
	assert_non_null(h_policy(h, ER_DIR_FWD, "10.2.0.0/16", "10.1.0.0/16"));
	/* The retained packet went out through the SA. */
	er_sim_stats(h->sim, &st);
	assert_int_equal(st.released_ipsec, 1);
	r = h_send(h, "10.1.0.5", "10.2.0.7", IPPROTO_UDP, 1000, 53);
	assert_int_equal(r.verdict, ER_ACTION_IPSEC);
	assert_int_equal(r.spi, p->tmpl[0].spi);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_UP, "west"), 1);
	/* Inbound: the right addresses pass, others are dropped. */
	{
		struct er_packet in = h_pkt("10.2.0.7", "10.1.0.5", 17, 53, 1);
		struct er_packet bad = h_pkt("10.9.0.7", "10.1.0.5", 17, 53, 1);
		const struct er_sa *sa;
		struct er_addr me;

		er_addr_parse(&me, "192.0.2.1", NULL);
		for (sa = er_sad_first(er_sim_sad(h->sim)); sa != NULL;
		     sa = er_sad_next(er_sim_sad(h->sim), sa)) {
			if (er_addr_equal(&sa->id.dst, &me))
				break;
		}
		assert_non_null(sa);
		assert_int_equal(er_sim_packet_in(h->sim, &me, IPPROTO_ESP,
						  sa->id.spi, &in, 100),
				 0);
		assert_int_equal(er_sim_packet_in(h->sim, &me, IPPROTO_ESP,
						  sa->id.spi, &bad, 100),
				 -EPERM);
		er_sim_stats(h->sim, &st);
		assert_int_equal(st.inbound_ok, 1);
		assert_int_equal(st.inbound_policy_drops, 1);
	}
	h_free(h);
}

/* The responder case: the peer initiated, an SA group arrives that was
 * never asked for, and it takes the eroute exactly as an initiated one
 * would: ipsec out to its SA, in and fwd, up-client, traffic through. */
static void
test_responder_group_takes_the_eroute_like_an_initiated_one(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	const struct er_policy *p;
	struct er_conn_info info;

	(void)state;
	h_conn(&cc, "west", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	h_conn(&cc, "east", "192.0.2.1", "198.51.100.2", "10.1.0.0/16",
	       "10.3.0.0/16");
	h_add(h, &cc);
	h_clear_events(h);
	/* Routed, waiting for traffic. */
	assert_int_equal(h_responder(h, "west", NULL), 0);
	info = h_info(h, "west");
	assert_int_equal(info.routing, ER_RT_TUNNEL);
	assert_true(info.eroute_owner != 0);
	assert_int_equal(info.ngroups, 1);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_int_equal(p->action, ER_ACTION_IPSEC);
	assert_int_equal(p->tmpl[0].spi, h->next_spi - 1);
	assert_int_equal(h_policy(h, ER_DIR_IN, "10.2.0.0/16", "10.1.0.0/16")
				 ->action,
			 ER_ACTION_IPSEC);
	assert_non_null(h_policy(h, ER_DIR_FWD, "10.2.0.0/16", "10.1.0.0/16"));
	assert_int_equal(h_count_updown(h, ER_UPDOWN_UP, "west"), 1);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_ROUTE, "west"), 0);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), 0);
	assert_int_equal(h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0).spi,
			 p->tmpl[0].spi);
	/* Not routed at all: routed while up, unrouted by down. */
	assert_int_equal(h_state(h, "east"), ER_RT_UNROUTED);
	assert_int_equal(h_responder(h, "east", NULL), 0);
	assert_int_equal(h_state(h, "east"), ER_RT_TUNNEL);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_PREPARE, "east"), 1);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_ROUTE, "east"), 1);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_UP, "east"), 1);
	assert_int_equal(h_send(h, "10.1.0.1", "10.3.0.1", 1, 0, 0).verdict,
			 ER_ACTION_IPSEC);
	assert_int_equal(er_engine_down(h->e, "east", NULL), 0);
	h_step(h, "down");
	assert_int_equal(h_state(h, "east"), ER_RT_UNROUTED);
	assert_null(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.3.0.0/16"));
	/* While negotiating: the arriving group takes the eroute, and the
	 * initiator's pending negotiation failing later leaves it be. */
	assert_int_equal(er_engine_down(h->e, "west", NULL), 0);
	h_step(h, "down");
	h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_responder(h, "west", NULL), 0);
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	h_fail(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	assert_int_equal(h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0).verdict,
			 ER_ACTION_IPSEC);
	h_free(h);
}

/* type=transport: the same states, transport-mode templates and SAs, and
 * no forward policy (nothing is forwarded for a host-to-host pair). */
static void
test_transport_connection(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	const struct er_policy *p;
	const struct er_sa *sa;

	(void)state;
	h_conn(&cc, "host", "192.0.2.1", "198.51.100.1", NULL, NULL);
	cc.type = ER_CONN_TRANSPORT;
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	p = h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "198.51.100.1/32");
	assert_int_equal(p->action, ER_ACTION_TRAP);
	assert_int_equal(p->tmpl[0].mode, ER_MODE_TRANSPORT);
	h_send(h, "192.0.2.1", "198.51.100.1", IPPROTO_TCP, 1, 22);
	assert_int_equal(h_state(h, "host"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_ok(h, "host"), 0);
	assert_int_equal(h_state(h, "host"), ER_RT_TUNNEL);
	p = h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "198.51.100.1/32");
	assert_int_equal(p->action, ER_ACTION_IPSEC);
	assert_int_equal(p->tmpl[0].mode, ER_MODE_TRANSPORT);
	assert_int_equal(h_policy(h, ER_DIR_IN, "198.51.100.1/32",
				  "192.0.2.1/32")->tmpl[0].mode,
			 ER_MODE_TRANSPORT);
	assert_null(h_policy(h, ER_DIR_FWD, "198.51.100.1/32", "192.0.2.1/32"));
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 2);
	for (sa = er_sad_first(er_sim_sad(h->sim)); sa != NULL;
	     sa = er_sad_next(er_sim_sad(h->sim), sa))
		assert_int_equal(sa->mode, ER_MODE_TRANSPORT);
	assert_int_equal(h_send(h, "192.0.2.1", "198.51.100.1", IPPROTO_TCP,
				1, 22)
				 .verdict,
			 ER_ACTION_IPSEC);
	h_free(h);
}

/* The sim's trap reports one ACQUIRE per flow: the flow's later packets
 * meet the narrow hold, which keeps only the newest. */
static void
test_trap_reports_one_acquire_per_flow(void **state)
{
	struct h *h = h_new(NULL);
	struct er_packet p = h_pkt("10.1.0.5", "10.2.0.7", IPPROTO_UDP, 1, 53);
	struct er_sim_result r;
	struct er_sim_stats st;

	(void)state;
	net_to_net(h, "west");
	er_engine_route(h->e, "west", NULL);
	h_step(h, "route");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(er_sim_packet_out(h->sim, &p, 100, &r), 0);
		assert_int_equal(r.verdict,
				 i == 0 ? ER_ACTION_TRAP : ER_ACTION_HOLD);
		assert_int_equal(r.acquire, i == 0);
	}
	er_sim_stats(h->sim, &st);
	assert_int_equal(st.acquires, 1);
	assert_int_equal(st.retained_dropped, 2);
	h_step(h, "acquire");
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 1);
	h_free(h);
}

/* Same seeds, same inputs, same outcome: SPIs, reqids, events. */
static void
test_runs_are_deterministic(void **state)
{
	uint32_t spis[2][8], reqid[2];
	size_t n[2] = {0, 0};

	(void)state;
	for (int run = 0; run < 2; run++) {
		struct h *h = h_new(NULL);

		net_to_net(h, "west");
		er_engine_route(h->e, "west", NULL);
		h_step(h, "route");
		for (int i = 0; i < 4; i++) {
			h_send(h, "10.1.0.5", "10.2.0.7", IPPROTO_UDP, 1, 53);
			h_fail(h, "west");
		}
		for (size_t i = 0; i < h->nev && n[run] < 8; i++)
			if (h->ev[i].type == ER_EV_NEGOTIATE)
				spis[run][n[run]++] = h->ev[i].spi_in;
		reqid[run] = h_info(h, "west").reqid;
		h_free(h);
	}
	/* The first attempt and four retries (keyingtries=%forever). */
	assert_int_equal(n[0], 5);
	assert_int_equal(n[1], 5);
	assert_memory_equal(spis[0], spis[1], sizeof(spis[0][0]) * 5);
	assert_int_equal(reqid[0], reqid[1]);
}

static void
test_ike_traffic_bypasses_traps(void **state)
{
	struct h_opts o = {.local_addr = "192.0.2.1"};
	struct h *h = h_new(&o);
	struct er_conn_config cc;
	struct er_sim_result r;

	(void)state;
	h_conn(&cc, "host", "192.0.2.1", "198.51.100.1", NULL, NULL);
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	r = h_send(h, "192.0.2.1", "198.51.100.1", IPPROTO_UDP, 500, 500);
	assert_true(r.bypass);
	assert_int_equal(r.verdict, ER_ACTION_PASS);
	r = h_send(h, "192.0.2.1", "198.51.100.1", IPPROTO_UDP, 4500, 4500);
	assert_true(r.bypass);
	assert_int_equal(h_state(h, "host"), ER_RT_PROSPECTIVE);
	r = h_send(h, "192.0.2.1", "198.51.100.1", IPPROTO_UDP, 501, 500);
	assert_int_equal(r.verdict, ER_ACTION_TRAP);
	assert_int_equal(h_state(h, "host"), ER_RT_ROUTED_HOLD);
	h_free(h);
}

static void
test_acquire_towards_ourselves_refused(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	struct er_kernel_event ev = {.type = ER_KEV_ACQUIRE};
	struct er_err err = {0};

	(void)state;
	h_conn(&cc, "host", "192.0.2.1", "198.51.100.1", NULL, NULL);
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	ev.pkt = h_pkt("198.51.100.1", "192.0.2.1", 17, 1, 2);
	er_selector_host(&ev.sel, &ev.pkt, false);
	assert_int_equal(er_engine_kernel_event(h->e, &ev, &err), -EINVAL);
	assert_string_equal(err.msg, "acquire 198.51.100.1/32 -> 192.0.2.1/32 "
				     "udp: destination is this host");
	/* Not host-to-host: refused too. */
	ev.pkt = h_pkt("10.0.0.1", "10.0.0.2", 17, 1, 2);
	er_selector_host(&ev.sel, &ev.pkt, false);
	ev.sel.dst.len = 24;
	ev.sel.dst.addr.a[3] = 0;
	assert_int_equal(er_engine_kernel_event(h->e, &ev, &err), -EINVAL);
	assert_string_equal(err.msg, "acquire 10.0.0.1/32 -> 10.0.0.0/24 udp: "
				     "not host-to-host");
	h_step(h, "refused acquires");
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), 0);
	/* Traffic to this host passes for a while; the other hold is gone. */
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 1);
	assert_non_null(er_shunt_first(er_engine_shunts(h->e)));
	assert_int_equal(er_shunt_first(er_engine_shunts(h->e))->action,
			 ER_ACTION_PASS);
	assert_string_equal(er_shunt_first(er_engine_shunts(h->e))->origin,
			    "to-this-host");
	h_free(h);
}

/* A real packet towards this host through a trap that covers it: no
 * negotiation, the packet is let through, and the flow does not trap
 * again until the pass shunt expires -- also for addresses that only the
 * daemon knows to be the host's (local_addrs), and for IPv6. */
static void
check_trap_towards_this_host(const char *engine_local, const char *left,
			     const char *right, const char *lsub,
			     const char *rsub, const char *src,
			     const char *dst, uint8_t proto)
{
	struct h_opts o = {.engine_local_addr = engine_local};
	struct h *h = h_new(&o);
	struct er_conn_config cc;
	struct er_sim_result r;
	struct er_sim_stats st;

	h_conn(&cc, "wide", left, right, lsub, rsub);
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	r = h_send(h, src, dst, proto, 1, 53);
	assert_int_equal(r.verdict, ER_ACTION_TRAP);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), 0);
	assert_int_equal(h_state(h, "wide"), ER_RT_PROSPECTIVE);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 1);
	er_sim_stats(h->sim, &st);
	assert_int_equal(st.acquires, 1);
	assert_int_equal(st.released, 1);
	assert_int_equal(h_send(h, src, dst, proto, 1, 53).verdict,
			 ER_ACTION_PASS);
	er_sim_stats(h->sim, &st);
	assert_int_equal(st.acquires, 1);
	h_advance(h, 900);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	assert_int_equal(h_send(h, src, dst, proto, 1, 53).verdict,
			 ER_ACTION_TRAP);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), 0);
	h_free(h);
}

static void
test_trap_towards_this_host_passes(void **state)
{
	(void)state;
	/* Towards left=. */
	check_trap_towards_this_host(NULL, "192.0.2.1", "198.51.100.1",
				     "10.1.0.0/16", "192.0.2.0/24", "10.1.0.5",
				     "192.0.2.1", IPPROTO_UDP);
	/* Towards another address of the host. */
	check_trap_towards_this_host("192.0.2.77", "192.0.2.1",
				     "198.51.100.1", "10.1.0.0/16",
				     "192.0.2.0/24", "10.1.0.5", "192.0.2.77",
				     IPPROTO_UDP);
	check_trap_towards_this_host(NULL, "2001:db8::1", "2001:db8::2",
				     "2001:db8:1::/48", "2001:db8::/64",
				     "2001:db8:1::5", "2001:db8::1",
				     IPPROTO_UDP);
	check_trap_towards_this_host("2001:db8::77", "2001:db8::1",
				     "2001:db8::2", "2001:db8:1::/48",
				     "2001:db8::/64", "2001:db8:1::5",
				     "2001:db8::77", IPPROTO_TCP);
}

/* How an ACQUIRE finds its connection: by the reqid the kernel took from
 * the trap's template, even when another connection matches the packet
 * better; without a reqid the engine knows, the best-matching routed
 * connection. */
static void
test_acquire_finds_its_connection_by_reqid_then_by_match(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	struct er_kernel_event ev = {.type = ER_KEV_ACQUIRE};

	(void)state;
	h_conn(&cc, "wide", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	h_conn(&cc, "narrow", "192.0.2.1", "198.51.100.2", "10.1.0.0/24",
	       "10.2.0.0/24");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	assert_int_not_equal(h_info(h, "wide").reqid,
			     h_info(h, "narrow").reqid);
	ev.pkt = h_pkt("10.1.0.5", "10.2.0.5", 17, 1, 53);
	er_selector_host(&ev.sel, &ev.pkt, false);
	ev.reqid = h_info(h, "wide").reqid;
	assert_int_equal(er_engine_kernel_event(h->e, &ev, NULL), 0);
	h_step(h, "acquire by reqid");
	assert_int_equal(h_state(h, "wide"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_state(h, "narrow"), ER_RT_PROSPECTIVE);
	/* An unknown reqid, then none: the best match. */
	ev.reqid = 0x12345;
	assert_int_equal(er_engine_kernel_event(h->e, &ev, NULL), 0);
	h_step(h, "acquire, unknown reqid");
	assert_int_equal(h_state(h, "narrow"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "narrow"), 1);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "wide"), 1);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	h_free(h);
}

static void
test_acquire_without_connection_leaves_bare_pass(void **state)
{
	struct h *h = h_new(NULL);
	struct er_kernel_event ev = {.type = ER_KEV_ACQUIRE};
	const struct er_shunt *s;

	(void)state;
	ev.pkt = h_pkt("10.0.0.1", "203.0.113.9", 6, 1, 2);
	er_selector_host(&ev.sel, &ev.pkt, false);
	assert_int_equal(er_engine_kernel_event(h->e, &ev, NULL), 0);
	s = er_shunt_first(er_engine_shunts(h->e));
	assert_non_null(s);
	assert_int_equal(s->action, ER_ACTION_PASS);
	assert_string_equal(s->origin, "no-connection");
	assert_int_equal(s->expires, h->now + 900);
	h_advance(h, 899);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 1);
	h_advance(h, 1);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	h_free(h);
}

static void
test_sim_default_drop_and_hold_retains_newest(void **state)
{
	struct h_opts o = {.default_drop = true};
	struct h *h = h_new(&o);
	struct er_sim_stats st;

	(void)state;
	/* XFRM's default-block: no policy, no passage. */
	assert_int_equal(h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0).verdict,
			 ER_ACTION_DROP);
	net_to_net(h, "west");
	er_engine_route(h->e, "west", NULL);
	h_step(h, "route");
	h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_UDP, 1, 53);
	/* Three more while negotiating: each replaces the retained one. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(h_send(h, "10.1.0.1", "10.2.0.1",
					IPPROTO_UDP, 1, 53)
					 .verdict,
				 ER_ACTION_HOLD);
	er_sim_stats(h->sim, &st);
	/* The trapped packet, moved from the narrow hold onto the broad
	 * one, was held too. */
	assert_int_equal(st.held, 4);
	assert_int_equal(st.retained_dropped, 3);
	h_ok(h, "west");
	er_sim_stats(h->sim, &st);
	/* Only the newest goes out when the hold is replaced. */
	assert_int_equal(st.released_ipsec, 1);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_unroute),
		cmocka_unit_test(test_route_unroute_ipv6),
		cmocka_unit_test(test_trap_acquire_hold_tunnel_and_the_packet_goes_through),
		cmocka_unit_test(
			test_responder_group_takes_the_eroute_like_an_initiated_one),
		cmocka_unit_test(test_transport_connection),
		cmocka_unit_test(test_trap_reports_one_acquire_per_flow),
		cmocka_unit_test(test_runs_are_deterministic),
		cmocka_unit_test(test_ike_traffic_bypasses_traps),
		cmocka_unit_test(test_acquire_towards_ourselves_refused),
		cmocka_unit_test(test_trap_towards_this_host_passes),
		cmocka_unit_test(
			test_acquire_finds_its_connection_by_reqid_then_by_match),
		cmocka_unit_test(test_acquire_without_connection_leaves_bare_pass),
		cmocka_unit_test(test_sim_default_drop_and_hold_retains_newest),
	};

	return h_run_tests(tests);
}
