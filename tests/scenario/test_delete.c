// SPDX-License-Identifier: MIT
/* Deleting a connection in every routing state, IPv4 and IPv6, leaves
 * nothing of it, except an opportunistic instance's failure shunt, which
 * turns bare. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

static void
test_delete_in_every_state(void **state)
{
	(void)state;
	for (int i = 0; i < 2 * ER_RT_COUNT; i++) {
		int st = i % ER_RT_COUNT;
		struct h *h = h_into_state_af((enum er_routing)st,
					      i < ER_RT_COUNT ? AF_INET
							      : AF_INET6);
		size_t others = st == ER_RT_ECLIPSED ? 3 : 0;

		assert_int_equal(er_engine_conn_del(h->e, "c", NULL), 0);
		h_step(h, "delete");
		assert_false(h_exists(h, "c"));
		assert_int_equal(h_policies(h), others);
		assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 0);
		assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
		if (st == ER_RT_ECLIPSED)
			assert_int_equal(h_state(h, "better"),
					 ER_RT_NEVER_NEGOTIATE);
		/* Routed connections take their route with them. */
		if (st != ER_RT_UNROUTED && st != ER_RT_UNROUTED_HOLD &&
		    st != ER_RT_ECLIPSED)
			if (h_count_updown(h, ER_UPDOWN_UNROUTE, "c") != 1)
				fail_msg("deleted while %s: no unroute-client",
					 er_routing_name((enum er_routing)st));
		if (st == ER_RT_TUNNEL)
			assert_int_equal(h_count_updown(h, ER_UPDOWN_DOWN, "c"),
					 1);
		assert_int_equal(er_engine_conn_del(h->e, "c", NULL), -ENOENT);
		h_free(h);
	}
}

static void
test_delete_instance_in_failure_leaves_bare_shunt(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;

	(void)state;
	h_group(&cc, "private", "192.0.2.1", "198.51.100.0/24");
	cc.keyingtries = 2;
	cc.failshunt = ER_FAILSHUNT_DROP;
	h_add(h, &cc);
	h_send(h, "192.0.2.1", "198.51.100.3", 6, 1, 80);
	/* Deleting a negotiating instance removes it cleanly. */
	assert_int_equal(er_engine_conn_del(h->e, "private#198.51.100.3/32",
					    NULL),
			 0);
	h_step(h, "delete negotiating instance");
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	/* Its retained packet, sent again, trips the group's trap: the
	 * peer gets a new instance. */
	assert_int_equal(h_state(h, "private#198.51.100.3/32"),
			 ER_RT_ROUTED_HOLD);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), 2);
	assert_int_equal(h_policies(h), 2);
	/* Deleting the group takes every instance along. */
	h_send(h, "192.0.2.1", "198.51.100.4", 6, 1, 80);
	h_ok(h, "private#198.51.100.4/32");
	assert_int_equal(er_engine_conn_del(h->e, "private", NULL), 0);
	h_step(h, "delete group");
	assert_false(h_exists(h, "private#198.51.100.4/32"));
	assert_false(h_exists(h, "private#198.51.100.3/32"));
	assert_int_equal(h_policies(h), 0);
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 0);
	h_free(h);
}

static void
test_shutdown_removes_everything(void **state)
{
	struct h *h = h_into_state(ER_RT_TUNNEL);
	struct er_conn_config cc;

	(void)state;
	h_group(&cc, "private", "192.0.2.1", "198.51.100.0/24");
	h_add(h, &cc);
	h_send(h, "192.0.2.1", "198.51.100.3", 6, 1, 80);
	h_fail(h, "private#198.51.100.3/32");
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 1);
	/* A negotiating instance whose hold retains a packet: on the way
	 * out that packet must not trap again and leave a shunt behind. */
	h_send(h, "192.0.2.1", "198.51.100.4", 6, 1, 80);
	assert_int_equal(h_state(h, "private#198.51.100.4/32"),
			 ER_RT_ROUTED_HOLD);
	er_engine_shutdown(h->e);
	h_step(h, "shutdown");
	assert_int_equal(h_policies(h), 0);
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 0);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delete_in_every_state),
		cmocka_unit_test(test_delete_instance_in_failure_leaves_bare_shunt),
		cmocka_unit_test(test_shutdown_removes_everything),
	};

	return h_run_tests(tests);
}
