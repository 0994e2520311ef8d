// SPDX-License-Identifier: MIT
/* The bugs of the source material, reproduced against eroute. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

/*
 * Reference 000: an opportunistic initiator keeps retrying towards a silent
 * peer; the peer comes up and initiates itself; the new state succeeds;
 * then the old state times out and is deleted.  In pluto the old state
 * removed the new state's tunnel policy.  Here the tunnel stays.
 */
static void
test_reference_000_old_state_keeps_new_eroute(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	const char *inst = "private#198.51.100.7/32";
	const struct er_policy *p;
	struct er_sim_result r;

	(void)state;
	h_group(&cc, "private", "192.0.2.1", "198.51.100.0/24");
	cc.keyingtries = 0; /* %forever */
	cc.failshunt = ER_FAILSHUNT_DROP;
	h_add(h, &cc);
	h_send(h, "192.0.2.1", "198.51.100.7", IPPROTO_TCP, 1, 22);
	h_fail(h, inst);
	h_fail(h, inst);
	assert_int_equal(h_state(h, inst), ER_RT_ROUTED_HOLD);
	assert_true(h_info(h, inst).negotiating);
	/* The peer initiates: an SA group for the same instance. */
	assert_int_equal(h_responder(h, "private", "198.51.100.7"), 0);
	assert_int_equal(h_state(h, inst), ER_RT_TUNNEL);
	p = h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "198.51.100.7/32");
	assert_int_equal(p->action, ER_ACTION_IPSEC);
	/* The old initiator state times out and is deleted. */
	assert_true(h_info(h, inst).negotiating);
	h_fail(h, inst);
	assert_false(h_info(h, inst).negotiating);
	assert_int_equal(h_state(h, inst), ER_RT_TUNNEL);
	p = h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "198.51.100.7/32");
	assert_int_equal(p->action, ER_ACTION_IPSEC);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	r = h_send(h, "192.0.2.1", "198.51.100.7", IPPROTO_TCP, 1, 22);
	assert_int_equal(r.verdict, ER_ACTION_IPSEC);
	assert_int_equal(r.spi, p->tmpl[0].spi);
	h_free(h);
}

/* Reference 000, rekey form: deleting a superseded SA group never touches
 * the eroute, which belongs to the connection and points at the newest. */
static void
test_reference_000_deleting_old_group_keeps_eroute(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	struct er_kernel_event ev = {.type = ER_KEV_SA_EXPIRE, .hard = true};
	const struct er_policy *p;
	uint32_t first_spi;

	(void)state;
	h_conn(&cc, "west", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	h_add(h, &cc);
	er_engine_up(h->e, "west", NULL);
	h_step(h, "up");
	h_ok(h, "west");
	first_spi = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
			    ->tmpl[0].spi;
	/* A second group (rekey by the peer). */
	h_responder(h, "west", NULL);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_int_not_equal(p->tmpl[0].spi, first_spi);
	assert_int_equal(h_info(h, "west").ngroups, 2);
	/* The old one dies. */
	er_addr_parse(&ev.sa.dst, "198.51.100.1", NULL);
	ev.sa.proto = IPPROTO_ESP;
	ev.sa.spi = first_spi;
	er_engine_kernel_event(h->e, &ev, NULL);
	h_step(h, "old group expired");
	assert_int_equal(h_info(h, "west").ngroups, 1);
	assert_int_equal(h_state(h, "west"), ER_RT_TUNNEL);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_int_equal(p->action, ER_ACTION_IPSEC);
	assert_int_not_equal(p->tmpl[0].spi, first_spi);
	assert_int_equal(h_send(h, "10.1.0.1", "10.2.0.1", 1, 0, 0).verdict,
			 ER_ACTION_IPSEC);
	assert_int_equal(h_count_updown(h, ER_UPDOWN_DOWN, "west"), 0);
	h_free(h);
}

/* Reference 002: two negotiations for the same connection and reqid at
 * once got the same SPI from the kernel. */
static void
test_reference_002_concurrent_negotiations_distinct_spis(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	uint32_t spis[64];
	size_t n = 0;

	(void)state;
	h_conn(&cc, "uwe", "192.0.2.1", "198.51.100.1", NULL, NULL);
	cc.autostart = ER_AUTO_START;
	h_add(h, &cc);
	/* One initiator negotiation holds an SPI... */
	for (size_t i = 0; i < h->nev; i++)
		if (h->ev[i].type == ER_EV_NEGOTIATE)
			spis[n++] = h->ev[i].spi_in;
	assert_int_equal(n, 1);
	/* ...while groups arrive as responder, each needing its own. */
	for (int i = 0; i < 20; i++)
		assert_int_equal(h_responder(h, "uwe", NULL), 0);
	for (const struct er_sa *sa = er_sad_first(er_sim_sad(h->sim));
	     sa != NULL; sa = er_sad_next(er_sim_sad(h->sim), sa)) {
		char a[ER_ADDR_STRLEN];

		er_addr_format(&sa->id.dst, a, sizeof(a));
		if (strcmp(a, "192.0.2.1") == 0 && sa->id.spi != spis[0])
			spis[n++] = sa->id.spi;
	}
	assert_int_equal(n, 21);
	for (size_t i = 0; i < n; i++) {
		assert_true(spis[i] >= 0x100);
		for (size_t j = i + 1; j < n; j++)
			assert_int_not_equal(spis[i], spis[j]);
	}
	h_free(h);
}

/* Reference 003: a flush or reap that stops after the first entry.  Here
 * deleting a group with 2000 instances, half of them holding retained
 * packets, removes every policy in one call. */
static void
test_reference_003_one_call_removes_every_entry(void **state)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;
	char dst[32];
	struct er_sim_stats st;

	(void)state;
	h_group(&cc, "clear-or-private", "192.0.2.1", "10.0.0.0/8");
	h_add(h, &cc);
	h->check_every_step = false;
	for (int i = 0; i < 2000; i++) {
		snprintf(dst, sizeof(dst), "10.0.%d.%d", i / 250, i % 250 + 1);
		h_send(h, "192.0.2.1", dst, IPPROTO_UDP, 1, 53);
		if (i % 2)
			h_send(h, "192.0.2.1", dst, IPPROTO_UDP, 2, 53);
	}
	h->check_every_step = true;
	h_step(h, "2000 instances");
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), 2000);
	assert_int_equal(er_spd_count(er_sim_spd(h->sim), ER_DIR_OUT), 2001);
	assert_int_equal(er_engine_conn_del(h->e, "clear-or-private", NULL), 0);
	h_step(h, "delete");
	assert_int_equal(h_policies(h), 0);
	assert_int_equal(er_sad_count(er_sim_sad(h->sim)), 0);
	er_sim_stats(h->sim, &st);
	assert_true(st.released >= 2000);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_000_old_state_keeps_new_eroute),
		cmocka_unit_test(test_reference_000_deleting_old_group_keeps_eroute),
		cmocka_unit_test(test_reference_002_concurrent_negotiations_distinct_spis),
		cmocka_unit_test(test_reference_003_one_call_removes_every_entry),
	};

	return h_run_tests(tests);
}
