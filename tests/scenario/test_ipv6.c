// SPDX-License-Identifier: MIT
/* The scenarios of the other files, once more over IPv6: failure and its
 * shunts, rekey and expiry, never-negotiate types and claimants, route
 * sharing, opportunistic instances (reference 000) and an acquire storm,
 * deletion. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

#define LNET "2001:db8:1::/48"
#define RNET "2001:db8:2::/48"
#define LHOST "2001:db8:1::5"
#define RHOST "2001:db8:2::7"

static struct h *
setup(uint32_t tries, enum er_failshunt fs, enum er_auto autostart)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;

	h_conn(&cc, "v6", "2001:db8::1", "2001:db8::2", LNET, RNET);
	cc.keyingtries = tries;
	cc.failshunt = fs;
	cc.autostart = autostart;
	cc.sa_lifetime = 1000;
	cc.rekey_margin = 100;
	h_add(h, &cc);
	return h;
}

static enum er_action
out_action(struct h *h)
{
	const struct er_policy *p = h_policy(h, ER_DIR_OUT, LNET, RNET);

	assert_non_null(p);
	return p->action;
}

static void
test_ipv6_keyingtries_failure_shunt_and_expiry(void **state)
{
	struct h *h = setup(3, ER_FAILSHUNT_DROP, ER_AUTO_ONDEMAND);

	(void)state;
	assert_int_equal(out_action(h), ER_ACTION_TRAP);
	h_send(h, LHOST, RHOST, IPPROTO_ICMPV6, 0, 0);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(h_state(h, "v6"), ER_RT_ROUTED_HOLD);
		assert_int_equal(out_action(h), ER_ACTION_HOLD);
		assert_int_equal(h_info(h, "v6").tries, i);
		h_fail(h, "v6");
	}
	assert_int_equal(h_state(h, "v6"), ER_RT_FAILURE);
	assert_int_equal(out_action(h), ER_ACTION_DROP);
	assert_int_equal(h_send(h, LHOST, RHOST, IPPROTO_TCP, 1, 80).verdict,
			 ER_ACTION_DROP);
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 0);
	h_advance(h, 899);
	assert_int_equal(h_state(h, "v6"), ER_RT_FAILURE);
	h_advance(h, 1);
	assert_int_equal(h_state(h, "v6"), ER_RT_PROSPECTIVE);
	assert_int_equal(out_action(h), ER_ACTION_TRAP);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "v6"), 3);
	h_free(h);
}

static void
test_ipv6_failureshunt_none_holds(void **state)
{
	struct h *h = setup(1, ER_FAILSHUNT_NONE, ER_AUTO_START);

	(void)state;
	h_fail(h, "v6");
	assert_int_equal(h_state(h, "v6"), ER_RT_FAILURE);
	assert_int_equal(out_action(h), ER_ACTION_HOLD);
	assert_int_equal(h_send(h, LHOST, RHOST, IPPROTO_UDP, 1, 53).verdict,
			 ER_ACTION_HOLD);
	/* auto=start: revived after the failure context, 5 s later; the
	 * retained packet trapped at once meanwhile. */
	h_advance(h, 900);
	assert_int_equal(h_state(h, "v6"), ER_RT_ROUTED_HOLD);
	h_free(h);
}

static void
test_ipv6_rekey_and_expiry(void **state)
{
	struct h *h = setup(1, ER_FAILSHUNT_PASS, ER_AUTO_ONDEMAND);
	uint32_t old;

	(void)state;
	h_send(h, LHOST, RHOST, IPPROTO_TCP, 1, 80);
	h_ok(h, "v6");
	assert_int_equal(h_state(h, "v6"), ER_RT_TUNNEL);
	old = h_policy(h, ER_DIR_OUT, LNET, RNET)->tmpl[0].spi;
	assert_int_equal(h_policy(h, ER_DIR_IN, RNET, LNET)->action,
			 ER_ACTION_IPSEC);
	assert_non_null(h_policy(h, ER_DIR_FWD, RNET, LNET));
	/* Both SAs soft-expire in one tick: one rekey. */
	h_advance(h, 900);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "v6"), 2);
	h_ok(h, "v6");
	assert_int_not_equal(h_policy(h, ER_DIR_OUT, LNET, RNET)->tmpl[0].spi,
			     old);
	/* The old group's hard expiry leaves the new eroute alone. */
	h_advance(h, 100);
	assert_int_equal(h_info(h, "v6").ngroups, 1);
	assert_int_equal(h_send(h, LHOST, RHOST, IPPROTO_TCP, 1, 80).verdict,
			 ER_ACTION_IPSEC);
	/* The next rekey fails: when the SAs die, the failure shunt. */
	h_advance(h, 800);
	h_fail(h, "v6");
	assert_int_equal(h_state(h, "v6"), ER_RT_TUNNEL);
	h_advance(h, 100);
	assert_int_equal(h_state(h, "v6"), ER_RT_FAILURE);
	assert_int_equal(out_action(h), ER_ACTION_PASS);
	assert_null(h_policy(h, ER_DIR_IN, RNET, LNET));
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 0);
	h_free(h);
}

