// SPDX-License-Identifier: MIT
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/rng.h"
#include "eroute/spd.h"

static struct er_selector
S(const char *src, const char *dst)
{
	struct er_selector sel;
	struct er_prefix s, d;

	assert_true(er_prefix_parse(&s, src, NULL) >= 0);
	assert_true(er_prefix_parse(&d, dst, NULL) >= 0);
	assert_int_equal(er_selector_init(&sel, &s, &d, 0, NULL, NULL, NULL),
			 0);
	return sel;
}

static struct er_policy
POL(const char *src, const char *dst, enum er_action action, uint32_t owner)
{
	struct er_policy p = {0};

	p.dir = ER_DIR_OUT;
	p.sel = S(src, dst);
	p.priority = er_priority_default(&p.sel, ER_PRIO_CONN);
	p.action = action;
	p.owner = owner;
	return p;
}

static struct er_packet
PKT(const char *src, const char *dst)
{
	struct er_packet p = {.proto = IPPROTO_UDP, .sport = 1, .dport = 2};

	assert_int_equal(er_addr_parse(&p.src, src, NULL), 0);
	assert_int_equal(er_addr_parse(&p.dst, dst, NULL), 0);
	return p;
}

static void
test_spd_add_replace_upsert(void **state)
{
	struct er_spd *spd = er_spd_new();
	struct er_policy p = POL("10.1.0.0/16", "10.2.0.0/16",
				 ER_ACTION_TRAP, 1);
	const struct er_policy *out;

	(void)state;
	p.created = 5;
	assert_int_equal(er_spd_add(spd, &p, &out), 0);
	assert_int_equal(out->action, ER_ACTION_TRAP);
	assert_int_equal(er_spd_add(spd, &p, NULL), -EEXIST);
	p.action = ER_ACTION_HOLD;
	p.created = 99;
	assert_int_equal(er_spd_replace(spd, &p, &out), 0);
	assert_int_equal(out->action, ER_ACTION_HOLD);
	assert_int_equal(out->created, 99); /* a replaced policy is new */
	assert_int_equal(er_spd_count(spd, ER_DIR_OUT), 1);
	p.action = ER_ACTION_PASS;
	assert_int_equal(er_spd_upsert(spd, &p, &out), ER_SPD_REPLACED);
	assert_int_equal(out->action, ER_ACTION_PASS);
	/* Same selector, other direction: a different identity. */
	p.dir = ER_DIR_IN;
	assert_int_equal(er_spd_upsert(spd, &p, NULL), 0);
	assert_int_equal(er_spd_count(spd, ER_DIR_IN), 1);
	p.dir = ER_DIR_FWD;
	p.sel = S("10.9.0.0/16", "10.2.0.0/16");
	assert_int_equal(er_spd_replace(spd, &p, NULL), -ENOENT);
	assert_int_equal(er_spd_del(spd, ER_DIR_FWD, &p.sel), -ENOENT);
	p.dir = (enum er_dir)7;
	assert_int_equal(er_spd_add(spd, &p, NULL), -EINVAL);
	p.dir = ER_DIR_OUT;
	p.ntmpl = ER_TMPL_MAX + 1;
	assert_int_equal(er_spd_add(spd, &p, NULL), -EINVAL);
	er_spd_free(spd);
}

