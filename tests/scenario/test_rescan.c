// SPDX-License-Identifier: MIT
/* Lost acquires (reference 001's orphaned holds) are found again in the
 * kernel; idle bare pass shunts go early (SHUNT_PATIENCE). */
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
test_lost_acquires_are_found_again(void **state)
{
	enum { FLOWS = 1000 };
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	struct er_sim_stats st;
	char dst[32];
	int fed;

	(void)state;
	h_group(&cc, "oe", "192.0.2.1", "10.0.0.0/8");
	h_add(h, &cc);
	/* Half of the ACQUIREs never reach the engine; until the rescan the
	 * kernel holds holds the engine does not know. */
	er_sim_set_acquire_drop(h->sim, 500);
	h->check_every_step = false;
	for (int i = 0; i < FLOWS; i++) {
		snprintf(dst, sizeof(dst), "10.1.%d.%d", i / 250, i % 250 + 1);
		h_send(h, "192.0.2.1", dst, IPPROTO_UDP, 1, 53);
	}
	er_sim_stats(h->sim, &st);
	assert_true(st.acquires_lost > FLOWS / 4);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL),
			 FLOWS - st.acquires_lost);
	/* The orphaned holds are the kernel's: the rescan finds them. */
	fed = er_engine_rescan(h->e, 0, NULL);
	h->check_every_step = true;
	h_step(h, "rescan");
	assert_int_equal(fed, (int)st.acquires_lost);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), FLOWS);
	/* A second rescan finds nothing new and starts nothing. */
	fed = er_engine_rescan(h->e, 0, NULL);
	h_step(h, "rescan again");
	assert_int_equal(fed, 0);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), FLOWS);
	h_free(h);
}

static void
test_idle_bare_pass_shunts_go_early(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;

	(void)state;
	h_group(&cc, "oe", "192.0.2.1", "203.0.113.0/24");
	h_add(h, &cc);
	h_send(h, "192.0.2.1", "203.0.113.1", 6, 1, 443);
	h_fail(h, "oe#203.0.113.1/32");
	h_send(h, "192.0.2.1", "203.0.113.2", 6, 1, 443);
	h_fail(h, "oe#203.0.113.2/32");
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 2);
	/* One peer keeps sending through its pass shunt, one goes quiet. */
	for (int i = 0; i < 10; i++) {
		h_advance(h, 20);
		h_send(h, "192.0.2.1", "203.0.113.1", 6, 1, 443);
	}
	er_engine_rescan(h->e, 150, NULL);
	h_step(h, "rescan");
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 1);
	assert_non_null(h_policy(h, ER_DIR_OUT, "192.0.2.1", "203.0.113.1"));
	assert_null(h_policy(h, ER_DIR_OUT, "192.0.2.1", "203.0.113.2"));
	/* The quiet peer traps again at once. */
	assert_int_equal(h_send(h, "192.0.2.1", "203.0.113.2", 6, 1, 443)
				 .verdict,
			 ER_ACTION_TRAP);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lost_acquires_are_found_again),
		cmocka_unit_test(test_idle_bare_pass_shunts_go_early),
	};

	return h_run_tests(tests);
}
