// SPDX-License-Identifier: MIT
/*
 * Kernel events through the XFRM backend, in a network namespace of their
 * own: a real UDP packet (over a veth pair) hits a trap and the backend
 * reports the ACQUIRE with the packet's selector, the trap's selector and
 * the reqid, for IPv4, IPv6 and a tunnel trap; a policy's hard lifetime
 * ends in POLICY_EXPIRE; a larval SA's in a hard SA_EXPIRE; changes made
 * by someone else are reported and eroute's own are not; a flush by
 * someone else asks for a resync; and malformed messages injected on the
 * multicast group are logged and skipped while good ones still arrive.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>

#include "eroute/engine.h"
#include "netns.h"

struct fixture {
	struct er_xfrm *x;
	struct er_kernel k;
	struct netns_log log;
};

static int
setup_with(void **state, uint32_t slack)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct er_xfrm_config cfg = {0};
	struct er_err err = {0};

	if (f == NULL || netns_fresh(state) < 0)
		return -1;
	if (netns_sh("ip link add v0 type veth peer name v1 && "
		     "ip link set v0 up && ip link set v1 up && "
		     "ip addr add 10.9.0.1/16 dev v0 && "
		     "ip -6 addr add 2001:db8:9::1/64 dev v0 nodad") != 0)
		return -1;
	cfg.log = netns_log_cb;
	cfg.log_ctx = &f->log;
	cfg.lifetime_slack = slack;
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
setup(void **state)
{
	return setup_with(state, 0);
}

static int
setup_short_slack(void **state)
{
	return setup_with(state, 1);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	er_xfrm_free(f->x);
	free(f);
	return 0;
}

/* One UDP datagram from @src:@sport to @dst:@dport. */
static void
udp_send(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
	struct sockaddr_storage s, d;
	socklen_t len;
	int family = strchr(src, ':') ? AF_INET6 : AF_INET, fd;

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)&s, *b = (void *)&d;

		a->sin_family = b->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, src, &a->sin_addr), 1);
		assert_int_equal(inet_pton(AF_INET, dst, &b->sin_addr), 1);
		a->sin_port = htons(sport);
		b->sin_port = htons(dport);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&s, *b = (void *)&d;

		a->sin6_family = b->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, src, &a->sin6_addr), 1);
		assert_int_equal(inet_pton(AF_INET6, dst, &b->sin6_addr), 1);
		a->sin6_port = htons(sport);
		b->sin6_port = htons(dport);
		len = sizeof(*a);
	}
	fd = socket(family, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&s, len), 0);
	/* The trap holds the packet back: the send may fail, no matter. */
	(void)sendto(fd, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&d, len);
	close(fd);
}

static void
trap_add(struct fixture *f, const char *src, const char *dst, uint32_t reqid,
	 const char *gw_local, const char *gw_remote)
{
	struct er_policy p;
	struct er_err err = {0};

	memset(&p, 0, sizeof(p));
	netns_selector(&p.sel, src, dst, 0, NULL, NULL);
	p.action = ER_ACTION_TRAP;
	p.reqid = reqid;
	p.priority = er_priority_default(&p.sel, ER_PRIO_CONN);
	p.owner = 1;
	if (gw_remote != NULL) {
		p.ntmpl = 1;
		p.tmpl[0].proto = IPPROTO_ESP;
		p.tmpl[0].mode = ER_MODE_TUNNEL;
		p.tmpl[0].reqid = reqid;
		assert_int_equal(er_addr_parse(&p.tmpl[0].src, gw_local, NULL),
				 0);
		assert_int_equal(er_addr_parse(&p.tmpl[0].dst, gw_remote,
					       NULL),
				 0);
	}
	if (er_kernel_policy_add(&f->k, &p, &err) < 0)
		fail_msg("%s", err.msg);
}

static void
assert_acquire(struct fixture *f, const char *sel, const char *trap,
	       uint32_t reqid, uint16_t sport, uint16_t dport,
	       const char *sa_dst)
{
	struct er_kernel_event ev;
	char s[ER_SELECTOR_STRLEN], a[ER_ADDR_STRLEN];

	assert_int_equal(netns_wait_event(f->x, ER_KEV_ACQUIRE, &ev, 3000,
					  NULL),
			 1);
	er_selector_format(&ev.sel, s, sizeof(s));
	assert_string_equal(s, sel);
	er_selector_format(&ev.policy_sel, s, sizeof(s));
	assert_string_equal(s, trap);
	assert_int_equal(ev.dir, ER_DIR_OUT);
	assert_int_equal(ev.reqid, reqid);
	assert_int_equal(ev.pkt.proto, IPPROTO_UDP);
	assert_int_equal(ev.pkt.sport, sport);
	assert_int_equal(ev.pkt.dport, dport);
	assert_int_equal(ev.sa.proto, IPPROTO_ESP);
	er_addr_format(&ev.sa.dst, a, sizeof(a));
	assert_string_equal(a, sa_dst);
}

