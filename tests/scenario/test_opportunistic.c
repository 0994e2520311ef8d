// SPDX-License-Identifier: MIT
/* Opportunistic groups: instances per peer, failure shunts that turn bare
 * (reference 000), their expiry, and acquire storms. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

static struct h *
setup(const char *prefixes, enum er_failshunt fs)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;

	h_group(&cc, "private-or-clear", "192.0.2.1", prefixes);
	cc.failshunt = fs;
	h_add(h, &cc);
	return h;
}

static void
test_acquire_creates_one_instance_per_peer(void **state)
{
	struct h *h = setup("198.51.100.0/24 203.0.113.0/24", ER_FAILSHUNT_PASS);
	struct er_conn_info info;

	(void)state;
	assert_int_equal(h_state(h, "private-or-clear"), ER_RT_PROSPECTIVE);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "192.0.2.1/32",
				  "198.51.100.0/24")->action,
			 ER_ACTION_TRAP);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "192.0.2.1/32",
				  "203.0.113.0/24")->action,
			 ER_ACTION_TRAP);
	h_send(h, "192.0.2.1", "198.51.100.7", IPPROTO_TCP, 1234, 443);
	info = h_info(h, "private-or-clear#198.51.100.7/32");
	assert_string_equal(info.instance_of, "private-or-clear");
	assert_int_equal(info.routing, ER_RT_ROUTED_HOLD);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "192.0.2.1/32",
				  "198.51.100.7/32")->action,
			 ER_ACTION_HOLD);
	/* The group's traps are untouched; the peer's hold beats them. */
	assert_int_equal(h_state(h, "private-or-clear"), ER_RT_PROSPECTIVE);
	/* More packets to the same peer, any protocol: absorbed. */
	h_send(h, "192.0.2.1", "198.51.100.7", IPPROTO_UDP, 1, 53);
	h_send(h, "192.0.2.1", "198.51.100.7", IPPROTO_TCP, 1235, 443);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), 1);
	assert_int_equal(h_ok(h, "private-or-clear#198.51.100.7/32"), 0);
	assert_int_equal(h_state(h, "private-or-clear#198.51.100.7/32"),
			 ER_RT_TUNNEL);
	assert_int_equal(h_send(h, "192.0.2.1", "198.51.100.7", 6, 1, 443)
				 .verdict,
			 ER_ACTION_IPSEC);
	/* A clean down deletes the instance and leaves no shunt: the group's
	 * trap covers the peer again. */
	assert_int_equal(er_engine_down(h->e, "private-or-clear#198.51.100.7/32",
					NULL),
			 0);
	h_step(h, "down");
	assert_false(h_exists(h, "private-or-clear#198.51.100.7/32"));
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	assert_null(h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "198.51.100.7/32"));
	assert_int_equal(h_send(h, "192.0.2.1", "198.51.100.7", 6, 1, 443)
				 .verdict,
			 ER_ACTION_TRAP);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), 2);
	h_free(h);
}

static void
check_failure_leaves_bare_shunt(enum er_failshunt fs, enum er_action want)
{
	struct h *h = setup("198.51.100.0/24", fs);
	const struct er_shunt *s;
	const char *inst = "private-or-clear#198.51.100.7/32";

	h_send(h, "192.0.2.1", "198.51.100.7", IPPROTO_TCP, 1234, 443);
	h_fail(h, inst);
	/* Reference 000: the instance is gone, its failure shunt is bare. */
	assert_false(h_exists(h, inst));
	s = er_shunt_first(er_engine_shunts(h->e));
	assert_non_null(s);
	assert_null(er_shunt_next(er_engine_shunts(h->e), s));
	assert_int_equal(s->action, want);
	assert_string_equal(s->origin, "oe-failure");
	assert_true(er_selector_is_host(&s->sel));
	assert_int_equal(s->expires, h->now + 900);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "192.0.2.1/32",
				  "198.51.100.7/32")->action,
			 want);
	/* It beats the group's trap: no new negotiation for the peer. */
	assert_int_equal(h_send(h, "192.0.2.1", "198.51.100.7", 17, 1, 53)
				 .verdict,
			 want);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), 1);
	/* Other peers still trap. */
	assert_int_equal(h_send(h, "192.0.2.1", "198.51.100.8", 17, 1, 53)
				 .verdict,
			 ER_ACTION_TRAP);
	h_advance(h, 900);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	assert_null(h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "198.51.100.7/32"));
	/* After it expires, a later packet may trap again. */
	assert_int_equal(h_send(h, "192.0.2.1", "198.51.100.7", 17, 1, 53)
				 .verdict,
			 ER_ACTION_TRAP);
	assert_int_equal(h_state(h, inst), ER_RT_ROUTED_HOLD);
	h_free(h);
}