static void
test_spd_lookup_most_specific_source_wins(void **state)
{
	/* Reference 001: most specific source first, then destination. */
	struct er_spd *spd = er_spd_new();
	struct er_policy a = POL("10.0.0.0/8", "192.0.2.0/32", ER_ACTION_DROP, 1);
	struct er_policy b = POL("10.1.0.0/16", "0.0.0.0/0", ER_ACTION_PASS, 2);
	struct er_policy c = POL("10.1.0.0/16", "192.0.2.0/24", ER_ACTION_TRAP, 3);
	struct er_packet hit = PKT("10.1.2.3", "192.0.2.7");
	struct er_packet other = PKT("10.2.2.3", "192.0.2.0");
	const struct er_policy *r;

	(void)state;
	assert_int_equal(er_spd_add(spd, &a, NULL), 0);
	assert_int_equal(er_spd_add(spd, &b, NULL), 0);
	r = er_spd_lookup(spd, ER_DIR_OUT, &hit);
	assert_non_null(r);
	assert_int_equal(r->owner, 2);
	assert_int_equal(er_spd_add(spd, &c, NULL), 0);
	r = er_spd_lookup(spd, ER_DIR_OUT, &hit);
	assert_int_equal(r->owner, 3);
	r = er_spd_lookup(spd, ER_DIR_OUT, &other);
	assert_int_equal(r->owner, 1);
	assert_null(er_spd_lookup(spd, ER_DIR_IN, &hit));
	assert_null(er_spd_lookup(spd, ER_DIR_OUT,
				  &(struct er_packet){.proto = 1}));
	/* An explicit priority overrides the computed one. */
	a.priority = 1;
	assert_int_equal(er_spd_replace(spd, &a, NULL), 0);
	hit = PKT("10.1.2.3", "192.0.2.0");
	r = er_spd_lookup(spd, ER_DIR_OUT, &hit);
	assert_int_equal(r->owner, 1);
	er_spd_free(spd);
}

static void
test_spd_equal_priority_broken_by_selector_order(void **state)
{
	struct er_spd *spd = er_spd_new();
	struct er_policy a = POL("10.0.0.0/8", "0.0.0.0/0", ER_ACTION_DROP, 1);
	struct er_policy b = POL("0.0.0.0/0", "192.0.2.0/24", ER_ACTION_PASS, 2);
	struct er_packet p = PKT("10.0.0.1", "192.0.2.1");

	(void)state;
	a.priority = b.priority = 100;
	/* Either insertion order gives the same winner. */
	assert_int_equal(er_spd_add(spd, &b, NULL), 0);
	assert_int_equal(er_spd_add(spd, &a, NULL), 0);
	assert_int_equal(er_spd_lookup(spd, ER_DIR_OUT, &p)->owner,
			 er_selector_cmp(&a.sel, &b.sel) < 0 ? 1 : 2);
	er_spd_free(spd);
}

static void
test_spd_priority_classes(void **state)
{
	struct er_selector host = S("10.0.0.1", "192.0.2.1");
	struct er_selector wide = S("10.0.0.0/8", "192.0.2.0/24");

	(void)state;
	assert_true(er_priority_default(&host, ER_PRIO_BARE) <
		    er_priority_default(&host, ER_PRIO_INSTANCE));
	assert_true(er_priority_default(&wide, ER_PRIO_BARE) <
		    er_priority_default(&host, ER_PRIO_INSTANCE));
	assert_int_equal(er_priority_default(&host, ER_PRIO_INSTANCE) + 1,
			 er_priority_default(&host, ER_PRIO_CONN));
	assert_true(er_priority_default(&host, ER_PRIO_CONN) <
		    er_priority_default(&wide, ER_PRIO_INSTANCE));
	assert_true(er_priority_default(&wide, ER_PRIO_SYSTEM) <
		    er_priority_default(&host, ER_PRIO_BARE));
}

/* Reference 003: a flush deletes every deletable entry in one call, and the
 * reaper frees every dead entry in one pass -- not just the first. */
