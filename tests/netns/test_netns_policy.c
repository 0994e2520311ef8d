// SPDX-License-Identifier: MIT
/*
 * Policies through the XFRM backend, in a network namespace of their own,
 * checked with iproute2's `ip xfrm policy` as an independent reader: every
 * action in both families and every direction added, replaced and deleted;
 * add twice is an update, delete twice finds nothing; dumps show foreign
 * policies as foreign and eroute's as eroute's; the ICMPv6 ND bypass is
 * there as eroute-owned pass policies; kernel errors name the policy.
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

static const char *const xdir[] = {"out", "in", "fwd"};

/* One (family, direction) pair's selector and tunnel endpoints. */
struct fam {
	const char *src, *dst, *gw_local, *gw_remote;
};

static const struct fam fams[] = {
	{"10.1.0.0/16", "10.2.0.0/16", "192.0.2.1", "192.0.2.2"},
	{"2001:db8:1::/48", "2001:db8:2::/48", "2001:db8::1", "2001:db8::2"},
};

static void
policy_make(struct er_policy *p, const struct fam *fm, enum er_dir dir,
	    enum er_action action, uint32_t owner)
{
	memset(p, 0, sizeof(*p));
	netns_selector(&p->sel, fm->src, fm->dst, 0, NULL, NULL);
	p->dir = dir;
	p->action = action;
	p->priority = er_priority_default(&p->sel, ER_PRIO_CONN);
	p->owner = owner;
	if (action >= ER_ACTION_TRAP)
		p->reqid = ER_REQID_BASE + 40 + (uint32_t)dir;
	if (action == ER_ACTION_IPSEC) {
		p->ntmpl = 1;
		p->tmpl[0].proto = IPPROTO_ESP;
		p->tmpl[0].mode = ER_MODE_TUNNEL;
		p->tmpl[0].reqid = p->reqid;
		assert_int_equal(er_addr_parse(&p->tmpl[0].src, fm->gw_local,
					       NULL),
				 0);
		assert_int_equal(er_addr_parse(&p->tmpl[0].dst, fm->gw_remote,
					       NULL),
				 0);
	}
}

/* What `ip xfrm policy` prints for the policy, as far as it tells. */
static void
assert_ip_shows(const struct fam *fm, enum er_dir dir, enum er_action action)
{
	char *out = netns_out("ip xfrm policy list dir %s src %s dst %s",
			      xdir[dir], fm->src, fm->dst);

	if (strstr(out, fm->src) == NULL)
		fail_msg("ip shows no %s policy %s: [%s]", xdir[dir], fm->src,
			 out);
	switch (action) {
	case ER_ACTION_PASS:
		assert_null(strstr(out, "action block"));
		assert_null(strstr(out, "tmpl"));
		break;
	case ER_ACTION_DROP:
	case ER_ACTION_REJECT:
		assert_non_null(strstr(out, "action block"));
		assert_null(strstr(out, "tmpl"));
		break;
	case ER_ACTION_TRAP:
	case ER_ACTION_HOLD:
		assert_null(strstr(out, "action block"));
		assert_non_null(strstr(out, "mode transport"));
		assert_non_null(strstr(out, "proto esp"));
		break;
	case ER_ACTION_IPSEC:
		assert_null(strstr(out, "action block"));
		assert_non_null(strstr(out, "mode tunnel"));
		assert_non_null(strstr(out, fm->gw_remote));
		break;
	}
	free(out);
}

static void
assert_ip_shows_none(const struct fam *fm, enum er_dir dir)
{
	char *out = netns_out("ip xfrm policy list dir %s src %s dst %s",
			      xdir[dir], fm->src, fm->dst);

	if (strstr(out, fm->src) != NULL)
		fail_msg("ip still shows %s %s: [%s]", xdir[dir], fm->src, out);
	free(out);
}

static void
test_every_action_both_families_every_direction(void **state)
{
	struct fixture *f = *state;
	struct er_policy p;
	struct er_err err = {0};
	unsigned fi, d, a;

	for (fi = 0; fi < 2; fi++) {
		for (d = 0; d < ER_DIR_COUNT; d++) {
			for (a = 0; a < ER_ACTION_COUNT; a++) {
				policy_make(&p, &fams[fi], (enum er_dir)d,
					    (enum er_action)a, 7);
				/* the first action adds, the others replace */
				assert_int_equal(er_kernel_policy_replace(
							 &f->k, &p, &err),
						 a == 0 ? 0
							: ER_KERNEL_UPDATED);
				assert_ip_shows(&fams[fi], (enum er_dir)d,
						(enum er_action)a);
			}
			assert_int_equal(er_kernel_policy_del(&f->k, p.dir,
							      &p.sel, &err),
					 0);
			assert_ip_shows_none(&fams[fi], (enum er_dir)d);
		}
	}
}

