// SPDX-License-Identifier: MIT
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/rng.h"
#include "eroute/selector.h"

static struct er_prefix
P(const char *s)
{
	struct er_prefix p;

	assert_true(er_prefix_parse(&p, s, NULL) >= 0);
	return p;
}

/* "SRC DST [PROTO [SPORT [DPORT]]]" */
static struct er_selector
S(const char *src, const char *dst, const char *proto, const char *sp,
  const char *dp)
{
	struct er_selector sel;
	struct er_prefix s = P(src), d = P(dst);
	struct er_port_range a, b;
	struct er_err err = {0};
	uint8_t pr = 0;

	if (proto != NULL)
		assert_int_equal(er_proto_parse(&pr, proto, NULL), 0);
	if (sp != NULL)
		assert_int_equal(er_port_range_parse(&a, sp, NULL), 0);
	if (dp != NULL)
		assert_int_equal(er_port_range_parse(&b, dp, NULL), 0);
	if (er_selector_init(&sel, &s, &d, pr, sp ? &a : NULL, dp ? &b : NULL,
			     &err) != 0)
		fail_msg("selector: %s", err.msg);
	return sel;
}

static struct er_packet
PKT(const char *src, const char *dst, uint8_t proto, uint16_t sp, uint16_t dp)
{
	struct er_packet p = {.proto = proto, .sport = sp, .dport = dp};

	assert_int_equal(er_addr_parse(&p.src, src, NULL), 0);
	assert_int_equal(er_addr_parse(&p.dst, dst, NULL), 0);
	return p;
}

static void
test_proto_parse_names_numbers(void **state)
{
	uint8_t p;
	struct er_err err = {0};
	char buf[16];

	(void)state;
	assert_int_equal(er_proto_parse(&p, "tcp", &err), 0);
	assert_int_equal(p, 6);
	assert_int_equal(er_proto_parse(&p, "UDP", &err), 0);
	assert_int_equal(p, 17);
	assert_int_equal(er_proto_parse(&p, "icmpv6", &err), 0);
	assert_int_equal(p, 58);
	assert_int_equal(er_proto_parse(&p, "any", &err), 0);
	assert_int_equal(p, 0);
	assert_int_equal(er_proto_parse(&p, "47", &err), 0);
	assert_int_equal(p, 47);
	assert_int_equal(er_proto_parse(&p, "256", &err), -EINVAL);
	assert_string_equal(err.msg, "\"256\": protocol out of range 0-255");
	assert_int_equal(er_proto_parse(&p, "bogus", &err), -EINVAL);
	assert_string_equal(err.msg, "\"bogus\": unknown protocol");
	assert_int_equal(er_proto_parse(&p, "", &err), -EINVAL);
	assert_int_equal(er_proto_parse(&p, "6x", &err), -EINVAL);
	er_proto_format(47, buf, sizeof(buf));
	assert_string_equal(buf, "gre");
	er_proto_format(253, buf, sizeof(buf));
	assert_string_equal(buf, "253");
	er_proto_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "any");
}

static void
test_port_range_parse(void **state)
{
	struct er_port_range r;
	struct er_err err = {0};
	char buf[16];

	(void)state;
	assert_int_equal(er_port_range_parse(&r, "80", &err), 0);
	assert_int_equal(r.lo, 80);
	assert_int_equal(r.hi, 80);
	assert_int_equal(er_port_range_parse(&r, "1000-2000", &err), 0);
	assert_int_equal(r.lo, 1000);
	assert_int_equal(r.hi, 2000);
	er_port_range_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "1000-2000");
	assert_int_equal(er_port_range_parse(&r, "%any", &err), 0);
	assert_true(er_port_range_is_any(&r));
	assert_int_equal(er_port_range_parse(&r, "65536", &err), -EINVAL);
	assert_string_equal(err.msg, "\"65536\": port out of range 0-65535");
	assert_int_equal(er_port_range_parse(&r, "2000-1000", &err), -EINVAL);
	assert_string_equal(err.msg, "\"2000-1000\": port range is backwards");
	assert_int_equal(er_port_range_parse(&r, "http", &err), -EINVAL);
	assert_int_equal(er_port_range_parse(&r, "1-", &err), -EINVAL);
	assert_int_equal(er_port_range_parse(&r, "-5", &err), -EINVAL);
	assert_int_equal(er_port_range_parse(&r, "00000000000000080", &err),
			 -EINVAL);
}

