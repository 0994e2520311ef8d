// SPDX-License-Identifier: MIT
/*
 * Installing fast, in a network namespace of its own: 100k policies with
 * mixed prefix lengths (/16 to /32 on both sides, both directions, pass
 * and trap) go in through er_xfrm_policy_install_bulk() with the SPD hash
 * thresholds chosen from the set; installing them again updates every one.
 * How fast that is, is measured by bench/kernel, not here.  Counted by
 * `ip xfrm policy count`.  And per-policy results in a mixed batch: added,
 * updated, refused; bulk deletes the same way: deleted, already gone,
 * refused.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eroute/engine.h"
#include "eroute/rng.h"
#include "netns.h"

#define N 100000

static int
pol_cmp(const void *a, const void *b)
{
	const struct er_policy *p = a, *q = b;

	if (p->dir != q->dir)
		return p->dir < q->dir ? -1 : 1;
	return er_selector_cmp(&p->sel, &q->sel);
}

/* @n distinct policies with mixed prefixes, in random order. */
static struct er_policy *
mixed_policies(size_t n)
{
	static const unsigned slen[] = {16, 24, 32}, dlen[] = {16, 20, 24, 28,
							       32};
	size_t want = n + n / 4, i, j;
	struct er_policy *p = calloc(want, sizeof(*p)), t;
	struct er_prefix ps, pd;
	struct er_addr a, b;
	struct er_rng rng;

	assert_non_null(p);
	er_rng_init(&rng, 100000);
	for (i = 0; i < want; i++) {
		er_addr_from_v4(&a, 0x0a000000u |
					    (uint32_t)er_rng_range(&rng, 0,
								   0xffffff));
		er_addr_from_v4(&b, 0x0a000000u |
					    (uint32_t)er_rng_range(&rng, 0,
								   0xffffff));
		er_prefix_init(&ps, &a, slen[er_rng_range(&rng, 0, 2)]);
		er_prefix_init(&pd, &b, dlen[er_rng_range(&rng, 0, 4)]);
		assert_int_equal(er_selector_init(&p[i].sel, &ps, &pd, 0, NULL,
						  NULL, NULL),
				 0);
		p[i].dir = er_rng_range(&rng, 0, 1) ? ER_DIR_OUT : ER_DIR_IN;
		p[i].action = er_rng_range(&rng, 0, 3) == 0 ? ER_ACTION_PASS
							    : ER_ACTION_TRAP;
		p[i].reqid = p[i].action == ER_ACTION_TRAP
				     ? ER_REQID_BASE + (uint32_t)(i % 1000)
				     : 0;
		p[i].priority = er_priority_default(&p[i].sel, ER_PRIO_CONN);
		p[i].owner = (uint32_t)(i % 1000) + 1;
	}
	/* distinct (direction, selector) */
	qsort(p, want, sizeof(*p), pol_cmp);
	for (i = 1, j = 1; i < want; i++) {
		if (pol_cmp(&p[i], &p[j - 1]) != 0)
			p[j++] = p[i];
	}
	assert_true(j >= n);
	/* random order, then the first @n */
	for (i = j; i-- > 1;) {
		j = (size_t)er_rng_range(&rng, 0, i);
		t = p[i];
		p[i] = p[j];
		p[j] = t;
	}
	return p;
}

static unsigned long
spd_count(void)
{
	char *out = netns_out("ip xfrm policy count");
	unsigned long in = 0, o = 0, fwd = 0;

	if (sscanf(out, " SPD IN %lu OUT %lu FWD %lu", &in, &o, &fwd) != 3)
		fail_msg("ip xfrm policy count: [%s]", out);
	free(out);
	return in + o + fwd;
}