static void
test_acquire_ipv4(void **state)
{
	struct fixture *f = *state;

	trap_add(f, "10.9.0.0/16", "10.9.0.0/16", ER_REQID_BASE + 21, NULL,
		 NULL);
	udp_send("10.9.0.1", 40000, "10.9.5.5", 4242);
	assert_acquire(f, "10.9.0.1/32 -> 10.9.5.5/32 udp",
		       "10.9.0.0/16 -> 10.9.0.0/16", ER_REQID_BASE + 21, 40000,
		       4242, "10.9.5.5");
}

static void
test_acquire_ipv6(void **state)
{
	struct fixture *f = *state;

	trap_add(f, "2001:db8:9::/64", "2001:db8:9::/64", ER_REQID_BASE + 22,
		 NULL, NULL);
	udp_send("2001:db8:9::1", 40001, "2001:db8:9::55", 53);
	assert_acquire(f, "2001:db8:9::1/128 -> 2001:db8:9::55/128 udp",
		       "2001:db8:9::/64 -> 2001:db8:9::/64",
		       ER_REQID_BASE + 22, 40001, 53, "2001:db8:9::55");
}

/* A tunnel trap: the SA to negotiate goes to the gateway. */
static void
test_acquire_tunnel_trap(void **state)
{
	struct fixture *f = *state;

	trap_add(f, "10.9.0.0/24", "10.9.128.0/17", ER_REQID_BASE + 23,
		 "192.0.2.1", "192.0.2.2");
	udp_send("10.9.0.1", 40002, "10.9.200.1", 500);
	assert_acquire(f, "10.9.0.1/32 -> 10.9.200.1/32 udp",
		       "10.9.0.0/24 -> 10.9.128.0/17", ER_REQID_BASE + 23,
		       40002, 500, "192.0.2.2");
}

/*
 * XFRM has no hold: the kernel's acquire state holds a trapped flow.  A
 * hold that replaces a tunnel trap keeps the trap's template, so further
 * flows meet the same acquire state and raise no new ACQUIRE; a hold with
 * nothing to replace gets a transport template with its reqid.
 */
static void
test_hold_keeps_the_trap_template(void **state)
{
	struct fixture *f = *state;
	struct er_policy p;
	struct er_kernel_event ev;
	struct er_err err = {0};
	char *out;

	trap_add(f, "10.9.0.0/24", "10.9.128.0/17", ER_REQID_BASE + 24,
		 "192.0.2.1", "192.0.2.2");
	udp_send("10.9.0.1", 40003, "10.9.200.1", 500);
	assert_int_equal(netns_wait_event(f->x, ER_KEV_ACQUIRE, &ev, 3000,
					  NULL),
			 1);
	memset(&p, 0, sizeof(p));
	netns_selector(&p.sel, "10.9.0.0/24", "10.9.128.0/17", 0, NULL, NULL);
	p.action = ER_ACTION_HOLD;
	p.reqid = ER_REQID_BASE + 24;
	p.priority = er_priority_default(&p.sel, ER_PRIO_CONN);
	p.owner = 1;
	assert_int_equal(er_kernel_policy_replace(&f->k, &p, &err),
			 ER_KERNEL_UPDATED);
	out = netns_out("ip xfrm policy list dir out src 10.9.0.0/24");
	assert_non_null(strstr(out, "tmpl src 192.0.2.1 dst 192.0.2.2"));
	assert_non_null(strstr(out, "mode tunnel"));
	free(out);
	udp_send("10.9.0.1", 40004, "10.9.201.1", 501);
	assert_int_equal(netns_wait_event(f->x, ER_KEV_ACQUIRE, &ev, 500,
					  NULL),
			 0);
	/* a hold of its own */
	netns_selector(&p.sel, "10.9.0.1/32", "10.9.3.3/32", IPPROTO_UDP, NULL,
		       NULL);
	assert_int_equal(er_kernel_policy_add(&f->k, &p, &err), 0);
	out = netns_out("ip xfrm policy list dir out src 10.9.0.1/32");
	assert_non_null(strstr(out, "mode transport"));
	free(out);
}

