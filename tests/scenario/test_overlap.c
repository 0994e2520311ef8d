// SPDX-License-Identifier: MIT
/* Overlapping connections, claimants of one selector (eclipse), route
 * sharing, and the never-negotiate types. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

static void
add(struct h *h, const char *name, const char *left, const char *lsub,
    const char *rsub, enum er_conn_type type, uint32_t prio)
{
	struct er_conn_config cc;

	h_conn(&cc, name, left, "198.51.100.1", lsub, rsub);
	cc.type = type;
	cc.priority = prio;
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
}

static void
test_passthrough_drop_reject(void **state)
{
	struct h *h = h_new(NULL);

	(void)state;
	add(h, "tunnel", "192.0.2.1", "10.1.0.0/16", "10.0.0.0/8",
	    ER_CONN_TUNNEL, 0);
	add(h, "clear", "192.0.2.1", "10.1.0.0/16", "10.9.0.0/16",
	    ER_CONN_PASSTHROUGH, 0);
	add(h, "block", "192.0.2.1", "10.1.0.0/16", "10.8.0.0/16",
	    ER_CONN_DROP, 0);
	add(h, "refuse", "192.0.2.1", "10.1.0.0/16", "10.7.0.0/16",
	    ER_CONN_REJECT, 0);
	assert_int_equal(h_state(h, "clear"), ER_RT_NEVER_NEGOTIATE);
	assert_int_equal(h_state(h, "block"), ER_RT_NEVER_NEGOTIATE);
	/* Exceptions are more specific: they win inside the tunnel. */
	assert_int_equal(h_send(h, "10.1.0.1", "10.9.0.1", 6, 1, 80).verdict,
			 ER_ACTION_PASS);
	assert_int_equal(h_send(h, "10.1.0.1", "10.8.0.1", 6, 1, 80).verdict,
			 ER_ACTION_DROP);
	assert_int_equal(h_send(h, "10.1.0.1", "10.7.0.1", 6, 1, 80).verdict,
			 ER_ACTION_REJECT);
	assert_int_equal(h_send(h, "10.1.0.1", "10.6.0.1", 6, 1, 80).verdict,
			 ER_ACTION_TRAP);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), 1);
	assert_int_equal(er_engine_up(h->e, "clear", NULL), -EINVAL);
	assert_non_null(h_policy(h, ER_DIR_IN, "10.9.0.0/16", "10.1.0.0/16"));
	assert_int_equal(er_engine_unroute(h->e, "clear", NULL), 0);
	h_step(h, "unroute");
	assert_null(h_policy(h, ER_DIR_IN, "10.9.0.0/16", "10.1.0.0/16"));
	assert_int_equal(h_send(h, "10.1.0.1", "10.9.0.1", 6, 1, 80).verdict,
			 ER_ACTION_HOLD);
	h_free(h);
}

static void
test_same_selector_claimants_eclipse(void **state)
{
	struct h *h = h_new(NULL);
	const struct er_policy *p;

	(void)state;
	add(h, "a", "192.0.2.1", "10.1.0.0/16", "10.2.0.0/16", ER_CONN_TUNNEL,
	    0);
	/* Explicit priority 100 beats the computed one. */
	add(h, "b", "192.0.2.1", "10.1.0.0/16", "10.2.0.0/16",
	    ER_CONN_PASSTHROUGH, 100);
	assert_int_equal(h_state(h, "a"), ER_RT_ECLIPSED);
	assert_int_equal(h_state(h, "b"), ER_RT_NEVER_NEGOTIATE);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_int_equal(p->action, ER_ACTION_PASS);
	assert_int_equal(p->priority, 100);
	assert_int_equal(er_engine_up(h->e, "a", NULL), -EBUSY);
	/* A third, worse claimant waits too. */
	add(h, "c", "192.0.2.1", "10.1.0.0/16", "10.2.0.0/16", ER_CONN_DROP,
	    0xfffffff0);
	assert_int_equal(h_state(h, "c"), ER_RT_ECLIPSED);
	/* Removing the best installs the next with one replace. */
	assert_int_equal(er_engine_conn_del(h->e, "b", NULL), 0);
	h_step(h, "delete b");
	assert_int_equal(h_state(h, "a"), ER_RT_PROSPECTIVE);
	assert_int_equal(h_state(h, "c"), ER_RT_ECLIPSED);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_int_equal(p->action, ER_ACTION_TRAP);
	assert_int_equal(er_engine_unroute(h->e, "a", NULL), 0);
	h_step(h, "unroute a");
	assert_int_equal(h_state(h, "c"), ER_RT_NEVER_NEGOTIATE);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->action,
			 ER_ACTION_DROP);
	/* Only the last removal deletes the policy. */
	assert_int_equal(er_engine_conn_del(h->e, "c", NULL), 0);
	h_step(h, "delete c");
	assert_int_equal(h_policies(h), 0);
	h_free(h);
}