static void
test_add_twice_updates_delete_twice_absent(void **state)
{
	struct fixture *f = *state;
	struct er_policy p;
	struct er_err err = {0};
	char *out;

	policy_make(&p, &fams[0], ER_DIR_OUT, ER_ACTION_TRAP, 3);
	assert_int_equal(er_kernel_policy_add(&f->k, &p, &err), 0);
	assert_int_equal(er_kernel_policy_add(&f->k, &p, &err),
			 ER_KERNEL_UPDATED);
	/* an update changes it in place: a new priority, still one policy */
	p.priority = 4242;
	assert_int_equal(er_kernel_policy_add(&f->k, &p, &err),
			 ER_KERNEL_UPDATED);
	out = netns_out("ip xfrm policy list dir out");
	assert_int_equal(netns_count(out, "src 10.1.0.0/16 dst 10.2.0.0/16"),
			 1);
	assert_non_null(strstr(out, "priority 4242"));
	free(out);
	assert_int_equal(er_kernel_policy_del(&f->k, p.dir, &p.sel, &err), 0);
	assert_int_equal(er_kernel_policy_del(&f->k, p.dir, &p.sel, &err),
			 ER_KERNEL_ABSENT);
	/* the logs say which happened */
	assert_true(f->log.count[LOG_DEBUG] >= 5);
	assert_non_null(strstr(f->log.last[LOG_DEBUG], "already gone"));
}

static void
test_protocols_and_ports(void **state)
{
	struct fixture *f = *state;
	struct er_policy p;
	struct er_err err = {0};
	char *out;

	memset(&p, 0, sizeof(p));
	netns_selector(&p.sel, "10.1.0.0/16", "10.2.0.0/16", IPPROTO_TCP,
		       NULL, "443");
	p.action = ER_ACTION_DROP;
	p.priority = 10;
	assert_int_equal(er_kernel_policy_add(&f->k, &p, &err), 0);
	netns_selector(&p.sel, "2001:db8:1::/48", "2001:db8:2::/48",
		       IPPROTO_UDP, "1024-2047", "53");
	p.dir = ER_DIR_IN;
	assert_int_equal(er_kernel_policy_add(&f->k, &p, &err), 0);
	out = netns_out("ip xfrm policy list");
	assert_non_null(strstr(out, "proto tcp dport 443"));
	assert_non_null(strstr(out, "proto udp sport 1024 dport 53"));
	free(out);
	/* what port/mask cannot say is refused before the kernel is asked */
	netns_selector(&p.sel, "10.1.0.0/16", "10.2.0.0/16", IPPROTO_TCP,
		       "1000-2000", NULL);
	assert_int_equal(er_kernel_policy_add(&f->k, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "policy in 10.1.0.0/16 -> "
					"10.2.0.0/16 tcp 1000-2000 -> any"));
}

struct seen {
	unsigned foreign, ours, nd, total;
	uint32_t owner_of_trap;
	enum er_action action_of_reject;
	uint32_t owner_of_reqid_only;
};

static int
dump_cb(void *ctx, const struct er_policy *p)
{
	struct seen *s = ctx;
	char d[ER_SELECTOR_STRLEN];

	s->total++;
	er_selector_format(&p->sel, d, sizeof(d));
	if (p->owner == ER_OWNER_FOREIGN)
		s->foreign++;
	else
		s->ours++;
	if (p->sel.proto == IPPROTO_ICMPV6 && p->action == ER_ACTION_PASS &&
	    p->persist && p->owner == ER_OWNER_BARE)
		s->nd++;
	if (strcmp(d, "10.1.0.0/16 -> 10.2.0.0/16") == 0 &&
	    p->action == ER_ACTION_TRAP)
		s->owner_of_trap = p->owner;
	if (strcmp(d, "10.3.0.0/16 -> 10.4.0.0/16") == 0)
		s->action_of_reject = p->action;
	if (strcmp(d, "203.0.113.0/24 -> 198.51.100.0/24") == 0)
		s->owner_of_reqid_only = p->owner;
	return 0;
}

