// SPDX-License-Identifier: MIT
/* Object pools (src/lib/pool.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/rng.h"
#include "pool.h"

/* An odd size, so that the element size is rounded up. */
struct thing {
	uint64_t id;
	uint8_t fill[45];
};

static bool
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static void
stamp(struct thing *t, uint64_t id)
{
	t->id = id;
	memset(t->fill, (int)(id & 0xff), sizeof(t->fill));
}

static bool
stamped(const struct thing *t, uint64_t id)
{
	for (size_t i = 0; i < sizeof(t->fill); i++)
		if (t->fill[i] != (uint8_t)(id & 0xff))
			return false;
	return t->id == id;
}

/* Random gets and puts: every element handed out is zeroed, aligned, and
 * keeps what was written into it until it is put, whatever else happens. */
static void
test_random_gets_and_puts_keep_elements_apart(void **state)
{
	enum { N = 30000 };
	struct thing **live = calloc(N, sizeof(*live));
	uint64_t *ids = calloc(N, sizeof(*ids));
	struct er_rng rng;
	struct pool p;
	uint64_t next = 1;

	(void)state;
	assert_non_null(live);
	assert_non_null(ids);
	er_rng_init(&rng, 5);
	pool_init(&p, sizeof(struct thing));
	for (int round = 0; round < 4; round++) {
		for (size_t k = 0; k < 3 * N; k++) {
			size_t i = er_rng_next(&rng) % N;

			if (live[i] != NULL) {
				assert_true(stamped(live[i], ids[i]));
				pool_put(&p, live[i]);
				live[i] = NULL;
				continue;
			}
			live[i] = pool_get(&p);
			assert_non_null(live[i]);
			assert_int_equal((uintptr_t)live[i] % sizeof(void *), 0);
			assert_true(all_zero(live[i], sizeof(struct thing)));
			ids[i] = next++;
			stamp(live[i], ids[i]);
		}
		for (size_t i = 0; i < N; i++)
			assert_true(live[i] == NULL || stamped(live[i], ids[i]));
	}
	for (size_t i = 0; i < N; i++)
		pool_put(&p, live[i]);
	assert_int_equal(p.used, 0);
	/* The last put gave every segment back. */
	assert_int_equal(pool_bytes(&p), 0);
	pool_fini(&p);
	free(live);
	free(ids);
}

static void
test_put_null_is_nothing(void **state)
{
	struct pool p;

	(void)state;
	pool_init(&p, 1);
	pool_put(&p, NULL);
	assert_int_equal(p.used, 0);
	/* Tiny elements still hold the free list's pointer. */
	assert_true(p.esize >= sizeof(void *));
	pool_fini(&p);
}

#ifndef POOL_PASSTHROUGH
/* The last element put is the next one got, zeroed again; the memory
 * grows by segments, not by element. */
static void
test_reuse_is_last_in_first_out_and_zeroed(void **state)
{
	struct pool p;
	struct thing *a, *b, *c;
	size_t one;

	(void)state;
	pool_init(&p, sizeof(struct thing));
	a = pool_get(&p);
	b = pool_get(&p);
	one = pool_bytes(&p);
	assert_true(one > 0);
	stamp(b, 99);
	pool_put(&p, b);
	c = pool_get(&p);
	assert_ptr_equal(c, b);
	assert_true(all_zero(c, sizeof(*c)));
	assert_int_equal(pool_bytes(&p), one);
	pool_put(&p, a);
	pool_put(&p, c);
	assert_int_equal(pool_bytes(&p), 0);
	pool_fini(&p);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_gets_and_puts_keep_elements_apart),
		cmocka_unit_test(test_put_null_is_nothing),
#ifndef POOL_PASSTHROUGH
		cmocka_unit_test(test_reuse_is_last_in_first_out_and_zeroed),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
