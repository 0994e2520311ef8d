// SPDX-License-Identifier: MIT
/*
 * The simulated kernel's make-before-break record: the scenario harness
 * trusts er_sim_gaps() to catch every window without protection, so here
 * it is shown to catch both kinds (a selector deleted and added again, an
 * SA deleted while a policy still sends traffic to it) and nothing else.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/sim.h"

struct fixture {
	struct er_sim *sim;
	struct er_kernel k;
	struct er_policy pol;
	struct er_sa sa;
};

static int
setup(void **state)
{
	static struct fixture f;
	struct er_prefix s, d;

	memset(&f, 0, sizeof(f));
	f.sim = er_sim_new(&(struct er_sim_config){.seed = 1, .now = 100});
	assert_non_null(f.sim);
	f.k = er_sim_kernel(f.sim);
	assert_true(er_prefix_parse(&s, "10.1.0.0/16", NULL) >= 0);
	assert_true(er_prefix_parse(&d, "10.2.0.0/16", NULL) >= 0);
	assert_int_equal(er_selector_init(&f.pol.sel, &s, &d, 0, NULL, NULL,
					  NULL),
			 0);
	f.pol.dir = ER_DIR_OUT;
	f.pol.priority = 1000;
	f.pol.action = ER_ACTION_TRAP;
	f.pol.owner = 1;
	f.sa.id.proto = IPPROTO_ESP;
	f.sa.id.spi = 0x1234;
	assert_int_equal(er_addr_parse(&f.sa.id.dst, "198.51.100.1", NULL), 0);
	assert_int_equal(er_addr_parse(&f.sa.src, "192.0.2.1", NULL), 0);
	f.sa.state = ER_SA_MATURE;
	f.sa.owner = 1;
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	er_sim_free(f->sim);
	return 0;
}

/* An ipsec policy sending its traffic to the fixture's SA. */
static struct er_policy
ipsec_to(const struct fixture *f)
{
	struct er_policy p = f->pol;

	p.action = ER_ACTION_IPSEC;
	p.ntmpl = 1;
	p.tmpl[0].proto = IPPROTO_ESP;
	p.tmpl[0].mode = ER_MODE_TUNNEL;
	p.tmpl[0].src = f->sa.src;
	p.tmpl[0].dst = f->sa.id.dst;
	p.tmpl[0].spi = f->sa.id.spi;
	return p;
}

static void
test_sim_gaps_replace_is_no_gap(void **state)
{
	struct fixture *f = *state;
	struct er_policy p = f->pol;

	assert_int_equal(er_kernel_policy_add(&f->k, &p, NULL), 0);
	p.action = ER_ACTION_HOLD;
	assert_true(er_kernel_policy_replace(&f->k, &p, NULL) >= 0);
	p.action = ER_ACTION_PASS;
	assert_true(er_kernel_policy_replace(&f->k, &p, NULL) >= 0);
	assert_int_equal(er_sim_gaps(f->sim, NULL, 0), 0);
	/* A delete that nothing follows is no gap either: it is an end. */
	assert_int_equal(er_kernel_policy_del(&f->k, p.dir, &p.sel, NULL), 0);
	assert_int_equal(er_sim_gaps(f->sim, NULL, 0), 0);
}

static void
test_sim_gaps_delete_then_add(void **state)
{
	struct fixture *f = *state;
	char buf[256];

	assert_int_equal(er_kernel_policy_add(&f->k, &f->pol, NULL), 0);
	assert_int_equal(er_kernel_policy_del(&f->k, f->pol.dir, &f->pol.sel,
					      NULL),
			 0);
	assert_int_equal(er_kernel_policy_add(&f->k, &f->pol, NULL), 0);
	assert_int_equal(er_sim_gaps(f->sim, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "policy out 10.1.0.0/16 -> 10.2.0.0/16 was "
				 "deleted and added again");
	/* The record starts afresh. */
	er_sim_oplog_clear(f->sim);
	assert_int_equal(er_sim_gaps(f->sim, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static void
test_sim_gaps_sa_deleted_under_its_policy(void **state)
{
	struct fixture *f = *state;
	struct er_policy p = ipsec_to(f);
	char buf[256];

	assert_int_equal(er_kernel_sa_add(&f->k, &f->sa, NULL), 0);
	assert_int_equal(er_kernel_policy_add(&f->k, &p, NULL), 0);
	assert_int_equal(er_kernel_sa_del(&f->k, &f->sa.id, NULL), 0);
	assert_int_equal(er_sim_gaps(f->sim, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "SA esp.0x00001234@198.51.100.1 was deleted "
				 "while policy out 10.1.0.0/16 -> 10.2.0.0/16 "
				 "still sent traffic to it");
}

static void
test_sim_gaps_sa_deleted_after_its_policy_moved(void **state)
{
	struct fixture *f = *state;
	struct er_policy p = ipsec_to(f);
	struct er_sa other = f->sa;

	assert_int_equal(er_kernel_sa_add(&f->k, &f->sa, NULL), 0);
	assert_int_equal(er_kernel_policy_add(&f->k, &p, NULL), 0);
	/* Make before break: the policy moves to the trap, then the SA
	 * goes. */
	assert_true(er_kernel_policy_replace(&f->k, &f->pol, NULL) >= 0);
	assert_int_equal(er_kernel_sa_del(&f->k, &f->sa.id, NULL), 0);
	/* An SA no policy names, a larval reservation, an SA that is not
	 * there: none is a gap. */
	other.id.spi = 0x9999;
	assert_int_equal(er_kernel_sa_add(&f->k, &other, NULL), 0);
	assert_int_equal(er_kernel_sa_del(&f->k, &other.id, NULL), 0);
	p = ipsec_to(f);
	assert_true(er_kernel_policy_replace(&f->k, &p, NULL) >= 0);
	f->sa.state = ER_SA_LARVAL;
	assert_int_equal(er_kernel_sa_add(&f->k, &f->sa, NULL), 0);
	assert_int_equal(er_kernel_sa_del(&f->k, &f->sa.id, NULL), 0);
	assert_int_equal(er_kernel_sa_del(&f->k, &f->sa.id, NULL),
			 ER_KERNEL_ABSENT);
	assert_int_equal(er_sim_gaps(f->sim, NULL, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sim_gaps_replace_is_no_gap,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sim_gaps_delete_then_add,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sim_gaps_sa_deleted_under_its_policy, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_sim_gaps_sa_deleted_after_its_policy_moved, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
