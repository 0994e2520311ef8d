// SPDX-License-Identifier: MIT
/* A kernel operation failing in the middle of a change: the old policy
 * stays, the failure is logged naming the policy, the deadline says a
 * retry is due, and the next tick makes the kernel right.  One test per
 * bug the fault sweep (the faults tests: every scenario with every Nth kernel
 * operation failing) found; each fails the one operation that mattered. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

/* The @k-th mutating kernel operation from now fails, the rest succeed
 * (until as many again have gone by). */
static uint64_t
fail_in(struct h *h, uint64_t k)
{
	struct er_sim_stats st;

	er_sim_stats(h->sim, &st);
	er_sim_set_fail_every(h->sim, (uint32_t)(st.ops + k));
	return st.ops + k;
}

static void
faults_off(struct h *h)
{
	er_sim_set_fail_every(h->sim, 0);
}

static size_t
sim_sas(struct h *h)
{
	return er_sad_count(er_sim_sad(h->sim));
}

/* down from tunnel: the eroute's replace by the trap fails.  The SAs must
 * stay while the kernel's ipsec policy still names them (before: they
 * were deleted at once, and the selector's traffic met no SA). */
static void
test_down_with_failed_replace_keeps_the_sas(void **state)
{
	struct h *h = h_into_state(ER_RT_TUNNEL);
	const struct er_policy *p;
	char text[160];
	uint64_t op;

	(void)state;
	op = fail_in(h, 1);
	assert_int_equal(er_engine_down(h->e, "c", NULL), 0);
	h_step(h, "down, replace failed");
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_non_null(p);
	assert_int_equal(p->action, ER_ACTION_IPSEC);
	/* The outbound SA stays; the inbound one went with its policy. */
	assert_int_equal(sim_sas(h), 1);
	snprintf(text, sizeof(text),
		 "kernel: replacing policy out 10.1.0.0/16 -> 10.2.0.0/16 "
		 "(ipsec by trap) failed: sim: injected failure (op %llu); "
		 "the old policy stays, will retry",
		 (unsigned long long)op);
	assert_true(h_logged(h, "c", text));
	/* The daemon's timer fires within a second. */
	assert_true(er_engine_retries(h->e) > 0);
	assert_int_equal(er_engine_next_deadline(h->e), h->now + 1);
	faults_off(h);
	h_advance(h, 1);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_non_null(p);
	assert_int_equal(p->action, ER_ACTION_TRAP);
	assert_int_equal(sim_sas(h), 0);
	assert_int_equal(er_engine_retries(h->e), 0);
	h_free(h);
}

/* delete from tunnel: the policies go (three deletes), then the outbound
 * SA's delete fails.  It must not be forgotten (before: it stayed in the
 * kernel for ever, unknown to the engine). */
static void
test_failed_sa_delete_is_retried(void **state)
{
	struct h *h = h_into_state(ER_RT_TUNNEL);

	(void)state;
	fail_in(h, 4);
	assert_int_equal(er_engine_conn_del(h->e, "c", NULL), 0);
	h_step(h, "delete, SA delete failed");
	assert_int_equal(h_policies(h), 0);
	assert_int_equal(sim_sas(h), 1);
	assert_int_equal(er_engine_retries(h->e), 1);
	assert_int_equal(er_engine_next_deadline(h->e), h->now + 1);
	faults_off(h);
	h_advance(h, 1);
	assert_int_equal(sim_sas(h), 0);
	assert_int_equal(er_engine_retries(h->e), 0);
	h_free(h);
}

/* An acquire whose connection's broad hold fails to go in: the kernel's
 * narrow hold must stay, its packet retained (before: it was deleted, the
 * packet hit the trap again, and every new ACQUIRE did the same, for
 * ever, inside one drain of the event queue). */
