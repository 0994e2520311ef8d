// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/addr.h"

static void
roundtrip_prefix(const char *in, const char *want, int want_ret)
{
	struct er_prefix p;
	struct er_err err = {0};
	char buf[ER_PREFIX_STRLEN];

	assert_int_equal(er_prefix_parse(&p, in, &err), want_ret);
	er_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void
test_prefix_parse_and_format(void **state)
{
	(void)state;
	roundtrip_prefix("10.0.0.0/8", "10.0.0.0/8", 0);
	roundtrip_prefix("0.0.0.0/0", "0.0.0.0/0", 0);
	roundtrip_prefix("::/0", "::/0", 0);
	roundtrip_prefix("2001:db8::/32", "2001:db8::/32", 0);
	roundtrip_prefix("192.0.2.7", "192.0.2.7/32", 0);
	roundtrip_prefix("2001:db8::1", "2001:db8::1/128", 0);
	roundtrip_prefix("%any", "%any", 0);
	roundtrip_prefix("%any4", "0.0.0.0/0", 0);
	roundtrip_prefix("%any6", "::/0", 0);
	roundtrip_prefix("198.51.100.0/31", "198.51.100.0/31", 0);
}

static void
test_prefix_normalised_and_said(void **state)
{
	struct er_prefix p;
	struct er_err err = {0};

	(void)state;
	assert_int_equal(er_prefix_parse(&p, "10.1.2.3/8", &err),
			 ER_PREFIX_NORMALISED);
	assert_string_equal(err.msg,
			    "\"10.1.2.3/8\": host bits set, normalised to "
			    "10.0.0.0/8");
	roundtrip_prefix("2001:db8:ffff::1/33", "2001:db8:8000::/33",
			 ER_PREFIX_NORMALISED);
	roundtrip_prefix("203.0.113.255/25", "203.0.113.128/25",
			 ER_PREFIX_NORMALISED);
}

static void
bad_prefix(const char *in, const char *msg)
{
	struct er_prefix p;
	struct er_err err = {0};

	assert_int_equal(er_prefix_parse(&p, in, &err), -EINVAL);
	assert_string_equal(err.msg, msg);
}

static void
test_prefix_bad_input(void **state)
{
	char big[200];

	(void)state;
	bad_prefix("10.0.0.0/33", "\"10.0.0.0/33\": prefix length out of range");
	bad_prefix("::/129", "\"::/129\": prefix length out of range");
	bad_prefix("10.0.0.0/99999999999999999999",
		   "\"10.0.0.0/99999999999999999999\": prefix length out of "
		   "range");
	bad_prefix("10.0.0.0/", "\"10.0.0.0/\": prefix length is not a number");
	bad_prefix("10.0.0.0/-1", "\"10.0.0.0/-1\": prefix length is not a number");
	bad_prefix("10.0.0.0/8x", "\"10.0.0.0/8x\": prefix length is not a number");
	bad_prefix("10.0.0.256/8", "\"10.0.0.256/8\": not an IPv4 or IPv6 prefix");
	bad_prefix("10.0.0/8", "\"10.0.0/8\": not an IPv4 or IPv6 prefix");
	bad_prefix("%any/0", "\"%any/0\": not an IPv4 or IPv6 prefix");
	bad_prefix("", "empty prefix");
	bad_prefix("hello", "\"hello\": not an IPv4 or IPv6 prefix");
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	bad_prefix(big, "prefix too long");
	assert_int_equal(er_prefix_parse(&(struct er_prefix){0}, NULL, NULL),
			 -EINVAL);
}

static void
test_addr_parse_format(void **state)
{
	struct er_addr a;
	struct er_err err = {0};
	char buf[ER_ADDR_STRLEN];

	(void)state;
	assert_int_equal(er_addr_parse(&a, "192.0.2.1", &err), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(er_addr_v4(&a), 0xc0000201);
	er_addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.1");
	assert_int_equal(er_addr_parse(&a, "2001:db8::5", &err), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(er_addr_parse(&a, "%any", &err), 0);
	assert_int_equal(a.family, AF_UNSPEC);
	assert_true(er_addr_is_any(&a));
	assert_int_equal(er_addr_parse(&a, "1.2.3", &err), -EINVAL);
	assert_string_equal(err.msg, "\"1.2.3\": not an IPv4 or IPv6 address");
	er_addr_from_v4(&a, 0x0a000001);
	er_addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.1");
}

static struct er_prefix
P(const char *s)
{
	struct er_prefix p;

	assert_true(er_prefix_parse(&p, s, NULL) >= 0);
	return p;
}

static struct er_addr
A(const char *s)
{
	struct er_addr a;

	assert_int_equal(er_addr_parse(&a, s, NULL), 0);
	return a;
}

static void
test_prefix_maths(void **state)
{
	struct er_prefix p8 = P("10.0.0.0/8"), p16 = P("10.1.0.0/16"),
			 other = P("192.0.2.0/24"), v6 = P("2001:db8::/32"),
			 v6h = P("2001:db8::1"), all4 = P("0.0.0.0/0");
	struct er_addr a = A("10.1.2.3");

	(void)state;
	assert_true(er_prefix_has(&p8, &a));
	assert_true(er_prefix_has(&p16, &a));
	assert_false(er_prefix_has(&other, &a));
	assert_false(er_prefix_has(&v6, &a));
	assert_true(er_prefix_has(&all4, &a));
	assert_true(er_prefix_contains(&p8, &p16));
	assert_false(er_prefix_contains(&p16, &p8));
	assert_true(er_prefix_contains(&p8, &p8));
	assert_true(er_prefix_overlaps(&p8, &p16));
	assert_true(er_prefix_overlaps(&p16, &p8));
	assert_false(er_prefix_overlaps(&p8, &other));
	assert_false(er_prefix_overlaps(&p8, &v6));
	assert_true(er_prefix_contains(&v6, &v6h));
	assert_true(er_prefix_is_host(&v6h));
	assert_false(er_prefix_is_host(&v6));
	assert_true(er_prefix_cmp(&p16, &p8) < 0);  /* longer first */
	assert_true(er_prefix_cmp(&p8, &v6) < 0);   /* v4 before v6 */
	assert_int_equal(er_prefix_cmp(&p8, &p8), 0);
	assert_true(er_prefix_equal(&p8, &p8));
	assert_false(er_prefix_equal(&p8, &p16));
}

static void
test_prefix_init_odd_lengths(void **state)
{
	struct er_prefix p;
	struct er_addr a = A("2001:db8:abcd:ef01::");
	char buf[ER_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(er_prefix_init(&p, &a, 129), -EINVAL);
	assert_int_equal(er_prefix_init(&p, &a, 36), ER_PREFIX_NORMALISED);
	er_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8:a000::/36");
	assert_int_equal(er_prefix_init(&p, &a, 0), ER_PREFIX_NORMALISED);
	er_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "::/0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse_and_format),
		cmocka_unit_test(test_prefix_normalised_and_said),
		cmocka_unit_test(test_prefix_bad_input),
		cmocka_unit_test(test_addr_parse_format),
		cmocka_unit_test(test_prefix_maths),
		cmocka_unit_test(test_prefix_init_odd_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