static void
test_private_or_clear_failure_leaves_bare_pass(void **state)
{
	(void)state;
	check_failure_leaves_bare_shunt(ER_FAILSHUNT_PASS, ER_ACTION_PASS);
}

static void
test_private_failure_leaves_bare_drop(void **state)
{
	(void)state;
	check_failure_leaves_bare_shunt(ER_FAILSHUNT_DROP, ER_ACTION_DROP);
}

static void
test_bare_shunt_over_the_whole_trap_puts_the_trap_back(void **state)
{
	/* A group of one host: the failed peer's bare shunt has exactly the
	 * trap's selector, eclipses the group, and gives the trap back. */
	struct h *h = setup("198.51.100.7/32", ER_FAILSHUNT_PASS);

	(void)state;
	h_send(h, "192.0.2.1", "198.51.100.7", IPPROTO_TCP, 1, 443);
	assert_int_equal(h_state(h, "private-or-clear"), ER_RT_ECLIPSED);
	h_fail(h, "private-or-clear#198.51.100.7/32");
	assert_int_equal(h_state(h, "private-or-clear"), ER_RT_ECLIPSED);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "192.0.2.1/32",
				  "198.51.100.7/32")->action,
			 ER_ACTION_PASS);
	h_advance(h, 900);
	assert_int_equal(h_state(h, "private-or-clear"), ER_RT_PROSPECTIVE);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "192.0.2.1/32",
				  "198.51.100.7/32")->action,
			 ER_ACTION_TRAP);
	h_free(h);
}

/* With priority= on the group, its instances still beat its traps -- even
 * the trap over a single host, which has the instance's very selector. */
static void
test_instance_beats_group_with_explicit_priority(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	const char *inst = "g#198.51.100.7/32";
	const struct er_policy *p;

	(void)state;
	h_group(&cc, "g", "192.0.2.1", "198.51.100.7/32 203.0.113.0/24");
	cc.priority = 100;
	h_add(h, &cc);
	h_send(h, "192.0.2.1", "198.51.100.7", IPPROTO_TCP, 1, 443);
	assert_int_equal(h_state(h, inst), ER_RT_ROUTED_HOLD);
	p = h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "198.51.100.7/32");
	assert_int_equal(p->action, ER_ACTION_HOLD);
	assert_int_equal(p->priority, 99);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), 1);
	assert_int_equal(h_ok(h, inst), 0);
	assert_int_equal(h_state(h, inst), ER_RT_TUNNEL);
	/* The group's other trap keeps the group routed. */
	assert_int_equal(h_state(h, "g"), ER_RT_PROSPECTIVE);
	h_send(h, "192.0.2.1", "203.0.113.5", IPPROTO_TCP, 1, 443);
	p = h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "203.0.113.5/32");
	assert_int_equal(p->priority, 99);
	assert_int_equal(h_state(h, "g#203.0.113.5/32"), ER_RT_ROUTED_HOLD);
	h_free(h);
}

static void
test_responder_creates_instance(void **state)
{
	struct h *h = setup("198.51.100.0/24", ER_FAILSHUNT_PASS);

	(void)state;
	assert_int_equal(h_responder(h, "private-or-clear#198.51.100.9/32",
				     NULL),
			 0);
	assert_int_equal(h_state(h, "private-or-clear#198.51.100.9/32"),
			 ER_RT_TUNNEL);
	assert_int_equal(h_responder(h, "private-or-clear", "198.51.100.10"),
			 0);
	assert_int_equal(h_state(h, "private-or-clear#198.51.100.10/32"),
			 ER_RT_TUNNEL);
	assert_int_equal(h_responder(h, "private-or-clear", "203.0.113.1"),
			 -EINVAL);
	assert_int_equal(h_responder(h, "nosuch#198.51.100.9/32", NULL),
			 -ENOENT);
	h_free(h);
}

