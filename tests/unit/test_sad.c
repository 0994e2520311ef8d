// SPDX-License-Identifier: MIT
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/sad.h"

static struct er_sa
SA(const char *dst, uint32_t spi, uint32_t reqid, uint32_t owner)
{
	struct er_sa sa = {0};

	assert_int_equal(er_addr_parse(&sa.id.dst, dst, NULL), 0);
	sa.id.proto = IPPROTO_ESP;
	sa.id.spi = spi;
	sa.reqid = reqid;
	sa.owner = owner;
	sa.state = ER_SA_MATURE;
	return sa;
}

static void
test_sad_add_get_del(void **state)
{
	struct er_sad *sad = er_sad_new();
	struct er_sa a = SA("192.0.2.1", 0x1000, 1, 1);
	struct er_sa b = SA("2001:db8::1", 0x1000, 2, 1);
	const struct er_sa *out;
	char buf[80];

	(void)state;
	assert_int_equal(er_sad_add(sad, &a, &out), 0);
	assert_int_equal(er_sad_add(sad, &a, NULL), -EEXIST);
	assert_int_equal(er_sad_add(sad, &b, NULL), 0);
	assert_int_equal(er_sad_count(sad), 2);
	assert_ptr_equal(er_sad_lookup(sad, &a.id.dst, IPPROTO_ESP, 0x1000), out);
	assert_null(er_sad_lookup(sad, &a.id.dst, IPPROTO_AH, 0x1000));
	assert_null(er_sad_lookup(sad, &a.id.dst, IPPROTO_ESP, 0x1001));
	er_sa_id_format(&a.id, buf, sizeof(buf));
	assert_string_equal(buf, "esp.0x00001000@192.0.2.1");
	assert_int_equal(er_sad_del(sad, &a.id), 0);
	assert_int_equal(er_sad_del(sad, &a.id), -ENOENT);
	assert_int_equal(er_sad_count(sad), 1);
	a.id.spi = 0;
	assert_int_equal(er_sad_add(sad, &a, NULL), -EINVAL);
	er_sad_free(sad);
}

static void
test_sad_find_by_reqid_and_owner(void **state)
{
	struct er_sad *sad = er_sad_new();
	const struct er_sa *sa;
	int n;

	(void)state;
	for (uint32_t i = 0; i < 30; i++) {
		struct er_sa s = SA(i % 2 ? "192.0.2.1" : "192.0.2.2",
				    0x100 + i, i % 3, i % 5);

		assert_int_equal(er_sad_add(sad, &s, NULL), 0);
	}
	n = 0;
	for (sa = er_sad_next_by_reqid(sad, 1, NULL); sa != NULL;
	     sa = er_sad_next_by_reqid(sad, 1, sa)) {
		assert_int_equal(sa->reqid, 1);
		n++;
	}
	assert_int_equal(n, 10);
	n = 0;
	for (sa = er_sad_next_by_owner(sad, 4, NULL); sa != NULL;
	     sa = er_sad_next_by_owner(sad, 4, sa)) {
		assert_int_equal(sa->owner, 4);
		n++;
	}
	assert_int_equal(n, 6);
	er_sad_free(sad);
}

struct seen {
	int larval, soft, hard;
};

static void
count_expiry(void *ctx, const struct er_sa *sa, enum er_sa_expiry kind)
{
	struct seen *s = ctx;

	(void)sa;
	if (kind == ER_SA_EXPIRE_LARVAL)
		s->larval++;
	else if (kind == ER_SA_EXPIRE_SOFT)
		s->soft++;
	else
		s->hard++;
}

static void
test_sad_lifetimes_reported_once(void **state)
{
	struct er_sad *sad = er_sad_new();
	struct er_sa t = SA("192.0.2.1", 0x100, 1, 1);
	struct er_sa b = SA("192.0.2.1", 0x101, 1, 1);
	struct er_sa p = SA("192.0.2.1", 0x102, 1, 1);
	struct er_sa l = SA("192.0.2.1", 0x103, 1, 1);
	const struct er_sa *bs, *ps;
	struct seen s = {0};

	(void)state;
	t.created = 100;
	t.soft.secs = 50;
	t.hard.secs = 60;
	b.soft.bytes = 1000;
	b.hard.bytes = 2000;
	p.soft.packets = 10;
	p.hard.packets = 20;
	l.state = ER_SA_LARVAL;
	l.larval_expires = 130;
	er_sad_add(sad, &t, NULL);
	er_sad_add(sad, &b, &bs);
	er_sad_add(sad, &p, &ps);
	er_sad_add(sad, &l, NULL);

	assert_int_equal(er_sad_expire(sad, 120, count_expiry, &s), 0);
	er_sad_account(sad, bs, 1500, 1);
	er_sad_account(sad, ps, 100, 10);
	assert_int_equal(er_sad_expire(sad, 120, count_expiry, &s), 2);
	assert_int_equal(s.soft, 2);
	assert_int_equal(bs->state, ER_SA_DYING);
	/* Asking again reports nothing new. */
	assert_int_equal(er_sad_expire(sad, 121, count_expiry, &s), 0);
	assert_int_equal(er_sad_expire(sad, 150, count_expiry, &s), 2);
	assert_int_equal(s.larval, 1);
	assert_int_equal(s.soft, 3);
	assert_int_equal(er_sad_expire(sad, 160, count_expiry, &s), 1);
	assert_int_equal(s.hard, 1);
	er_sad_account(sad, bs, 600, 1);
	er_sad_account(sad, ps, 100, 10);
	assert_int_equal(er_sad_expire(sad, 161, count_expiry, &s), 2);
	assert_int_equal(s.hard, 3);
	assert_int_equal(er_sad_expire(sad, 1000, count_expiry, &s), 0);
	er_sad_free(sad);
}

static void
test_sad_update_larval_to_mature(void **state)
{
	struct er_sad *sad = er_sad_new();
	struct er_sa l = SA("192.0.2.1", 0x100, 1, 1);
	const struct er_sa *out;

	(void)state;
	l.state = ER_SA_LARVAL;
	l.created = 10;
	assert_int_equal(er_sad_add(sad, &l, NULL), 0);
	l.state = ER_SA_MATURE;
	l.created = 20;
	strcpy(l.keys.enc_alg, "aes-gcm-16");
	l.keys.enc_key_len = 20;
	memset(l.keys.enc_key, 0xab, 20);
	assert_int_equal(er_sad_update(sad, &l, &out), 0);
	assert_int_equal(out->state, ER_SA_MATURE);
	assert_int_equal(out->created, 20);
	l.keys.enc_key_len = ER_SA_KEY_MAX + 1;
	assert_int_equal(er_sad_update(sad, &l, NULL), -EINVAL);
	l.id.spi = 0x999;
	l.keys.enc_key_len = 0;
	assert_int_equal(er_sad_update(sad, &l, NULL), -ENOENT);
	er_sad_free(sad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sad_add_get_del),
		cmocka_unit_test(test_sad_find_by_reqid_and_owner),
		cmocka_unit_test(test_sad_lifetimes_reported_once),
		cmocka_unit_test(test_sad_update_larval_to_mature),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