static void
test_reference_003_flush_and_reap_handle_every_entry(void **state)
{
	enum { N = 4000 };
	struct er_spd *spd = er_spd_new();
	const struct er_policy *held[N];
	size_t nheld = 0, persist = 0;

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		struct er_policy p = {0};
		struct er_addr a, b;
		struct er_prefix s, d;

		er_addr_from_v4(&a, 0x0a000000 + i);
		er_addr_from_v4(&b, 0xc0000200 + (i % 7));
		er_prefix_host(&s, &a);
		er_prefix_host(&d, &b);
		er_selector_init(&p.sel, &s, &d, 0, NULL, NULL, NULL);
		p.dir = (enum er_dir)(i % ER_DIR_COUNT);
		p.priority = i;
		p.action = ER_ACTION_PASS;
		p.owner = i % 2 + 1;
		p.persist = (i % 100) == 0;
		persist += p.persist;
		assert_int_equal(er_spd_add(spd, &p, &held[nheld]), 0);
		/* Half are referenced, as by a retained packet. */
		if (i % 2 == 0)
			er_spd_ref(spd, held[nheld++]);
	}
	assert_int_equal(er_spd_flush(spd, NULL), N - persist);
	assert_int_equal(er_spd_count(spd, ER_DIR_OUT) +
				 er_spd_count(spd, ER_DIR_IN) +
				 er_spd_count(spd, ER_DIR_FWD),
			 persist);
	/* Referenced, non-persist entries are dead, not freed. */
	assert_int_equal(er_spd_dead_count(spd), nheld - persist);
	for (size_t i = 0; i < nheld; i++) {
		if (!held[i]->persist)
			assert_true(er_spd_is_dead(held[i]));
	}
	/* Nothing dead matches any more. */
	for (unsigned i = 0; i < N; i += 97) {
		struct er_packet p = {.proto = 1};

		er_addr_from_v4(&p.src, 0x0a000000 + i);
		er_addr_from_v4(&p.dst, 0xc0000200 + (i % 7));
		const struct er_policy *r =
			er_spd_lookup(spd, (enum er_dir)(i % ER_DIR_COUNT), &p);
		assert_true(r == NULL || r->persist);
	}
	/* Nothing is reaped while references remain. */
	assert_int_equal(er_spd_reap(spd), 0);
	for (size_t i = 0; i < nheld; i++)
		er_spd_release(spd, held[i]);
	assert_int_equal(er_spd_reap(spd), nheld - persist);
	assert_int_equal(er_spd_dead_count(spd), 0);
	assert_int_equal(er_spd_reap(spd), 0);
	er_spd_free(spd);
}

static void
test_spd_unref_frees_dead_at_last_reference(void **state)
{
	struct er_spd *spd = er_spd_new();
	struct er_policy p = POL("10.1.0.0/16", "10.2.0.0/16", ER_ACTION_HOLD, 0);
	const struct er_policy *out;

	(void)state;
	assert_int_equal(er_spd_add(spd, &p, &out), 0);
	er_spd_ref(spd, out);
	er_spd_ref(spd, out);
	assert_int_equal(er_spd_del(spd, ER_DIR_OUT, &p.sel), ER_SPD_DEFERRED);
	assert_true(er_spd_is_dead(out));
	/* The identity is free again at once. */
	assert_int_equal(er_spd_add(spd, &p, NULL), 0);
	er_spd_unref(spd, out);
	assert_int_equal(er_spd_dead_count(spd), 1);
	er_spd_unref(spd, out);
	assert_int_equal(er_spd_dead_count(spd), 0);
	assert_int_equal(er_spd_del(spd, ER_DIR_OUT, &p.sel), 0);
	er_spd_free(spd);
}

static void
test_spd_flush_by_owner_and_direction(void **state)
{
	struct er_spd *spd = er_spd_new();
	struct er_policy a = POL("10.1.0.0/16", "10.2.0.0/16", ER_ACTION_TRAP, 1);
	struct er_policy b = POL("10.3.0.0/16", "10.2.0.0/16", ER_ACTION_TRAP, 2);
	struct er_spd_filter f = {.match_owner = true, .owner = 1};

	(void)state;
	er_spd_add(spd, &a, NULL);
	er_spd_add(spd, &b, NULL);
	a.dir = ER_DIR_IN;
	er_spd_add(spd, &a, NULL);
	assert_int_equal(er_spd_flush(spd, &(struct er_spd_filter){
						   .match_owner = true,
						   .owner = 1,
						   .match_dir = true,
						   .dir = ER_DIR_IN}),
			 1);
	assert_int_equal(er_spd_flush(spd, &f), 1);
	assert_int_equal(er_spd_count(spd, ER_DIR_OUT), 1);
	assert_int_equal(er_spd_first(spd, ER_DIR_OUT)->owner, 2);
	er_spd_free(spd);
}