static void
test_selector_init_checks(void **state)
{
	struct er_selector sel;
	struct er_prefix v4 = P("10.0.0.0/8"), v6 = P("2001:db8::/32"),
			 any = P("%any");
	struct er_port_range p80 = {80, 80};
	struct er_err err = {0};
	char buf[ER_SELECTOR_STRLEN];

	(void)state;
	assert_int_equal(er_selector_init(&sel, &v4, &v6, 0, NULL, NULL, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "selector 10.0.0.0/8 -> 2001:db8::/32 "
				     "mixes IPv4 and IPv6");
	assert_int_equal(er_selector_init(&sel, &any, &any, 0, NULL, NULL,
					  &err),
			 -EINVAL);
	assert_int_equal(er_selector_init(&sel, &v4, &v4, IPPROTO_ICMP, &p80,
					  NULL, &err),
			 -EINVAL);
	assert_string_equal(err.msg,
			    "protocol icmp has no ports; a port was given");
	assert_int_equal(er_selector_init(&sel, &any, &v6, IPPROTO_TCP, NULL,
					  &p80, &err),
			 0);
	er_selector_format(&sel, buf, sizeof(buf));
	assert_string_equal(buf, "::/0 -> 2001:db8::/32 tcp any -> 80");
	sel = S("10.0.0.0/8", "192.0.2.0/24", NULL, NULL, NULL);
	er_selector_format(&sel, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.0/8 -> 192.0.2.0/24");
}

static void
test_selector_matches(void **state)
{
	struct er_selector sel = S("10.0.0.0/8", "192.0.2.0/24", "tcp",
				   "1000-2000", "80");
	struct er_selector any = S("10.0.0.0/8", "192.0.2.0/24", NULL, NULL,
				   NULL);
	struct er_selector v6 = S("2001:db8:1::/48", "2001:db8:2::/48", "udp",
				  NULL, "500");

	(void)state;
	assert_false(er_selector_matches(&sel, &(struct er_packet){0}));
	{
		struct er_packet p = PKT("10.1.1.1", "192.0.2.9", 6, 1500, 80);

		assert_true(er_selector_matches(&sel, &p));
		assert_true(er_selector_matches(&any, &p));
		p.dport = 81;
		assert_false(er_selector_matches(&sel, &p));
		assert_true(er_selector_matches(&any, &p));
		p.dport = 80;
		p.sport = 999;
		assert_false(er_selector_matches(&sel, &p));
		p.proto = 17;
		p.sport = 1500;
		assert_false(er_selector_matches(&sel, &p));
	}
	{
		struct er_packet p = PKT("2001:db8:1::5", "2001:db8:2::9", 17,
					 4000, 500);

		assert_true(er_selector_matches(&v6, &p));
		assert_false(er_selector_matches(&sel, &p));
		p.dst.a[5] = 3;
		assert_false(er_selector_matches(&v6, &p));
	}
}

static void
test_selector_contains_overlaps(void **state)
{
	struct er_selector wide = S("10.0.0.0/8", "0.0.0.0/0", NULL, NULL,
				    NULL);
	struct er_selector narrow = S("10.1.0.0/16", "192.0.2.0/24", "tcp",
				      "any", "80");
	struct er_selector ports1 = S("10.1.0.0/16", "192.0.2.0/24", "tcp",
				      "any", "1-100");
	struct er_selector ports2 = S("10.1.0.0/16", "192.0.2.0/24", "tcp",
				      "any", "101-200");
	struct er_selector udp = S("10.1.0.0/16", "192.0.2.0/24", "udp", NULL,
				   NULL);
	struct er_selector v6 = S("::/0", "::/0", NULL, NULL, NULL);

	(void)state;
	assert_true(er_selector_contains(&wide, &narrow));
	assert_false(er_selector_contains(&narrow, &wide));
	assert_true(er_selector_contains(&ports1, &narrow));
	assert_false(er_selector_contains(&ports2, &narrow));
	assert_true(er_selector_overlaps(&wide, &narrow));
	assert_true(er_selector_overlaps(&ports1, &narrow));
	assert_false(er_selector_overlaps(&ports1, &ports2));
	assert_false(er_selector_overlaps(&udp, &ports1));
	assert_true(er_selector_overlaps(&udp, &wide));
	assert_false(er_selector_overlaps(&v6, &wide));
	assert_false(er_selector_contains(&v6, &wide));
	assert_true(er_selector_equal(&ports1, &ports1));
	assert_false(er_selector_equal(&ports1, &ports2));
}

static void
test_selector_specificity_order(void **state)
{
	/* Source length first, then destination, then protocol, then ports. */
	struct er_selector a = S("10.0.0.0/16", "0.0.0.0/0", NULL, NULL, NULL);
	struct er_selector b = S("10.0.0.0/8", "10.0.0.0/32", "tcp", "80",
				 "80");
	struct er_selector c = S("10.0.0.0/8", "10.0.0.0/24", NULL, NULL, NULL);
	struct er_selector d = S("10.0.0.0/8", "10.0.0.0/24", "tcp", NULL,
				 NULL);
	struct er_selector e = S("10.0.0.0/8", "10.0.0.0/24", "tcp", "80",
				 NULL);
	struct er_selector f = S("10.0.0.0/8", "10.0.0.0/24", "tcp", NULL,
				 "80");
	struct er_selector g = S("10.0.0.0/8", "10.0.0.0/24", "tcp", NULL,
				 "80-81");
	struct er_selector h = S("2001:db8::/128", "::/0", NULL, NULL, NULL);

	(void)state;
	assert_true(er_selector_specificity(&a) > er_selector_specificity(&b));
	assert_true(er_selector_specificity(&b) > er_selector_specificity(&c));
	assert_true(er_selector_specificity(&d) > er_selector_specificity(&c));
	assert_true(er_selector_specificity(&e) > er_selector_specificity(&f));
	assert_true(er_selector_specificity(&f) > er_selector_specificity(&g));
	assert_true(er_selector_specificity(&g) > er_selector_specificity(&d));
	assert_true(er_selector_specificity(&h) < (1u << ER_SPECIFICITY_BITS));
}

static bool
same_fields(const struct er_selector *a, const struct er_selector *b)
{
	return er_prefix_equal(&a->src, &b->src) &&
	       er_prefix_equal(&a->dst, &b->dst) && a->proto == b->proto &&
	       a->sport.lo == b->sport.lo && a->sport.hi == b->sport.hi &&
	       a->dport.lo == b->dport.lo && a->dport.hi == b->dport.hi;
}

static void
test_selector_total_order_is_consistent(void **state)
{
	/* Random selectors: cmp is antisymmetric, transitive on triples,
	 * and zero exactly when equal. */
	struct er_selector s[60];
	struct er_rng rng;

	(void)state;
	er_rng_init(&rng, 7);
	for (int i = 0; i < 60; i++) {
		struct er_prefix src, dst;
		struct er_addr a = {.family = AF_INET}, b = {.family = AF_INET};
		struct er_port_range sp = {0, 65535}, dp = {0, 65535};
		uint8_t proto = (uint8_t)(er_rng_next(&rng) % 3 == 0 ? 0 : 6);

		a.a[0] = (uint8_t)(er_rng_next(&rng) % 3);
		b.a[0] = (uint8_t)(er_rng_next(&rng) % 3);
		er_prefix_init(&src, &a, (unsigned)(er_rng_next(&rng) % 3) * 8);
		er_prefix_init(&dst, &b, (unsigned)(er_rng_next(&rng) % 3) * 8);
		if (proto) {
			dp.lo = (uint16_t)(er_rng_next(&rng) % 3);
			dp.hi = (uint16_t)(dp.lo + er_rng_next(&rng) % 3);
		}
		assert_int_equal(er_selector_init(&s[i], &src, &dst, proto,
						  &sp, &dp, NULL),
				 0);
	}
	for (int i = 0; i < 60; i++) {
		for (int j = 0; j < 60; j++) {
			int c = er_selector_cmp(&s[i], &s[j]);
			int r = er_selector_cmp(&s[j], &s[i]);

			assert_int_equal(c > 0, r < 0);
			assert_int_equal(c == 0, same_fields(&s[i], &s[j]));
			for (int k = 0; k < 60; k += 7) {
				if (c < 0 && er_selector_cmp(&s[j], &s[k]) < 0)
					assert_true(er_selector_cmp(&s[i],
								    &s[k]) < 0);
			}
		}
	}
}

static void
test_selector_host_from_packet(void **state)
{
	struct er_packet p = PKT("192.0.2.1", "198.51.100.2", 17, 1234, 53);
	struct er_selector sel;
	char buf[ER_SELECTOR_STRLEN];

	(void)state;
	er_selector_host(&sel, &p, false);
	er_selector_format(&sel, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.1/32 -> 198.51.100.2/32 udp");
	assert_true(er_selector_is_host(&sel));
	er_selector_host(&sel, &p, true);
	er_selector_format(&sel, buf, sizeof(buf));
	assert_string_equal(buf,
			    "192.0.2.1/32 -> 198.51.100.2/32 udp 1234 -> 53");
	assert_true(er_selector_matches(&sel, &p));
}

/* The same maths for IPv6: containment, overlap, specificity and order,
 * and a %any side that takes IPv6 from the other. */
static void
test_selector_ipv6(void **state)
{
	struct er_selector wide = S("2001:db8::/32", "::/0", NULL, NULL, NULL);
	struct er_selector net = S("2001:db8:1::/48", "2001:db8:2::/48", NULL,
				   NULL, NULL);
	struct er_selector web = S("2001:db8:1::/48", "2001:db8:2::/48", "tcp",
				   NULL, "443");
	struct er_selector host = S("2001:db8:1::1", "2001:db8:2::1", "icmpv6",
				    NULL, NULL);
	struct er_selector other = S("2001:db8:3::/48", "2001:db8:2::/48",
				     NULL, NULL, NULL);
	struct er_selector v4 = S("0.0.0.0/0", "0.0.0.0/0", NULL, NULL, NULL);
	struct er_selector any = S("%any", "2001:db8:2::/48", NULL, NULL, NULL);
	struct er_packet p = PKT("2001:db8:1::1", "2001:db8:2::1", 6, 9, 443);
	char buf[ER_SELECTOR_STRLEN];

	(void)state;
	assert_true(er_selector_contains(&wide, &net));
	assert_true(er_selector_contains(&net, &web));
	assert_true(er_selector_contains(&net, &host));
	assert_false(er_selector_contains(&web, &host));
	assert_false(er_selector_contains(&net, &wide));
	assert_true(er_selector_overlaps(&wide, &host));
	assert_false(er_selector_overlaps(&web, &host));
	assert_false(er_selector_overlaps(&other, &net));
	assert_false(er_selector_overlaps(&v4, &wide));
	assert_true(er_selector_matches(&web, &p));
	assert_true(er_selector_matches(&net, &p));
	assert_false(er_selector_matches(&host, &p));
	assert_false(er_selector_matches(&v4, &p));
	assert_true(er_selector_specificity(&host) >
		    er_selector_specificity(&web));
	assert_true(er_selector_specificity(&web) >
		    er_selector_specificity(&net));
	assert_true(er_selector_specificity(&net) >
		    er_selector_specificity(&wide));
	assert_true(er_selector_cmp(&host, &net) < 0);
	assert_true(er_selector_cmp(&web, &net) < 0);
	assert_true(er_selector_cmp(&v4, &wide) < 0);
	assert_true(er_selector_equal(&web, &web));
	er_selector_format(&any, buf, sizeof(buf));
	assert_string_equal(buf, "::/0 -> 2001:db8:2::/48");
	er_selector_format(&host, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8:1::1/128 -> 2001:db8:2::1/128 "
				 "icmpv6");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proto_parse_names_numbers),
		cmocka_unit_test(test_port_range_parse),
		cmocka_unit_test(test_selector_init_checks),
		cmocka_unit_test(test_selector_matches),
		cmocka_unit_test(test_selector_contains_overlaps),
		cmocka_unit_test(test_selector_specificity_order),
		cmocka_unit_test(test_selector_total_order_is_consistent),
		cmocka_unit_test(test_selector_host_from_packet),
		cmocka_unit_test(test_selector_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
