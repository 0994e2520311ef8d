// SPDX-License-Identifier: MIT
/* Negotiation failure: keying tries, failure shunts, their expiry, and the
 * revival of auto=start connections. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

static struct h *
setup(uint32_t tries, enum er_failshunt fs, enum er_auto autostart)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;

	h_conn(&cc, "west", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.keyingtries = tries;
	cc.failshunt = fs;
	cc.autostart = autostart;
	h_add(h, &cc);
	return h;
}

static enum er_action
out_action(struct h *h)
{
	const struct er_policy *p =
		h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");

	assert_non_null(p);
	return p->action;
}

static void
fail_times(struct h *h, unsigned n, unsigned tries)
{
	for (unsigned i = 1; i <= n; i++) {
		assert_int_equal(h_info(h, "west").tries, i);
		h_fail(h, "west");
		if (tries != 0 && i >= tries)
			break;
		/* A new attempt, the hold still in place. */
		assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
		assert_int_equal(out_action(h), ER_ACTION_HOLD);
	}
}

static void
test_keyingtries_1_fails_at_once(void **state)
{
	struct h *h = setup(1, ER_FAILSHUNT_DROP, ER_AUTO_ONDEMAND);

	(void)state;
	h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_ICMP, 0, 0);
	fail_times(h, 1, 1);
	assert_int_equal(h_state(h, "west"), ER_RT_FAILURE);
	assert_int_equal(out_action(h), ER_ACTION_DROP);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 1);
	assert_int_equal(h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_ICMP, 0, 0)
				 .verdict,
			 ER_ACTION_DROP);
	/* The failure shunt's kernel lifetime outlasts shuntlifetime. */
	assert_true(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
			    ->lifetime > 900);
	h_free(h);
}

/* A negotiator's reason is quoted in the log: a newline in it would forge
 * the next log line, a stray byte would stop the JSON event (before: the
 * reason went into the line as it came, and fuzz_control found DEL). */
static void
test_failure_reason_is_logged_as_one_line(void **state)
{
	struct h *h = setup(2, ER_FAILSHUNT_DROP, ER_AUTO_ONDEMAND);
	uint64_t id;

	(void)state;
	h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_ICMP, 0, 0);
	id = er_engine_oldest_negotiation(h->e, "west");
	assert_true(id != 0);
	assert_int_equal(er_engine_negotiation_failed(
				 h->e, id,
				 "no\x7f proposal\nchosen\x1b[2J \xc3", NULL),
			 0);
	h_step(h, "negotiation failed");
	assert_true(h_logged(h, "west",
			     "attempt 1 failed: no? proposal?chosen?[2J ?"));
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	h_free(h);
}

static void
test_keyingtries_3_tries_three_times(void **state)
{
	struct h *h = setup(3, ER_FAILSHUNT_PASS, ER_AUTO_ONDEMAND);

	(void)state;
	h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_ICMP, 0, 0);
	fail_times(h, 3, 3);
	assert_int_equal(h_state(h, "west"), ER_RT_FAILURE);
	assert_int_equal(out_action(h), ER_ACTION_PASS);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 3);
	assert_int_equal(h_info(h, "west").tries, 3);
	assert_false(h_info(h, "west").negotiating);
	/* Every reserved SPI was given back. */
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 0);
	assert_int_equal(er_sad_count(er_engine_sad(h->e)), 0);
	h_free(h);
}

static void
test_keyingtries_forever_keeps_trying(void **state)
{
	struct h *h = setup(0, ER_FAILSHUNT_PASS, ER_AUTO_ONDEMAND);

	(void)state;
	h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_ICMP, 0, 0);
	fail_times(h, 50, 0);
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_info(h, "west").tries, 51);
	assert_int_equal(h_ok(h, "west"), 0);
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 2);
	h_free(h);
}

static void
test_failure_shunt_expires_back_to_prospective(void **state)
{
	struct h *h = setup(1, ER_FAILSHUNT_REJECT, ER_AUTO_ONDEMAND);

	(void)state;
	h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_ICMP, 0, 0);
	h_fail(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_FAILURE);
	assert_int_equal(out_action(h), ER_ACTION_REJECT);
	h_advance(h, 899);
	assert_int_equal(h_state(h, "west"), ER_RT_FAILURE);
	h_advance(h, 1);
	assert_int_equal(h_state(h, "west"), ER_RT_PROSPECTIVE);
	assert_int_equal(out_action(h), ER_ACTION_TRAP);
	/* On demand: nothing happens until traffic comes. */
	h_advance(h, 3600);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 1);
	h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_ICMP, 0, 0);
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 2);
	h_free(h);
}