/* The peer whose instance failed initiates itself later: its SA group
 * makes a new instance, and the established tunnel supersedes the bare
 * failure shunt on that pair, as in libreswan. */
static void
test_tunnel_supersedes_bare_failure_shunt(void **state)
{
	struct h *h = setup("198.51.100.0/24", ER_FAILSHUNT_DROP);
	const char *inst = "private-or-clear#198.51.100.7/32";
	const struct er_policy *p;

	(void)state;
	h_send(h, "192.0.2.1", "198.51.100.7", IPPROTO_TCP, 1, 443);
	h_fail(h, inst);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 1);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "192.0.2.1/32",
				  "198.51.100.7/32")->action,
			 ER_ACTION_DROP);
	assert_int_equal(h_responder(h, "private-or-clear", "198.51.100.7"),
			 0);
	assert_int_equal(h_state(h, inst), ER_RT_TUNNEL);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	p = h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "198.51.100.7/32");
	assert_int_equal(p->action, ER_ACTION_IPSEC);
	assert_int_equal(p->owner, h_info(h, inst).id);
	assert_int_equal(h_send(h, "192.0.2.1", "198.51.100.7", 6, 1, 443)
				 .verdict,
			 ER_ACTION_IPSEC);
	/* A clean down leaves nothing: the trap covers the peer again. */
	assert_int_equal(er_engine_down(h->e, inst, NULL), 0);
	h_step(h, "down");
	assert_false(h_exists(h, inst));
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	assert_null(h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "198.51.100.7/32"));
	h_free(h);
}

/* Down of the group itself: every instance goes, in any state, leaving no
 * shunt; the group stays routed with its traps. */
static void
test_down_of_the_group_deletes_its_instances_cleanly(void **state)
{
	struct h *h = setup("198.51.100.0/24", ER_FAILSHUNT_DROP);
	struct er_kernel_event ev = {.type = ER_KEV_ACQUIRE};

	(void)state;
	h_send(h, "192.0.2.1", "198.51.100.7", IPPROTO_TCP, 1, 443);
	h_ok(h, "private-or-clear#198.51.100.7/32");
	assert_int_equal(h_responder(h, "private-or-clear", "198.51.100.8"),
			 0);
	/* One negotiating, with no packet retained to trap again (the
	 * acquire of a kernel that keeps none). */
	ev.pkt = h_pkt("192.0.2.1", "198.51.100.9", 6, 1, 80);
	er_selector_host(&ev.sel, &ev.pkt, false);
	assert_int_equal(er_engine_kernel_event(h->e, &ev, NULL), 0);
	h_step(h, "acquire");
	assert_int_equal(h_state(h, "private-or-clear#198.51.100.9/32"),
			 ER_RT_ROUTED_HOLD);
	assert_int_equal(er_engine_down(h->e, "private-or-clear", NULL), 0);
	h_step(h, "down group");
	assert_false(h_exists(h, "private-or-clear#198.51.100.7/32"));
	assert_false(h_exists(h, "private-or-clear#198.51.100.8/32"));
	assert_false(h_exists(h, "private-or-clear#198.51.100.9/32"));
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE_CANCEL, NULL), 1);
	assert_int_equal(h_state(h, "private-or-clear"), ER_RT_PROSPECTIVE);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	assert_int_equal(h_policies(h), 1);
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 0);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_DOWN, NULL), 2);
	h_free(h);
}

/* Two ACQUIREs for one peer reach the engine together (two flows trapped
 * before it read either): one instance, one negotiation, and neither
 * narrow hold is left behind. */
static void
test_queued_acquires_for_one_peer_are_absorbed(void **state)
{
	struct h *h = setup("198.51.100.0/24", ER_FAILSHUNT_PASS);
	struct er_packet a = h_pkt("192.0.2.1", "198.51.100.7", 6, 1, 443);
	struct er_packet b = h_pkt("192.0.2.1", "198.51.100.7", 17, 1, 53);
	struct er_sim_result r;
	struct er_sim_stats st;

	(void)state;
	assert_int_equal(er_sim_packet_out(h->sim, &a, 100, &r), 0);
	assert_true(r.acquire);
	assert_int_equal(er_sim_packet_out(h->sim, &b, 100, &r), 0);
	assert_true(r.acquire);
	h_step(h, "two acquires");
	er_sim_stats(h->sim, &st);
	assert_int_equal(st.acquires, 2);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), 1);
	assert_int_equal(h_count(h, ER_EV_CONN_ADDED, NULL), 1);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	assert_int_equal(er_spd_count(er_sim_spd(h->sim), ER_DIR_OUT), 2);
	assert_int_equal(h_ok(h, "private-or-clear#198.51.100.7/32"), 0);
	h_free(h);
}