static void
add(struct h *h, const char *name, const char *rsub, enum er_conn_type type,
    uint32_t prio)
{
	struct er_conn_config cc;

	h_conn(&cc, name, "2001:db8::1", "2001:db8::2", LNET, rsub);
	cc.type = type;
	cc.priority = prio;
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
}

static void
test_ipv6_never_negotiate_and_claimants(void **state)
{
	struct h *h = h_new(NULL);

	(void)state;
	add(h, "tunnel", "2001:db8::/32", ER_CONN_TUNNEL, 0);
	add(h, "clear", "2001:db8:9::/48", ER_CONN_PASSTHROUGH, 0);
	add(h, "block", "2001:db8:8::/48", ER_CONN_DROP, 0);
	add(h, "refuse", "2001:db8:7::/48", ER_CONN_REJECT, 0);
	assert_int_equal(h_send(h, LHOST, "2001:db8:9::1", 6, 1, 80).verdict,
			 ER_ACTION_PASS);
	assert_int_equal(h_send(h, LHOST, "2001:db8:8::1", 6, 1, 80).verdict,
			 ER_ACTION_DROP);
	assert_int_equal(h_send(h, LHOST, "2001:db8:7::1", 6, 1, 80).verdict,
			 ER_ACTION_REJECT);
	assert_int_equal(h_state(h, "clear"), ER_RT_NEVER_NEGOTIATE);
	/* A second claimant of "block"'s selector, better by priority:
	 * block is eclipsed; its removal hands the selector back by one
	 * replace. */
	add(h, "better", "2001:db8:8::/48", ER_CONN_PASSTHROUGH, 5);
	assert_int_equal(h_state(h, "block"), ER_RT_ECLIPSED);
	assert_int_equal(h_send(h, LHOST, "2001:db8:8::1", 6, 1, 80).verdict,
			 ER_ACTION_PASS);
	assert_int_equal(er_engine_conn_del(h->e, "better", NULL), 0);
	h_step(h, "delete better");
	assert_int_equal(h_state(h, "block"), ER_RT_NEVER_NEGOTIATE);
	assert_int_equal(h_send(h, LHOST, "2001:db8:8::1", 6, 1, 80).verdict,
			 ER_ACTION_DROP);
	h_free(h);
}

static void
test_ipv6_route_sharing(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	struct er_err err = {0};

	(void)state;
	h_conn(&cc, "a", "2001:db8::1", "2001:db8::2", "2001:db8:1::/64",
	       RNET);
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	h_conn(&cc, "b", "2001:db8::1", "2001:db8::2", "2001:db8:1:1::/64",
	       RNET);
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_ROUTE, NULL), 1);
	h_conn(&cc, "c", "2001:db8::99", "2001:db8::2", "2001:db8:1:2::/64",
	       RNET);
	assert_true(er_engine_conn_add(h->e, &cc, &err) > 0);
	assert_int_equal(er_engine_route(h->e, "c", &err), -EBUSY);
	h_step(h, "refused");
	er_engine_unroute(h->e, "a", NULL);
	h_step(h, "unroute a");
	assert_int_equal(h_count_updown(h, ER_UPDOWN_UNROUTE, NULL), 0);
	assert_int_equal(er_engine_route(h->e, "c", &err), -EBUSY);
	er_engine_unroute(h->e, "b", NULL);
	h_step(h, "unroute b");
	assert_int_equal(h_count_updown(h, ER_UPDOWN_UNROUTE, "b"), 1);
	assert_int_equal(er_engine_route(h->e, "c", &err), 0);
	h_step(h, "route c");
	h_free(h);
}

/* Reference 000 over IPv6: the initiator retries, the peer initiates, the
 * old attempt fails late; the tunnel and its eroute stay. */
