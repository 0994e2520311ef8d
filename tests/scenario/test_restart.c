// SPDX-License-Identifier: MIT
/*
 * Reference 004: after a crash the kernel still holds the daemon's
 * policies and SAs; the restarted daemon must adopt them -- no EEXIST, no
 * delete-then-add, no window -- keep its reqids, and leave other daemons'
 * policies alone.
 */
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
add_all(struct h *h, uint32_t west_priority)
{
	struct er_conn_config cc;

	h_conn(&cc, "west", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	cc.priority = west_priority;
	h_add(h, &cc);
	h_conn(&cc, "east", "192.0.2.1", "198.51.100.2", "10.1.0.0/16",
	       "10.3.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	h_conn(&cc, "clear", "192.0.2.1", "198.51.100.3", "10.1.0.0/16",
	       "10.4.0.0/16");
	cc.type = ER_CONN_PASSTHROUGH;
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	h_conn(&cc, "start", "192.0.2.1", "198.51.100.5", "10.1.0.0/16",
	       "10.5.0.0/16");
	cc.autostart = ER_AUTO_START;
	h_add(h, &cc);
	h_group(&cc, "oe", "192.0.2.1", "203.0.113.0/24");
	h_add(h, &cc);
}

static size_t
count_ops(struct h *h, enum er_sim_op op)
{
	const struct er_sim_oprec *recs;
	size_t n = er_sim_oplog(h->sim, &recs), k = 0;

	for (size_t i = 0; i < n; i++)
		k += recs[i].op == op;
	return k;
}

static struct h *
running(void)
{
	struct h *h = h_new(NULL);

	add_all(h, 0);
	h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	h_ok(h, "west");
	h_send(h, "192.0.2.1", "203.0.113.7", 6, 1, 443);
	h_ok(h, "oe#203.0.113.7/32");
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	assert_int_equal(h_state(h, "start"), ER_RT_ROUTED_HOLD);
	return h;
}

static void
test_reference_004_restart_adopts_everything(void **state)
{
	struct h *h = running();
	uint32_t west_reqid = h_info(h, "west").reqid;
	uint32_t west_spi = h_policy(h, ER_DIR_OUT, "10.1.0.0/16",
				     "10.2.0.0/16")->tmpl[0].spi;
	size_t policies = h_policies(h);
	struct er_adopt_stats st;

	(void)state;
	h_crash_and_restart(h);
	/* The kernel kept everything while nobody watched. */
	assert_int_equal(h_policies(h), policies);
	add_all(h, 0);
	st = h_adopt_finish(h);
	/* No EEXIST (no add of a present policy), nothing deleted that is
	 * wanted, no delete-then-add (h_step checks), tunnels back. */
	assert_int_equal(st.added, 0);
	assert_int_equal(count_ops(h, ER_SIM_OP_DEL), 0);
	assert_int_equal(st.deleted, 0);
	assert_int_equal(st.sa_adopted, 4);
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	assert_int_equal(h_info(h, "west").reqid, west_reqid);
	assert_int_equal(h_state(h, "oe#203.0.113.7/32"), ER_RT_TUNNEL);
	assert_int_equal(h_state(h, "clear"), ER_RT_NEVER_NEGOTIATE);
	/* The auto=start connection negotiates again. */
	assert_int_equal(h_state(h, "start"), ER_RT_ROUTED_HOLD);
	/* Only what had to change changed: the negotiating connection's
	 * hold went to the trap and back.  Everything else was adopted. */
	assert_true(st.updated <= 1);
	assert_int_equal(st.adopted + st.updated, policies);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->tmpl[0].spi,
			 west_spi);
	assert_int_equal(h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0).verdict,
			 ER_ACTION_IPSEC);
	/* Adopted SAs work as the engine's own: a soft expire rekeys. */
	h_advance(h, 8 * 3600 - 9 * 60);
	assert_true(h_info(h, "west").negotiating);
	h_free(h);
}

static void
test_restart_with_changed_config_touches_only_that(void **state)
{
	struct h *h = running();
	struct er_adopt_stats st;

	(void)state;
	h_crash_and_restart(h);
	add_all(h, 12345);
	st = h_adopt_finish(h);
	/* west's three policies get the new priority, in place. */
	assert_int_equal(st.added, 0);
	assert_int_equal(st.deleted, 0);
	assert_true(st.updated >= 3 && st.updated <= 4);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->priority,
			 12345);
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	h_free(h);
}

static void
test_restart_deletes_only_what_it_no_longer_wants(void **state)
{
	struct h *h = running();
	struct er_conn_config cc;
	struct er_adopt_stats st;

	(void)state;
	h_crash_and_restart(h);
	/* east is gone from the configuration. */
	h_conn(&cc, "west", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	st = h_adopt_finish(h);
	assert_true(st.deleted > 0);
	assert_null(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.3.0.0/16"));
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	/* The instance's SAs had no connection left: deleted too. */
	assert_int_equal(st.sa_deleted, 2);
	h_free(h);
}

static void
test_foreign_policy_is_never_overwritten(void **state)
{
	struct h *h = h_new(NULL);
	struct er_kernel k = er_sim_kernel(h->sim);
	struct er_policy foreign = {0};
	struct er_conn_config cc;
	struct er_adopt_stats st;
	struct er_err err = {0};
	struct er_prefix s, d;

	(void)state;
	/* Another daemon's policy on east's exact selector. */
	er_prefix_parse(&s, "10.1.0.0/16", NULL);
	er_prefix_parse(&d, "10.3.0.0/16", NULL);
	er_selector_init(&foreign.sel, &s, &d, 0, NULL, NULL, NULL);
	foreign.dir = ER_DIR_OUT;
	foreign.priority = 5;
	foreign.action = ER_ACTION_PASS;
	foreign.owner = ER_OWNER_FOREIGN;
	assert_int_equal(er_kernel_policy_add(&k, &foreign, NULL), 0);
	h_crash_and_restart(h);
	h_conn(&cc, "east", "192.0.2.1", "198.51.100.2", "10.1.0.0/16",
	       "10.3.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	assert_true(er_engine_conn_add(h->e, &cc, &err) > 0);
	assert_non_null(strstr(err.msg, "belongs to another IPsec daemon"));
	h_step(h, "add");
	st = h_adopt_finish(h);
	assert_int_equal(st.foreign, 1);
	assert_int_equal(h_state(h, "east"), ER_RT_UNROUTED);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.3.0.0/16")
				 ->owner,
			 ER_OWNER_FOREIGN);
	assert_int_equal(er_engine_route(h->e, "east", &err), -EBUSY);
	/* When the other daemon removes it, east may be routed. */
	er_kernel_policy_del(&k, ER_DIR_OUT, &foreign.sel, NULL);
	er_sim_oplog_clear(h->sim); /* that delete was the other daemon's */
	{
		struct er_kernel_event ev = {.type = ER_KEV_POLICY_CHANGED,
					     .dir = ER_DIR_OUT,
					     .sel = foreign.sel,
					     .deleted = true};

		er_engine_kernel_event(h->e, &ev, NULL);
	}
	assert_int_equal(er_engine_route(h->e, "east", &err), 0);
	h_step(h, "route");
	assert_int_equal(h_state(h, "east"), ER_RT_PROSPECTIVE);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_004_restart_adopts_everything),
		cmocka_unit_test(test_restart_with_changed_config_touches_only_that),
		cmocka_unit_test(test_restart_deletes_only_what_it_no_longer_wants),
		cmocka_unit_test(test_foreign_policy_is_never_overwritten),
	};

	return h_run_tests(tests);
}
