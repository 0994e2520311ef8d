// SPDX-License-Identifier: MIT
/*
 * SAs through the XFRM backend, in a network namespace of their own,
 * checked with `ip xfrm state`: two ALLOCSPI for the same (destination,
 * protocol, reqid) give two SPIs (reference 002); a range of one SPI gives
 * that SPI, then nothing; ESP and AH SAs are refused by this kernel (no
 * transforms) with a clear message, reported once in the log; larval SAs
 * are deleted idempotently; dumps tell eroute's SAs from foreign ones.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "eroute/engine.h"
#include "netns.h"

struct fixture {
	struct er_xfrm *x;
	struct er_kernel k;
	struct netns_log log;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct er_xfrm_config cfg = {0};
	struct er_err err = {0};

	if (f == NULL || netns_fresh(state) < 0)
		return -1;
	cfg.log = netns_log_cb;
	cfg.log_ctx = &f->log;
	cfg.no_nd_bypass = true;
	f->x = er_xfrm_new(&cfg, &err);
	if (f->x == NULL) {
		fprintf(stderr, "er_xfrm_new: %s\n", err.msg);
		free(f);
		return -1;
	}
	f->k = er_xfrm_kernel(f->x);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	er_xfrm_free(f->x);
	free(f);
	return 0;
}

static void
spi_req(struct er_spi_req *req, const char *src, const char *dst,
	uint8_t proto, uint32_t reqid)
{
	memset(req, 0, sizeof(*req));
	assert_int_equal(er_addr_parse(&req->src, src, NULL), 0);
	assert_int_equal(er_addr_parse(&req->dst, dst, NULL), 0);
	req->proto = proto;
	req->mode = ER_MODE_TUNNEL;
	req->reqid = reqid;
}

/* Reference 002: two concurrent negotiations once got the same SPI. */
static void
test_two_allocspi_same_dst_proto_reqid_differ(void **state)
{
	struct fixture *f = *state;
	struct er_spi_req req;
	struct er_err err = {0};
	uint32_t spi[2] = {0, 0};
	char *out, hex[2][16];
	unsigned fam, i;
	static const char *const addrs[2][2] = {
		{"192.0.2.2", "192.0.2.1"}, {"2001:db8::2", "2001:db8::1"}};

	for (fam = 0; fam < 2; fam++) {
		spi_req(&req, addrs[fam][0], addrs[fam][1], IPPROTO_ESP,
			ER_REQID_BASE + 1);
		for (i = 0; i < 2; i++) {
			assert_int_equal(er_kernel_spi_alloc(&f->k, &req,
							     &spi[i], &err),
					 0);
			assert_true(spi[i] >= ER_SPI_MIN);
			snprintf(hex[i], sizeof(hex[i]), "spi 0x%08x", spi[i]);
		}
		assert_int_not_equal(spi[0], spi[1]);
		out = netns_out("ip xfrm state list dst %s", addrs[fam][1]);
		assert_non_null(strstr(out, hex[0]));
		assert_non_null(strstr(out, hex[1]));
		free(out);
	}
	/* IPCOMP: CPIs are 16 bits */
	spi_req(&req, "192.0.2.2", "192.0.2.1", IPPROTO_COMP,
		ER_REQID_BASE + 2);
	assert_int_equal(er_kernel_spi_alloc(&f->k, &req, &spi[0], &err), 0);
	assert_true(spi[0] >= ER_SPI_MIN && spi[0] <= 0xffff);
}

static void
test_allocspi_range(void **state)
{
	struct fixture *f = *state;
	struct er_spi_req req;
	struct er_err err = {0};
	uint32_t spi = 0;

	spi_req(&req, "192.0.2.2", "192.0.2.1", IPPROTO_ESP,
		ER_REQID_BASE + 3);
	req.min = req.max = 0x4242;
	assert_int_equal(er_kernel_spi_alloc(&f->k, &req, &spi, &err), 0);
	assert_int_equal(spi, 0x4242);
	/* the only SPI of the range is taken */
	assert_true(er_kernel_spi_alloc(&f->k, &req, &spi, &err) < 0);
	assert_non_null(strstr(err.msg, "SPI for esp.0x00000000@192.0.2.1"));
	/* below 256 is refused without asking */
	req.min = 1;
	req.max = 255;
	assert_int_equal(er_kernel_spi_alloc(&f->k, &req, &spi, &err),
			 -EINVAL);
}

static void
esp_sa(struct er_sa *sa, uint8_t proto, uint32_t spi)
{
	memset(sa, 0, sizeof(*sa));
	assert_int_equal(er_addr_parse(&sa->id.dst, "192.0.2.2", NULL), 0);
	assert_int_equal(er_addr_parse(&sa->src, "192.0.2.1", NULL), 0);
	sa->id.proto = proto;
	sa->id.spi = spi;
	sa->mode = ER_MODE_TUNNEL;
	sa->reqid = ER_REQID_BASE + 5;
	if (proto == IPPROTO_ESP) {
		snprintf(sa->keys.enc_alg, sizeof(sa->keys.enc_alg),
			 "aes-cbc");
		sa->keys.enc_key_len = 16;
	}
	snprintf(sa->keys.integ_alg, sizeof(sa->keys.integ_alg), "sha256");
	sa->keys.integ_key_len = 32;
	sa->hard.secs = 3600;
}

