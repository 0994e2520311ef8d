// SPDX-License-Identifier: MIT
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/spi.h"

static struct er_spi_req
REQ(const char *dst, uint32_t reqid, uint32_t min, uint32_t max)
{
	struct er_spi_req r = {0};

	assert_int_equal(er_addr_parse(&r.dst, dst, NULL), 0);
	assert_int_equal(er_addr_parse(&r.src, r.dst.family == AF_INET6
						      ? "2001:db8::1"
						      : "192.0.2.1",
				       NULL),
			 0);
	r.proto = IPPROTO_ESP;
	r.reqid = reqid;
	r.min = min;
	r.max = max;
	r.now = 1;
	r.larval_timeout = 30;
	return r;
}

/* Reference 002: two concurrent Quick Modes for the same (destination,
 * protocol, reqid) got the same SPI.  Here they cannot. */
static void
test_reference_002_same_reqid_twice_gives_two_spis(void **state)
{
	struct er_sad *sad = er_sad_new();
	struct er_rng rng;
	struct er_spi_req r = REQ("198.51.100.7", 16384, 0, 0);
	uint32_t a, b;

	(void)state;
	er_rng_init(&rng, 1);
	assert_int_equal(er_spi_alloc(sad, &rng, &r, &a, NULL), 0);
	/* Even with the same random stream, the second differs. */
	er_rng_init(&rng, 1);
	assert_int_equal(er_spi_alloc(sad, &rng, &r, &b, NULL), 0);
	assert_int_not_equal(a, b);
	assert_true(a >= ER_SPI_MIN);
	assert_true(b >= ER_SPI_MIN);
	assert_int_equal(er_sad_count(sad), 2);
	assert_int_equal(er_sad_lookup(sad, &r.dst, IPPROTO_ESP, a)->state,
			 ER_SA_LARVAL);
	er_sad_free(sad);
}

static void
test_spi_range_of_one_and_two(void **state)
{
	struct er_sad *sad = er_sad_new();
	struct er_rng rng;
	struct er_spi_req one = REQ("198.51.100.7", 1, 0x500, 0x500);
	struct er_spi_req two = REQ("198.51.100.7", 1, 0x600, 0x601);
	struct er_spi_req other = REQ("198.51.100.8", 1, 0x500, 0x500);
	struct er_err err = {0};
	uint32_t a, b, c;

	(void)state;
	er_rng_init(&rng, 9);
	assert_int_equal(er_spi_alloc(sad, &rng, &one, &a, &err), 0);
	assert_int_equal(a, 0x500);
	assert_int_equal(er_spi_alloc(sad, &rng, &one, &a, &err), -ENOSPC);
	assert_string_equal(err.msg,
			    "no free SPI in 0x500-0x500 for 198.51.100.7");
	/* Another destination has its own SPI space. */
	assert_int_equal(er_spi_alloc(sad, &rng, &other, &a, &err), 0);
	/* AH has its own too. */
	one.proto = IPPROTO_AH;
	assert_int_equal(er_spi_alloc(sad, &rng, &one, &a, &err), 0);
	assert_int_equal(er_spi_alloc(sad, &rng, &two, &b, &err), 0);
	assert_int_equal(er_spi_alloc(sad, &rng, &two, &c, &err), 0);
	assert_int_not_equal(b, c);
	assert_in_range(b, 0x600, 0x601);
	assert_in_range(c, 0x600, 0x601);
	assert_int_equal(er_spi_alloc(sad, &rng, &two, &c, &err), -ENOSPC);
	/* Freeing one makes it available again. */
	assert_int_equal(er_sad_del(sad, &(struct er_sa_id){.dst = two.dst,
							    .proto = IPPROTO_ESP,
							    .spi = b}),
			 0);
	assert_int_equal(er_spi_alloc(sad, &rng, &two, &c, &err), 0);
	assert_int_equal(c, b);
	er_sad_free(sad);
}

static void
test_spi_exhaustion_of_a_small_range(void **state)
{
	struct er_sad *sad = er_sad_new();
	struct er_rng rng;
	struct er_spi_req r = REQ("2001:db8::7", 1, 0x1000, 0x10ff);
	uint8_t seen[256] = {0};
	uint32_t spi;

	(void)state;
	er_rng_init(&rng, 5);
	for (int i = 0; i < 256; i++) {
		assert_int_equal(er_spi_alloc(sad, &rng, &r, &spi, NULL), 0);
		assert_in_range(spi, 0x1000, 0x10ff);
		assert_int_equal(seen[spi - 0x1000], 0);
		seen[spi - 0x1000] = 1;
	}
	assert_int_equal(er_spi_alloc(sad, &rng, &r, &spi, NULL), -ENOSPC);
	er_sad_free(sad);
}