/* The same for a net-to-net connection: flows from two hosts trap at
 * once; one negotiation, both packets go through the tunnel. */
static void
test_queued_acquires_for_one_connection_are_absorbed(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	struct er_packet a = h_pkt("10.1.0.1", "10.2.0.1", 6, 1, 443);
	struct er_packet b = h_pkt("10.1.0.2", "10.2.0.9", 17, 1, 53);
	struct er_sim_result r;
	struct er_sim_stats st;

	(void)state;
	h_conn(&cc, "west", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	assert_int_equal(er_sim_packet_out(h->sim, &a, 100, &r), 0);
	assert_int_equal(er_sim_packet_out(h->sim, &b, 100, &r), 0);
	h_step(h, "two acquires");
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 1);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	assert_int_equal(er_spd_count(er_sim_spd(h->sim), ER_DIR_OUT), 1);
	assert_int_equal(h_ok(h, "west"), 0);
	er_sim_stats(h->sim, &st);
	assert_int_equal(st.acquires, 2);
	/* The broad hold retains only the newest packet of the two. */
	assert_int_equal(st.released_ipsec, 1);
	h_free(h);
}

/*
 * Two instances for one peer.  Within a group there is only one per peer
 * (its name), which the peer's own SA group joins (reference 000).  Two
 * groups whose destinations overlap make one each, with the same
 * host-to-host selector: the newer authenticated one wins (reference
 * 000's AUTH_NULL case) and the other is deleted, never left to fight
 * over the eroute; the eroute moves by one replace.
 */
static void
test_two_groups_one_peer_newer_authenticated_wins(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	const char *i1 = "wide#198.51.100.7/32", *i2 = "narrow#198.51.100.7/32";
	const struct er_policy *p;

	(void)state;
	h_group(&cc, "wide", "192.0.2.1", "198.51.100.0/24");
	h_add(h, &cc);
	h_group(&cc, "narrow", "192.0.2.1", "198.51.100.0/25");
	h_add(h, &cc);
	h_send(h, "192.0.2.1", "198.51.100.7", IPPROTO_TCP, 1, 443);
	/* The narrower group's trap caught the packet. */
	assert_int_equal(h_state(h, i2), ER_RT_ROUTED_HOLD);
	assert_false(h_exists(h, i1));
	assert_int_equal(h_ok(h, i2), 0);
	/* The peer initiates, and is taken for the other group: that
	 * instance authenticated later and takes the peer over. */
	assert_int_equal(h_responder(h, "wide", "198.51.100.7"), 0);
	assert_int_equal(h_state(h, i1), ER_RT_TUNNEL);
	assert_false(h_exists(h, i2));
	p = h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "198.51.100.7/32");
	assert_int_equal(p->owner, h_info(h, i1).id);
	assert_int_equal(h_send(h, "192.0.2.1", "198.51.100.7", 6, 1, 443)
				 .spi,
			 p->tmpl[0].spi);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_DOWN, i2), 1);
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 2);
	/* An instance still negotiating is no match for one that
	 * authenticated: it goes, and the packet its hold kept goes out
	 * through the winner's SA. */
	h_send(h, "192.0.2.1", "198.51.100.9", IPPROTO_TCP, 1, 443);
	assert_int_equal(h_state(h, "narrow#198.51.100.9/32"),
			 ER_RT_ROUTED_HOLD);
	h_clear_events(h);
	assert_int_equal(h_responder(h, "wide", "198.51.100.9"), 0);
	assert_false(h_exists(h, "narrow#198.51.100.9/32"));
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE_CANCEL,
				 "narrow#198.51.100.9/32"),
			 1);
	assert_int_equal(h_state(h, "wide#198.51.100.9/32"), ER_RT_TUNNEL);
	{
		struct er_sim_stats st;

		er_sim_stats(h->sim, &st);
		assert_int_equal(st.released_ipsec, 2);
	}
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	h_free(h);
}