/* A shunt's kernel lifetime is its own plus the slack (here 1 s). */
static void
test_policy_hard_lifetime_polexpire(void **state)
{
	struct fixture *f = *state;
	struct er_policy p;
	struct er_kernel_event ev;
	struct er_err err = {0};
	char s[ER_SELECTOR_STRLEN], *out;

	memset(&p, 0, sizeof(p));
	netns_selector(&p.sel, "10.9.0.0/16", "198.51.100.0/24", 0, NULL,
		       NULL);
	p.action = ER_ACTION_DROP;
	p.dir = ER_DIR_OUT;
	p.lifetime = 1;
	assert_int_equal(er_kernel_policy_add(&f->k, &p, &err), 0);
	assert_int_equal(netns_wait_event(f->x, ER_KEV_POLICY_EXPIRE, &ev,
					  8000, NULL),
			 1);
	assert_true(ev.hard);
	assert_int_equal(ev.dir, ER_DIR_OUT);
	er_selector_format(&ev.sel, s, sizeof(s));
	assert_string_equal(s, "10.9.0.0/16 -> 198.51.100.0/24");
	out = netns_out("ip xfrm policy list dir out");
	assert_null(strstr(out, "198.51.100.0/24"));
	free(out);
}

static void
test_larval_sa_hard_expire(void **state)
{
	struct fixture *f = *state;
	struct er_spi_req req;
	struct er_kernel_event ev;
	struct er_err err = {0};
	uint32_t spi = 0;

	/* larval states live net.core.xfrm_acq_expires seconds */
	assert_int_equal(netns_sh("sysctl -qw net.core.xfrm_acq_expires=2"),
			 0);
	memset(&req, 0, sizeof(req));
	assert_int_equal(er_addr_parse(&req.src, "192.0.2.2", NULL), 0);
	assert_int_equal(er_addr_parse(&req.dst, "192.0.2.1", NULL), 0);
	req.proto = IPPROTO_ESP;
	req.mode = ER_MODE_TUNNEL;
	req.reqid = ER_REQID_BASE + 30;
	assert_int_equal(er_kernel_spi_alloc(&f->k, &req, &spi, &err), 0);
	assert_int_equal(netns_wait_event(f->x, ER_KEV_SA_EXPIRE, &ev, 8000,
					  NULL),
			 1);
	assert_true(ev.hard);
	assert_int_equal(ev.sa.spi, spi);
	assert_int_equal(ev.reqid, ER_REQID_BASE + 30);
}

static void
test_changes_by_others_reported_own_not(void **state)
{
	struct fixture *f = *state;
	struct er_policy p;
	struct er_kernel_event ev;
	struct er_xfrm_stats st;
	struct er_spi_req req;
	struct er_err err = {0};
	char s[ER_SELECTOR_STRLEN];
	unsigned others = 0;
	uint32_t spi;

	/* ours: the ND bypass from er_xfrm_new() and this one */
	memset(&p, 0, sizeof(p));
	netns_selector(&p.sel, "10.9.0.0/16", "203.0.113.0/24", 0, NULL, NULL);
	p.action = ER_ACTION_PASS;
	assert_int_equal(er_kernel_policy_add(&f->k, &p, &err), 0);
	assert_int_equal(er_kernel_policy_del(&f->k, p.dir, &p.sel, &err), 0);
	assert_int_equal(netns_wait_event(f->x, ER_KEV_POLICY_CHANGED, &ev,
					  300, &others),
			 0);
	assert_int_equal(others, 0);
	er_xfrm_stats_get(f->x, &st);
	assert_int_equal(st.own, ER_XFRM_ND_BYPASS_COUNT + 2);
	/* somebody else's */
	assert_int_equal(netns_sh("ip xfrm policy add src 198.51.100.0/24 "
				  "dst 203.0.113.0/24 dir out action block"),
			 0);
	assert_int_equal(netns_wait_event(f->x, ER_KEV_POLICY_CHANGED, &ev,
					  3000, NULL),
			 1);
	assert_false(ev.deleted);
	er_selector_format(&ev.sel, s, sizeof(s));
	assert_string_equal(s, "198.51.100.0/24 -> 203.0.113.0/24");
	assert_int_equal(netns_sh("ip xfrm policy delete src 198.51.100.0/24 "
				  "dst 203.0.113.0/24 dir out"),
			 0);
	assert_int_equal(netns_wait_event(f->x, ER_KEV_POLICY_CHANGED, &ev,
					  3000, NULL),
			 1);
	assert_true(ev.deleted);
	/* someone deletes our larval SA */
	memset(&req, 0, sizeof(req));
	assert_int_equal(er_addr_parse(&req.src, "192.0.2.2", NULL), 0);
	assert_int_equal(er_addr_parse(&req.dst, "192.0.2.1", NULL), 0);
	req.proto = IPPROTO_ESP;
	req.reqid = ER_REQID_BASE + 31;
	assert_int_equal(er_kernel_spi_alloc(&f->k, &req, &spi, &err), 0);
	assert_int_equal(netns_sh("ip xfrm state delete src 192.0.2.2 "
				  "dst 192.0.2.1 proto esp spi 0x%08x",
				  spi),
			 0);
	assert_int_equal(netns_wait_event(f->x, ER_KEV_SA_CHANGED, &ev, 3000,
					  NULL),
			 1);
	assert_true(ev.deleted);
	assert_int_equal(ev.sa.spi, spi);
	assert_int_equal(ev.reqid, ER_REQID_BASE + 31);
	/* a flush: everything may be gone, resync */
	assert_int_equal(netns_sh("ip xfrm policy flush"), 0);
	assert_int_equal(netns_wait_event(f->x, ER_KEV_LOST, &ev, 3000, NULL),
			 1);
}