static void
test_spi_bad_ranges(void **state)
{
	struct er_sad *sad = er_sad_new();
	struct er_rng rng;
	struct er_spi_req r = REQ("192.0.2.9", 1, 0x300, 0x200);
	struct er_err err = {0};
	uint32_t spi;

	(void)state;
	er_rng_init(&rng, 5);
	assert_int_equal(er_spi_alloc(sad, &rng, &r, &spi, &err), -EINVAL);
	assert_string_equal(err.msg, "SPI range 0x300-0x200 is backwards");
	r.min = 1;
	r.max = 0xff;
	assert_int_equal(er_spi_alloc(sad, &rng, &r, &spi, &err), -ENOSPC);
	/* A range reaching below 256 is clamped, never answered below it. */
	r.min = 1;
	r.max = 0x100;
	assert_int_equal(er_spi_alloc(sad, &rng, &r, &spi, &err), 0);
	assert_int_equal(spi, 0x100);
	r.min = 0xfffffffe;
	r.max = 0xffffffff;
	assert_int_equal(er_spi_alloc(sad, &rng, &r, &spi, &err), 0);
	assert_int_equal(er_spi_alloc(sad, &rng, &r, &spi, &err), 0);
	assert_int_equal(er_spi_alloc(sad, &rng, &r, &spi, &err), -ENOSPC);
	er_sad_free(sad);
}

/* A generator whose every draw is 0 makes the allocator start at the bottom
 * of its range: with the default range that must be 0x100, never below. */
static void
test_spi_default_range_never_below_0x100(void **state)
{
	struct er_sad *sad = er_sad_new();
	struct er_rng zero = {{0, 0, 0, 0}};
	struct er_spi_req r = REQ("198.51.100.7", 1, 0, 0);
	uint32_t spi;

	(void)state;
	assert_int_equal(er_rng_next(&zero), 0);
	assert_int_equal(er_spi_alloc(sad, &zero, &r, &spi, NULL), 0);
	assert_int_equal(spi, ER_SPI_MIN);
	assert_int_equal(er_spi_alloc(sad, &zero, &r, &spi, NULL), 0);
	assert_int_equal(spi, ER_SPI_MIN + 1);
	/* IPv6 alike. */
	r = REQ("2001:db8::7", 1, 0, 0);
	assert_int_equal(er_spi_alloc(sad, &zero, &r, &spi, NULL), 0);
	assert_int_equal(spi, ER_SPI_MIN);
	er_sad_free(sad);
}

/* Not only larval reservations: an SPI a keyed SA (mature or dying) has
 * for the same destination and protocol is never handed out. */
static void
test_spi_skips_live_sas(void **state)
{
	struct er_sad *sad = er_sad_new();
	struct er_rng zero = {{0, 0, 0, 0}};
	struct er_spi_req r = REQ("198.51.100.7", 1, 0x500, 0x502);
	struct er_sa sa = {0};
	uint32_t spi;

	(void)state;
	sa.id.dst = r.dst;
	sa.id.proto = IPPROTO_ESP;
	sa.id.spi = 0x500;
	sa.state = ER_SA_MATURE;
	assert_int_equal(er_sad_add(sad, &sa, NULL), 0);
	sa.id.spi = 0x501;
	sa.state = ER_SA_DYING;
	assert_int_equal(er_sad_add(sad, &sa, NULL), 0);
	/* The same SPI for AH is no obstacle. */
	sa.id.spi = 0x502;
	sa.id.proto = IPPROTO_AH;
	assert_int_equal(er_sad_add(sad, &sa, NULL), 0);
	assert_int_equal(er_spi_alloc(sad, &zero, &r, &spi, NULL), 0);
	assert_int_equal(spi, 0x502);
	assert_int_equal(er_spi_alloc(sad, &zero, &r, &spi, NULL), -ENOSPC);
	er_sad_free(sad);
}

static void
test_spi_many_concurrent_unique(void **state)
{
	struct er_sad *sad = er_sad_new();
	struct er_rng rng;
	struct er_spi_req r = REQ("192.0.2.9", 7, 0, 0);
	uint32_t spi;

	(void)state;
	er_rng_init(&rng, 11);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(er_spi_alloc(sad, &rng, &r, &spi, NULL), 0);
	/* The SAD rejects duplicate ids, so 5000 entries mean 5000 SPIs. */
	assert_int_equal(er_sad_count(sad), 5000);
	er_sad_free(sad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_002_same_reqid_twice_gives_two_spis),
		cmocka_unit_test(test_spi_range_of_one_and_two),
		cmocka_unit_test(test_spi_exhaustion_of_a_small_range),
		cmocka_unit_test(test_spi_bad_ranges),
		cmocka_unit_test(test_spi_default_range_never_below_0x100),
		cmocka_unit_test(test_spi_skips_live_sas),
		cmocka_unit_test(test_spi_many_concurrent_unique),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