static void
test_spd_iteration_in_lookup_order(void **state)
{
	struct er_spd *spd = er_spd_new();
	struct er_rng rng;
	const struct er_policy *p;
	uint32_t last = 0;
	size_t n = 0;

	(void)state;
	er_rng_init(&rng, 3);
	for (int i = 0; i < 500; i++) {
		struct er_policy pol = {0};
		struct er_addr a;
		struct er_prefix s, d;

		er_addr_from_v4(&a, (uint32_t)er_rng_next(&rng));
		er_prefix_init(&s, &a, (unsigned)(er_rng_next(&rng) % 33));
		er_prefix_any(&d, AF_INET);
		er_selector_init(&pol.sel, &s, &d, 0, NULL, NULL, NULL);
		pol.priority = er_priority_default(&pol.sel, ER_PRIO_CONN);
		er_spd_upsert(spd, &pol, NULL);
	}
	for (p = er_spd_first(spd, ER_DIR_OUT); p != NULL;
	     p = er_spd_next(spd, p)) {
		assert_true(p->priority >= last);
		last = p->priority;
		n++;
	}
	assert_int_equal(n, er_spd_count(spd, ER_DIR_OUT));
	er_spd_free(spd);
}

static void
test_spd_names(void **state)
{
	enum er_action a;
	enum er_dir d;

	(void)state;
	for (int i = 0; i < ER_ACTION_COUNT; i++) {
		assert_int_equal(er_action_parse(&a, er_action_name((enum er_action)i)), 0);
		assert_int_equal(a, i);
	}
	for (int i = 0; i < ER_DIR_COUNT; i++) {
		assert_int_equal(er_dir_parse(&d, er_dir_name((enum er_dir)i)), 0);
		assert_int_equal(d, i);
	}
	assert_int_equal(er_action_parse(&a, "bogus"), -EINVAL);
	assert_string_equal(er_action_name((enum er_action)99), "?");
	assert_string_equal(er_mode_name(ER_MODE_TRANSPORT), "transport");
}

static void
test_spd_ipv6(void **state)
{
	struct er_spd *spd = er_spd_new();
	struct er_policy a = POL("2001:db8:1::/48", "2001:db8:2::/48",
				 ER_ACTION_TRAP, 1);
	struct er_policy b = POL("::/0", "::/0", ER_ACTION_PASS, 2);
	struct er_packet p = PKT("2001:db8:1::1", "2001:db8:2::1");
	struct er_packet q = PKT("2001:db8:1::1", "2001:db8:3::1");
	struct er_packet v4 = PKT("10.0.0.1", "10.0.0.2");

	(void)state;
	er_spd_add(spd, &a, NULL);
	er_spd_add(spd, &b, NULL);
	assert_int_equal(er_spd_lookup(spd, ER_DIR_OUT, &p)->owner, 1);
	assert_int_equal(er_spd_lookup(spd, ER_DIR_OUT, &q)->owner, 2);
	assert_null(er_spd_lookup(spd, ER_DIR_OUT, &v4));
	er_spd_free(spd);
}

/* ---- the classifier path against the ordered scan ------------------ */

static uint32_t
rnd(struct er_rng *rng, uint32_t n)
{
	return (uint32_t)er_rng_range(rng, 0, n - 1);
}

