// SPDX-License-Identifier: MIT
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/rng.h"
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

/* One SA's crossings, as er_sad_expire() reports them for all. */
static void
test_sad_expire_one_sa(void **state)
{
	struct er_sad *sad = er_sad_new();
	struct er_sa t = SA("192.0.2.1", 0x100, 1, 1);
	struct er_sa u = SA("192.0.2.1", 0x101, 1, 1);
	struct er_sa l = SA("192.0.2.1", 0x102, 1, 1);
	const struct er_sa *ts, *us, *ls;
	struct seen s = {0};

	(void)state;
	t.created = u.created = 100;
	t.soft.secs = u.soft.secs = 50;
	t.hard.secs = u.hard.secs = 60;
	l.state = ER_SA_LARVAL;
	l.larval_expires = 130;
	er_sad_add(sad, &t, &ts);
	er_sad_add(sad, &u, &us);
	er_sad_add(sad, &l, &ls);
	assert_int_equal(er_sad_expire_sa(sad, ts, 149, count_expiry, &s), 0);
	assert_int_equal(er_sad_expire_sa(sad, ts, 150, count_expiry, &s), 1);
	assert_int_equal(s.soft, 1);
	assert_int_equal(ts->state, ER_SA_DYING);
	assert_int_equal(us->state, ER_SA_MATURE);
	assert_int_equal(er_sad_expire_sa(sad, ts, 159, count_expiry, &s), 0);
	assert_int_equal(er_sad_expire_sa(sad, ts, 160, count_expiry, &s), 1);
	assert_int_equal(s.hard, 1);
	assert_int_equal(ts->state, ER_SA_DEAD);
	assert_int_equal(er_sad_expire_sa(sad, ls, 129, count_expiry, &s), 0);
	assert_int_equal(er_sad_expire_sa(sad, ls, 130, count_expiry, &s), 1);
	assert_int_equal(s.larval, 1);
	/* The others were left alone; the full pass finds u's soft limit. */
	assert_int_equal(er_sad_expire(sad, 150, count_expiry, &s), 1);
	assert_int_equal(s.soft, 2);
	er_sad_free(sad);
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

/* ---- the hash index against the ordered tree ---------------------- */

static uint32_t
rnd(struct er_rng *rng, uint32_t n)
{
	return (uint32_t)er_rng_range(rng, 0, n - 1);
}

/* Ids from a small space, so that adds collide with live SAs, buckets
 * hold several, and both families and all protocols occur. */
static struct er_sa_id
random_id(struct er_rng *rng)
{
	static const char *const dsts[] = {"192.0.2.1", "192.0.2.2",
					   "198.51.100.9", "2001:db8::1",
					   "2001:db8::2"};
	static const uint8_t protos[] = {IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP};
	struct er_sa_id id;

	memset(&id, 0, sizeof(id));
	assert_int_equal(er_addr_parse(&id.dst, dsts[rnd(rng, 5)], NULL), 0);
	id.proto = protos[rnd(rng, 3)];
	id.spi = 256 + rnd(rng, 3000);
	return id;
}

/* What the tree says: the SA with exactly this id, or NULL. */
static const struct er_sa *
tree_get(const struct er_sad *sad, const struct er_sa_id *id)
{
	const struct er_sa *sa = er_sad_ceil(sad, &id->dst, id->proto, id->spi);

	if (sa == NULL || sa->id.spi != id->spi || sa->id.proto != id->proto ||
	    er_addr_cmp(&sa->id.dst, &id->dst) != 0)
		return NULL;
	return sa;
}

/* The walk is in (er_addr_cmp(), proto, SPI) order. */
static void
check_order(const struct er_sad *sad)
{
	const struct er_sa *prev = NULL;
	size_t n = 0;

	for (const struct er_sa *sa = er_sad_first(sad); sa != NULL;
	     prev = sa, sa = er_sad_next(sad, sa), n++) {
		int c;

		if (prev == NULL)
			continue;
		c = er_addr_cmp(&prev->id.dst, &sa->id.dst);
		if (c == 0)
			c = prev->id.proto - sa->id.proto;
		if (c == 0)
			c = prev->id.spi < sa->id.spi ? -1 : 1;
		assert_true(c < 0);
	}
	assert_int_equal(n, er_sad_count(sad));
}

static void
check_ids(const struct er_sad *sad, struct er_rng *rng)
{
	struct er_sa_id ids[100];
	const struct er_sa *out[100];

	for (int i = 0; i < 100; i++)
		ids[i] = random_id(rng);
	memset(out, 0xa5, sizeof(out));
	er_sad_lookup_batch(sad, ids, 100, out);
	for (int i = 0; i < 100; i++) {
		const struct er_sa *want = tree_get(sad, &ids[i]);

		assert_ptr_equal(er_sad_get(sad, &ids[i]), want);
		assert_ptr_equal(er_sad_lookup(sad, &ids[i].dst, ids[i].proto,
					       ids[i].spi),
				 want);
		assert_ptr_equal(out[i], want);
	}
}

static void
test_sad_hash_agrees_with_tree_under_churn(void **state)
{
	struct er_sad *sad = er_sad_new();
	struct er_rng rng;
	size_t empty = er_sad_bytes(sad), full;

	(void)state;
	er_rng_init(&rng, 11);
	/* Grow well past the first buckets, churn, then empty it: every
	 * bucket split and merge happens on the way. */
	for (int step = 0; step < 30000; step++) {
		struct er_sa sa = {0};
		int ret;

		sa.id = random_id(&rng);
		sa.state = ER_SA_MATURE;
		if (step < 12000 ? rnd(&rng, 4) != 0 : step < 20000) {
			ret = er_sad_add(sad, &sa, NULL);
			assert_true(ret == 0 || ret == -EEXIST);
			assert_int_equal(ret == -EEXIST,
					 tree_get(sad, &sa.id) != NULL &&
						 ret != 0);
		} else {
			ret = er_sad_del(sad, &sa.id);
			assert_true(ret == 0 || ret == -ENOENT);
		}
		if (step % 500 == 0) {
			check_ids(sad, &rng);
			check_order(sad);
		}
	}
	check_ids(sad, &rng);
	full = er_sad_bytes(sad);
	for (const struct er_sa *sa = er_sad_first(sad); sa != NULL;
	     sa = er_sad_first(sad)) {
		struct er_sa_id id = sa->id;

		assert_int_equal(er_sad_del(sad, &id), 0);
		assert_null(er_sad_get(sad, &id));
	}
	assert_int_equal(er_sad_count(sad), 0);
	check_ids(sad, &rng);
	/* The buckets merged back and their segments went. */
	assert_true(er_sad_bytes(sad) < full);
	assert_int_equal(er_sad_bytes(sad), empty);
	er_sad_free(sad);
}

static void
test_sad_lookup_batch(void **state)
{
	struct er_sad *sad = er_sad_new();
	struct er_sa_id ids[70];
	const struct er_sa *out[70];
	const struct er_sa *stored[70];

	(void)state;
	for (int i = 0; i < 70; i++) {
		struct er_sa sa = SA(i % 2 ? "192.0.2.1" : "2001:db8::1",
				     0x100 + (uint32_t)i, 1, 1);

		ids[i] = sa.id;
		stored[i] = NULL;
		/* Every third id is left out: a miss. */
		if (i % 3 != 0)
			assert_int_equal(er_sad_add(sad, &sa, &stored[i]), 0);
	}
	er_sad_lookup_batch(sad, ids, 0, out);
	er_sad_lookup_batch(sad, ids, 70, out);
	for (int i = 0; i < 70; i++)
		assert_ptr_equal(out[i], stored[i]);
	/* After a delete the batch misses it. */
	assert_int_equal(er_sad_del(sad, &ids[1]), 0);
	er_sad_lookup_batch(sad, ids, 70, out);
	assert_null(out[1]);
	assert_ptr_equal(out[2], stored[2]);
	er_sad_free(sad);
}

/* The id's equality is er_addr_cmp()'s: all 16 bytes count, even past an
 * IPv4 address, so the hash and the tree never disagree. */
static void
test_sad_ids_differ_in_any_byte(void **state)
{
	struct er_sad *sad = er_sad_new();
	struct er_sa a = SA("192.0.2.1", 0x1000, 1, 1), b = a;
	const struct er_sa *pa, *pb;

	(void)state;
	b.id.dst.a[8] = 1;
	assert_int_equal(er_sad_add(sad, &a, &pa), 0);
	assert_int_equal(er_sad_add(sad, &b, &pb), 0);
	assert_ptr_equal(er_sad_get(sad, &a.id), pa);
	assert_ptr_equal(er_sad_get(sad, &b.id), pb);
	assert_ptr_equal(tree_get(sad, &b.id), pb);
	assert_int_equal(er_sad_del(sad, &a.id), 0);
	assert_null(er_sad_get(sad, &a.id));
	assert_ptr_equal(er_sad_get(sad, &b.id), pb);
	er_sad_free(sad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sad_add_get_del),
		cmocka_unit_test(test_sad_find_by_reqid_and_owner),
		cmocka_unit_test(test_sad_expire_one_sa),
		cmocka_unit_test(test_sad_lifetimes_reported_once),
		cmocka_unit_test(test_sad_update_larval_to_mature),
		cmocka_unit_test(test_sad_hash_agrees_with_tree_under_churn),
		cmocka_unit_test(test_sad_lookup_batch),
		cmocka_unit_test(test_sad_ids_differ_in_any_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
