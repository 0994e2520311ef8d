// SPDX-License-Identifier: MIT
/*
 * er_engine_check() is what every scenario test relies on after every
 * step, so it must be able to fail: each test here breaks one invariant
 * behind the engine's back (white-box, through engine_impl.h), expects the
 * check to name it, and puts it right again.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine_impl.h"
#include "eroute/sim.h"

struct fixture {
	struct er_sim *sim;
	struct er_engine *e;
	struct er_prefix remote[2];
};

static void
conn(struct fixture *f, const char *name, const char *left,
     const char *lsub, int remote)
{
	struct er_conn_config cc;

	er_conn_config_init(&cc);
	snprintf(cc.name, sizeof(cc.name), "%s", name);
	assert_int_equal(er_addr_parse(&cc.local, left, NULL), 0);
	assert_int_equal(er_addr_parse(&cc.remote, "198.51.100.1", NULL), 0);
	assert_true(er_prefix_parse(&cc.local_client, lsub, NULL) >= 0);
	cc.remote_clients = &f->remote[remote];
	cc.nremote = 1;
	cc.autostart = ER_AUTO_ONDEMAND;
	assert_true(er_engine_conn_add(f->e, &cc, NULL) > 0);
}

static int
setup(void **state)
{
	static struct fixture f;
	struct er_engine_config ec = {0};

	memset(&f, 0, sizeof(f));
	f.sim = er_sim_new(&(struct er_sim_config){.seed = 1, .now = 100});
	assert_non_null(f.sim);
	ec.kernel = er_sim_kernel(f.sim);
	ec.seed = 2;
	ec.now = 100;
	f.e = er_engine_new(&ec, NULL);
	assert_non_null(f.e);
	assert_true(er_prefix_parse(&f.remote[0], "10.2.0.0/16", NULL) >= 0);
	assert_true(er_prefix_parse(&f.remote[1], "10.3.0.0/16", NULL) >= 0);
	/* Two connections sharing the route to 10.2/16, one to 10.3/16. */
	conn(&f, "a", "192.0.2.1", "10.1.0.0/24", 0);
	conn(&f, "b", "192.0.2.1", "10.1.1.0/24", 0);
	conn(&f, "c", "192.0.2.1", "10.1.2.0/24", 1);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char buf[256];

	/* Whatever a test broke, it put right. */
	assert_int_equal(er_engine_check(f->e, buf, sizeof(buf)), 0);
	er_engine_free(f->e);
	er_sim_free(f->sim);
	return 0;
}

/* The check fails and its message contains @want. */
static void
broken(struct fixture *f, const char *want)
{
	char buf[256];

	assert_int_equal(er_engine_check(f->e, buf, sizeof(buf)), -1);
	if (strstr(buf, want) == NULL)
		fail_msg("check said \"%s\", expected \"%s\"", buf, want);
}

static void
test_check_holds_on_a_sound_engine(void **state)
{
	struct fixture *f = *state;
	char buf[256];

	assert_int_equal(er_engine_check(f->e, buf, sizeof(buf)), 0);
	assert_int_equal(conn_by_name(f->e, "a")->rt, ER_RT_PROSPECTIVE);
}

static void
test_check_catches_a_wrong_state(void **state)
{
	struct fixture *f = *state;
	struct conn *c = conn_by_name(f->e, "c");

	c->rt = ER_RT_TUNNEL;
	broken(f, "c: eroute owner #0 while tunnel");
	c->rt = ER_RT_FAILURE;
	broken(f, "c: failure without an expiry");
	c->rt = ER_RT_PROSPECTIVE;
}

static void
test_check_catches_a_policy_missing_from_the_kernel(void **state)
{
	struct fixture *f = *state;
	struct er_selector sel;
	struct er_policy keep;
	struct conn *c = conn_by_name(f->e, "c");

	er_conn_out_selector(&c->cfg, &c->remote_clients[0], &sel);
	keep = *er_spd_get(f->e->view, ER_DIR_OUT, &sel);
	assert_int_equal(er_spd_del(f->e->view, ER_DIR_OUT, &sel), 0);
	broken(f, "claimed but not installed");
	/* Installed, but not what the best claimant wants. */
	keep.action = ER_ACTION_PASS;
	assert_int_equal(er_spd_add(f->e->view, &keep, NULL), 0);
	broken(f, "installed pass");
	keep.action = ER_ACTION_TRAP;
	assert_int_equal(er_spd_replace(f->e->view, &keep, NULL), 0);
}

static void
test_check_catches_a_false_eclipse(void **state)
{
	struct fixture *f = *state;
	struct conn *c = conn_by_name(f->e, "c");

	c->rt = ER_RT_ECLIPSED;
	broken(f, "c: eclipsed but it holds its selector");
	c->rt = ER_RT_PROSPECTIVE;
}

static void
test_check_catches_a_broken_route_index(void **state)
{
	struct fixture *f = *state;
	struct conn *a = conn_by_name(f->e, "a");
	struct route_entry *r = a->route;
	struct er_addr local = a->cfg.local;

	assert_non_null(r);
	assert_ptr_equal(conn_by_name(f->e, "b")->route, r);
	a->route = NULL;
	broken(f, "a: prospective but not on the route index");
	a->route = conn_by_name(f->e, "c")->route;
	broken(f, "a: on another client's route");
	a->route = r;
	/* Sharers of a route must agree on the way to it. */
	assert_int_equal(er_addr_parse(&a->cfg.local, "192.0.2.99", NULL), 0);
	broken(f, "share a route but not an interface");
	a->cfg.local = local;
}

static void
test_check_catches_an_unclaimed_bare_shunt(void **state)
{
	struct fixture *f = *state;
	struct er_shunt s = {0};
	struct er_prefix src, dst;

	assert_true(er_prefix_parse(&src, "192.0.2.1", NULL) >= 0);
	assert_true(er_prefix_parse(&dst, "203.0.113.9", NULL) >= 0);
	assert_int_equal(er_selector_init(&s.sel, &src, &dst, 0, NULL, NULL,
					  NULL),
			 0);
	s.action = ER_ACTION_PASS;
	s.expires = 1000;
	assert_int_equal(er_shunt_add(f->e->shunts, &s, NULL), 0);
	broken(f, "bare shunt 192.0.2.1/32 -> 203.0.113.9/32 has no claim");
	assert_int_equal(er_shunt_del(f->e->shunts, &s.sel), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_check_holds_on_a_sound_engine, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_check_catches_a_wrong_state, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_check_catches_a_policy_missing_from_the_kernel,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_check_catches_a_false_eclipse, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_check_catches_a_broken_route_index, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_check_catches_an_unclaimed_bare_shunt, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