static void
random_selector(struct er_rng *rng, struct er_selector *sel)
{
	static const char *const v4[] = {"10.0.0.0/8",	   "10.1.0.0/16",
					 "10.1.2.0/24",	   "10.1.2.3/32",
					 "192.0.2.0/24",   "192.0.2.128/25",
					 "198.51.100.7/32", "0.0.0.0/0"};
	static const char *const v6[] = {"2001:db8::/32", "2001:db8:1::/48",
					 "2001:db8:1::1/128", "::/0"};
	static const uint8_t protos[] = {0, 0, IPPROTO_TCP, IPPROTO_UDP,
					 IPPROTO_ICMP};
	static const struct er_port_range ranges[] = {
		{0, 65535}, {80, 80}, {500, 500}, {1024, 65535}, {0, 1023}};
	struct er_prefix s, d;
	struct er_port_range sp = {0, 65535}, dp = {0, 65535};
	uint8_t proto = protos[rnd(rng, 5)];

	if (rnd(rng, 5) == 0) {
		assert_true(er_prefix_parse(&s, v6[rnd(rng, 4)], NULL) >= 0);
		assert_true(er_prefix_parse(&d, v6[rnd(rng, 4)], NULL) >= 0);
	} else {
		assert_true(er_prefix_parse(&s, v4[rnd(rng, 8)], NULL) >= 0);
		assert_true(er_prefix_parse(&d, v4[rnd(rng, 8)], NULL) >= 0);
	}
	if (er_proto_has_ports(proto)) {
		sp = ranges[rnd(rng, 5)];
		dp = ranges[rnd(rng, 5)];
	}
	assert_int_equal(er_selector_init(sel, &s, &d, proto, &sp, &dp, NULL),
			 0);
}

static void
random_policy(struct er_rng *rng, struct er_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->dir = (enum er_dir)rnd(rng, ER_DIR_COUNT);
	random_selector(rng, &p->sel);
	/* Few explicit values, so that equal priorities are common. */
	p->priority = rnd(rng, 2) ? rnd(rng, 4)
				  : er_priority_default(&p->sel,
						       (enum er_prio_class)
							       rnd(rng, 4));
	p->action = (enum er_action)rnd(rng, ER_ACTION_COUNT);
	p->owner = rnd(rng, 4);
	p->persist = rnd(rng, 8) == 0;
}

static void
random_packet(struct er_rng *rng, const struct er_selector *near,
	      struct er_packet *pkt)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP};
	static const uint16_t ports[] = {0, 80, 500, 1023, 1024, 65535};

	memset(pkt, 0, sizeof(*pkt));
	pkt->src = near->src.addr;
	pkt->dst = near->dst.addr;
	/* Vary the host part so that the packet falls in some prefixes of
	 * the pools and not in others. */
	if (rnd(rng, 2))
		pkt->src.a[pkt->src.family == AF_INET ? 3 : 15] =
			(uint8_t)rnd(rng, 256);
	if (rnd(rng, 2))
		pkt->dst.a[pkt->dst.family == AF_INET ? 3 : 15] =
			(uint8_t)rnd(rng, 256);
	pkt->proto = near->proto != 0 && rnd(rng, 4) != 0 ? near->proto
							   : protos[rnd(rng, 3)];
	pkt->sport = ports[rnd(rng, 6)];
	pkt->dport = ports[rnd(rng, 6)];
}

static void
check_lookups(const struct er_spd *spd, struct er_rng *rng,
	      const struct er_policy *seen, size_t nseen, uint64_t seed,
	      int step)
{
	struct er_packet pkts[40];
	const struct er_policy *out[40];

	for (int d = 0; d < ER_DIR_COUNT; d++) {
		for (int i = 0; i < 40; i++)
			random_packet(rng, &seen[rnd(rng, (uint32_t)nseen)].sel,
				      &pkts[i]);
		er_spd_lookup_batch(spd, (enum er_dir)d, pkts, 40, out);
		for (int i = 0; i < 40; i++) {
			const struct er_policy *want =
				er_spd_lookup_scan(spd, (enum er_dir)d,
						   &pkts[i]);

			if (er_spd_lookup(spd, (enum er_dir)d, &pkts[i]) !=
				    want ||
			    out[i] != want) {
				print_error("seed %lu step %d dir %d packet "
					    "%d: classifier and scan differ\n",
					    (unsigned long)seed, step, d, i);
				fail();
			}
		}
	}
}

