// SPDX-License-Identifier: MIT
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/shunt.h"

static struct er_shunt
SH(const char *src, const char *dst, enum er_action action, uint64_t expires)
{
	struct er_shunt s = {0};
	struct er_prefix a, b;

	assert_true(er_prefix_parse(&a, src, NULL) >= 0);
	assert_true(er_prefix_parse(&b, dst, NULL) >= 0);
	assert_int_equal(er_selector_init(&s.sel, &a, &b, 0, NULL, NULL, NULL),
			 0);
	s.action = action;
	s.expires = expires;
	strcpy(s.origin, "acquire");
	return s;
}

static struct er_packet
PKT(const char *src, const char *dst)
{
	struct er_packet p = {.proto = IPPROTO_TCP, .sport = 9, .dport = 80};

	assert_int_equal(er_addr_parse(&p.src, src, NULL), 0);
	assert_int_equal(er_addr_parse(&p.dst, dst, NULL), 0);
	return p;
}

static void
test_shunt_add_replaces_never_duplicates(void **state)
{
	struct er_shunt_table *t = er_shunt_table_new();
	struct er_shunt s = SH("192.0.2.1", "198.51.100.1", ER_ACTION_HOLD, 0);
	const struct er_shunt *out;

	(void)state;
	assert_int_equal(er_shunt_add(t, &s, &out), 0);
	s.action = ER_ACTION_PASS;
	strcpy(s.origin, "oe-failure");
	s.expires = 900;
	assert_int_equal(er_shunt_add(t, &s, &out), ER_SHUNT_REPLACED);
	assert_int_equal(er_shunt_count(t), 1);
	assert_int_equal(out->action, ER_ACTION_PASS);
	assert_string_equal(out->origin, "oe-failure");
	assert_ptr_equal(er_shunt_get(t, &s.sel), out);
	s.action = ER_ACTION_TRAP;
	assert_int_equal(er_shunt_add(t, &s, NULL), -EINVAL);
	s.action = ER_ACTION_IPSEC;
	assert_int_equal(er_shunt_add(t, &s, NULL), -EINVAL);
	assert_int_equal(er_shunt_del(t, &s.sel), 0);
	assert_int_equal(er_shunt_del(t, &s.sel), -ENOENT);
	assert_null(er_shunt_get(t, &s.sel));
	er_shunt_table_free(t);
}

static void
test_shunt_lookup_by_packet(void **state)
{
	struct er_shunt_table *t = er_shunt_table_new();
	struct er_shunt wide = SH("192.0.2.0/24", "0.0.0.0/0", ER_ACTION_DROP, 0);
	struct er_shunt host = SH("192.0.2.1", "198.51.100.1", ER_ACTION_PASS, 0);
	struct er_shunt v6 = SH("2001:db8::1", "2001:db8::2", ER_ACTION_HOLD, 0);
	struct er_packet p = PKT("192.0.2.1", "198.51.100.1");
	struct er_packet q = PKT("192.0.2.1", "198.51.100.2");
	struct er_packet r = PKT("2001:db8::1", "2001:db8::2");
	struct er_packet miss = PKT("10.0.0.1", "198.51.100.2");
	const struct er_shunt *s;

	(void)state;
	er_shunt_add(t, &wide, NULL);
	er_shunt_add(t, &host, NULL);
	er_shunt_add(t, &v6, NULL);
	s = er_shunt_lookup(t, &p);
	assert_int_equal(s->action, ER_ACTION_PASS);
	er_shunt_note_use(t, s, 42);
	assert_int_equal(s->use_count, 1);
	assert_int_equal(s->last_used, 42);
	assert_int_equal(er_shunt_lookup(t, &q)->action, ER_ACTION_DROP);
	assert_int_equal(er_shunt_lookup(t, &r)->action, ER_ACTION_HOLD);
	assert_null(er_shunt_lookup(t, &miss));
	er_shunt_table_free(t);
}

static int expired_seen;

static void
note_expired(void *ctx, const struct er_shunt *s)
{
	(void)ctx;
	assert_true(s->expires <= 1000);
	expired_seen++;
}

static void
test_shunt_expire_removes_every_one_in_one_pass(void **state)
{
	struct er_shunt_table *t = er_shunt_table_new();

	(void)state;
	for (uint32_t i = 0; i < 3000; i++) {
		struct er_shunt s = {0};
		struct er_addr a, b;
		struct er_prefix pa, pb;

		er_addr_from_v4(&a, 0xc0000200 + (i & 0xff));
		er_addr_from_v4(&b, 0x0a000000 + i);
		er_prefix_host(&pa, &a);
		er_prefix_host(&pb, &b);
		er_selector_init(&s.sel, &pa, &pb, 0, NULL, NULL, NULL);
		s.action = ER_ACTION_PASS;
		/* Two thirds expire by 1000, one third never. */
		s.expires = i % 3 == 0 ? 0 : 500 + i % 500;
		assert_int_equal(er_shunt_add(t, &s, NULL), 0);
	}
	expired_seen = 0;
	assert_int_equal(er_shunt_expire(t, 1000, note_expired, NULL), 2000);
	assert_int_equal(expired_seen, 2000);
	assert_int_equal(er_shunt_count(t), 1000);
	assert_int_equal(er_shunt_expire(t, 1000000, NULL, NULL), 0);
	for (const struct er_shunt *s = er_shunt_first(t); s != NULL;
	     s = er_shunt_next(t, s))
		assert_int_equal(s->expires, 0);
	er_shunt_table_free(t);
}

/* The boundary: a shunt expiring at @now goes, one a second later stays,
 * one without an expiry never goes; IPv4 and IPv6 alike. */
