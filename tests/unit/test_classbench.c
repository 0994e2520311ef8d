// SPDX-License-Identifier: MIT
/*
 * The bench's ClassBench reader (bench/classify/classbench.c, compiled in:
 * it is pure and needs only liberoute): it parses the format of the data
 * README and refuses what is not that format, and expanding a rule into
 * er_selectors keeps every first-match answer of the ClassBench meaning on
 * normalised packets.  Not timed; the bench itself never runs here.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "classbench.h"

static void
test_classbench_rule_parse_fields(void **state)
{
	struct cb_rule r;
	char buf[ER_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(cb_rule_parse(&r, "195.120.234.169/32 16.254.228.0/24"
					   " 6 0-65535 19856-19856\n"),
			 0);
	er_prefix_format(&r.src, buf, sizeof(buf));
	assert_string_equal(buf, "195.120.234.169/32");
	er_prefix_format(&r.dst, buf, sizeof(buf));
	assert_string_equal(buf, "16.254.228.0/24");
	assert_int_equal(r.proto, IPPROTO_TCP);
	assert_int_equal(r.sport.lo, 0);
	assert_int_equal(r.sport.hi, 65535);
	assert_int_equal(r.dport.lo, 19856);
	assert_int_equal(r.dport.hi, 19856);

	assert_int_equal(cb_rule_parse(&r, "0.0.0.0/0 0.0.0.0/0 any 0-65535 "
					   "1024-2047"),
			 0);
	assert_int_equal(r.proto, CB_PROTO_ANY);
	assert_int_equal(r.src.len, 0);
	assert_int_equal(r.dport.lo, 1024);
	assert_int_equal(r.dport.hi, 2047);
}

static void
test_classbench_rule_parse_refuses_other_text(void **state)
{
	static const char *const bad[] = {
		"",
		"1.2.3.4/32 5.6.7.8/32 6 0-65535",		/* 4 fields */
		"1.2.3.4/32 5.6.7.8/32 6 0-65535 0-65535 x",	/* 6 fields */
		"1.2.3.5/31 5.6.7.8/32 6 0-65535 0-65535",	/* host bits */
		"1.2.3.4 5.6.7.8/32 6 0-65535 0-65535",	/* no length */
		"1.2.3.4/33 5.6.7.8/32 6 0-65535 0-65535",
		"2001:db8::/32 5.6.7.8/32 6 0-65535 0-65535",
		"1.2.3.4/32 5.6.7.8/32 256 0-65535 0-65535",
		"1.2.3.4/32 5.6.7.8/32 tcp 0-65535 0-65535",
		"1.2.3.4/32 5.6.7.8/32 6 9-8 0-65535",		/* lo > hi */
		"1.2.3.4/32 5.6.7.8/32 6 0-65536 0-65535",
		"1.2.3.4/32 5.6.7.8/32 6 80 0-65535",		/* no range */
		"1.2.3.4/32 5.6.7.8/32 6 -1-80 0-65535",
	};
	struct cb_rule r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cb_rule_parse(&r, bad[i]), -EINVAL);
}

static void
test_classbench_packet_parse_and_normalise(void **state)
{
	struct er_packet p;
	int32_t want;

	(void)state;
	assert_int_equal(cb_packet_parse(&p, &want, "62.60.25.216 "
						    "92.245.118.93 6 65535 "
						    "80 743\n"),
			 0);
	assert_int_equal(er_addr_v4(&p.src), 0x3e3c19d8);
	assert_int_equal(er_addr_v4(&p.dst), 0x5cf5765d);
	assert_int_equal(p.proto, IPPROTO_TCP);
	assert_int_equal(p.sport, 65535);
	assert_int_equal(p.dport, 80);
	assert_int_equal(want, 743);
	cb_packet_normalise(&p);
	assert_int_equal(p.sport, 65535);

	assert_int_equal(cb_packet_parse(&p, &want, "1.2.3.4 5.6.7.8 1 "
						    "65535 0 -1"),
			 0);
	assert_int_equal(want, -1);
	cb_packet_normalise(&p);
	assert_int_equal(p.sport, 0);
	assert_int_equal(p.dport, 0);

	assert_int_equal(cb_packet_parse(&p, &want, "1.2.3.4 5.6.7.8 1 0 0"),
			 -EINVAL);
	assert_int_equal(cb_packet_parse(&p, &want, "1.2.3.4 5.6.7.8 1 0 0 "
						    "-2"),
			 -EINVAL);
	assert_int_equal(cb_packet_parse(&p, &want, "1.2.3.4 5.6.7 1 0 0 0"),
			 -EINVAL);
}