static void
test_100k_mixed_prefixes_bulk_install(void **state)
{
	struct er_xfrm_config cfg = {0};
	struct er_xfrm_thresholds chosen, now;
	struct er_err err = {0};
	struct er_policy *p = mixed_policies(N);
	struct er_xfrm *x;
	int *res = calloc(N, sizeof(*res));
	size_t i;

	(void)state;
	cfg.no_events = true;
	cfg.no_nd_bypass = true;
	x = er_xfrm_new(&cfg, &err);
	if (x == NULL)
		fail_msg("er_xfrm_new: %s", err.msg);
	if (er_xfrm_policy_install_bulk(x, p, N, res, &err) != 0)
		fail_msg("%s", err.msg);
	for (i = 0; i < N; i++)
		assert_int_equal(res[i], 0);
	assert_int_equal(spd_count(), N);
	er_xfrm_thresholds_choose(p, N, &chosen);
	assert_int_equal(er_xfrm_thresholds_get(x, &now, &err), 0);
	assert_memory_equal(&chosen, &now, sizeof(now));
	assert_true(now.v4_lbits < 32 || now.v4_rbits < 32);
	/* again: every one found and updated */
	assert_int_equal(er_xfrm_policy_install_bulk(x, p, N, res, &err), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(res[i], ER_KERNEL_UPDATED);
	assert_int_equal(spd_count(), N);
	/* all deleted in bulk, then a few of them again: already gone */
	assert_int_equal(er_xfrm_policy_delete_bulk(x, p, N, res, &err), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(res[i], 0);
	assert_int_equal(spd_count(), 0);
	assert_int_equal(er_xfrm_policy_delete_bulk(x, p, 10, res, &err), 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(res[i], ER_KERNEL_ABSENT);
	er_xfrm_free(x);
	free(res);
	free(p);
}

static void
test_bulk_results_per_policy(void **state)
{
	struct er_xfrm_config cfg = {0};
	struct er_xfrm_thresholds fixed = {24, 20, 64, 64}, now;
	struct er_err err = {0};
	struct er_policy *p = mixed_policies(300);
	struct er_xfrm *x;
	struct er_kernel k;
	int res[300];
	size_t i;

	(void)state;
	cfg.no_events = true;
	cfg.no_nd_bypass = true;
	cfg.thresholds = &fixed;
	x = er_xfrm_new(&cfg, &err);
	if (x == NULL)
		fail_msg("er_xfrm_new: %s", err.msg);
	k = er_xfrm_kernel(x);
	/* ten already there, one XFRM cannot express */
	for (i = 0; i < 10; i++)
		assert_int_equal(er_kernel_policy_add(&k, &p[i * 7], &err), 0);
	netns_selector(&p[100].sel, "10.1.0.0/16", "10.2.0.0/16", IPPROTO_TCP,
		       "1000-2000", NULL);
	assert_int_equal(er_xfrm_policy_install_bulk(x, p, 300, res, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "1000-2000"));
	for (i = 0; i < 300; i++) {
		if (i == 100)
			assert_int_equal(res[i], -EINVAL);
		else if (i % 7 == 0 && i < 70)
			assert_int_equal(res[i], ER_KERNEL_UPDATED);
		else
			assert_int_equal(res[i], 0);
	}
	assert_int_equal(spd_count(), 299);
	assert_int_equal(er_xfrm_thresholds_get(x, &now, &err), 0);
	assert_memory_equal(&now, &fixed, sizeof(now));
	/* Bulk delete: one already gone, the inexpressible one refused and
	 * named, every other deleted. */
	assert_int_equal(er_kernel_policy_del(&k, p[5].dir, &p[5].sel, &err),
			 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(er_xfrm_policy_delete_bulk(x, p, 300, res, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "1000-2000"));
	for (i = 0; i < 300; i++) {
		if (i == 100)
			assert_int_equal(res[i], -EINVAL);
		else if (i == 5)
			assert_int_equal(res[i], ER_KERNEL_ABSENT);
		else
			assert_int_equal(res[i], 0);
	}
	assert_int_equal(spd_count(), 0);
	er_xfrm_free(x);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_100k_mixed_prefixes_bulk_install, netns_fresh,
			NULL),
		cmocka_unit_test_setup_teardown(test_bulk_results_per_policy,
						netns_fresh, NULL),
	};

	netns_main_check(240);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