static void
test_shunt_expire_boundary(void **state)
{
	struct er_shunt_table *t = er_shunt_table_new();
	struct er_shunt s[] = {
		SH("192.0.2.1", "198.51.100.1", ER_ACTION_PASS, 999),
		SH("192.0.2.1", "198.51.100.2", ER_ACTION_DROP, 1000),
		SH("192.0.2.1", "198.51.100.3", ER_ACTION_HOLD, 1001),
		SH("192.0.2.1", "198.51.100.4", ER_ACTION_REJECT, 0),
		SH("2001:db8::1", "2001:db8::2", ER_ACTION_PASS, 1000),
		SH("2001:db8::1", "2001:db8::3", ER_ACTION_PASS, 1001),
	};
	struct er_packet p = PKT("192.0.2.1", "198.51.100.3");

	(void)state;
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		assert_int_equal(er_shunt_add(t, &s[i], NULL), 0);
	assert_int_equal(er_shunt_expire(t, 998, NULL, NULL), 0);
	assert_int_equal(er_shunt_expire(t, 1000, NULL, NULL), 3);
	assert_null(er_shunt_get(t, &s[0].sel));
	assert_null(er_shunt_get(t, &s[1].sel));
	assert_null(er_shunt_get(t, &s[4].sel));
	assert_non_null(er_shunt_get(t, &s[2].sel));
	assert_non_null(er_shunt_get(t, &s[5].sel));
	assert_int_equal(er_shunt_lookup(t, &p)->action, ER_ACTION_HOLD);
	assert_int_equal(er_shunt_expire(t, 1001, NULL, NULL), 2);
	assert_int_equal(er_shunt_count(t), 1);
	assert_int_equal(er_shunt_expire(t, UINT64_MAX, NULL, NULL), 0);
	assert_non_null(er_shunt_get(t, &s[3].sel));
	er_shunt_table_free(t);
}

static uint64_t order_prev;

/* The shunt is freed after the call: only its expiry is kept. */
static void
note_in_order(void *ctx, const struct er_shunt *s)
{
	size_t *n = ctx;

	assert_true(order_prev <= s->expires);
	order_prev = s->expires;
	(*n)++;
}

/* The next expiry is the earliest one, follows replaces and deletes, and
 * expiry goes in its order: a storm's many failure shunts cost a tick only
 * those that are due. */
static void
test_shunt_next_expiry_follows_every_change(void **state)
{
	struct er_shunt_table *t = er_shunt_table_new();
	struct er_shunt a = SH("192.0.2.1", "10.0.0.1", ER_ACTION_PASS, 900);
	struct er_shunt b = SH("192.0.2.1", "10.0.0.2", ER_ACTION_PASS, 300);
	struct er_shunt c = SH("192.0.2.1", "10.0.0.3", ER_ACTION_HOLD, 0);
	size_t n = 0;

	(void)state;
	assert_int_equal(er_shunt_next_expiry(t), 0);
	assert_int_equal(er_shunt_add(t, &c, NULL), 0);
	assert_int_equal(er_shunt_next_expiry(t), 0);
	assert_int_equal(er_shunt_add(t, &a, NULL), 0);
	assert_int_equal(er_shunt_add(t, &b, NULL), 0);
	assert_int_equal(er_shunt_next_expiry(t), 300);
	/* A replace moves the expiry: later, then never. */
	b.expires = 1200;
	assert_int_equal(er_shunt_add(t, &b, NULL), ER_SHUNT_REPLACED);
	assert_int_equal(er_shunt_next_expiry(t), 900);
	c.expires = 600;
	assert_int_equal(er_shunt_add(t, &c, NULL), ER_SHUNT_REPLACED);
	assert_int_equal(er_shunt_next_expiry(t), 600);
	assert_int_equal(er_shunt_del(t, &c.sel), 0);
	assert_int_equal(er_shunt_next_expiry(t), 900);
	a.expires = 0;
	assert_int_equal(er_shunt_add(t, &a, NULL), ER_SHUNT_REPLACED);
	assert_int_equal(er_shunt_next_expiry(t), 1200);
	assert_int_equal(er_shunt_expire(t, 1199, NULL, NULL), 0);
	assert_int_equal(er_shunt_expire(t, 1200, NULL, NULL), 1);
	assert_int_equal(er_shunt_next_expiry(t), 0);
	assert_int_equal(er_shunt_count(t), 1);
	/* Many, added in selector order with expiries out of order. */
	for (uint32_t i = 0; i < 1000; i++) {
		struct er_shunt s = SH("192.0.2.1", "10.0.0.1", ER_ACTION_PASS,
				       100 + (i * 7919) % 1000);

		s.sel.dst.addr.a[2] = (uint8_t)(i >> 8);
		s.sel.dst.addr.a[3] = (uint8_t)i;
		s.sel.proto = 6;
		er_shunt_add(t, &s, NULL);
	}
	assert_int_equal(er_shunt_next_expiry(t), 100);
	order_prev = 0;
	assert_int_equal(er_shunt_expire(t, 599, note_in_order, &n), 500);
	assert_int_equal(n, 500);
	assert_int_equal(er_shunt_next_expiry(t), 600);
	er_shunt_table_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shunt_add_replaces_never_duplicates),
		cmocka_unit_test(test_shunt_lookup_by_packet),
		cmocka_unit_test(test_shunt_expire_removes_every_one_in_one_pass),
		cmocka_unit_test(test_shunt_expire_boundary),
		cmocka_unit_test(test_shunt_next_expiry_follows_every_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