static void
test_dump_foreign_and_ours(void **state)
{
	struct fixture *f = *state;
	struct er_policy p;
	struct er_err err = {0};
	struct seen s;

	policy_make(&p, &fams[0], ER_DIR_OUT, ER_ACTION_TRAP, 11);
	assert_int_equal(er_kernel_policy_add(&f->k, &p, &err), 0);
	memset(&p, 0, sizeof(p));
	netns_selector(&p.sel, "10.3.0.0/16", "10.4.0.0/16", 0, NULL, NULL);
	p.action = ER_ACTION_REJECT;
	p.owner = 12;
	assert_int_equal(er_kernel_policy_add(&f->k, &p, &err), 0);
	/* two foreign ones, and one foreign-made but with eroute's reqid */
	assert_int_equal(netns_sh("ip xfrm policy add src 198.51.100.0/24 "
				  "dst 203.0.113.0/24 dir out tmpl proto esp "
				  "reqid 7 mode transport"),
			 0);
	assert_int_equal(netns_sh("ip xfrm policy add src 198.51.100.0/24 "
				  "dst 203.0.113.0/24 dir in action block"),
			 0);
	assert_int_equal(netns_sh("ip xfrm policy add src 203.0.113.0/24 "
				  "dst 198.51.100.0/24 dir out tmpl proto esp "
				  "reqid %u mode transport",
				  ER_REQID_BASE + 99),
			 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(er_kernel_policy_dump(&f->k, dump_cb, &s, &err), 0);
	assert_int_equal(s.total, 5 + ER_XFRM_ND_BYPASS_COUNT);
	assert_int_equal(s.foreign, 2);
	assert_int_equal(s.nd, ER_XFRM_ND_BYPASS_COUNT);
	assert_int_equal(s.owner_of_trap, 11);
	/* block in the kernel, but the marker remembers it was a reject */
	assert_int_equal(s.action_of_reject, ER_ACTION_REJECT);
	assert_int_equal(s.owner_of_reqid_only, ER_OWNER_BARE);
}

static int
stop_cb(void *ctx, const struct er_policy *p)
{
	unsigned *n = ctx;

	(void)p;
	return ++*n == 2 ? 42 : 0;
}

/* A callback may stop the walk; the next dump works (the socket was
 * drained). */
static void
test_dump_stops_when_asked(void **state)
{
	struct fixture *f = *state;
	struct er_err err = {0};
	unsigned n = 0;

	assert_int_equal(er_kernel_policy_dump(&f->k, stop_cb, &n, &err), 42);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(er_kernel_policy_dump(&f->k, stop_cb, &n, &err), 42);
}

static void
test_nd_bypass_installed(void **state)
{
	struct fixture *f = *state;
	struct er_err err = {0};
	char *out = netns_out("ip xfrm policy list");

	assert_int_equal(netns_count(out, "proto ipv6-icmp type 135"), 3);
	assert_int_equal(netns_count(out, "proto ipv6-icmp type 136"), 3);
	free(out);
	/* idempotent; and it can be taken away */
	assert_int_equal(er_xfrm_nd_bypass_install(f->x, &err), 0);
	assert_int_equal(er_xfrm_nd_bypass_remove(f->x, &err), 0);
	out = netns_out("ip xfrm policy list");
	assert_null(strstr(out, "ipv6-icmp"));
	free(out);
}

/* The kernel refuses a transport template after a tunnel of another
 * family: the error names the policy and keeps the kernel's words. */
static void
test_kernel_error_names_the_policy(void **state)
{
	struct fixture *f = *state;
	struct er_policy p;
	struct er_err err = {0};

	policy_make(&p, &fams[0], ER_DIR_OUT, ER_ACTION_IPSEC, 1);
	assert_int_equal(er_addr_parse(&p.tmpl[0].src, "2001:db8::1", NULL),
			 0);
	assert_int_equal(er_addr_parse(&p.tmpl[0].dst, "2001:db8::2", NULL),
			 0);
	p.ntmpl = 2;
	p.tmpl[1].proto = IPPROTO_AH;
	p.tmpl[1].mode = ER_MODE_TRANSPORT;
	p.tmpl[1].reqid = p.reqid;
	assert_int_equal(er_kernel_policy_add(&f->k, &p, &err), -EINVAL);
	/* the kernel's own words follow when it has extended ACKs (6.x:
	 * "(kernel: Mode in template doesn't support a family change)") */
	assert_memory_equal(err.msg,
			    "policy out 10.1.0.0/16 -> 10.2.0.0/16: "
			    "Invalid argument",
			    strlen("policy out 10.1.0.0/16 -> 10.2.0.0/16: "
				   "Invalid argument"));
	assert_int_equal(f->log.count[LOG_ERR], 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_every_action_both_families_every_direction, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_add_twice_updates_delete_twice_absent, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_protocols_and_ports, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dump_foreign_and_ours,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_stops_when_asked,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_nd_bypass_installed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_kernel_error_names_the_policy, setup, teardown),
	};

	netns_main_check(120);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
