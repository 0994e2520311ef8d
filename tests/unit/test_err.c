// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/err.h"
#include "eroute/rng.h"

static void
test_err_set_returns_code_and_text(void **state)
{
	struct er_err err;

	(void)state;
	assert_int_equal(er_err_set(&err, -EINVAL, "bad %s", "thing"), -EINVAL);
	assert_int_equal(err.code, -EINVAL);
	assert_string_equal(err.msg, "bad thing");
	er_err_clear(&err);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "");
}

static void
test_err_null_is_allowed(void **state)
{
	(void)state;
	assert_int_equal(er_err_set(NULL, -ENOENT, "x"), -ENOENT);
	er_err_clear(NULL);
}

static void
test_err_long_message_truncated(void **state)
{
	struct er_err err;
	char big[1000];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	er_err_set(&err, -EINVAL, "%s", big);
	assert_int_equal(strlen(err.msg), ER_ERR_MSG_MAX - 1);
}

static void
test_rng_same_seed_same_sequence(void **state)
{
	struct er_rng a, b, c;

	(void)state;
	er_rng_init(&a, 42);
	er_rng_init(&b, 42);
	er_rng_init(&c, 43);
	for (int i = 0; i < 100; i++) {
		uint64_t x = er_rng_next(&a);

		assert_int_equal(x, er_rng_next(&b));
		assert_int_not_equal(x, er_rng_next(&c));
	}
}

static void
test_rng_range_stays_inside(void **state)
{
	struct er_rng r;
	int seen[3] = {0};

	(void)state;
	er_rng_init(&r, 1);
	for (int i = 0; i < 3000; i++) {
		uint64_t x = er_rng_range(&r, 10, 12);

		assert_in_range(x, 10, 12);
		seen[x - 10]++;
	}
	for (int i = 0; i < 3; i++)
		assert_true(seen[i] > 800);
	assert_int_equal(er_rng_range(&r, 7, 7), 7);
	(void)er_rng_range(&r, 0, UINT64_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_set_returns_code_and_text),
		cmocka_unit_test(test_err_null_is_allowed),
		cmocka_unit_test(test_err_long_message_truncated),
		cmocka_unit_test(test_rng_same_seed_same_sequence),
		cmocka_unit_test(test_rng_range_stays_inside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
