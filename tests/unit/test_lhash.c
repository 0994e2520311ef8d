// SPDX-License-Identifier: MIT
/* The engine's intrusive linear hash (src/lib/lhash.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/rng.h"
#include "lhash.h"

struct item {
	uint32_t key;
	bool in;
	unsigned drained;
	struct lhash_node node;
};

/* The hash of a key: @weak makes many keys share one. */
static uint32_t
key_hash(uint32_t key, bool weak)
{
	return weak ? key % 7 : er_mix32(key);
}

static struct item *
find(const struct lhash *h, uint32_t key, bool weak)
{
	uint32_t hv = key_hash(key, weak);

	for (struct lhash_node *n = lhash_chain(h, hv); n != NULL;
	     n = n->next) {
		struct item *it = lhash_entry(n, struct item, node);

		if (n->hash == hv && it->key == key)
			return it;
	}
	return NULL;
}

/* Every item is found exactly when it is in, and the count agrees. */
static void
check_all(const struct lhash *h, const struct item *items, size_t n,
	  bool weak)
{
	size_t in = 0;

	for (size_t i = 0; i < n; i++) {
		const struct item *got = find(h, items[i].key, weak);

		if (items[i].in) {
			assert_ptr_equal(got, &items[i]);
			in++;
		} else {
			assert_null(got);
		}
	}
	assert_int_equal(h->count, in);
}

static void
random_ops(bool weak, size_t n, unsigned rounds)
{
	struct item *items = calloc(n, sizeof(*items));
	struct er_rng rng;
	struct lhash h;

	assert_non_null(items);
	er_rng_init(&rng, 7);
	assert_int_equal(lhash_init(&h), 0);
	for (size_t i = 0; i < n; i++)
		items[i].key = (uint32_t)(i * 2654435761u);
	for (unsigned r = 0; r < rounds; r++) {
		for (size_t k = 0; k < n; k++) {
			struct item *it = &items[er_rng_next(&rng) % n];

			if (it->in) {
				lhash_remove(&h, &it->node);
				it->in = false;
			} else {
				lhash_insert(&h, &it->node,
					     key_hash(it->key, weak));
				it->in = true;
			}
		}
		check_all(&h, items, n, weak);
	}
	for (size_t i = 0; i < n; i++) {
		if (items[i].in) {
			lhash_remove(&h, &items[i].node);
			items[i].in = false;
		}
	}
	check_all(&h, items, n, weak);
	/* Empty: as new, the first buckets only. */
	assert_int_equal(h.buckets.nseg, 1);
	assert_int_equal(h.mem.bytes, 16 * sizeof(struct lhash_node *));
	assert_int_equal(h.lomask, 15);
	assert_int_equal(h.split, 0);
	lhash_fini(&h);
	free(items);
}

static void
test_random_inserts_and_removes_match_a_model(void **state)
{
	(void)state;
	random_ops(false, 20000, 6);
}

static void
test_keys_sharing_one_hash_are_told_apart(void **state)
{
	(void)state;
	random_ops(true, 2000, 4);
}

/* @n items with keys 0..n-1, all in a new @h; every other one shares
 * a weak hash when @mixed. */
static struct item *
filled(struct lhash *h, size_t n, bool mixed)
{
	struct item *items = calloc(n, sizeof(*items));

	assert_non_null(items);
	assert_int_equal(lhash_init(h), 0);
	for (size_t i = 0; i < n; i++) {
		items[i].key = (uint32_t)i;
		items[i].in = true;
		lhash_insert(h, &items[i].node,
			     key_hash(items[i].key, mixed && (i & 1)));
	}
	return items;
}

static void
test_grows_past_many_splits_and_shrinks_back(void **state)
{
	size_t n = 100000;
	struct lhash h;
	struct item *items = filled(&h, n, false);

	(void)state;
	check_all(&h, items, n, false);
	/* At most one node per bucket on average. */
	assert_true(h.lomask + 1 + h.split >= n);
	for (size_t i = 0; i < n; i += 2) {
		lhash_remove(&h, &items[i].node);
		items[i].in = false;
	}
	check_all(&h, items, n, false);
	assert_true((h.lomask + 1 + h.split) / 4 <= n / 2 + 1);
	lhash_fini(&h);
	free(items);
}

static void
count_drained(struct lhash_node *n, void *arg)
{
	struct item *it = lhash_entry(n, struct item, node);

	assert_null(n->next);
	it->drained++;
	(*(size_t *)arg)++;
}

static void
test_drain_hands_over_every_node_once(void **state)
{
	size_t n = 5000, seen = 0;
	struct lhash h;
	struct item *items = filled(&h, n, true);

	(void)state;
	lhash_drain(&h, count_drained, &seen);
	assert_int_equal(seen, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(items[i].drained, 1);
	assert_int_equal(h.count, 0);
	assert_null(lhash_chain(&h, 0));
	/* Usable again after a drain. */
	lhash_insert(&h, &items[0].node, 3);
	assert_ptr_equal(lhash_chain(&h, 3), &items[0].node);
	lhash_fini(&h);
	free(items);
}

static void
test_empty_table_finds_nothing(void **state)
{
	struct lhash h;
	size_t seen = 0;

	(void)state;
	assert_int_equal(lhash_init(&h), 0);
	assert_null(lhash_chain(&h, 12345));
	lhash_drain(&h, count_drained, &seen);
	assert_int_equal(seen, 0);
	lhash_fini(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_inserts_and_removes_match_a_model),
		cmocka_unit_test(test_keys_sharing_one_hash_are_told_apart),
		cmocka_unit_test(test_grows_past_many_splits_and_shrinks_back),
		cmocka_unit_test(test_drain_hands_over_every_node_once),
		cmocka_unit_test(test_empty_table_finds_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