/* This kernel has no ESP or AH transform: the SA is refused, the message
 * says why, the log says it loudly once. */
static void
test_esp_and_ah_refused_clearly(void **state)
{
	struct fixture *f = *state;
	struct er_sa sa;
	struct er_err err = {0};
	char *out;

	esp_sa(&sa, IPPROTO_ESP, 0x1001);
	assert_int_equal(er_kernel_sa_add(&f->k, &sa, &err),
			 -EPROTONOSUPPORT);
	assert_non_null(strstr(err.msg, "SA esp.0x00001001@192.0.2.2: "));
	assert_non_null(strstr(err.msg, "no transform"));
	assert_non_null(strstr(err.msg, "Requested type not found"));
	assert_int_equal(f->log.count[LOG_ERR], 1);
	assert_non_null(strstr(f->log.last[LOG_ERR], "hold"));
	/* again, and AH, and as an update: refused, logged quietly */
	assert_int_equal(er_kernel_sa_add(&f->k, &sa, &err),
			 -EPROTONOSUPPORT);
	esp_sa(&sa, IPPROTO_AH, 0x1002);
	assert_int_equal(er_kernel_sa_add(&f->k, &sa, &err),
			 -EPROTONOSUPPORT);
	assert_non_null(strstr(err.msg, "SA ah.0x00001002@192.0.2.2: "));
	assert_int_equal(er_kernel_sa_update(&f->k, &sa, &err),
			 -EPROTONOSUPPORT);
	assert_int_equal(f->log.count[LOG_ERR], 1);
	out = netns_out("ip xfrm state list");
	assert_null(strstr(out, "spi 0x00001001"));
	free(out);
}

/* Keys onto a larval SA are an update of it; refused here too. */
static void
test_larval_sa_update_and_delete(void **state)
{
	struct fixture *f = *state;
	struct er_spi_req req;
	struct er_sa sa;
	struct er_err err = {0};
	uint32_t spi = 0;
	char *out;
	char hex[32];

	spi_req(&req, "192.0.2.1", "192.0.2.2", IPPROTO_ESP,
		ER_REQID_BASE + 5);
	assert_int_equal(er_kernel_spi_alloc(&f->k, &req, &spi, &err), 0);
	esp_sa(&sa, IPPROTO_ESP, spi);
	assert_int_equal(er_kernel_sa_add(&f->k, &sa, &err),
			 -EPROTONOSUPPORT);
	/* the reservation is still there, and goes on delete */
	snprintf(hex, sizeof(hex), "spi 0x%08x", spi);
	out = netns_out("ip xfrm state list");
	assert_non_null(strstr(out, hex));
	free(out);
	assert_int_equal(er_kernel_sa_del(&f->k, &sa.id, &err), 0);
	assert_int_equal(er_kernel_sa_del(&f->k, &sa.id, &err),
			 ER_KERNEL_ABSENT);
	out = netns_out("ip xfrm state list");
	assert_null(strstr(out, hex));
	free(out);
}

struct seen {
	unsigned ours, foreign, larval;
	uint32_t foreign_reqid;
};

static int
sa_cb(void *ctx, const struct er_sa *sa)
{
	struct seen *s = ctx;

	if (sa->owner == ER_OWNER_FOREIGN) {
		s->foreign++;
		s->foreign_reqid = sa->reqid;
	} else {
		s->ours++;
	}
	if (sa->state == ER_SA_LARVAL)
		s->larval++;
	return 0;
}

static void
test_sa_dump_foreign_and_ours(void **state)
{
	struct fixture *f = *state;
	struct er_spi_req req;
	struct er_err err = {0};
	struct seen s;
	uint32_t spi;

	spi_req(&req, "2001:db8::2", "2001:db8::1", IPPROTO_ESP,
		ER_REQID_BASE + 8);
	assert_int_equal(er_kernel_spi_alloc(&f->k, &req, &spi, &err), 0);
	assert_int_equal(er_kernel_spi_alloc(&f->k, &req, &spi, &err), 0);
	assert_int_equal(netns_sh("ip xfrm state allocspi src 198.51.100.1 "
				  "dst 203.0.113.1 proto esp mode tunnel "
				  "reqid 77 >/dev/null"),
			 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(er_kernel_sa_dump(&f->k, sa_cb, &s, &err), 0);
	assert_int_equal(s.ours, 2);
	assert_int_equal(s.foreign, 1);
	assert_int_equal(s.foreign_reqid, 77);
	assert_int_equal(s.larval, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_two_allocspi_same_dst_proto_reqid_differ, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_allocspi_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_esp_and_ah_refused_clearly,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_larval_sa_update_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sa_dump_foreign_and_ours,
						setup, teardown),
	};

	netns_main_check(120);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
