// SPDX-License-Identifier: MIT
/* Overlapping connections, claimants of one selector (eclipse), route
 * sharing, and the never-negotiate types. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
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

/* Two claimants of one selector with different reqids (one set with
 * reqid=): the installed trap carries the best claimant's reqid in the
 * policy and its template, so an acquire names the connection that owns
 * the trap; when that one goes, the replace carries the next one's. */
static void
test_claimants_with_different_reqids(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	const struct er_policy *p;
	uint32_t ra;

	(void)state;
	add(h, "a", "192.0.2.1", "10.1.0.0/16", "10.2.0.0/16", ER_CONN_TUNNEL,
	    0);
	ra = h_info(h, "a").reqid;
	h_conn(&cc, "b", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.priority = 100;
	cc.reqid = 0x1234;
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	assert_int_not_equal(ra, 0x1234);
	assert_int_equal(h_state(h, "a"), ER_RT_ECLIPSED);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_int_equal(p->reqid, 0x1234);
	assert_int_equal(p->tmpl[0].reqid, 0x1234);
	h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	assert_int_equal(h_state(h, "b"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "b"), 1);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "a"), 0);
	assert_int_equal(er_engine_conn_del(h->e, "b", NULL), 0);
	h_step(h, "delete b");
	/* b's hold, gone, released its packet into a's trap at once: a
	 * negotiates now, its hold carrying its own reqid. */
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_int_equal(p->action, ER_ACTION_HOLD);
	assert_int_equal(p->reqid, ra);
	assert_int_equal(p->tmpl[0].reqid, ra);
	assert_int_equal(h_state(h, "a"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "a"), 1);
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

/* A failed instance of a group on 10.1.0.1 towards @peer leaves a bare
 * shunt of the group's failureshunt=. */
static void
bare_from_group(struct h *h, const char *name, const char *prefix,
		enum er_failshunt fs, const char *peer)
{
	struct er_conn_config cc;
	char inst[64];

	h_group(&cc, name, "10.1.0.1", prefix);
	cc.failshunt = fs;
	h_add(h, &cc);
	h_send(h, "10.1.0.1", peer, 6, 1, 80);
	snprintf(inst, sizeof(inst), "%s#%s/32", name, peer);
	h_fail(h, inst);
	assert_false(h_exists(h, inst));
}

static void
test_routing_clears_covered_bare_holds_and_drops(void **state)
{
	struct h *h = h_new(NULL);
	struct er_kernel_event ev = {.type = ER_KEV_ACQUIRE};
	struct er_conn_config cc;
	const struct er_shunt *s;

	(void)state;
	/* Bare shunts inside 10.1/16 -> 10.2/16: a drop, a hold
	 * (failureshunt=none) and a pass from failed instances, and a pass
	 * from an acquire no connection covered. */
	bare_from_group(h, "drop", "10.2.1.0/24", ER_FAILSHUNT_DROP,
			"10.2.1.5");
	bare_from_group(h, "none", "10.2.2.0/24", ER_FAILSHUNT_NONE,
			"10.2.2.5");
	bare_from_group(h, "pass", "10.2.3.0/24", ER_FAILSHUNT_PASS,
			"10.2.3.5");
	ev.pkt = h_pkt("10.1.0.9", "10.2.0.1", 6, 1, 2);
	er_selector_host(&ev.sel, &ev.pkt, false);
	er_engine_kernel_event(h->e, &ev, NULL);
	h_step(h, "acquire");
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 4);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.1", "10.2.2.5")
				 ->action,
			 ER_ACTION_HOLD);
	/* A connection whose selector covers them all: routing it removes
	 * the holds and drops, which would shadow it; passes stay until
	 * they expire. */
	h_conn(&cc, "a", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 2);
	for (s = er_shunt_first(er_engine_shunts(h->e)); s != NULL;
	     s = er_shunt_next(er_engine_shunts(h->e), s))
		assert_int_equal(s->action, ER_ACTION_PASS);
	assert_null(h_policy(h, ER_DIR_OUT, "10.1.0.1", "10.2.1.5"));
	/* The hold's retained packet, released, meets its group's trap
	 * again: a new instance holds that flow now, not a bare shunt. */
	assert_int_equal(h_state(h, "none#10.2.2.5/32"), ER_RT_ROUTED_HOLD);
	assert_int_not_equal(h_policy(h, ER_DIR_OUT, "10.1.0.1", "10.2.2.5")
				     ->owner,
			     ER_OWNER_BARE);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.1", "10.2.3.5")
				 ->action,
			 ER_ACTION_PASS);
	/* Routing again changes nothing. */
	assert_int_equal(er_engine_route(h->e, "a", NULL), 0);
	h_step(h, "route again");
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 2);
	/* The tunnel, once up, supersedes every bare shunt it covers. */
	er_engine_up(h->e, "a", NULL);
	h_step(h, "up");
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 2);
	h_ok(h, "a");
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	assert_null(h_policy(h, ER_DIR_OUT, "10.1.0.1", "10.2.3.5"));
	assert_null(h_policy(h, ER_DIR_OUT, "10.1.0.9", "10.2.0.1"));
	h_free(h);
}

/* A bare shunt outside the selector, or only overlapping it, is not the
 * connection's to remove. */
static void
test_routing_leaves_bare_shunts_it_does_not_cover(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;

	(void)state;
	bare_from_group(h, "drop", "10.2.1.0/24", ER_FAILSHUNT_DROP,
			"10.2.1.5");
	h_conn(&cc, "a", "192.0.2.1", "198.51.100.1", "10.1.0.0/24",
	       "10.2.0.0/24");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	er_engine_up(h->e, "a", NULL);
	h_step(h, "up");
	h_ok(h, "a");
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 1);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.1", "10.2.1.5")
				 ->action,
			 ER_ACTION_DROP);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passthrough_drop_reject),
		cmocka_unit_test(test_same_selector_claimants_eclipse),
		cmocka_unit_test(test_claimants_with_different_reqids),
		cmocka_unit_test(test_eclipsed_tunnel_comes_back),
		cmocka_unit_test(test_route_sharing),
		cmocka_unit_test(test_routing_clears_covered_bare_holds_and_drops),
		cmocka_unit_test(test_routing_leaves_bare_shunts_it_does_not_cover),
	};

	return h_run_tests(tests);
}