static void
test_failureshunt_none_keeps_the_hold(void **state)
{
	struct h *h = setup(1, ER_FAILSHUNT_NONE, ER_AUTO_ONDEMAND);

	(void)state;
	h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_ICMP, 0, 0);
	h_fail(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_FAILURE);
	/* Traffic stays blocked and retained, as during negotiation. */
	assert_int_equal(out_action(h), ER_ACTION_HOLD);
	assert_int_equal(h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0).verdict,
			 ER_ACTION_HOLD);
	/* When the failure context ends the trap comes back, and the
	 * retained packet, sent again, trips it: a new negotiation. */
	h_advance(h, 900);
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 2);
	h_free(h);
}

/* failureshunt=none after negotiationshunt=pass: the failure context
 * holds all the same -- a failure never opens the flow. */
static void
test_failureshunt_none_holds_even_after_a_pass_negotiation(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;

	(void)state;
	h_conn(&cc, "west", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.keyingtries = 1;
	cc.failshunt = ER_FAILSHUNT_NONE;
	cc.negshunt = ER_NEGSHUNT_PASS;
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_ICMP, 0, 0);
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	assert_int_equal(out_action(h), ER_ACTION_PASS);
	assert_int_equal(h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0).verdict,
			 ER_ACTION_PASS);
	h_fail(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_FAILURE);
	assert_int_equal(out_action(h), ER_ACTION_HOLD);
	assert_int_equal(h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0).verdict,
			 ER_ACTION_HOLD);
	h_free(h);
}

static void
test_auto_start_revives_with_capped_backoff(void **state)
{
	struct h *h = setup(1, ER_FAILSHUNT_DROP, ER_AUTO_START);

	(void)state;
	/* auto=start: routed and negotiating at once. */
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	h_fail(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_FAILURE);
	h_advance(h, 900);
	/* Trap in place meanwhile; revival after 5 s. */
	assert_int_equal(h_state(h, "west"), ER_RT_PROSPECTIVE);
	assert_int_equal(h_info(h, "west").revive_at, h->now + 5);
	h_advance(h, 4);
	assert_int_equal(h_state(h, "west"), ER_RT_PROSPECTIVE);
	h_advance(h, 1);
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	/* Second failure: 10 s, and so on up to 5 minutes. */
	for (unsigned i = 2; i < 70; i++) {
		uint64_t want = 5 * i > 300 ? 300 : 5 * i;

		h_fail(h, "west");
		h_advance(h, 900);
		assert_int_equal(h_info(h, "west").revive_at, h->now + want);
		h_advance(h, want);
		assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	}
	/* Success resets the backoff. */
	h_ok(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	h_free(h);
}

/* Success resets the revival back-off: the next failure context revives
 * after 5 s again, not after 5 s more than the last. */
static void
test_auto_start_backoff_starts_over_after_success(void **state)
{
	struct h *h = setup(1, ER_FAILSHUNT_PASS, ER_AUTO_START);
	struct er_kernel_event ev = {.type = ER_KEV_SA_EXPIRE, .hard = true};

	(void)state;
	for (unsigned i = 1; i <= 3; i++) {
		h_fail(h, "west");
		h_advance(h, 900);
		assert_int_equal(h_info(h, "west").revive_at, h->now + 5 * i);
		h_advance(h, 5 * i);
		assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	}
	h_ok(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	/* A failed rekey, then the SAs die: the failure context again. */
	assert_int_equal(er_engine_up(h->e, "west", NULL), 0);
	h_step(h, "rekey");
	h_fail(h, "west");
	er_addr_parse(&ev.sa.dst, "198.51.100.1", NULL);
	ev.sa.proto = IPPROTO_ESP;
	ev.sa.spi = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
			    ->tmpl[0].spi;
	er_engine_kernel_event(h->e, &ev, NULL);
	h_step(h, "hard expire");
	assert_int_equal(h_state(h, "west"), ER_RT_FAILURE);
	assert_int_equal(out_action(h), ER_ACTION_PASS);
	h_advance(h, 900);
	assert_int_equal(h_state(h, "west"), ER_RT_PROSPECTIVE);
	assert_int_equal(h_info(h, "west").revive_at, h->now + 5);
	h_advance(h, 5);
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	h_free(h);
}

static void
test_up_after_failure_retries_now(void **state)
{
	struct h *h = setup(2, ER_FAILSHUNT_PASS, ER_AUTO_ONDEMAND);

	(void)state;
	assert_int_equal(er_engine_up(h->e, "west", NULL), 0);
	h_step(h, "up");
	h_fail(h, "west");
	h_fail(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_FAILURE);
	assert_int_equal(er_engine_up(h->e, "west", NULL), 0);
	h_step(h, "up again");
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_info(h, "west").tries, 1);
	h_free(h);
}

/* Down in the failure context: back to prospective (the failure shunt
 * replaced by the trap), no revival pending even for auto=start. */
static void
test_down_in_failure_goes_prospective(void **state)
{
	struct h *h = setup(1, ER_FAILSHUNT_DROP, ER_AUTO_START);

	(void)state;
	h_fail(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_FAILURE);
	assert_int_equal(out_action(h), ER_ACTION_DROP);
	h_clear_events(h);
	assert_int_equal(er_engine_down(h->e, "west", NULL), 0);
	h_step(h, "down");
	assert_int_equal(h_state(h, "west"), ER_RT_PROSPECTIVE);
	assert_int_equal(out_action(h), ER_ACTION_TRAP);
	assert_int_equal(h_info(h, "west").failure_expires, 0);
	assert_int_equal(h_info(h, "west").revive_at, 0);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_UNROUTE, "west"), 0);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_DOWN, "west"), 0);
	/* Nothing happens until traffic comes. */
	h_advance(h, 3600);
	assert_int_equal(h_state(h, "west"), ER_RT_PROSPECTIVE);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 0);
	h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_ICMP, 0, 0);
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	h_free(h);
}

