// SPDX-License-Identifier: MIT
/* Rekeying and SA expiry: soft expires start exactly one rekey, hard
 * expires replace the eroute with the shunt of the right context. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

static struct h *
up(uint64_t salifetime)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;

	h_conn(&cc, "west", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	cc.sa_lifetime = salifetime;
	cc.rekey_margin = salifetime / 10;
	cc.keyingtries = 2;
	cc.failshunt = ER_FAILSHUNT_DROP;
	h_add(h, &cc);
	h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	h_ok(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	return h;
}

static uint32_t
out_spi(struct h *h)
{
	const struct er_policy *p =
		h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");

	assert_int_equal(p->action, ER_ACTION_IPSEC);
	return p->tmpl[0].spi;
}

static void
test_soft_expire_starts_exactly_one_rekey(void **state)
{
	struct h *h = up(1000);
	uint32_t old = out_spi(h);

	(void)state;
	/* Both SAs of the group reach their soft lifetime in one tick. */
	h_advance(h, 900);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 2);
	assert_true(h->ev[h->nev - 1].type == ER_EV_NEGOTIATE ||
		    h_info(h, "west").negotiating);
	/* The eroute still points at the old group meanwhile. */
	assert_int_equal(out_spi(h), old);
	h_ok(h, "west");
	assert_int_not_equal(out_spi(h), old);
	assert_int_equal(h_info(h, "west").ngroups, 2);
	/* The old group's hard expire removes it and nothing else. */
	h_advance(h, 100);
	assert_int_equal(h_info(h, "west").ngroups, 1);
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	assert_int_equal(h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0).verdict,
			 ER_ACTION_IPSEC);
	h_free(h);
}

/* The keyed SAs of the engine, both directions. */
static size_t
keyed_sas(struct h *h, struct er_sa_id *ids, size_t max)
{
	size_t n = 0;

	for (const struct er_sa *sa = er_sad_first(er_engine_sad(h->e));
	     sa != NULL && n < max; sa = er_sad_next(er_engine_sad(h->e), sa))
		if (sa->state != ER_SA_LARVAL)
			ids[n++] = sa->id;
	return n;
}

static void
soft_expire(struct h *h, const struct er_sa_id *ids, size_t n)
{
	struct er_kernel_event ev = {.type = ER_KEV_SA_EXPIRE};

	for (size_t i = 0; i < n; i++) {
		ev.sa = ids[i];
		assert_int_equal(er_engine_kernel_event(h->e, &ev, NULL), 0);
	}
	h_step(h, "soft expires");
}

/* The kernel reports the soft limit for the inbound and the outbound SA
 * separately, and may repeat itself: one rekey, and none for a group that
 * is no longer the newest. */
static void
test_soft_expire_in_both_directions_starts_one_rekey(void **state)
{
	struct h *h = up(1000);
	struct er_sa_id old[2], cur[4];

	(void)state;
	assert_int_equal(keyed_sas(h, old, 2), 2);
	soft_expire(h, old, 2);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 2);
	assert_true(h->ev[h->nev - 1].rekey);
	assert_true(h_info(h, "west").negotiating);
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	/* Said again, in the other order: nothing more. */
	soft_expire(h, &old[1], 1);
	soft_expire(h, &old[0], 1);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 2);
	/* The rekey succeeds; a late soft expire of the old group starts
	 * nothing, the new group's starts the next rekey. */
	h_ok(h, "west");
	assert_int_equal(h_info(h, "west").ngroups, 2);
	soft_expire(h, old, 2);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 2);
	assert_false(h_info(h, "west").negotiating);
	assert_int_equal(keyed_sas(h, cur, 4), 4);
	soft_expire(h, cur, 4);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 3);
	h_free(h);
}

static void
test_hard_expire_without_rekey_goes_prospective(void **state)
{
	struct h *h = up(1000);
	struct er_kernel_event ev = {.type = ER_KEV_SA_EXPIRE, .hard = true};

	(void)state;
	er_addr_parse(&ev.sa.dst, "198.51.100.1", NULL);
	ev.sa.proto = IPPROTO_ESP;
	ev.sa.spi = out_spi(h);
	er_engine_kernel_event(h->e, &ev, NULL);
	h_step(h, "hard expire");
	assert_int_equal(h_state(h, "west"), ER_RT_PROSPECTIVE);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->action,
			 ER_ACTION_TRAP);
	assert_null(h_policy(h, ER_DIR_IN, "10.2.0.0/16", "10.1.0.0/16"));
	assert_int_equal(h_count_updown(h, ER_UPDOWN_DOWN, "west"), 1);
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 0);
	h_free(h);
}

