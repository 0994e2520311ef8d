// SPDX-License-Identifier: MIT
/*
 * Lost acquires, in a network namespace of its own.  The backend's event
 * socket gets a tiny receive buffer; a thousand flows hit a trap at once;
 * the socket overflows and the backend reports ER_KEV_LOST; then
 * er_xfrm_larval_dump() finds every one of the thousand flows among the
 * kernel's larval acquire states, with its reqid and its trap, as if each
 * ACQUIRE had arrived.
 *
 * The kernel creates a larval state only when its ACQUIRE reached at least
 * one listener; with a single listener whose buffer is full the acquire
 * fails and the flow simply triggers again on its next packet.  The loss
 * that needs the larval dump is the one where another listener (a second
 * key manager, `ip xfrm monitor`) got the message and we did not: this
 * test plays that other listener with a socket it never reads.
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
#include <unistd.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>

#include "eroute/engine.h"
#include "netns.h"

#define FLOWS 1000

static uint32_t
flow_dst(unsigned i)
{
	/* 10.9.1.2 .. 10.9.5.201 */
	return 0x0a090000u | (1u + i / 200u) << 8 | (2u + i % 200u);
}

struct recovered {
	bool seen[FLOWS];
	unsigned n, bad;
	uint32_t reqid;
};

static int
larval_cb(void *ctx, const struct er_kernel_event *ev)
{
	struct recovered *r = ctx;
	char s[ER_SELECTOR_STRLEN];
	uint32_t d = er_addr_v4(&ev->pkt.dst);
	unsigned i = ((d >> 8 & 0xff) - 1) * 200 + ((d & 0xff) - 2);

	er_selector_format(&ev->policy_sel, s, sizeof(s));
	if (ev->type != ER_KEV_ACQUIRE || ev->reqid != r->reqid ||
	    strcmp(s, "10.9.0.0/16 -> 10.9.0.0/16") != 0 ||
	    ev->pkt.proto != IPPROTO_UDP || i >= FLOWS ||
	    flow_dst(i) != d) {
		r->bad++;
		return 0;
	}
	if (!r->seen[i])
		r->n++;
	r->seen[i] = true;
	return 0;
}

static void
test_enobufs_then_larval_dump_recovers_every_flow(void **state)
{
	struct er_xfrm_config cfg = {0};
	struct er_kernel_event ev;
	struct er_xfrm_stats st;
	struct er_policy p;
	struct er_err err = {0};
	struct sockaddr_in src, dst;
	struct recovered *r = calloc(1, sizeof(*r));
	struct er_xfrm *x;
	struct er_kernel k;
	struct mnl_socket *other;
	unsigned i, lost = 0, acquires = 0, group = XFRMNLGRP_ACQUIRE;
	int fd, big = 64 << 20, ret;

	(void)state;
	assert_non_null(r);
	assert_int_equal(netns_sh("ip link add v0 type veth peer name v1 && "
				  "ip link set v0 up && ip link set v1 up && "
				  "ip addr add 10.9.0.1/16 dev v0"),
			 0);
	cfg.rcvbuf = 1;		/* the kernel's minimum */
	cfg.no_nd_bypass = true;
	x = er_xfrm_new(&cfg, &err);
	if (x == NULL)
		fail_msg("er_xfrm_new: %s", err.msg);
	k = er_xfrm_kernel(x);
	/* the other key manager, which hears everything */
	other = mnl_socket_open(NETLINK_XFRM);
	assert_non_null(other);
	assert_int_equal(mnl_socket_bind(other, 0, MNL_SOCKET_AUTOPID), 0);
	assert_int_equal(setsockopt(mnl_socket_get_fd(other), SOL_SOCKET,
				    SO_RCVBUFFORCE, &big, sizeof(big)),
			 0);
	assert_int_equal(mnl_socket_setsockopt(other, NETLINK_ADD_MEMBERSHIP,
					       &group, sizeof(group)),
			 0);

	memset(&p, 0, sizeof(p));
	netns_selector(&p.sel, "10.9.0.0/16", "10.9.0.0/16", 0, NULL, NULL);
	p.action = ER_ACTION_TRAP;
	r->reqid = p.reqid = ER_REQID_BASE + 77;
	p.owner = 1;
	assert_int_equal(er_kernel_policy_add(&k, &p, &err), 0);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x0a090001);
	src.sin_port = htons(41000);
	assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	for (i = 0; i < FLOWS; i++) {
		memset(&dst, 0, sizeof(dst));
		dst.sin_family = AF_INET;
		dst.sin_addr.s_addr = htonl(flow_dst(i));
		dst.sin_port = htons(9);
		(void)sendto(fd, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&dst,
			     sizeof(dst));
	}
	close(fd);

	while ((ret = er_kernel_poll_event(&k, &ev)) == 1) {
		if (ev.type == ER_KEV_LOST)
			lost++;
		else if (ev.type == ER_KEV_ACQUIRE)
			acquires++;
	}
	assert_int_equal(ret, 0);
	er_xfrm_stats_get(x, &st);
	fprintf(stderr, "%u acquires received, %u lost reports\n", acquires,
		lost);
	assert_true(lost >= 1);
	assert_int_equal(st.lost, lost);
	assert_true(acquires < FLOWS);

	assert_int_equal(er_xfrm_larval_dump(x, larval_cb, r, &err), 0);
	assert_int_equal(r->bad, 0);
	assert_int_equal(r->n, FLOWS);

	mnl_socket_close(other);
	er_xfrm_free(x);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_enobufs_then_larval_dump_recovers_every_flow,
			netns_fresh, NULL),
	};

	netns_main_check(120);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