/* A connection only up by hand (never routed) that lands in the failure
 * context after a failed rekey: down unroutes it. */
static void
test_down_in_failure_of_a_connection_up_by_hand_unroutes(void **state)
{
	struct h *h = setup(1, ER_FAILSHUNT_PASS, ER_AUTO_ADD);
	struct er_kernel_event ev = {.type = ER_KEV_SA_EXPIRE, .hard = true};

	(void)state;
	assert_int_equal(er_engine_up(h->e, "west", NULL), 0);
	h_step(h, "up");
	h_ok(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	/* A rekey that fails, then the old group dies. */
	assert_int_equal(er_engine_up(h->e, "west", NULL), 0);
	h_step(h, "rekey");
	h_fail(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	er_addr_parse(&ev.sa.dst, "198.51.100.1", NULL);
	ev.sa.proto = IPPROTO_ESP;
	ev.sa.spi = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
			    ->tmpl[0].spi;
	er_engine_kernel_event(h->e, &ev, NULL);
	h_step(h, "hard expire");
	assert_int_equal(h_state(h, "west"), ER_RT_FAILURE);
	assert_int_equal(out_action(h), ER_ACTION_PASS);
	assert_int_equal(er_engine_down(h->e, "west", NULL), 0);
	h_step(h, "down");
	assert_int_equal(h_state(h, "west"), ER_RT_UNROUTED);
	assert_int_equal(h_policies(h), 0);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_UNROUTE, "west"), 1);
	h_free(h);
}

static void
test_unrouted_up_fails_back_to_unrouted(void **state)
{
	struct h *h = setup(1, ER_FAILSHUNT_DROP, ER_AUTO_ADD);

	(void)state;
	assert_int_equal(er_engine_up(h->e, "west", NULL), 0);
	h_step(h, "up");
	assert_int_equal(h_state(h, "west"), ER_RT_UNROUTED_HOLD);
	assert_int_equal(out_action(h), ER_ACTION_HOLD);
	h_fail(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_UNROUTED);
	assert_int_equal(h_policies(h), 0);
	/* Up again, and this time it works: routed while up. */
	er_engine_up(h->e, "west", NULL);
	h_step(h, "up");
	h_ok(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_ROUTE, "west"), 1);
	er_engine_down(h->e, "west", NULL);
	h_step(h, "down");
	assert_int_equal(h_state(h, "west"), ER_RT_UNROUTED);
	assert_int_equal(h_policies(h), 0);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_UNROUTE, "west"), 1);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyingtries_1_fails_at_once),
		cmocka_unit_test(test_failure_reason_is_logged_as_one_line),
		cmocka_unit_test(test_keyingtries_3_tries_three_times),
		cmocka_unit_test(test_keyingtries_forever_keeps_trying),
		cmocka_unit_test(test_failure_shunt_expires_back_to_prospective),
		cmocka_unit_test(test_failureshunt_none_keeps_the_hold),
		cmocka_unit_test(
			test_failureshunt_none_holds_even_after_a_pass_negotiation),
		cmocka_unit_test(test_auto_start_revives_with_capped_backoff),
		cmocka_unit_test(test_auto_start_backoff_starts_over_after_success),
		cmocka_unit_test(test_up_after_failure_retries_now),
		cmocka_unit_test(test_down_in_failure_goes_prospective),
		cmocka_unit_test(
			test_down_in_failure_of_a_connection_up_by_hand_unroutes),
		cmocka_unit_test(test_unrouted_up_fails_back_to_unrouted),
	};

	return h_run_tests(tests);
}
