// SPDX-License-Identifier: MIT
/* The kernel seam: er_kernel_flush() over the simulated kernel. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/sim.h"

static struct er_policy
POL(const char *src, const char *dst, enum er_action action, uint32_t owner)
{
	struct er_policy p = {0};
	struct er_prefix s, d;

	assert_true(er_prefix_parse(&s, src, NULL) >= 0);
	assert_true(er_prefix_parse(&d, dst, NULL) >= 0);
	assert_int_equal(er_selector_init(&p.sel, &s, &d, 0, NULL, NULL, NULL),
			 0);
	p.dir = ER_DIR_OUT;
	p.priority = er_priority_default(&p.sel, ER_PRIO_CONN);
	p.action = action;
	p.owner = owner;
	if (action == ER_ACTION_TRAP) {
		p.reqid = 7;
		p.ntmpl = 1;
		p.tmpl[0].proto = IPPROTO_ESP;
		p.tmpl[0].reqid = 7;
	}
	return p;
}

static struct er_sa
SA(uint32_t spi, uint32_t owner)
{
	struct er_sa sa = {0};

	assert_int_equal(er_addr_parse(&sa.id.dst, "198.51.100.1", NULL), 0);
	sa.id.proto = IPPROTO_ESP;
	sa.id.spi = spi;
	sa.state = ER_SA_MATURE;
	sa.owner = owner;
	return sa;
}

/* Reference 003 for the kernel: one call removes every one of eroute's
 * policies and SAs, whatever they are, and nothing of anybody else's. */
static void
test_kernel_flush_removes_all_of_ours_and_only_ours(void **state)
{
	struct er_sim *sim = er_sim_new(&(struct er_sim_config){.seed = 1});
	struct er_kernel k = er_sim_kernel(sim);
	struct er_policy trap = POL("10.1.0.0/16", "10.2.0.0/16",
				    ER_ACTION_TRAP, 1);
	struct er_policy pass = POL("10.1.0.0/16", "10.9.0.0/16",
				    ER_ACTION_PASS, ER_OWNER_BARE);
	struct er_policy foreign = POL("10.5.0.0/16", "10.6.0.0/16",
				       ER_ACTION_DROP, ER_OWNER_FOREIGN);
	struct er_sa ours = SA(0x1000, 1);
	struct er_sa theirs = SA(0x2000, ER_OWNER_FOREIGN);
	struct er_spi_req req = {0};
	struct er_packet pkt = {.proto = IPPROTO_UDP, .sport = 1, .dport = 53};
	struct er_sim_result r;
	struct er_sim_stats st;
	struct er_err err = {0};
	uint32_t spi;

	(void)state;
	assert_non_null(sim);
	assert_int_equal(er_kernel_policy_add(&k, &trap, NULL), 0);
	assert_int_equal(er_kernel_policy_add(&k, &pass, NULL), 0);
	assert_int_equal(er_kernel_policy_add(&k, &foreign, NULL), 0);
	trap.dir = ER_DIR_IN;
	trap.action = ER_ACTION_PASS;
	trap.ntmpl = 0;
	assert_int_equal(er_kernel_policy_add(&k, &trap, NULL), 0);
	assert_int_equal(er_kernel_sa_add(&k, &ours, NULL), 0);
	assert_int_equal(er_kernel_sa_add(&k, &theirs, NULL), 0);
	req.dst = ours.id.dst;
	req.proto = IPPROTO_ESP;
	req.owner = 1;
	assert_int_equal(er_kernel_spi_alloc(&k, &req, &spi, NULL), 0);
	/* A trapped packet: a narrow hold that retains it. */
	assert_int_equal(er_addr_parse(&pkt.src, "10.1.0.1", NULL), 0);
	assert_int_equal(er_addr_parse(&pkt.dst, "10.2.0.1", NULL), 0);
	assert_int_equal(er_sim_packet_out(sim, &pkt, 100, &r), 0);
	assert_true(r.acquire);
	assert_int_equal(er_spd_count(er_sim_spd(sim), ER_DIR_OUT), 4);

	/* Ours: trap, pass and the narrow hold out, one in, the SA and the
	 * larval reservation. */
	assert_int_equal(er_kernel_flush(&k, &err), 6);
	assert_int_equal(er_spd_count(er_sim_spd(sim), ER_DIR_OUT), 1);
	assert_int_equal(er_spd_first(er_sim_spd(sim), ER_DIR_OUT)->owner,
			 ER_OWNER_FOREIGN);
	assert_int_equal(er_spd_count(er_sim_spd(sim), ER_DIR_IN), 0);
	assert_int_equal(er_sad_count(er_sim_sad(sim)), 1);
	assert_non_null(er_sad_get(er_sim_sad(sim), &theirs.id));
	/* The hold's packet, released, found no trap to fall into. */
	er_sim_stats(sim, &st);
	assert_int_equal(st.acquires, 1);
	assert_int_equal(st.released, 1);
	/* Nothing of ours left: a second flush deletes nothing. */
	assert_int_equal(er_kernel_flush(&k, &err), 0);
	er_sim_free(sim);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_kernel_flush_removes_all_of_ours_and_only_ours),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
