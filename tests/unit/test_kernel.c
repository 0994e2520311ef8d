// SPDX-License-Identifier: MIT
/* The kernel seam: er_kernel_flush() and the bulk delete over the
 * simulated kernel; the engine's shutdown deletes in bulk. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/engine.h"
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

/* Without a bulk op in the backend, one by one with the same answers. */
static void
test_bulk_delete_falls_back_one_by_one(void **state)
{
	struct er_sim *sim = er_sim_new(&(struct er_sim_config){.seed = 1});
	struct er_kernel k = er_sim_kernel(sim);
	struct er_policy p[3] = {
		POL("10.1.0.0/16", "10.2.0.0/16", ER_ACTION_TRAP, 1),
		POL("10.1.0.0/16", "10.3.0.0/16", ER_ACTION_PASS, 1),
		POL("10.1.0.0/16", "10.4.0.0/16", ER_ACTION_PASS, 1),
	};
	int res[3];

	(void)state;
	assert_int_equal(er_kernel_policy_add(&k, &p[0], NULL), 0);
	assert_int_equal(er_kernel_policy_add(&k, &p[2], NULL), 0);
	assert_int_equal(er_kernel_policy_del_bulk(&k, p, 3, res, NULL), 0);
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], ER_KERNEL_ABSENT);
	assert_int_equal(res[2], 0);
	assert_int_equal(er_spd_count(er_sim_spd(sim), ER_DIR_OUT), 0);
	er_sim_free(sim);
}

/* A backend that counts: the sim, with a bulk delete. */
struct counting {
	struct er_kernel sim;
	size_t single_dels, bulk_calls, bulk_pols;
};

static struct counting cnt;

static int
c_add(void *ctx, const struct er_policy *pol, struct er_err *err)
{
	(void)ctx;
	return er_kernel_policy_add(&cnt.sim, pol, err);
}

static int
c_replace(void *ctx, const struct er_policy *pol, struct er_err *err)
{
	(void)ctx;
	return er_kernel_policy_replace(&cnt.sim, pol, err);
}

static int
c_del(void *ctx, enum er_dir dir, const struct er_selector *sel,
      struct er_err *err)
{
	(void)ctx;
	cnt.single_dels++;
	return er_kernel_policy_del(&cnt.sim, dir, sel, err);
}

static int
c_del_bulk(void *ctx, const struct er_policy *pols, size_t n, int *results,
	   struct er_err *err)
{
	(void)ctx;
	cnt.bulk_calls++;
	cnt.bulk_pols += n;
	/* the sim has none: this is its one-by-one fallback */
	return er_kernel_policy_del_bulk(&cnt.sim, pols, n, results, err);
}

static int
c_sa_add(void *ctx, const struct er_sa *sa, struct er_err *err)
{
	(void)ctx;
	return er_kernel_sa_add(&cnt.sim, sa, err);
}

static int
c_sa_update(void *ctx, const struct er_sa *sa, struct er_err *err)
{
	(void)ctx;
	return er_kernel_sa_update(&cnt.sim, sa, err);
}

static int
c_sa_del(void *ctx, const struct er_sa_id *id, struct er_err *err)
{
	(void)ctx;
	return er_kernel_sa_del(&cnt.sim, id, err);
}

static int
c_spi_alloc(void *ctx, const struct er_spi_req *req, uint32_t *spi,
	    struct er_err *err)
{
	(void)ctx;
	return er_kernel_spi_alloc(&cnt.sim, req, spi, err);
}

static int
c_policy_dump(void *ctx, er_kernel_policy_cb *cb, void *cbctx,
	      struct er_err *err)
{
	(void)ctx;
	return er_kernel_policy_dump(&cnt.sim, cb, cbctx, err);
}

static int
c_sa_dump(void *ctx, er_kernel_sa_cb *cb, void *cbctx, struct er_err *err)
{
	(void)ctx;
	return er_kernel_sa_dump(&cnt.sim, cb, cbctx, err);
}

static int
c_poll(void *ctx, struct er_kernel_event *ev)
{
	(void)ctx;
	return er_kernel_poll_event(&cnt.sim, ev);
}

static const struct er_kernel_ops counting_ops = {
	.name = "counting",
	.policy_add = c_add,
	.policy_replace = c_replace,
	.policy_del = c_del,
	.sa_add = c_sa_add,
	.sa_update = c_sa_update,
	.sa_del = c_sa_del,
	.spi_alloc = c_spi_alloc,
	.policy_dump = c_policy_dump,
	.sa_dump = c_sa_dump,
	.poll_event = c_poll,
	.policy_del_bulk = c_del_bulk,
};

/* A clean shutdown of many routed connections: one bulk delete, no
 * single ones, and the kernel holds nothing of eroute's after it. */
static void
test_shutdown_deletes_in_bulk(void **state)
{
	struct er_sim *sim = er_sim_new(&(struct er_sim_config){.seed = 1});
	struct er_engine_config ec = {0};
	struct er_prefix remote[40];
	struct er_engine *e;
	char buf[64];

	(void)state;
	memset(&cnt, 0, sizeof(cnt));
	cnt.sim = er_sim_kernel(sim);
	ec.kernel = (struct er_kernel){&counting_ops, NULL};
	ec.seed = 2;
	ec.now = 100;
	e = er_engine_new(&ec, NULL);
	assert_non_null(e);
	for (int i = 0; i < 40; i++) {
		struct er_conn_config cc;

		er_conn_config_init(&cc);
		snprintf(cc.name, sizeof(cc.name), "c%d", i);
		assert_int_equal(er_addr_parse(&cc.local, "192.0.2.1", NULL),
				 0);
		assert_int_equal(er_addr_parse(&cc.remote, "198.51.100.1",
					       NULL), 0);
		assert_true(er_prefix_parse(&cc.local_client, "10.1.0.0/16",
					    NULL) >= 0);
		snprintf(buf, sizeof(buf), "10.%d.0.0/16", 100 + i);
		assert_true(er_prefix_parse(&remote[i], buf, NULL) >= 0);
		cc.remote_clients = &remote[i];
		cc.nremote = 1;
		cc.autostart = ER_AUTO_ONDEMAND;
		assert_true(er_engine_conn_add(e, &cc, NULL) > 0);
	}
	assert_int_equal(er_spd_count(er_sim_spd(sim), ER_DIR_OUT), 40);
	er_engine_shutdown(e);
	assert_int_equal(cnt.single_dels, 0);
	assert_int_equal(cnt.bulk_calls, 1);
	assert_int_equal(cnt.bulk_pols, 40);
	assert_int_equal(er_spd_count(er_sim_spd(sim), ER_DIR_OUT), 0);
	assert_int_equal(er_spd_count(er_sim_spd(sim), ER_DIR_IN), 0);
	/* After the shutdown the engine's kernel is the backend again. */
	assert_int_equal(er_engine_verify(e, NULL), 0);
	er_engine_free(e);
	er_sim_free(sim);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_kernel_flush_removes_all_of_ours_and_only_ours),
		cmocka_unit_test(test_bulk_delete_falls_back_one_by_one),
		cmocka_unit_test(test_shutdown_deletes_in_bulk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