static void
test_eclipsed_tunnel_comes_back(void **state)
{
	struct h *h = h_new(NULL);

	(void)state;
	add(h, "a", "192.0.2.1", "10.1.0.0/16", "10.2.0.0/16", ER_CONN_TUNNEL,
	    0);
	h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	h_ok(h, "a");
	assert_int_equal(h_state(h, "a"), ER_RT_TUNNEL);
	add(h, "b", "192.0.2.1", "10.1.0.0/16", "10.2.0.0/16", ER_CONN_DROP, 5);
	assert_int_equal(h_state(h, "a"), ER_RT_ECLIPSED);
	assert_int_equal(h_info(h, "a").eroute_owner, 0);
	assert_int_equal(h_info(h, "a").ngroups, 1);
	assert_int_equal(h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0).verdict,
			 ER_ACTION_DROP);
	er_engine_unroute(h->e, "b", NULL);
	h_step(h, "unroute b");
	assert_int_equal(h_state(h, "a"), ER_RT_TUNNEL);
	assert_int_equal(h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0).verdict,
			 ER_ACTION_IPSEC);
	h_free(h);
}

static void
test_route_sharing(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	struct er_err err = {0};

	(void)state;
	/* Two connections to the same remote client share one route. */
	add(h, "web", "192.0.2.1", "10.1.0.0/24", "10.2.0.0/16",
	    ER_CONN_TUNNEL, 0);
	add(h, "mail", "192.0.2.1", "10.1.1.0/24", "10.2.0.0/16",
	    ER_CONN_TUNNEL, 0);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_ROUTE, NULL), 1);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_ROUTE, "web"), 1);
	/* A third wants the same client via another interface: refused. */
	h_conn(&cc, "other", "192.0.2.99", "198.51.100.1", "10.1.2.0/24",
	       "10.2.0.0/16");
	assert_true(er_engine_conn_add(h->e, &cc, &err) > 0);
	assert_int_equal(er_engine_route(h->e, "other", &err), -EBUSY);
	assert_string_equal(err.msg, "other: route to its peer's client is "
				     "owned by \"web\" via 192.0.2.1");
	h_step(h, "refused");
	assert_int_equal(h_state(h, "other"), ER_RT_UNROUTED);
	/* The route goes only with the last user. */
	er_engine_unroute(h->e, "web", NULL);
	h_step(h, "unroute web");
	assert_int_equal(h_count_updown(h, ER_UPDOWN_UNROUTE, NULL), 0);
	er_engine_unroute(h->e, "mail", NULL);
	h_step(h, "unroute mail");
	assert_int_equal(h_count_updown(h, ER_UPDOWN_UNROUTE, "mail"), 1);
	assert_int_equal(er_engine_route(h->e, "other", &err), 0);
	h_step(h, "route other");
	h_free(h);
}

static void
test_routing_clears_covered_bare_holds_and_drops(void **state)
{
	struct h *h = h_new(NULL);
	struct er_kernel_event ev = {.type = ER_KEV_ACQUIRE};
	struct er_conn_config cc;

	(void)state;
	/* A bare pass from an unmatched acquire, then a connection that
	 * covers it: pass shunts stay (they expire), drops and holds go. */
	ev.pkt = h_pkt("10.1.0.1", "10.2.0.1", 6, 1, 2);
	er_selector_host(&ev.sel, &ev.pkt, false);
	er_engine_kernel_event(h->e, &ev, NULL);
	h_step(h, "acquire");
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 1);
	h_conn(&cc, "a", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 1);
	/* The tunnel, once up, supersedes every bare shunt it covers. */
	er_engine_up(h->e, "a", NULL);
	h_step(h, "up");
	h_ok(h, "a");
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passthrough_drop_reject),
		cmocka_unit_test(test_same_selector_claimants_eclipse),
		cmocka_unit_test(test_eclipsed_tunnel_comes_back),
		cmocka_unit_test(test_route_sharing),
		cmocka_unit_test(test_routing_clears_covered_bare_holds_and_drops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