static void
test_hard_expire_after_failed_rekey_goes_failure(void **state)
{
	struct h *h = up(1000);

	(void)state;
	h_advance(h, 900);
	h_fail(h, "west");
	h_fail(h, "west");
	/* The rekey failed, but the old group works: leave it be. */
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	h_advance(h, 100);
	assert_int_equal(h_state(h, "west"), ER_RT_FAILURE);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->action,
			 ER_ACTION_DROP);
	h_free(h);
}

static void
test_hard_expire_during_rekey_holds(void **state)
{
	struct h *h = up(1000);

	(void)state;
	h_advance(h, 900);
	assert_true(h_info(h, "west").negotiating);
	h_advance(h, 100);
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->action,
			 ER_ACTION_HOLD);
	h_ok(h, "west");
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	h_free(h);
}

static void
test_larval_expires_are_ignored(void **state)
{
	struct h *h = up(1000);
	struct er_kernel_event ev = {.type = ER_KEV_SA_EXPIRE, .hard = true};

	(void)state;
	er_addr_parse(&ev.sa.dst, "198.51.100.1", NULL);
	ev.sa.proto = IPPROTO_ESP;
	ev.sa.spi = 0;
	er_engine_kernel_event(h->e, &ev, NULL);
	ev.hard = false;
	er_engine_kernel_event(h->e, &ev, NULL);
	h_step(h, "larval expires");
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 1);
	h_free(h);
}

/* Our own larval SA -- the inbound SPI reserved for a negotiation --
 * times out while the peer is slow: the negotiation goes on, and its
 * success takes a new SPI. */
static void
test_larval_reservation_timing_out_is_not_a_failure(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	uint32_t reserved = 0;
	const struct er_policy *p;
	const struct er_sa *sa;
	struct er_addr me;

	(void)state;
	h_conn(&cc, "west", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	cc.keyingtries = 1;
	h_add(h, &cc);
	h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	for (size_t i = 0; i < h->nev; i++)
		if (h->ev[i].type == ER_EV_NEGOTIATE)
			reserved = h->ev[i].spi_in;
	assert_int_equal(er_addr_parse(&me, "192.0.2.1", NULL), 0);
	sa = er_sad_lookup(er_sim_sad(h->sim), &me, IPPROTO_ESP, reserved);
	assert_non_null(sa);
	assert_int_equal(sa->state, ER_SA_LARVAL);
	h_advance(h, 30);
	assert_null(er_sad_lookup(er_sim_sad(h->sim), &me, IPPROTO_ESP,
				  reserved));
	assert_null(er_sad_lookup(er_engine_sad(h->e), &me, IPPROTO_ESP,
				  reserved));
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	assert_true(h_info(h, "west").negotiating);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 1);
	assert_int_equal(h_ok(h, "west"), 0);
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_int_equal(p->action, ER_ACTION_IPSEC);
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 2);
	for (sa = er_sad_first(er_sim_sad(h->sim)); sa != NULL;
	     sa = er_sad_next(er_sim_sad(h->sim), sa)) {
		assert_int_equal(sa->state, ER_SA_MATURE);
		assert_int_not_equal(sa->id.spi, reserved);
	}
	h_free(h);
}

static void
test_volume_limits_raise_expires(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	struct er_sa_group_spec spec = {.spi_out = 0x5000, .packets = 10};

	(void)state;
	h_conn(&cc, "west", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	assert_int_equal(er_engine_negotiated(
				 h->e, er_engine_oldest_negotiation(h->e, "west"),
				 &spec, NULL),
			 0);
	h_step(h, "up");
	/* Nine packets: soft (90 %) at the ninth, one rekey. */
	for (int i = 0; i < 8; i++)
		h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 2);
	assert_true(h_info(h, "west").negotiating);
	/* The tenth packet: hard; the kernel deletes, we hold. */
	h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	h_free(h);
}

/* A negotiator that brings an inbound SPI of its own leaves the SPI the
 * engine reserved unused: it goes back at once, not at its larval
 * timeout. */
/* Byte limits as packet limits: soft at nine tenths (one rekey), hard at
 * the limit (the kernel deletes the SA; the pending rekey holds). */
