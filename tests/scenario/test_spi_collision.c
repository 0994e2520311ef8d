// SPDX-License-Identifier: MIT
/*
 * SPIs already in use: an answer (responder SA group or negotiation
 * result) whose SA ids the engine holds already is refused, so that two SA
 * groups never share an SA.  Found by fuzz_control: two identical
 * sa-group requests made two groups over the same two SAs, and the first
 * expiry took an SA from under the other ("SA group #1 lost an SA").
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

static struct h *
with_conn(enum er_auto autostart)
{
	struct h *h = h_new(NULL);
	struct er_conn_config cc;

	h_conn(&cc, "east", "192.0.2.10", "198.51.100.30", "10.1.0.0/16",
	       "10.3.0.0/16");
	cc.autostart = autostart;
	cc.sa_lifetime = 1000;
	cc.rekey_margin = 100;
	cc.keyingtries = 2;
	h_add(h, &cc);
	return h;
}

static uint32_t
out_spi(struct h *h)
{
	const struct er_policy *p =
		h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.3.0.0/16");

	assert_int_equal(p->action, ER_ACTION_IPSEC);
	return p->tmpl[0].spi;
}

static void
test_responder_same_spis_twice_refused(void **state)
{
	struct h *h = with_conn(ER_AUTO_ADD);
	struct er_sa_group_spec spec = {0};
	struct er_err err = {0};

	(void)state;
	spec.spi_out = 0x1234;
	spec.spi_in = 0x1234;
	spec.lifetime = 300;
	assert_int_equal(er_engine_responder(h->e, "east", NULL, &spec, &err),
			 0);
	h_step(h, "first SA group");
	assert_int_equal(h_info(h, "east").ngroups, 1);
	assert_int_equal(er_engine_responder(h->e, "east", NULL, &spec, &err),
			 -EEXIST);
	assert_non_null(strstr(err.msg, "in use already"));
	h_step(h, "the same SA group again");
	assert_int_equal(h_info(h, "east").ngroups, 1);
	/* Only the outbound SPI repeated. */
	spec.spi_in = 0x5678;
	assert_int_equal(er_engine_responder(h->e, "east", NULL, &spec, &err),
			 -EEXIST);
	assert_non_null(strstr(err.msg, "outbound SA"));
	h_step(h, "the outbound SPI again");
	/* New SPIs are a new group, as before. */
	spec.spi_out = 0x9999;
	assert_int_equal(er_engine_responder(h->e, "east", NULL, &spec, &err),
			 0);
	h_step(h, "a second SA group");
	assert_int_equal(h_info(h, "east").ngroups, 2);
	/* Every expiry finds its own SAs (h_step checks the invariants). */
	h_advance(h, 400);
	h_free(h);
}

static void
test_rekey_answer_with_spis_in_use_stays_pending(void **state)
{
	struct h *h = with_conn(ER_AUTO_ONDEMAND);
	struct er_sa_group_spec spec = {0};
	struct er_err err = {0};
	uint64_t id;
	uint32_t old;

	(void)state;
	h_send(h, "10.1.0.1", "10.3.0.1", 1, 0, 0);
	h_ok(h, "east");
	old = out_spi(h);
	h_advance(h, 900);
	assert_true(h_info(h, "east").negotiating);
	id = er_engine_oldest_negotiation(h->e, "east");
	assert_int_not_equal(id, 0);
	/* The peer answers the rekey with the SPI of the group in force. */
	spec.spi_out = old;
	assert_int_equal(er_engine_negotiated(h->e, id, &spec, &err), -EEXIST);
	h_step(h, "rekey answered with an SPI in use");
	assert_true(h_info(h, "east").negotiating);
	assert_int_equal(er_engine_oldest_negotiation(h->e, "east"), id);
	assert_int_equal(out_spi(h), old);
	/* A good answer still goes through. */
	h_ok(h, "east");
	assert_int_not_equal(out_spi(h), old);
	h_advance(h, 200);
	assert_int_equal(h_state(h, "east"), ER_RT_TUNNEL);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_responder_same_spis_twice_refused),
		cmocka_unit_test(
			test_rekey_answer_with_spis_in_use_stays_pending),
	};

	return h_run_tests(tests);
}