static void
test_acquire_storm_one_negotiation_per_peer(void **state)
{
	enum { PEERS = 1000, PACKETS = 10000 };
	struct h *h = setup("10.0.0.0/8", ER_FAILSHUNT_PASS);
	char dst[32], name[64];

	(void)state;
	/* Checking after every packet is quadratic; check at the end. */
	h->check_every_step = false;
	for (int i = 0; i < PACKETS; i++) {
		struct er_packet p;
		struct er_sim_result r;
		int peer = (i * 7919) % PEERS;

		snprintf(dst, sizeof(dst), "10.%d.%d.1", peer / 256, peer % 256);
		p = h_pkt("192.0.2.1", dst, i % 2 ? IPPROTO_UDP : IPPROTO_TCP,
			  (uint16_t)(1024 + i), 80);
		assert_int_equal(er_sim_packet_out(h->sim, &p, 100, &r), 0);
		if (i % 100 == 0)
			h_step(h, "storm");
	}
	h->check_every_step = true;
	h_step(h, "storm");
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), PEERS);
	assert_int_equal(h_count(h, ER_EV_CONN_ADDED, NULL), PEERS);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	/* Resolve them all: half succeed, half fail. */
	h->check_every_step = false;
	for (int peer = 0; peer < PEERS; peer++) {
		snprintf(name, sizeof(name), "private-or-clear#10.%d.%d.1/32",
			 peer / 256, peer % 256);
		if (peer % 2)
			h_ok(h, name);
		else
			h_fail(h, name);
	}
	h->check_every_step = true;
	h_step(h, "resolved");
	/* No hold left anywhere: tunnels and bare pass shunts only. */
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), PEERS / 2);
	for (const struct er_shunt *s = er_shunt_first(er_engine_shunts(h->e));
	     s != NULL; s = er_shunt_next(er_engine_shunts(h->e), s))
		assert_int_equal(s->action, ER_ACTION_PASS);
	for (const struct er_policy *p =
		     er_spd_first(er_sim_spd(h->sim), ER_DIR_OUT);
	     p != NULL; p = er_spd_next(er_sim_spd(h->sim), p))
		assert_int_not_equal(p->action, ER_ACTION_HOLD);
	/* Everything expires, and deleting the group leaves nothing. */
	h_advance(h, 900);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	assert_int_equal(er_engine_conn_del(h->e, "private-or-clear", NULL), 0);
	h_step(h, "delete group");
	assert_int_equal(h_policies(h), 0);
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 0);
	h_free(h);
}

static void
test_group_ipv6(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;

	(void)state;
	h_group(&cc, "private", "2001:db8::1", "2001:db8:ff::/48");
	cc.failshunt = ER_FAILSHUNT_DROP;
	h_add(h, &cc);
	h_send(h, "2001:db8::1", "2001:db8:ff::9", IPPROTO_TCP, 1, 443);
	assert_int_equal(h_state(h, "private#2001:db8:ff::9/128"),
			 ER_RT_ROUTED_HOLD);
	h_fail(h, "private#2001:db8:ff::9/128");
	assert_int_equal(h_send(h, "2001:db8::1", "2001:db8:ff::9", 6, 1, 443)
				 .verdict,
			 ER_ACTION_DROP);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acquire_creates_one_instance_per_peer),
		cmocka_unit_test(test_private_or_clear_failure_leaves_bare_pass),
		cmocka_unit_test(test_private_failure_leaves_bare_drop),
		cmocka_unit_test(test_bare_shunt_over_the_whole_trap_puts_the_trap_back),
		cmocka_unit_test(test_instance_beats_group_with_explicit_priority),
		cmocka_unit_test(test_responder_creates_instance),
		cmocka_unit_test(test_tunnel_supersedes_bare_failure_shunt),
		cmocka_unit_test(
			test_down_of_the_group_deletes_its_instances_cleanly),
		cmocka_unit_test(test_queued_acquires_for_one_peer_are_absorbed),
		cmocka_unit_test(
			test_queued_acquires_for_one_connection_are_absorbed),
		cmocka_unit_test(
			test_two_groups_one_peer_newer_authenticated_wins),
		cmocka_unit_test(test_acquire_storm_one_negotiation_per_peer),
		cmocka_unit_test(test_group_ipv6),
	};

	return h_run_tests(tests);
}
