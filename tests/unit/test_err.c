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

/* Whatever a message quotes, it stays one line of UTF-8 text. */
static void
test_err_message_is_one_line_of_text(void **state)
{
	struct er_err err;
	char big[600];

	(void)state;
	er_err_set(&err, -EINVAL, "no connection \"%s\"", "a\nb\tc\x1b[2J");
	assert_string_equal(err.msg, "no connection \"a?b?c?[2J\"");
	/* C1 (CSI), DEL, a stray byte, an overlong '/' and a surrogate. */
	er_err_set(&err, -EINVAL, "%s", "x\xc2\x9by\x7fz\xff/\xc0\xaf.\xed\xa0\x80");
	assert_string_equal(err.msg, "x??y?z?/??.???");
	/* Text stays as it is. */
	er_err_set(&err, -EINVAL, "%s", "gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac \xf0\x9f\x94\x92");
	assert_string_equal(err.msg, "gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac \xf0\x9f\x94\x92");
	/* Cut by a precision or by the buffer in the middle of a character. */
	er_err_set(&err, -EINVAL, "\"%.3s\"", "a\xc3\xa9\xc3\xa9");
	assert_string_equal(err.msg, "\"a\xc3\xa9\"");
	er_err_set(&err, -EINVAL, "\"%.2s\"", "a\xc3\xa9");
	assert_string_equal(err.msg, "\"a?\"");
	for (size_t i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[sizeof(big) - 2] = '\0';
	er_err_set(&err, -EINVAL, "%s", big);
	assert_int_equal(strlen(err.msg), ER_ERR_MSG_MAX - 1);
	assert_int_equal(err.msg[ER_ERR_MSG_MAX - 2], '?');
	assert_memory_equal(err.msg + ER_ERR_MSG_MAX - 4, "\xc3\xa9", 2);
}

static void
test_text_clean_in_place(void **state)
{
	char s[] = "ok \xc3\xa9\r\n\x7f\xe2\x82";
	char empty[] = "";

	(void)state;
	er_text_clean(s);
	assert_string_equal(s, "ok \xc3\xa9?????");
	er_text_clean(empty);
	assert_string_equal(empty, "");
}

static void
test_utf8_char_lengths(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		uint32_t cp;
	} cases[] = {
		{"A", 1, 0x41},
		{"\xc3\xa9", 2, 0xe9},
		{"\xe2\x82\xac", 3, 0x20ac},
		{"\xf4\x8f\xbf\xbf", 4, 0x10ffff},
		{"\xc1\xbf", 0, 0},		/* overlong */
		{"\xe0\x9f\xbf", 0, 0},	/* overlong */
		{"\xf0\x8f\xbf\xbf", 0, 0},	/* overlong */
		{"\xed\xbf\xbf", 0, 0},	/* surrogate */
		{"\xf4\x90\x80\x80", 0, 0},	/* past U+10FFFF */
		{"\xf5\x80\x80\x80", 0, 0},
		{"\x80", 0, 0},
		{"\xc3", 0, 0},			/* cut short */
		{"\xe2\x82", 0, 0},
		{"\xe2\x28\xa1", 0, 0},
	};
	uint32_t cp;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = er_utf8_char(cases[i].s, strlen(cases[i].s), &cp);

		assert_int_equal(len, cases[i].len);
		if (len > 0)
			assert_int_equal(cp, cases[i].cp);
	}
	/* The bytes left bound it, not the NUL. */
	assert_int_equal(er_utf8_char("\xc3\xa9", 1, &cp), 0);
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
		cmocka_unit_test(test_err_message_is_one_line_of_text),
		cmocka_unit_test(test_text_clean_in_place),
		cmocka_unit_test(test_utf8_char_lengths),
		cmocka_unit_test(test_rng_same_seed_same_sequence),
		cmocka_unit_test(test_rng_range_stays_inside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