static void
test_ipv6_reference_000_old_state_keeps_new_eroute(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	const char *inst = "private#2001:db8:ff::9/128";
	const struct er_policy *p;

	(void)state;
	h_group(&cc, "private", "2001:db8::1", "2001:db8:ff::/48");
	cc.keyingtries = 0;
	cc.failshunt = ER_FAILSHUNT_DROP;
	h_add(h, &cc);
	h_send(h, "2001:db8::1", "2001:db8:ff::9", IPPROTO_TCP, 1, 22);
	h_fail(h, inst);
	assert_int_equal(h_state(h, inst), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_responder(h, "private", "2001:db8:ff::9"), 0);
	assert_int_equal(h_state(h, inst), ER_RT_TUNNEL);
	h_fail(h, inst);
	assert_int_equal(h_state(h, inst), ER_RT_TUNNEL);
	p = h_policy(h, ER_DIR_OUT, "2001:db8::1/128", "2001:db8:ff::9/128");
	assert_int_equal(p->action, ER_ACTION_IPSEC);
	assert_int_equal(h_send(h, "2001:db8::1", "2001:db8:ff::9",
				IPPROTO_TCP, 1, 22)
				 .spi,
			 p->tmpl[0].spi);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	/* A clean down leaves nothing behind. */
	assert_int_equal(er_engine_down(h->e, inst, NULL), 0);
	h_step(h, "down");
	assert_false(h_exists(h, inst));
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	assert_int_equal(h_policies(h), 1);
	h_free(h);
}

static void
test_ipv6_acquire_storm(void **state)
{
	enum { PEERS = 200, PACKETS = 2000 };
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	char dst[64], name[96];

	(void)state;
	h_group(&cc, "oe", "2001:db8::1", "2001:db8:100::/40");
	h_add(h, &cc);
	h->check_every_step = false;
	for (int i = 0; i < PACKETS; i++) {
		struct er_packet p;
		struct er_sim_result r;

		snprintf(dst, sizeof(dst), "2001:db8:100::%x",
			 (i * 7919) % PEERS + 1);
		p = h_pkt("2001:db8::1", dst, i % 2 ? IPPROTO_UDP : IPPROTO_TCP,
			  (uint16_t)(1024 + i), 80);
		assert_int_equal(er_sim_packet_out(h->sim, &p, 100, &r), 0);
		if (i % 50 == 0)
			h_step(h, "storm");
	}
	h->check_every_step = true;
	h_step(h, "storm");
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), PEERS);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	h->check_every_step = false;
	for (int peer = 1; peer <= PEERS; peer++) {
		snprintf(name, sizeof(name), "oe#2001:db8:100::%x/128", peer);
		if (peer % 2)
			h_ok(h, name);
		else
			h_fail(h, name);
	}
	h->check_every_step = true;
	h_step(h, "resolved");
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), PEERS / 2);
	for (const struct er_policy *p =
		     er_spd_first(er_sim_spd(h->sim), ER_DIR_OUT);
	     p != NULL; p = er_spd_next(er_sim_spd(h->sim), p))
		assert_int_not_equal(p->action, ER_ACTION_HOLD);
	assert_int_equal(er_engine_conn_del(h->e, "oe", NULL), 0);
	h_step(h, "delete group");
	/* The failed peers' bare shunts outlive the group, then expire. */
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 0);
	h_advance(h, 900);
	assert_int_equal(h_policies(h), 0);
	h_free(h);
}

/* Deleting an IPv6 connection in the states that hold the most. */
static void
test_ipv6_delete_in_tunnel_and_failure(void **state)
{
	struct h *h = setup(1, ER_FAILSHUNT_DROP, ER_AUTO_ONDEMAND);
	struct er_conn_config cc;

	(void)state;
	h_send(h, LHOST, RHOST, IPPROTO_TCP, 1, 80);
	h_ok(h, "v6");
	assert_int_equal(er_engine_conn_del(h->e, "v6", NULL), 0);
	h_step(h, "delete tunnel");
	assert_int_equal(h_policies(h), 0);
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 0);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_DOWN, "v6"), 1);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_UNROUTE, "v6"), 1);
	h_conn(&cc, "v6", "2001:db8::1", "2001:db8::2", LNET, RNET);
	cc.keyingtries = 1;
	cc.failshunt = ER_FAILSHUNT_DROP;
	cc.autostart = ER_AUTO_START;
	h_add(h, &cc);
	h_fail(h, "v6");
	assert_int_equal(h_state(h, "v6"), ER_RT_FAILURE);
	assert_int_equal(er_engine_conn_del(h->e, "v6", NULL), 0);
	h_step(h, "delete failure");
	assert_int_equal(h_policies(h), 0);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv6_keyingtries_failure_shunt_and_expiry),
		cmocka_unit_test(test_ipv6_failureshunt_none_holds),
		cmocka_unit_test(test_ipv6_rekey_and_expiry),
		cmocka_unit_test(test_ipv6_never_negotiate_and_claimants),
		cmocka_unit_test(test_ipv6_route_sharing),
		cmocka_unit_test(
			test_ipv6_reference_000_old_state_keeps_new_eroute),
		cmocka_unit_test(test_ipv6_acquire_storm),
		cmocka_unit_test(test_ipv6_delete_in_tunnel_and_failure),
	};

	return h_run_tests(tests);
}