static void
test_classbench_expand_shapes(void **state)
{
	static const uint8_t tu[] = {IPPROTO_TCP, IPPROTO_UDP};
	static const uint8_t icmp[] = {IPPROTO_ICMP};
	struct er_selector sel[CB_EXPAND_MAX];
	struct cb_rule r;

	(void)state;
	/* Proto any with a port range: one selector per port protocol. */
	assert_int_equal(cb_rule_parse(&r, "10.0.0.0/8 0.0.0.0/0 any 0-65535 "
					   "80-80"),
			 0);
	assert_int_equal(cb_rule_expand(&r, tu, 2, sel), 2);
	assert_int_equal(sel[0].proto, IPPROTO_TCP);
	assert_int_equal(sel[1].proto, IPPROTO_UDP);
	assert_int_equal(sel[1].dport.lo, 80);
	assert_int_equal(sel[1].dport.hi, 80);
	assert_int_equal(sel[0].src.len, 8);
	/* Only port protocols can carry the ports. */
	assert_int_equal(cb_rule_expand(&r, icmp, 1, sel), -EINVAL);
	/* Proto any without ports stays one selector, proto any. */
	assert_int_equal(cb_rule_parse(&r, "10.0.0.0/8 0.0.0.0/0 any 0-65535 "
					   "0-65535"),
			 0);
	assert_int_equal(cb_rule_expand(&r, tu, 2, sel), 1);
	assert_int_equal(sel[0].proto, ER_PROTO_ANY);
	/* Ports on ICMP cannot match a normalised packet. */
	assert_int_equal(cb_rule_parse(&r, "10.0.0.0/8 0.0.0.0/0 1 0-65535 "
					   "7-7"),
			 0);
	assert_int_equal(cb_rule_expand(&r, tu, 2, sel), 0);
}

static uint64_t
next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

struct xrule {
	struct er_selector sel;
	size_t idx;
};

/* Random rules over a small space (so that they overlap and packets hit
 * them), half of them proto any with port ranges; the first match over
 * the expanded selectors must be the first ClassBench match. */
static void
test_classbench_expansion_keeps_first_match(void **state)
{
	static const uint8_t tu[] = {IPPROTO_TCP, IPPROTO_UDP};
	static const uint8_t pp[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP,
				     IPPROTO_ESP};
	enum { NR = 60, NP = 4000 };
	struct cb_rule rules[NR];
	struct xrule x[NR * CB_EXPAND_MAX];
	size_t nx = 0, expanded = 0;
	uint64_t seed = 88172645463325252ULL;

	(void)state;
	for (size_t i = 0; i < NR; i++) {
		struct er_selector sel[CB_EXPAND_MAX];
		struct cb_rule *r = &rules[i];
		struct er_addr a;
		int k;

		er_addr_from_v4(&a, 0x0a000000u | (next(&seed) & 0x3));
		er_prefix_init(&r->src, &a, 30 + next(&seed) % 3);
		er_addr_from_v4(&a, 0x0a000000u | (next(&seed) & 0x3));
		er_prefix_init(&r->dst, &a, 30 + next(&seed) % 3);
		r->proto = next(&seed) % 2 ? CB_PROTO_ANY
					   : pp[next(&seed) % 2];
		r->sport.lo = (uint16_t)(next(&seed) % 8);
		r->sport.hi = (uint16_t)(r->sport.lo + next(&seed) % 8);
		r->dport.lo = 0;
		r->dport.hi = next(&seed) % 3 ? 65535 : 3;
		if (next(&seed) % 4 == 0) {
			r->sport.lo = 0;
			r->sport.hi = 65535;
			r->dport = r->sport;
		}
		k = cb_rule_expand(r, tu, 2, sel);
		assert_true(k >= 1);
		expanded += k > 1;
		for (int j = 0; j < k; j++) {
			x[nx].sel = sel[j];
			x[nx++].idx = i;
		}
	}
	assert_true(expanded > 0);
	for (size_t n = 0; n < NP; n++) {
		struct er_packet p = {0};
		long want = -1, got = -1;

		er_addr_from_v4(&p.src, 0x0a000000u | (next(&seed) & 0x7));
		er_addr_from_v4(&p.dst, 0x0a000000u | (next(&seed) & 0x7));
		p.proto = pp[next(&seed) % 4];
		p.sport = (uint16_t)(next(&seed) % 20);
		p.dport = (uint16_t)(next(&seed) % 6);
		/* A packet of a protocol without ports, as eroute sees it. */
		cb_packet_normalise(&p);
		for (size_t i = 0; i < NR && want < 0; i++)
			if (cb_rule_matches(&rules[i], &p))
				want = (long)i;
		/* Expanded selectors keep the rule's place in the order. */
		for (size_t i = 0; i < nx && got < 0; i++)
			if (er_selector_matches(&x[i].sel, &p))
				got = (long)x[i].idx;
		assert_int_equal(got, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classbench_rule_parse_fields),
		cmocka_unit_test(test_classbench_rule_parse_refuses_other_text),
		cmocka_unit_test(test_classbench_packet_parse_and_normalise),
		cmocka_unit_test(test_classbench_expand_shapes),
		cmocka_unit_test(test_classbench_expansion_keeps_first_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
