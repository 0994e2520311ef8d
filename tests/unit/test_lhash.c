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
	return weak ? key % 7 : lhash_mix(key);
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
	lhash_init(&h);
	for (size_t i = 0; i < n; i++)
		items[i].key = (uint32_t)(i * 2654435761u);
	for (unsigned r = 0; r < rounds; r++) {
		for (size_t k = 0; k < n; k++) {
			struct item *it = &items[er_rng_next(&rng) % n];

			if (it->in) {
				lhash_remove(&h, &it->node);
				it->in = false;
			} else {
				assert_int_equal(
					lhash_insert(&h, &it->node,
						     key_hash(it->key, weak)),
					0);
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
	/* Empty: back to the first segment of buckets. */
	assert_int_equal(h.buckets.nseg, 1);
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

static void
test_grows_past_many_splits_and_shrinks_back(void **state)
{
	size_t n = 100000;
	struct item *items = calloc(n, sizeof(*items));
	struct lhash h;

	(void)state;
	assert_non_null(items);
	lhash_init(&h);
	for (size_t i = 0; i < n; i++) {
		items[i].key = (uint32_t)i;
		items[i].in = true;
		assert_int_equal(lhash_insert(&h, &items[i].node,
					      key_hash(items[i].key, false)),
				 0);
	}
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
	struct item *items = calloc(n, sizeof(*items));
	struct lhash h;

	(void)state;
	assert_non_null(items);
	lhash_init(&h);
	for (size_t i = 0; i < n; i++) {
		items[i].key = (uint32_t)i;
		assert_int_equal(lhash_insert(&h, &items[i].node,
					      key_hash(items[i].key, i & 1)),
				 0);
	}
	lhash_drain(&h, count_drained, &seen);
	assert_int_equal(seen, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(items[i].drained, 1);
	assert_int_equal(h.count, 0);
	assert_null(lhash_chain(&h, 0));
	/* Usable again after a drain. */
	assert_int_equal(lhash_insert(&h, &items[0].node, 3), 0);
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
	lhash_init(&h);
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