static void
test_acquire_keeps_narrow_hold_until_the_broad_one_is_in(void **state)
{
	struct h *h = h_new(NULL);
	struct er_kernel k = er_sim_kernel(h->sim);
	struct er_conn_config cc;
	struct er_kernel_event kev;
	struct er_sim_result r;
	struct er_packet pkt = h_pkt("10.1.0.1", "10.2.0.1", IPPROTO_TCP, 1,
				     80);
	struct er_sim_stats st;
	const struct er_policy *p;
	int fed = 0;

	(void)state;
	h_conn(&cc, "c", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	fail_in(h, 1);
	assert_int_equal(er_sim_packet_out(h->sim, &pkt, 100, &r), 0);
	assert_true(r.acquire);
	/* At most a few events: the bug made them endless. */
	while (fed < 4 && er_kernel_poll_event(&k, &kev) == 1) {
		er_engine_kernel_event(h->e, &kev, NULL);
		fed++;
	}
	er_sim_stats(h->sim, &st);
	assert_int_equal(st.acquires, 1);
	assert_int_equal(fed, 1);
	h_step(h, "acquire, broad hold failed");
	assert_int_equal(h_state(h, "c"), ER_RT_ROUTED_HOLD);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_non_null(p);
	assert_int_equal(p->action, ER_ACTION_TRAP);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 1);
	faults_off(h);
	h_advance(h, 1);
	/* The broad hold is in; the narrow one went, its packet with it
	 * onto the broad hold. */
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_non_null(p);
	assert_int_equal(p->action, ER_ACTION_HOLD);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	assert_int_equal(h_policies(h), 1);
	er_sim_stats(h->sim, &st);
	assert_int_equal(st.acquires, 1);
	assert_int_equal(er_engine_retries(h->e), 0);
	h_free(h);
}

/* The negotiator's answer arrives, the kernel refuses the SA, and the
 * caller asked for no error text (before: a NULL dereference). */
static void
test_refused_sa_group_without_err(void **state)
{
	struct h *h = h_into_state(ER_RT_ROUTED_HOLD);
	struct er_sa_group_spec spec = {0};
	uint64_t id = er_engine_oldest_negotiation(h->e, "c");

	(void)state;
	assert_int_not_equal(id, 0);
	spec.spi_out = 0xc0de0100;
	fail_in(h, 1);
	assert_int_equal(er_engine_negotiated(h->e, id, &spec, NULL), -EIO);
	faults_off(h);
	h_step(h, "answer, SA refused");
	/* The try is spent (keyingtries=1), but our kernel, not the peer,
	 * refused: the failure context keeps the hold, no SA is left. */
	assert_int_equal(h_state(h, "c"), ER_RT_FAILURE);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->action,
			 ER_ACTION_HOLD);
	assert_int_equal(sim_sas(h), 0);
	h_free(h);
}

/* A restart whose delete of a policy no connection wants any more fails:
 * the policy stays in the view on a key of its own and the retry deletes
 * it (before: the view kept a policy nobody claimed, which
 * er_engine_check() refused, and nothing ever deleted it). */
static void
test_restart_failed_delete_is_retried(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config a, b;
	struct er_adopt_stats st;
	struct er_err err = {0};

	(void)state;
	h_conn(&a, "a", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	a.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &a);
	h_conn(&b, "b", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.3.0.0/16");
	b.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &b);
	assert_int_equal(h_policies(h), 2);
	h_crash_and_restart(h);
	h_conn(&a, "a", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	a.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &a);
	fail_in(h, 1);
	h->adopting = false;
	assert_int_equal(er_engine_adopt_finish(h->e, &st, &err), -EIO);
	h_step(h, "adoption, delete failed");
	assert_non_null(h_policy(h, ER_DIR_OUT, "10.1.0.0/16",
				 "10.3.0.0/16"));
	assert_int_equal(er_engine_retries(h->e), 1);
	faults_off(h);
	h_advance(h, 1);
	assert_null(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.3.0.0/16"));
	assert_int_equal(h_policies(h), 1);
	assert_int_equal(er_engine_retries(h->e), 0);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_down_with_failed_replace_keeps_the_sas),
		cmocka_unit_test(test_failed_sa_delete_is_retried),
		cmocka_unit_test(
			test_acquire_keeps_narrow_hold_until_the_broad_one_is_in),
		cmocka_unit_test(test_refused_sa_group_without_err),
		cmocka_unit_test(test_restart_failed_delete_is_retried),
	};

	/* Not swept: each test places its own failure. */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