/* ------------------------------------------------------------------ */
/* Malformed messages on the multicast group                           */

static size_t
acquire_bytes(uint8_t *buf)
{
	struct xfrm_user_acquire ua;
	struct xfrm_user_tmpl ut;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = XFRM_MSG_ACQUIRE;
	memset(&ua, 0, sizeof(ua));
	ua.id.proto = IPPROTO_ESP;
	ua.id.daddr.a4 = htonl(0xcb007101);	/* 203.0.113.1 */
	ua.sel.family = AF_INET;
	ua.sel.saddr.a4 = htonl(0xc6336401);	/* 198.51.100.1 */
	ua.sel.daddr.a4 = htonl(0xcb007101);
	ua.sel.prefixlen_s = ua.sel.prefixlen_d = 32;
	ua.policy.sel = ua.sel;
	ua.policy.sel.prefixlen_d = 24;
	ua.policy.sel.daddr.a4 = htonl(0xcb007100);
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(ua)), &ua, sizeof(ua));
	memset(&ut, 0, sizeof(ut));
	ut.family = AF_INET;
	ut.id.proto = IPPROTO_ESP;
	ut.reqid = ER_REQID_BASE + 50;
	mnl_attr_put(nlh, XFRMA_TMPL, sizeof(ut), &ut);
	return nlh->nlmsg_len;
}

/* Multicast @len bytes to the ACQUIRE group as another program could
 * (root may); the unicast half goes to a port nobody has, so the kernel
 * never acts on it. */
static void
inject(int fd, const uint8_t *buf, size_t len)
{
	struct sockaddr_nl to = {.nl_family = AF_NETLINK,
				 .nl_pid = 0x7ffffff0,
				 .nl_groups = 1u << (XFRMNLGRP_ACQUIRE - 1)};

	(void)sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to));
}

static void
test_malformed_messages_skipped(void **state)
{
	struct fixture *f = *state;
	struct er_kernel_event ev;
	struct er_xfrm_stats st;
	uint8_t good[1024], bad[1024];
	size_t len;
	unsigned others = 0;
	int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_XFRM);

	assert_true(fd >= 0);
	len = acquire_bytes(good);
	/* 1: the datagram ends before the message does */
	inject(fd, good, len - 20);
	/* 2: the header agrees, but the template is cut short */
	memcpy(bad, good, len);
	((struct nlmsghdr *)(void *)bad)->nlmsg_len = (uint32_t)len - 20;
	inject(fd, bad, len - 20);
	/* 3: an attribute longer than the message */
	memcpy(bad, good, len);
	((struct nlattr *)(void *)(bad + MNL_NLMSG_HDRLEN +
				   sizeof(struct xfrm_user_acquire)))
		->nla_len = 0x400;
	inject(fd, bad, len);
	/* 4: a runt */
	inject(fd, good, 8);
	/* 5: the fixed part is nonsense (family 0xffff) */
	memcpy(bad, good, len);
	memset(bad + MNL_NLMSG_HDRLEN, 0xff, sizeof(struct xfrm_user_acquire));
	inject(fd, bad, len);
	/* and a good one */
	inject(fd, good, len);
	close(fd);
	assert_int_equal(netns_wait_event(f->x, ER_KEV_ACQUIRE, &ev, 3000,
					  &others),
			 1);
	assert_int_equal(ev.reqid, ER_REQID_BASE + 50);
	assert_int_equal(others, 0);
	er_xfrm_stats_get(f->x, &st);
	assert_int_equal(st.malformed, 5);
	assert_true(f->log.count[LOG_WARNING] >= 5);
	/* nothing else came */
	assert_int_equal(netns_wait_event(f->x, ER_KEV_ACQUIRE, &ev, 200,
					  &others),
			 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_acquire_ipv4, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_acquire_ipv6, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_acquire_tunnel_trap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_hold_keeps_the_trap_template, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_policy_hard_lifetime_polexpire, setup_short_slack,
			teardown),
		cmocka_unit_test_setup_teardown(test_larval_sa_hard_expire,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_changes_by_others_reported_own_not, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_malformed_messages_skipped,
						setup, teardown),
	};

	netns_main_check(150);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