static void
test_spd_lookup_matches_scan_under_churn(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 4; seed++) {
		struct er_spd *spd = er_spd_new();
		struct er_policy seen[512];
		const struct er_policy *held[8] = {0};
		struct er_rng rng;
		size_t nseen = 0;

		er_rng_init(&rng, seed);
		for (int step = 0; step < 1500; step++) {
			struct er_policy p;
			uint32_t op = rnd(&rng, 100);

			if (op < 40 || nseen == 0) {
				random_policy(&rng, &p);
				if (er_spd_add(spd, &p, NULL) == 0 &&
				    nseen < 512)
					seen[nseen++] = p;
				continue;
			}
			p = seen[rnd(&rng, (uint32_t)nseen)];
			if (op < 55) {
				/* Same identity, new priority and action. */
				p.priority = rnd(&rng, 6);
				p.action = (enum er_action)rnd(&rng, 6);
				er_spd_replace(spd, &p, NULL);
			} else if (op < 65) {
				p.priority ^= rnd(&rng, 3);
				assert_true(er_spd_upsert(spd, &p, NULL) >= 0);
			} else if (op < 90) {
				er_spd_del(spd, p.dir, &p.sel);
			} else if (op < 96) {
				/* Hold a reference, so a later delete only
				 * marks the policy dead. */
				size_t k = rnd(&rng, 8);
				const struct er_policy *cur =
					er_spd_get(spd, p.dir, &p.sel);

				if (held[k] != NULL)
					er_spd_release(spd, held[k]);
				held[k] = cur;
				if (cur != NULL)
					er_spd_ref(spd, cur);
			} else if (op < 98) {
				er_spd_reap(spd);
			} else {
				struct er_spd_filter f = {
					.match_owner = true,
					.owner = rnd(&rng, 4),
					.match_dir = rnd(&rng, 2),
					.dir = (enum er_dir)rnd(&rng, 3)};

				er_spd_flush(spd, rnd(&rng, 4) ? &f : NULL);
			}
			if (step % 25 == 0)
				check_lookups(spd, &rng, seen, nseen, seed,
					      step);
		}
		check_lookups(spd, &rng, seen, nseen, seed, 1500);
		for (size_t k = 0; k < 8; k++) {
			if (held[k] != NULL)
				er_spd_release(spd, held[k]);
		}
		er_spd_reap(spd);
		er_spd_free(spd);
	}
}

static void
test_spd_rejects_overlong_prefixes(void **state)
{
	struct er_spd *spd = er_spd_new();
	struct er_policy p = POL("10.0.0.0/8", "10.2.0.0/16", ER_ACTION_PASS, 1);

	(void)state;
	p.sel.dst.len = 33;
	assert_int_equal(er_spd_add(spd, &p, NULL), -EINVAL);
	assert_int_equal(er_spd_count(spd, ER_DIR_OUT), 0);
	er_spd_free(spd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spd_add_replace_upsert),
		cmocka_unit_test(test_spd_lookup_most_specific_source_wins),
		cmocka_unit_test(test_spd_equal_priority_broken_by_selector_order),
		cmocka_unit_test(test_spd_priority_classes),
		cmocka_unit_test(test_reference_003_flush_and_reap_handle_every_entry),
		cmocka_unit_test(test_spd_unref_frees_dead_at_last_reference),
		cmocka_unit_test(test_spd_flush_by_owner_and_direction),
		cmocka_unit_test(test_spd_iteration_in_lookup_order),
		cmocka_unit_test(test_spd_names),
		cmocka_unit_test(test_spd_ipv6),
		cmocka_unit_test(test_spd_lookup_matches_scan_under_churn),
		cmocka_unit_test(test_spd_rejects_overlong_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