static void
test_byte_limits_raise_expires(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	struct er_sa_group_spec spec = {.spi_out = 0x5000, .bytes = 1000};

	(void)state;
	h_conn(&cc, "west", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	assert_int_equal(er_engine_negotiated(
				 h->e, er_engine_oldest_negotiation(h->e, "west"),
				 &spec, NULL),
			 0);
	h_step(h, "up");
	/* The released packet was the first 100 bytes; seven more make
	 * 800, the eighth crosses 900. */
	for (int i = 0; i < 7; i++)
		h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 1);
	h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 2);
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	/* The ninth makes 1000. */
	h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	assert_int_equal(h_state(h, "west"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 2);
	h_free(h);
}

static void
test_unused_spi_reservation_is_released(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	struct er_sa_group_spec spec = {.spi_out = 0x6000, .spi_in = 0x7000};
	struct er_addr me;

	(void)state;
	h_conn(&cc, "west", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 1);
	assert_int_equal(er_engine_negotiated(
				 h->e, er_engine_oldest_negotiation(h->e, "west"),
				 &spec, NULL),
			 0);
	h_step(h, "up");
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 2);
	assert_int_equal(er_sad_count(er_engine_sad(h->e)), 2);
	assert_int_equal(er_addr_parse(&me, "192.0.2.1", NULL), 0);
	assert_non_null(er_sad_lookup(er_sim_sad(h->sim), &me, IPPROTO_ESP,
				      0x7000));
	assert_int_equal(er_sad_lookup(er_sim_sad(h->sim), &me, IPPROTO_ESP,
				       0x7000)->state,
			 ER_SA_MATURE);
	h_free(h);
}

/* The inbound SA reaches its hard packet limit while the outbound one is
 * still alive and named by the eroute: the eroute must move to the trap
 * before the engine deletes that outbound SA (the harness fails the step
 * if an SA goes while a policy still sends traffic to it). */
static void
test_inbound_hard_expire_moves_the_eroute_before_the_sas_go(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	struct er_sa_group_spec spec = {.spi_out = 0x6000, .packets = 10};
	struct er_packet in = h_pkt("10.2.0.1", "10.1.0.1", 1, 0, 0);
	struct er_addr me;
	uint32_t spi_in = 0;

	(void)state;
	h_conn(&cc, "west", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	cc.keyingtries = 1;
	cc.failshunt = ER_FAILSHUNT_DROP;
	h_add(h, &cc);
	h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0);
	assert_int_equal(er_engine_negotiated(
				 h->e, er_engine_oldest_negotiation(h->e, "west"),
				 &spec, NULL),
			 0);
	h_step(h, "up");
	assert_int_equal(out_spi(h), 0x6000);
	/* The inbound SA has the SPI reserved for the negotiation. */
	for (size_t i = 0; i < h->nev; i++)
		if (h->ev[i].type == ER_EV_NEGOTIATE)
			spi_in = h->ev[i].spi_in;
	assert_true(spi_in >= 0x100);
	assert_int_equal(er_addr_parse(&me, "192.0.2.1", NULL), 0);
	/* Nine: the soft limit starts a rekey, which stays pending. */
	for (int i = 0; i < 9; i++) {
		assert_int_equal(er_sim_packet_in(h->sim, &me, IPPROTO_ESP,
						  spi_in, &in, 100),
				 0);
		h_step(h, "inbound packet");
	}
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "west"), 2);
	h_fail(h, "west");
	assert_false(h_info(h, "west").negotiating);
	/* The tenth: hard.  The sim deletes the inbound SA; the engine moves
	 * the eroute to the failure shunt, then deletes the outbound SA. */
	assert_int_equal(er_sim_packet_in(h->sim, &me, IPPROTO_ESP, spi_in,
					  &in, 100),
			 0);
	h_step(h, "inbound hard expire");
	assert_int_equal(h_state(h, "west"), ER_RT_FAILURE);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->action,
			 ER_ACTION_DROP);
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 0);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_soft_expire_starts_exactly_one_rekey),
		cmocka_unit_test(
			test_soft_expire_in_both_directions_starts_one_rekey),
		cmocka_unit_test(test_hard_expire_without_rekey_goes_prospective),
		cmocka_unit_test(test_hard_expire_after_failed_rekey_goes_failure),
		cmocka_unit_test(test_hard_expire_during_rekey_holds),
		cmocka_unit_test(test_larval_expires_are_ignored),
		cmocka_unit_test(
			test_larval_reservation_timing_out_is_not_a_failure),
		cmocka_unit_test(test_volume_limits_raise_expires),
		cmocka_unit_test(test_byte_limits_raise_expires),
		cmocka_unit_test(test_unused_spi_reservation_is_released),
		cmocka_unit_test(
			test_inbound_hard_expire_moves_the_eroute_before_the_sas_go),
	};

	return h_run_tests(tests);
}
