// SPDX-License-Identifier: MIT
/*
 * The XFRM codec, with no kernel: round trips (encode, decode, compare) for
 * policies of every action, both families, protocols, ports, directions and
 * templates, and for SAs; golden bytes for one policy and one SA; the
 * action mapping as bytes; the marker and who owns what; kernel messages
 * built here as the kernel builds them (ACQUIRE, EXPIRE, POLEXPIRE,
 * DELPOLICY, DELSA, FLUSH, extended ACKs) turned into events; and every
 * decoder fed each message truncated at every byte and randomly corrupted,
 * which must be rejected (or, where the damage leaves a well-formed
 * message, decoded sanely) and never read out of bounds -- this runs under
 * ASan and UBSan in CI.
 *
 * Golden bytes: written out by hand, field by field, from the kernel's
 * struct layouts in <linux/xfrm.h> on x86_64 (little-endian; offsets
 * checked by the static assertions below), not produced by the encoder.
 * The policy was cross-checked with strace against the bytes iproute2 6.1
 * sends for `ip xfrm policy add src 10.1.0.0/16 dst 10.2.0.0/16 proto tcp
 * dport 443 dir out priority 1000 tmpl src 192.0.2.1 dst 192.0.2.2 proto
 * esp reqid 0x3e800005 mode tunnel`: the payloads are identical but for
 * lft.soft_packet_limit, where eroute puts its marker.
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

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/ipsec.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>

#include "eroute/engine.h"
#include "eroute/rng.h"
#include "xfrm_codec.h"

/* The layout the golden bytes are written against. */
_Static_assert(sizeof(struct xfrm_selector) == 56, "selector");
_Static_assert(offsetof(struct xfrm_selector, family) == 40, "sel.family");
_Static_assert(sizeof(struct xfrm_userpolicy_info) == 168, "policy info");
_Static_assert(offsetof(struct xfrm_userpolicy_info, lft) == 56, "lft");
_Static_assert(offsetof(struct xfrm_userpolicy_info, priority) == 152,
	       "priority");
_Static_assert(offsetof(struct xfrm_userpolicy_info, dir) == 160, "dir");
_Static_assert(sizeof(struct xfrm_user_tmpl) == 64, "tmpl");
_Static_assert(offsetof(struct xfrm_user_tmpl, saddr) == 28, "tmpl.saddr");
_Static_assert(offsetof(struct xfrm_user_tmpl, reqid) == 44, "tmpl.reqid");
_Static_assert(sizeof(struct xfrm_usersa_info) == 224, "sa info");
_Static_assert(offsetof(struct xfrm_usersa_info, reqid) == 208, "sa.reqid");
_Static_assert(sizeof(struct xfrm_algo_aead) == 72, "aead");

#define BUF 4096

static struct er_xfrm_codec codec;

static int
setup(void **state)
{
	(void)state;
	er_xfrm_codec_init(&codec, 0, 0, 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Builders                                                            */

static void
sel_make(struct er_selector *sel, const char *src, const char *dst,
	 uint8_t proto, const char *sport, const char *dport)
{
	struct er_prefix s, d;
	struct er_port_range sp, dp;

	assert_true(er_prefix_parse(&s, src, NULL) >= 0);
	assert_true(er_prefix_parse(&d, dst, NULL) >= 0);
	assert_int_equal(er_port_range_parse(&sp, sport ? sport : "any", NULL),
			 0);
	assert_int_equal(er_port_range_parse(&dp, dport ? dport : "any", NULL),
			 0);
	assert_int_equal(er_selector_init(sel, &s, &d, proto, &sp, &dp, NULL),
			 0);
}

static void
addr_make(struct er_addr *a, const char *s)
{
	assert_int_equal(er_addr_parse(a, s, NULL), 0);
}

static void
assert_sel_equal(const struct er_selector *a, const struct er_selector *b)
{
	char sa[ER_SELECTOR_STRLEN], sb[ER_SELECTOR_STRLEN];

	er_selector_format(a, sa, sizeof(sa));
	er_selector_format(b, sb, sizeof(sb));
	assert_string_equal(sa, sb);
	assert_true(er_selector_equal(a, b));
}

static void
assert_policy_equal(const struct er_policy *a, const struct er_policy *b)
{
	unsigned i;

	assert_int_equal(a->dir, b->dir);
	assert_sel_equal(&a->sel, &b->sel);
	assert_int_equal(a->priority, b->priority);
	assert_int_equal(a->action, b->action);
	assert_int_equal(a->reqid, b->reqid);
	assert_int_equal(a->owner, b->owner);
	assert_int_equal(a->lifetime, b->lifetime);
	assert_int_equal(a->persist, b->persist);
	assert_int_equal(a->ntmpl, b->ntmpl);
	for (i = 0; i < a->ntmpl; i++) {
		assert_int_equal(a->tmpl[i].proto, b->tmpl[i].proto);
		assert_int_equal(a->tmpl[i].mode, b->tmpl[i].mode);
		assert_true(er_addr_equal(&a->tmpl[i].src, &b->tmpl[i].src));
		assert_true(er_addr_equal(&a->tmpl[i].dst, &b->tmpl[i].dst));
		assert_int_equal(a->tmpl[i].spi, b->tmpl[i].spi);
		assert_int_equal(a->tmpl[i].reqid, b->tmpl[i].reqid);
	}
}

/* The kernel's view of a policy message: its fixed part. */
static struct xfrm_userpolicy_info
policy_info_of(const uint8_t *buf)
{
	struct xfrm_userpolicy_info pi;

	memcpy(&pi, buf + MNL_NLMSG_HDRLEN, sizeof(pi));
	return pi;
}

/* ------------------------------------------------------------------ */
/* Policies: round trips                                               */

struct pcase {
	const char *src, *dst;
	uint8_t proto;
	const char *sport, *dport;
	enum er_dir dir;
	enum er_action action;
	unsigned ntmpl;
	struct {
		uint8_t proto;
		enum er_mode mode;
		const char *src, *dst;
		uint32_t spi;
	} tmpl[ER_TMPL_MAX];
	uint64_t lifetime;
	bool persist;
	uint32_t owner;
};

#define P(s, d, pr, sp, dp, di, ac)                                       \
	.src = (s), .dst = (d), .proto = (pr), .sport = (sp), .dport = (dp), \
	.dir = (di), .action = (ac)
#define T(pr, mo, s, d, sp)                                                  \
	{                                                                    \
		.proto = (pr), .mode = (mo), .src = (s), .dst = (d),         \
		.spi = (sp)                                                  \
	}

static const struct pcase pcases[] = {
	{P("10.1.0.0/16", "10.2.0.0/16", 0, 0, 0, ER_DIR_OUT, ER_ACTION_PASS)},
	{P("10.1.0.0/16", "10.2.0.0/16", 0, 0, 0, ER_DIR_IN, ER_ACTION_DROP)},
	{P("10.1.0.0/16", "10.2.0.0/16", 0, 0, 0, ER_DIR_FWD,
	   ER_ACTION_REJECT)},
	{P("10.1.0.0/16", "10.2.0.0/16", 0, 0, 0, ER_DIR_OUT, ER_ACTION_TRAP)},
	{P("192.0.2.7/32", "198.51.100.9/32", IPPROTO_TCP, 0, 0, ER_DIR_OUT,
	   ER_ACTION_HOLD),
	 .lifetime = 900},
	{P("10.1.0.0/16", "10.2.0.0/16", IPPROTO_UDP, "500", "4500",
	   ER_DIR_OUT, ER_ACTION_IPSEC),
	 .ntmpl = 1,
	 .tmpl = {T(IPPROTO_ESP, ER_MODE_TUNNEL, "192.0.2.1", "192.0.2.2",
		    0)}},
	{P("10.2.0.0/16", "10.1.0.0/16", IPPROTO_UDP, "4500", "500",
	   ER_DIR_IN, ER_ACTION_IPSEC),
	 .ntmpl = 2,
	 .tmpl = {T(IPPROTO_COMP, ER_MODE_TUNNEL, "192.0.2.2", "192.0.2.1",
		    0x1234),
		  T(IPPROTO_ESP, ER_MODE_TUNNEL, "192.0.2.2", "192.0.2.1",
		    0)}},
	{P("10.2.0.0/16", "10.1.0.0/16", IPPROTO_TCP, "1024-2047", "443",
	   ER_DIR_FWD, ER_ACTION_IPSEC),
	 .ntmpl = 3,
	 .tmpl = {T(IPPROTO_COMP, ER_MODE_TRANSPORT, NULL, NULL, 0),
		  T(IPPROTO_ESP, ER_MODE_TRANSPORT, NULL, NULL, 0x100),
		  T(IPPROTO_AH, ER_MODE_TUNNEL, "%any", "192.0.2.1", 0)}},
	{P("2001:db8:1::/48", "2001:db8:2::/48", 0, 0, 0, ER_DIR_OUT,
	   ER_ACTION_PASS),
	 .persist = true},
	{P("2001:db8:1::/48", "2001:db8:2::/48", IPPROTO_SCTP, "0-255", 0,
	   ER_DIR_IN, ER_ACTION_DROP),
	 .lifetime = 1},
	{P("2001:db8:1::1/128", "2001:db8:2::/64", IPPROTO_ICMPV6, 0, 0,
	   ER_DIR_FWD, ER_ACTION_REJECT),
	 .lifetime = 3600},
	{P("2001:db8:1::/48", "2001:db8:2::/48", 0, 0, 0, ER_DIR_OUT,
	   ER_ACTION_TRAP),
	 .ntmpl = 1,
	 .tmpl = {T(IPPROTO_ESP, ER_MODE_TUNNEL, "2001:db8::1", "2001:db8::2",
		    0)}},
	{P("2001:db8:1::/48", "2001:db8:2::/48", IPPROTO_UDP, 0, "53",
	   ER_DIR_OUT, ER_ACTION_HOLD)},
	{P("2001:db8:2::/48", "2001:db8:1::/48", 0, 0, 0, ER_DIR_IN,
	   ER_ACTION_IPSEC),
	 .ntmpl = 1,
	 .tmpl = {T(IPPROTO_AH, ER_MODE_TUNNEL, "192.0.2.2", "192.0.2.1",
		    0)}},
	{P("0.0.0.0/0", "0.0.0.0/0", 0, 0, 0, ER_DIR_OUT, ER_ACTION_DROP),
	 .owner = 42},
	{P("::/0", "::/0", IPPROTO_GRE, 0, 0, ER_DIR_FWD, ER_ACTION_PASS),
	 .owner = ER_OWNER_FOREIGN - 1},
};

static void
pcase_policy(const struct pcase *c, size_t idx, struct er_policy *p)
{
	unsigned i;

	memset(p, 0, sizeof(*p));
	sel_make(&p->sel, c->src, c->dst, c->proto, c->sport, c->dport);
	p->dir = c->dir;
	p->action = c->action;
	p->priority =
		er_priority_default(&p->sel, ER_PRIO_CONN) - (uint32_t)idx;
	if (c->action >= ER_ACTION_TRAP)
		p->reqid = ER_REQID_BASE + 17 + (uint32_t)idx;
	p->ntmpl = (uint8_t)c->ntmpl;
	for (i = 0; i < c->ntmpl; i++) {
		p->tmpl[i].proto = c->tmpl[i].proto;
		p->tmpl[i].mode = c->tmpl[i].mode;
		if (c->tmpl[i].src != NULL &&
		    strcmp(c->tmpl[i].src, "%any") != 0)
			addr_make(&p->tmpl[i].src, c->tmpl[i].src);
		if (c->tmpl[i].dst != NULL)
			addr_make(&p->tmpl[i].dst, c->tmpl[i].dst);
		p->tmpl[i].spi = c->tmpl[i].spi;
		p->tmpl[i].reqid = p->reqid;
	}
	p->lifetime = c->lifetime;
	p->persist = c->persist;
	p->owner = c->owner ? c->owner : (uint32_t)idx + 1;
}

static void
test_policy_round_trip_every_case(void **state)
{
	uint8_t buf[BUF];
	struct er_policy in, out;
	struct er_err err = {0};
	size_t i;
	int len;

	(void)state;
	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		pcase_policy(&pcases[i], i, &in);
		len = er_xfrm_policy_encode(&codec, buf, sizeof(buf),
					    i % 2 ? XFRM_MSG_UPDPOLICY
						  : XFRM_MSG_NEWPOLICY,
					    (uint32_t)i, &in, &err);
		if (len < 0)
			fail_msg("case %zu: %s", i, err.msg);
		assert_int_equal(er_xfrm_policy_decode(&codec, buf,
						       (size_t)len, &out),
				 0);
		assert_policy_equal(&in, &out);
	}
}

/* Every action, both families, every direction: the full cross product. */
static void
test_policy_round_trip_cross_product(void **state)
{
	static const char *fam[2][2] = {{"10.0.0.0/8", "192.0.2.0/24"},
					{"2001:db8::/32", "2001:db8:ff::/48"}};
	uint8_t buf[BUF];
	struct er_policy in, out;
	struct er_err err = {0};
	unsigned f, d, a;
	int len;

	(void)state;
	for (f = 0; f < 2; f++) {
		for (d = 0; d < ER_DIR_COUNT; d++) {
			for (a = 0; a < ER_ACTION_COUNT; a++) {
				memset(&in, 0, sizeof(in));
				sel_make(&in.sel, fam[f][0], fam[f][1],
					 IPPROTO_TCP, "80", "32768-65535");
				in.dir = (enum er_dir)d;
				in.action = (enum er_action)a;
				in.priority = 1000 + a;
				in.reqid = a >= ER_ACTION_TRAP
						   ? ER_REQID_BASE + a
						   : 0;
				in.owner = 5;
				len = er_xfrm_policy_encode(
					&codec, buf, sizeof(buf),
					XFRM_MSG_NEWPOLICY, 1, &in, &err);
				if (len < 0)
					fail_msg("%s", err.msg);
				assert_int_equal(
					er_xfrm_policy_decode(&codec, buf,
							      (size_t)len,
							      &out),
					0);
				assert_policy_equal(&in, &out);
			}
		}
	}
}

/* What each eroute action is in XFRM (docs/xfrm.md's table, as bytes). */
static void
test_policy_action_mapping(void **state)
{
	static const struct {
		enum er_action action;
		uint8_t xaction;
		bool tmpl;
	} map[] = {
		{ER_ACTION_PASS, XFRM_POLICY_ALLOW, false},
		{ER_ACTION_DROP, XFRM_POLICY_BLOCK, false},
		{ER_ACTION_REJECT, XFRM_POLICY_BLOCK, false},
		{ER_ACTION_TRAP, XFRM_POLICY_ALLOW, true},
		{ER_ACTION_HOLD, XFRM_POLICY_ALLOW, true},
		{ER_ACTION_IPSEC, XFRM_POLICY_ALLOW, true},
	};
	uint8_t buf[BUF];
	struct xfrm_userpolicy_info pi;
	struct xfrm_user_tmpl ut;
	struct er_policy p;
	size_t i;
	int len;

	(void)state;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		memset(&p, 0, sizeof(p));
		sel_make(&p.sel, "10.1.0.0/16", "10.2.0.0/16", 0, 0, 0);
		p.action = map[i].action;
		p.reqid = ER_REQID_BASE + 3;
		if (!map[i].tmpl)
			p.reqid = 0;
		len = er_xfrm_policy_encode(&codec, buf, sizeof(buf),
					    XFRM_MSG_NEWPOLICY, 1, &p, NULL);
		assert_true(len > 0);
		pi = policy_info_of(buf);
		assert_int_equal(pi.action, map[i].xaction);
		assert_int_equal(pi.dir, XFRM_POLICY_OUT);
		/* A template (transport ESP, addresses from the packet, the
		 * reqid) exactly when the action asks for SAs. */
		if (map[i].tmpl) {
			assert_int_equal(len, MNL_NLMSG_HDRLEN + sizeof(pi) +
						      MNL_ATTR_HDRLEN +
						      sizeof(ut));
			memcpy(&ut, buf + MNL_NLMSG_HDRLEN + sizeof(pi) +
					    MNL_ATTR_HDRLEN,
			       sizeof(ut));
			assert_int_equal(ut.id.proto, IPPROTO_ESP);
			assert_int_equal(ut.mode, XFRM_MODE_TRANSPORT);
			assert_int_equal(ut.reqid, ER_REQID_BASE + 3);
			assert_int_equal(ut.family, AF_INET);
		} else {
			assert_int_equal(len, MNL_NLMSG_HDRLEN + sizeof(pi));
		}
		/* No limit the kernel enforces on a policy is touched. */
		assert_true(pi.lft.hard_byte_limit == XFRM_INF);
		assert_true(pi.lft.hard_packet_limit == XFRM_INF);
		assert_int_equal(pi.lft.hard_add_expires_seconds, 0);
		assert_int_equal(pi.lft.soft_add_expires_seconds, 0);
	}
}

static void
test_policy_marker_and_lifetime_fields(void **state)
{
	uint8_t buf[BUF];
	struct xfrm_userpolicy_info pi;
	struct er_xfrm_codec c30;
	struct er_policy p, out;
	enum er_action a;
	bool persist;
	uint32_t owner;

	(void)state;
	memset(&p, 0, sizeof(p));
	sel_make(&p.sel, "10.1.0.0/16", "10.2.0.0/16", 0, 0, 0);
	p.action = ER_ACTION_REJECT;
	p.owner = 0xdeadbeef;
	p.persist = true;
	p.lifetime = 900;
	assert_true(er_xfrm_policy_encode(&codec, buf, sizeof(buf),
					  XFRM_MSG_NEWPOLICY, 1, &p, NULL) > 0);
	pi = policy_info_of(buf);
	assert_int_equal(er_xfrm_marker_decode(pi.lft.soft_packet_limit, &a,
					       &persist, &owner),
			 0);
	assert_int_equal(a, ER_ACTION_REJECT);
	assert_true(persist);
	assert_int_equal(owner, 0xdeadbeef);
	assert_int_equal(pi.lft.soft_byte_limit, 900);
	/* The kernel's timer is the lifetime (the engine's lifetimes carry
	 * their own margin), plus a configured slack. */
	assert_int_equal(pi.lft.hard_add_expires_seconds, 900);
	er_xfrm_codec_init(&c30, 0, 0, 30);
	assert_true(er_xfrm_policy_encode(&c30, buf, sizeof(buf),
					  XFRM_MSG_NEWPOLICY, 1, &p, NULL) > 0);
	pi = policy_info_of(buf);
	assert_int_equal(pi.lft.hard_add_expires_seconds, 930);
	assert_int_equal(pi.lft.soft_byte_limit, 900);
	assert_int_equal(er_xfrm_policy_decode(&c30, buf,
					       ((struct nlmsghdr *)(void *)buf)
						       ->nlmsg_len,
					       &out),
			 0);
	assert_int_equal(out.lifetime, 900);
}

static void
test_marker_round_trip_and_rejects_others(void **state)
{
	struct er_rng rng;
	enum er_action a;
	bool persist;
	uint32_t owner;
	unsigned act, i, hits = 0;

	(void)state;
	for (act = 0; act < ER_ACTION_COUNT; act++) {
		uint64_t m = er_xfrm_marker_encode((enum er_action)act,
						   act & 1, act * 77);

		assert_int_equal(er_xfrm_marker_decode(m, &a, &persist,
						       &owner),
				 0);
		assert_int_equal(a, act);
		assert_int_equal(persist, act & 1);
		assert_int_equal(owner, act * 77);
	}
	assert_int_equal(er_xfrm_marker_decode(XFRM_INF, &a, &persist, &owner),
			 -ENOENT);
	assert_int_equal(er_xfrm_marker_decode(0, &a, &persist, &owner),
			 -ENOENT);
	/* a marker with an action beyond the enum */
	assert_int_equal(er_xfrm_marker_decode(ER_XFRM_MARKER_MAGIC << 40 |
						       1ULL << 36 | 7ULL << 33,
					       &a, &persist, &owner),
			 -ENOENT);
	er_rng_init(&rng, 7);
	for (i = 0; i < 100000; i++) {
		if (er_xfrm_marker_decode(er_rng_next(&rng), &a, &persist,
					  &owner) == 0)
			hits++;
	}
	assert_int_equal(hits, 0);
}

static void
test_policy_ports_must_be_blocks(void **state)
{
	uint8_t buf[BUF];
	struct er_policy p, out;
	struct er_err err = {0};
	int len;

	(void)state;
	memset(&p, 0, sizeof(p));
	sel_make(&p.sel, "10.1.0.0/16", "10.2.0.0/16", IPPROTO_TCP,
		 "1000-2000", 0);
	p.action = ER_ACTION_PASS;
	assert_int_equal(er_xfrm_policy_encode(&codec, buf, sizeof(buf),
					       XFRM_MSG_NEWPOLICY, 1, &p,
					       &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "policy out 10.1.0.0/16 -> "
					"10.2.0.0/16"));
	assert_non_null(strstr(err.msg, "1000-2000"));
	/* an aligned block is fine, and comes back the same */
	sel_make(&p.sel, "10.1.0.0/16", "10.2.0.0/16", IPPROTO_TCP,
		 "1024-2047", "8-15");
	len = er_xfrm_policy_encode(&codec, buf, sizeof(buf),
				    XFRM_MSG_NEWPOLICY, 1, &p, &err);
	assert_true(len > 0);
	assert_int_equal(er_xfrm_policy_decode(&codec, buf, (size_t)len, &out),
			 0);
	assert_int_equal(out.sel.sport.lo, 1024);
	assert_int_equal(out.sel.sport.hi, 2047);
	assert_int_equal(out.sel.dport.lo, 8);
	assert_int_equal(out.sel.dport.hi, 15);
}

static void
test_policy_encode_refuses_what_xfrm_cannot_say(void **state)
{
	uint8_t buf[BUF];
	struct er_policy p;
	struct er_err err = {0};

	(void)state;
	memset(&p, 0, sizeof(p));
	sel_make(&p.sel, "10.1.0.0/16", "10.2.0.0/16", 0, 0, 0);
	/* pass with a template */
	p.action = ER_ACTION_PASS;
	p.ntmpl = 1;
	p.tmpl[0].proto = IPPROTO_ESP;
	assert_int_equal(er_xfrm_policy_encode(&codec, buf, sizeof(buf),
					       XFRM_MSG_NEWPOLICY, 1, &p,
					       &err),
			 -EINVAL);
	/* tunnel without an endpoint */
	p.action = ER_ACTION_IPSEC;
	p.tmpl[0].mode = ER_MODE_TUNNEL;
	assert_int_equal(er_xfrm_policy_encode(&codec, buf, sizeof(buf),
					       XFRM_MSG_NEWPOLICY, 1, &p,
					       &err),
			 -EINVAL);
	/* a protocol that is no IPsec */
	p.tmpl[0].mode = ER_MODE_TRANSPORT;
	p.tmpl[0].proto = IPPROTO_UDP;
	assert_int_equal(er_xfrm_policy_encode(&codec, buf, sizeof(buf),
					       XFRM_MSG_NEWPOLICY, 1, &p,
					       &err),
			 -EINVAL);
	/* too small a buffer */
	p.tmpl[0].proto = IPPROTO_ESP;
	assert_int_equal(er_xfrm_policy_encode(&codec, buf, 100,
					       XFRM_MSG_NEWPOLICY, 1, &p,
					       &err),
			 -EMSGSIZE);
	assert_int_equal(er_xfrm_policy_encode(&codec, buf, 190,
					       XFRM_MSG_NEWPOLICY, 1, &p,
					       &err),
			 -EMSGSIZE);
	/* mixed families */
	memset(&p, 0, sizeof(p));
	p.sel.src.addr.family = AF_INET;
	p.sel.dst.addr.family = AF_INET6;
	assert_int_equal(er_xfrm_policy_encode(&codec, buf, sizeof(buf),
					       XFRM_MSG_NEWPOLICY, 1, &p,
					       &err),
			 -EINVAL);
}

static void
test_policy_id_encode(void **state)
{
	uint8_t buf[BUF];
	struct xfrm_userpolicy_id id;
	struct er_selector sel;
	int len;

	(void)state;
	sel_make(&sel, "2001:db8:1::/48", "2001:db8:2::/48", IPPROTO_UDP,
		 "500", 0);
	len = er_xfrm_policy_id_encode(buf, sizeof(buf), XFRM_MSG_DELPOLICY,
				       9, ER_DIR_FWD, &sel, NULL);
	assert_int_equal(len, MNL_NLMSG_HDRLEN + sizeof(id));
	memcpy(&id, buf + MNL_NLMSG_HDRLEN, sizeof(id));
	assert_int_equal(id.dir, XFRM_POLICY_FWD);
	assert_int_equal(id.sel.family, AF_INET6);
	assert_int_equal(id.sel.prefixlen_s, 48);
	assert_int_equal(ntohs(id.sel.sport), 500);
	assert_int_equal(ntohs(id.sel.sport_mask), 0xffff);
	assert_int_equal(id.sel.dport_mask, 0);
	assert_int_equal(id.index, 0);
	assert_int_equal(er_xfrm_policy_id_encode(buf, sizeof(buf),
						  XFRM_MSG_NEWPOLICY, 9,
						  ER_DIR_FWD, &sel, NULL),
			 -EINVAL);
}

/* ------------------------------------------------------------------ */
/* Who owns a policy                                                   */

/* A policy message as another program (or the kernel) writes it. */
static size_t
foreign_policy(uint8_t *buf, uint8_t action, uint32_t reqid, uint64_t spl,
	       bool mark)
{
	struct xfrm_userpolicy_info pi;
	struct xfrm_user_tmpl ut;
	struct xfrm_mark m = {1, 0xff};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = XFRM_MSG_NEWPOLICY;
	memset(&pi, 0, sizeof(pi));
	pi.sel.family = AF_INET;
	pi.sel.prefixlen_s = pi.sel.prefixlen_d = 24;
	pi.sel.saddr.a4 = htonl(0xc0000200);
	pi.sel.daddr.a4 = htonl(0xc6336400);
	pi.lft.soft_byte_limit = pi.lft.hard_byte_limit = XFRM_INF;
	pi.lft.soft_packet_limit = spl;
	pi.lft.hard_packet_limit = XFRM_INF;
	pi.lft.hard_add_expires_seconds = 60;
	pi.curlft.add_time = 1700000000;
	pi.priority = 77;
	pi.dir = XFRM_POLICY_OUT;
	pi.action = action;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(pi)), &pi, sizeof(pi));
	if (reqid != 0) {
		memset(&ut, 0, sizeof(ut));
		ut.family = AF_INET;
		ut.id.proto = IPPROTO_ESP;
		ut.mode = XFRM_MODE_TRANSPORT;
		ut.reqid = reqid;
		mnl_attr_put(nlh, XFRMA_TMPL, sizeof(ut), &ut);
	}
	if (mark)
		mnl_attr_put(nlh, XFRMA_MARK, sizeof(m), &m);
	return nlh->nlmsg_len;
}

static void
test_policy_owner_classification(void **state)
{
	uint8_t buf[BUF];
	struct er_policy p;
	size_t len;

	(void)state;
	/* someone else's: no marker, reqid outside the range */
	len = foreign_policy(buf, XFRM_POLICY_ALLOW, 5, XFRM_INF, false);
	assert_int_equal(er_xfrm_policy_decode(&codec, buf, len, &p), 0);
	assert_int_equal(p.owner, ER_OWNER_FOREIGN);
	assert_int_equal(p.action, ER_ACTION_IPSEC);
	assert_int_equal(p.ntmpl, 1);
	assert_int_equal(p.reqid, 5);
	assert_int_equal(p.lifetime, 60);
	assert_int_equal(p.created, 1700000000);
	len = foreign_policy(buf, XFRM_POLICY_BLOCK, 0, XFRM_INF, false);
	assert_int_equal(er_xfrm_policy_decode(&codec, buf, len, &p), 0);
	assert_int_equal(p.owner, ER_OWNER_FOREIGN);
	assert_int_equal(p.action, ER_ACTION_DROP);
	len = foreign_policy(buf, XFRM_POLICY_ALLOW, 0, XFRM_INF, false);
	assert_int_equal(er_xfrm_policy_decode(&codec, buf, len, &p), 0);
	assert_int_equal(p.action, ER_ACTION_PASS);
	/* eroute's reqid without a marker: eroute's, owner unknown */
	len = foreign_policy(buf, XFRM_POLICY_ALLOW, ER_REQID_BASE + 9,
			     XFRM_INF, false);
	assert_int_equal(er_xfrm_policy_decode(&codec, buf, len, &p), 0);
	assert_int_equal(p.owner, ER_OWNER_BARE);
	assert_int_equal(p.action, ER_ACTION_IPSEC);
	/* a marker, but a mark that changes matching: never ours */
	len = foreign_policy(buf, XFRM_POLICY_BLOCK, 0,
			     er_xfrm_marker_encode(ER_ACTION_REJECT, false, 4),
			     true);
	assert_int_equal(er_xfrm_policy_decode(&codec, buf, len, &p), 0);
	assert_int_equal(p.owner, ER_OWNER_FOREIGN);
	assert_int_equal(p.action, ER_ACTION_DROP);
	/* a marker that disagrees with the shape (pass, but block) */
	len = foreign_policy(buf, XFRM_POLICY_BLOCK, 0,
			     er_xfrm_marker_encode(ER_ACTION_PASS, false, 4),
			     false);
	assert_int_equal(er_xfrm_policy_decode(&codec, buf, len, &p), 0);
	assert_int_equal(p.owner, ER_OWNER_FOREIGN);
	assert_int_equal(p.action, ER_ACTION_DROP);
	/* the marker and the shape agree: eroute's reject */
	len = foreign_policy(buf, XFRM_POLICY_BLOCK, 0,
			     er_xfrm_marker_encode(ER_ACTION_REJECT, false, 4),
			     false);
	assert_int_equal(er_xfrm_policy_decode(&codec, buf, len, &p), 0);
	assert_int_equal(p.owner, 4);
	assert_int_equal(p.action, ER_ACTION_REJECT);
}

static void
test_policy_unsupported_kinds(void **state)
{
	uint8_t buf[BUF];
	struct er_policy p;
	struct xfrm_userpolicy_type pt = {XFRM_POLICY_TYPE_SUB, 0, 0};
	struct nlmsghdr *nlh = (void *)buf;
	struct xfrm_userpolicy_info pi;
	size_t len;

	(void)state;
	/* a sub policy */
	len = foreign_policy(buf, XFRM_POLICY_ALLOW, 0, XFRM_INF, false);
	mnl_attr_put(nlh, XFRMA_POLICY_TYPE, sizeof(pt), &pt);
	assert_int_equal(er_xfrm_policy_decode(&codec, buf, nlh->nlmsg_len,
					       &p),
			 -EOPNOTSUPP);
	/* a per-socket policy */
	len = foreign_policy(buf, XFRM_POLICY_ALLOW, 0, XFRM_INF, false);
	pi = policy_info_of(buf);
	pi.dir = XFRM_POLICY_OUT + XFRM_POLICY_MAX;
	memcpy(buf + MNL_NLMSG_HDRLEN, &pi, sizeof(pi));
	assert_int_equal(er_xfrm_policy_decode(&codec, buf, len, &p),
			 -EOPNOTSUPP);
	/* an action XFRM does not have */
	pi.dir = XFRM_POLICY_OUT;
	pi.action = 7;
	memcpy(buf + MNL_NLMSG_HDRLEN, &pi, sizeof(pi));
	assert_int_equal(er_xfrm_policy_decode(&codec, buf, len, &p),
			 -EINVAL);
	/* a prefix longer than the family */
	pi.action = XFRM_POLICY_ALLOW;
	pi.sel.prefixlen_d = 33;
	memcpy(buf + MNL_NLMSG_HDRLEN, &pi, sizeof(pi));
	assert_int_equal(er_xfrm_policy_decode(&codec, buf, len, &p),
			 -EINVAL);
}

/* Newer kernels add attributes: they are skipped, not refused. */
static void
test_policy_unknown_attributes_skipped(void **state)
{
	uint8_t buf[BUF];
	struct nlmsghdr *nlh = (void *)buf;
	struct er_policy p;
	uint32_t v = 1;

	(void)state;
	foreign_policy(buf, XFRM_POLICY_ALLOW, 5, XFRM_INF, false);
	mnl_attr_put(nlh, XFRMA_MAX + 3, sizeof(v), &v);
	assert_int_equal(er_xfrm_policy_decode(&codec, buf, nlh->nlmsg_len,
					       &p),
			 0);
	assert_int_equal(p.ntmpl, 1);
}

/* ------------------------------------------------------------------ */
/* Golden bytes                                                        */

/*
 * NEWPOLICY, seq 1: out, 10.1.0.0/16 -> 10.2.0.0/16 tcp any -> 443,
 * priority 1000, ipsec through an ESP tunnel 192.0.2.1 -> 192.0.2.2 with
 * reqid ER_REQID_BASE + 5, owner 3.
 */
/* clang-format off */
static const uint8_t golden_policy[] = {
	/* struct nlmsghdr */
	0xfc, 0x00, 0x00, 0x00,	/* nlmsg_len 252 = 16 + 168 + 4 + 64 */
	0x13, 0x00,		/* XFRM_MSG_NEWPOLICY */
	0x01, 0x00,		/* NLM_F_REQUEST */
	0x01, 0x00, 0x00, 0x00,	/* seq 1 */
	0x00, 0x00, 0x00, 0x00,	/* pid */
	/* struct xfrm_userpolicy_info .sel (xfrm_selector, 56) */
	0x0a, 0x02, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* daddr */
	0x0a, 0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* saddr */
	0x01, 0xbb,		/* dport 443, network order */
	0xff, 0xff,		/* dport_mask */
	0x00, 0x00,		/* sport */
	0x00, 0x00,		/* sport_mask: any */
	0x02, 0x00,		/* family AF_INET */
	0x10,			/* prefixlen_d 16 */
	0x10,			/* prefixlen_s 16 */
	0x06,			/* proto TCP */
	0x00, 0x00, 0x00,	/* padding */
	0x00, 0x00, 0x00, 0x00,	/* ifindex */
	0x00, 0x00, 0x00, 0x00,	/* user */
	/* .lft (xfrm_lifetime_cfg, 64) */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* soft_byte: INF */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* hard_byte: INF */
	/* soft_packet: the marker 0x65726f1a00000003: "ero", version 1,
	 * action ipsec (5), not persist, owner 3 */
	0x03, 0x00, 0x00, 0x00, 0x1a, 0x6f, 0x72, 0x65,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* hard_packet: INF */
	0, 0, 0, 0, 0, 0, 0, 0,	/* soft_add_expires_seconds */
	0, 0, 0, 0, 0, 0, 0, 0,	/* hard_add_expires_seconds */
	0, 0, 0, 0, 0, 0, 0, 0,	/* soft_use_expires_seconds */
	0, 0, 0, 0, 0, 0, 0, 0,	/* hard_use_expires_seconds */
	/* .curlft (xfrm_lifetime_cur, 32) */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0xe8, 0x03, 0x00, 0x00,	/* priority 1000 */
	0x00, 0x00, 0x00, 0x00,	/* index: the kernel chooses */
	0x01,			/* dir XFRM_POLICY_OUT */
	0x00,			/* action XFRM_POLICY_ALLOW */
	0x00,			/* flags */
	0x00,			/* share XFRM_SHARE_ANY */
	0x00, 0x00, 0x00, 0x00,	/* padding to 168 */
	/* struct nlattr */
	0x44, 0x00,		/* nla_len 68 */
	0x05, 0x00,		/* XFRMA_TMPL */
	/* struct xfrm_user_tmpl (64) */
	0xc0, 0x00, 0x02, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* daddr */
	0x00, 0x00, 0x00, 0x00,	/* spi: any */
	0x32,			/* proto ESP */
	0x00, 0x00, 0x00,	/* padding */
	0x02, 0x00,		/* family AF_INET */
	0x00, 0x00,		/* padding */
	0xc0, 0x00, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* saddr */
	0x05, 0x00, 0x80, 0x3e,	/* reqid 0x3e800005 */
	0x01,			/* mode XFRM_MODE_TUNNEL */
	0x00,			/* share */
	0x00,			/* optional */
	0x00,			/* padding */
	0xff, 0xff, 0xff, 0xff,	/* aalgos: any */
	0xff, 0xff, 0xff, 0xff,	/* ealgos: any */
	0xff, 0xff, 0xff, 0xff,	/* calgos: any */
};
/* clang-format on */

/*
 * NEWSA, seq 2: esp.0x12345678@192.0.2.2 from 192.0.2.1, transport, reqid
 * ER_REQID_BASE + 5, no selector, soft 3000 s, hard 3600 s, aes-gcm-16
 * with a 20-byte key (16 + 4 of salt) 0x00..0x13.
 */
/* clang-format off */
static const uint8_t golden_sa[] = {
	/* struct nlmsghdr */
	0x50, 0x01, 0x00, 0x00,	/* len 336: 16+224+4+72+20 */
	0x10, 0x00,		/* XFRM_MSG_NEWSA */
	0x01, 0x00,		/* NLM_F_REQUEST */
	0x02, 0x00, 0x00, 0x00,	/* seq 2 */
	0x00, 0x00, 0x00, 0x00,	/* pid */
	/* struct xfrm_usersa_info .sel (56): empty, the kernel fills in
	 * the family */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	/* .id (xfrm_id, 24) */
	0xc0, 0x00, 0x02, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* daddr */
	0x12, 0x34, 0x56, 0x78,	/* spi, network order */
	0x32,			/* proto ESP */
	0x00, 0x00, 0x00,	/* padding */
	/* .saddr */
	0xc0, 0x00, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* .lft (64) */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* soft_byte: INF */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* hard_byte: INF */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* soft_packet */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* hard_packet */
	0xb8, 0x0b, 0, 0, 0, 0, 0, 0,	/* soft_add_expires 3000 */
	0x10, 0x0e, 0, 0, 0, 0, 0, 0,	/* hard_add_expires 3600 */
	0, 0, 0, 0, 0, 0, 0, 0,		/* soft_use_expires */
	0, 0, 0, 0, 0, 0, 0, 0,		/* hard_use_expires */
	/* .curlft (32) */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* .stats (12) */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0x00, 0x00, 0x00, 0x00,	/* seq */
	0x05, 0x00, 0x80, 0x3e,	/* reqid 0x3e800005 */
	0x02, 0x00,		/* family AF_INET */
	0x00,			/* mode XFRM_MODE_TRANSPORT */
	0x20,			/* replay_window 32 */
	0x00,			/* flags */
	0, 0, 0, 0, 0, 0, 0,	/* padding to 224 */
	/* struct nlattr */
	0x60, 0x00,		/* nla_len 96 = 4 + 72 + 20 */
	0x12, 0x00,		/* XFRMA_ALG_AEAD */
	/* struct xfrm_algo_aead: alg_name[64] "rfc4106(gcm(aes))" */
	'r', 'f', 'c', '4', '1', '0', '6', '(', 'g', 'c', 'm', '(', 'a', 'e',
	's', ')', ')', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0xa0, 0x00, 0x00, 0x00,	/* alg_key_len 160 bits */
	0x80, 0x00, 0x00, 0x00,	/* alg_icv_len 128 bits */
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, /* key */
	0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13,
};
/* clang-format on */

static void
golden_policy_value(struct er_policy *p)
{
	memset(p, 0, sizeof(*p));
	sel_make(&p->sel, "10.1.0.0/16", "10.2.0.0/16", IPPROTO_TCP, 0,
		 "443");
	p->dir = ER_DIR_OUT;
	p->priority = 1000;
	p->action = ER_ACTION_IPSEC;
	p->reqid = ER_REQID_BASE + 5;
	p->ntmpl = 1;
	p->tmpl[0].proto = IPPROTO_ESP;
	p->tmpl[0].mode = ER_MODE_TUNNEL;
	addr_make(&p->tmpl[0].src, "192.0.2.1");
	addr_make(&p->tmpl[0].dst, "192.0.2.2");
	p->tmpl[0].reqid = ER_REQID_BASE + 5;
	p->owner = 3;
}

static void
golden_sa_value(struct er_sa *sa)
{
	unsigned i;

	memset(sa, 0, sizeof(*sa));
	addr_make(&sa->id.dst, "192.0.2.2");
	sa->id.proto = IPPROTO_ESP;
	sa->id.spi = 0x12345678;
	addr_make(&sa->src, "192.0.2.1");
	sa->mode = ER_MODE_TRANSPORT;
	sa->reqid = ER_REQID_BASE + 5;
	sa->soft.secs = 3000;
	sa->hard.secs = 3600;
	snprintf(sa->keys.enc_alg, sizeof(sa->keys.enc_alg), "aes-gcm-16");
	sa->keys.enc_key_len = 20;
	for (i = 0; i < 20; i++)
		sa->keys.enc_key[i] = (uint8_t)i;
}

static void
assert_bytes_equal(const uint8_t *got, size_t gotlen, const uint8_t *want,
		   size_t wantlen)
{
	size_t i;

	assert_int_equal(gotlen, wantlen);
	for (i = 0; i < wantlen; i++) {
		if (got[i] != want[i])
			fail_msg("byte %zu: got 0x%02x, want 0x%02x", i,
				 got[i], want[i]);
	}
}

static void
test_golden_policy(void **state)
{
	uint8_t buf[BUF];
	struct er_policy p, out;
	int len;

	(void)state;
	golden_policy_value(&p);
	len = er_xfrm_policy_encode(&codec, buf, sizeof(buf),
				    XFRM_MSG_NEWPOLICY, 1, &p, NULL);
	assert_bytes_equal(buf, (size_t)len, golden_policy,
			   sizeof(golden_policy));
	assert_int_equal(er_xfrm_policy_decode(&codec, golden_policy,
					       sizeof(golden_policy), &out),
			 0);
	assert_policy_equal(&p, &out);
}

static void
test_golden_sa(void **state)
{
	uint8_t buf[BUF];
	struct er_sa sa, out;
	int len;

	(void)state;
	golden_sa_value(&sa);
	len = er_xfrm_sa_encode(&codec, buf, sizeof(buf), XFRM_MSG_NEWSA, 2,
				&sa, NULL);
	assert_bytes_equal(buf, (size_t)len, golden_sa, sizeof(golden_sa));
	assert_int_equal(er_xfrm_sa_decode(&codec, golden_sa,
					   sizeof(golden_sa), &out),
			 0);
	assert_string_equal(out.keys.enc_alg, "aes-gcm-16");
	assert_int_equal(out.keys.enc_key_len, 20);
	assert_memory_equal(out.keys.enc_key, sa.keys.enc_key, 20);
	assert_int_equal(out.id.spi, 0x12345678);
	assert_int_equal(out.hard.secs, 3600);
	assert_int_equal(out.state, ER_SA_MATURE);
	assert_int_equal(out.owner, ER_OWNER_BARE);
}

/* ------------------------------------------------------------------ */
/* SAs                                                                 */

struct scase {
	const char *dst, *src;
	uint8_t proto;
	uint32_t spi;
	enum er_mode mode;
	const char *enc, *integ;
	uint16_t enc_len, integ_len;
	const char *sel_src, *sel_dst;
	uint32_t reqid;
	struct er_lifetime soft, hard;
	const char *enc_out, *integ_out; /* when read back as another name */
};

#define S(d, s, pr, sp, mo, en, in, el, il)                               \
	.dst = (d), .src = (s), .proto = (pr), .spi = (sp), .mode = (mo),    \
	.enc = (en), .integ = (in), .enc_len = (el), .integ_len = (il)

static const struct scase scases[] = {
	{S("192.0.2.2", "192.0.2.1", IPPROTO_ESP, 0x1000, ER_MODE_TUNNEL,
	   "aes-cbc", "sha2-256-128", 16, 32),
	 .sel_src = "10.1.0.0/16", .sel_dst = "10.2.0.0/16",
	 .reqid = ER_REQID_BASE + 1,
	 .soft = {.secs = 3000, .bytes = 1 << 30},
	 .hard = {.secs = 3600, .packets = 1 << 20}},
	{S("2001:db8::2", "2001:db8::1", IPPROTO_ESP, 0xfffffffe,
	   ER_MODE_TRANSPORT, "aes-gcm-12", "", 36, 0),
	 .reqid = 7},
	{S("192.0.2.9", "192.0.2.8", IPPROTO_ESP, 0x100, ER_MODE_TUNNEL,
	   "chacha20-poly1305", "", 36, 0),
	 .sel_src = "2001:db8:1::/48", .sel_dst = "2001:db8:2::/48",
	 .reqid = ER_REQID_BASE, .hard = {.secs = 60}},
	{S("198.51.100.1", "203.0.113.1", IPPROTO_AH, 0xabcdef,
	   ER_MODE_TUNNEL, "", "sha1-96", 0, 20),
	 .reqid = ER_REQID_BASE + ER_REQID_COUNT - 1},
	{S("198.51.100.1", "203.0.113.1", IPPROTO_COMP, 0x4242,
	   ER_MODE_TUNNEL, "deflate", "", 0, 0),
	 .reqid = ER_REQID_BASE + 2},
	{S("2001:db8::2", "2001:db8::1", IPPROTO_ESP, 0x5555, ER_MODE_TUNNEL,
	   "cbc(aes)", "hmac(sha512)", 32, 64),
	 .sel_src = "2001:db8:1::/48", .sel_dst = "2001:db8:2::/48",
	 .reqid = 9, .enc_out = "aes-cbc", .integ_out = "sha2-512-256"},
	{S("2001:db8::2", "2001:db8::1", IPPROTO_ESP, 0x5556, ER_MODE_TUNNEL,
	   "null", "aes-xcbc-96", 0, 16),
	 .reqid = 10},
};

static void
scase_sa(const struct scase *c, struct er_sa *sa)
{
	unsigned i;

	memset(sa, 0, sizeof(*sa));
	addr_make(&sa->id.dst, c->dst);
	addr_make(&sa->src, c->src);
	sa->id.proto = c->proto;
	sa->id.spi = c->spi;
	sa->mode = c->mode;
	sa->reqid = c->reqid;
	sa->owner = c->reqid >= ER_REQID_BASE &&
				    c->reqid < ER_REQID_BASE + ER_REQID_COUNT
			    ? ER_OWNER_BARE
			    : ER_OWNER_FOREIGN;
	if (c->sel_src != NULL)
		sel_make(&sa->sel, c->sel_src, c->sel_dst, 0, 0, 0);
	snprintf(sa->keys.enc_alg, sizeof(sa->keys.enc_alg), "%s", c->enc);
	snprintf(sa->keys.integ_alg, sizeof(sa->keys.integ_alg), "%s",
		 c->integ);
	sa->keys.enc_key_len = c->enc_len;
	sa->keys.integ_key_len = c->integ_len;
	for (i = 0; i < c->enc_len; i++)
		sa->keys.enc_key[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < c->integ_len; i++)
		sa->keys.integ_key[i] = (uint8_t)(i * 13 + 5);
	sa->soft = c->soft;
	sa->hard = c->hard;
	sa->state = ER_SA_MATURE;
}

static void
test_sa_round_trip(void **state)
{
	uint8_t buf[BUF];
	struct er_sa in, out;
	struct er_err err = {0};
	size_t i;
	int len;

	(void)state;
	for (i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
		scase_sa(&scases[i], &in);
		len = er_xfrm_sa_encode(&codec, buf, sizeof(buf),
					i % 2 ? XFRM_MSG_UPDSA : XFRM_MSG_NEWSA,
					3, &in, &err);
		if (len < 0)
			fail_msg("case %zu: %s", i, err.msg);
		assert_int_equal(er_xfrm_sa_decode(&codec, buf, (size_t)len,
						   &out),
				 0);
		assert_true(er_addr_equal(&in.id.dst, &out.id.dst));
		assert_true(er_addr_equal(&in.src, &out.src));
		assert_int_equal(in.id.proto, out.id.proto);
		assert_int_equal(in.id.spi, out.id.spi);
		assert_int_equal(in.mode, out.mode);
		assert_int_equal(in.reqid, out.reqid);
		assert_int_equal(in.owner, out.owner);
		assert_int_equal(in.state, out.state);
		assert_true(er_selector_equal(&in.sel, &out.sel));
		assert_memory_equal(&in.soft, &out.soft, sizeof(in.soft));
		assert_memory_equal(&in.hard, &out.hard, sizeof(in.hard));
		/* names come back canonical */
		assert_string_equal(scases[i].enc_out ? scases[i].enc_out
						      : in.keys.enc_alg,
				    out.keys.enc_alg);
		assert_string_equal(scases[i].integ_out ? scases[i].integ_out
							: in.keys.integ_alg,
				    out.keys.integ_alg);
		assert_int_equal(in.keys.enc_key_len, out.keys.enc_key_len);
		assert_int_equal(in.keys.integ_key_len, out.keys.integ_key_len);
		assert_memory_equal(in.keys.enc_key, out.keys.enc_key,
				    in.keys.enc_key_len);
		assert_memory_equal(in.keys.integ_key, out.keys.integ_key,
				    in.keys.integ_key_len);
	}
}

static void
test_sa_algorithm_names(void **state)
{
	(void)state;
	assert_string_equal(er_xfrm_alg_kernel_name("AES_GCM16"),
			    "rfc4106(gcm(aes))");
	assert_string_equal(er_xfrm_alg_kernel_name("aes"), "cbc(aes)");
	assert_string_equal(er_xfrm_alg_kernel_name("sha256"), "hmac(sha256)");
	assert_string_equal(er_xfrm_alg_kernel_name("sha2_512"),
			    "hmac(sha512)");
	assert_null(er_xfrm_alg_kernel_name("rot13"));
}

static void
test_sa_encode_refuses(void **state)
{
	uint8_t buf[BUF];
	struct er_sa sa;
	struct er_err err = {0};

	(void)state;
	scase_sa(&scases[0], &sa);
	snprintf(sa.keys.enc_alg, sizeof(sa.keys.enc_alg), "rot13");
	assert_int_equal(er_xfrm_sa_encode(&codec, buf, sizeof(buf),
					   XFRM_MSG_NEWSA, 1, &sa, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "rot13"));
	/* AEAD with an integrity algorithm */
	snprintf(sa.keys.enc_alg, sizeof(sa.keys.enc_alg), "aes-gcm-16");
	assert_int_equal(er_xfrm_sa_encode(&codec, buf, sizeof(buf),
					   XFRM_MSG_NEWSA, 1, &sa, &err),
			 -EINVAL);
	/* SPI 0 */
	scase_sa(&scases[0], &sa);
	sa.id.spi = 0;
	assert_int_equal(er_xfrm_sa_encode(&codec, buf, sizeof(buf),
					   XFRM_MSG_NEWSA, 1, &sa, &err),
			 -EINVAL);
	/* an IPCOMP CPI above 16 bits */
	scase_sa(&scases[4], &sa);
	sa.id.spi = 0x10000;
	assert_int_equal(er_xfrm_sa_encode(&codec, buf, sizeof(buf),
					   XFRM_MSG_NEWSA, 1, &sa, &err),
			 -EINVAL);
	/* encryption on AH */
	scase_sa(&scases[3], &sa);
	snprintf(sa.keys.enc_alg, sizeof(sa.keys.enc_alg), "aes-cbc");
	assert_int_equal(er_xfrm_sa_encode(&codec, buf, sizeof(buf),
					   XFRM_MSG_NEWSA, 1, &sa, &err),
			 -EINVAL);
	/* no room for the keys: the buffer is wiped */
	scase_sa(&scases[0], &sa);
	assert_int_equal(er_xfrm_sa_encode(&codec, buf, 300, XFRM_MSG_NEWSA,
					   1, &sa, &err),
			 -EMSGSIZE);
	/* a key without its algorithm is refused, never dropped */
	scase_sa(&scases[0], &sa);
	sa.keys.enc_alg[0] = '\0';
	assert_int_equal(er_xfrm_sa_encode(&codec, buf, sizeof(buf),
					   XFRM_MSG_NEWSA, 1, &sa, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "a key without an algorithm"));
	scase_sa(&scases[0], &sa);
	sa.keys.integ_alg[0] = '\0';
	assert_int_equal(er_xfrm_sa_encode(&codec, buf, sizeof(buf),
					   XFRM_MSG_NEWSA, 1, &sa, &err),
			 -EINVAL);
	scase_sa(&scases[4], &sa);	/* IPCOMP has no key */
	sa.keys.enc_key_len = 4;
	assert_int_equal(er_xfrm_sa_encode(&codec, buf, sizeof(buf),
					   XFRM_MSG_NEWSA, 1, &sa, &err),
			 -EINVAL);
}

/* An algorithm attribute without a name (fuzz_xfrm_codec found it read as
 * a key belonging to nothing, which then vanished on the way back). */
static void
test_sa_decode_refuses_nameless_algorithm(void **state)
{
	uint8_t buf[BUF];
	struct er_sa sa, got;
	int len;
	size_t found = 0;

	(void)state;
	scase_sa(&scases[0], &sa);
	len = er_xfrm_sa_encode(&codec, buf, sizeof(buf), XFRM_MSG_NEWSA, 1,
				&sa, NULL);
	assert_true(len > 0);
	assert_int_equal(er_xfrm_sa_decode(&codec, buf, (size_t)len, &got), 0);
	/* Blank the kernel name "cbc(aes)" where it sits in the message. */
	for (int i = 0; i + 8 <= len; i++) {
		if (memcmp(buf + i, "cbc(aes)", 8) == 0) {
			memset(buf + i, 0, 8);
			found++;
		}
	}
	assert_int_equal(found, 1);
	assert_int_equal(er_xfrm_sa_decode(&codec, buf, (size_t)len, &got),
			 -EINVAL);
}

static void
test_sa_id_and_spi_requests(void **state)
{
	uint8_t buf[BUF];
	struct xfrm_usersa_id id;
	struct xfrm_userspi_info us;
	struct er_sa_id sid;
	struct er_spi_req req;
	int len;

	(void)state;
	memset(&sid, 0, sizeof(sid));
	addr_make(&sid.dst, "2001:db8::5");
	sid.proto = IPPROTO_AH;
	sid.spi = 0x01020304;
	len = er_xfrm_sa_id_encode(buf, sizeof(buf), XFRM_MSG_DELSA, 1, &sid,
				   NULL);
	assert_int_equal(len, MNL_NLMSG_HDRLEN + sizeof(id));
	memcpy(&id, buf + MNL_NLMSG_HDRLEN, sizeof(id));
	assert_int_equal(id.family, AF_INET6);
	assert_int_equal(id.proto, IPPROTO_AH);
	assert_int_equal(ntohl(id.spi), 0x01020304);

	memset(&req, 0, sizeof(req));
	addr_make(&req.dst, "192.0.2.1");
	addr_make(&req.src, "192.0.2.2");
	req.proto = IPPROTO_ESP;
	req.mode = ER_MODE_TUNNEL;
	req.reqid = ER_REQID_BASE + 4;
	len = er_xfrm_spi_encode(buf, sizeof(buf), 1, &req, NULL);
	assert_int_equal(len, MNL_NLMSG_HDRLEN + sizeof(us));
	memcpy(&us, buf + MNL_NLMSG_HDRLEN, sizeof(us));
	assert_int_equal(us.min, ER_SPI_MIN);
	assert_int_equal(us.max, ER_SPI_MAX);
	assert_int_equal(us.info.reqid, ER_REQID_BASE + 4);
	assert_int_equal(us.info.mode, XFRM_MODE_TUNNEL);
	assert_int_equal(us.info.family, AF_INET);
	req.proto = IPPROTO_COMP;
	assert_true(er_xfrm_spi_encode(buf, sizeof(buf), 1, &req, NULL) > 0);
	memcpy(&us, buf + MNL_NLMSG_HDRLEN, sizeof(us));
	assert_int_equal(us.max, 0xffff);
	req.proto = IPPROTO_ESP;
	req.min = 0x10;
	req.max = 0x20;
	assert_int_equal(er_xfrm_spi_encode(buf, sizeof(buf), 1, &req, NULL),
			 -EINVAL);
	req.min = 0x3000;
	req.max = 0x2000;
	assert_int_equal(er_xfrm_spi_encode(buf, sizeof(buf), 1, &req, NULL),
			 -EINVAL);
	req.min = req.max = 0x2000;
	assert_true(er_xfrm_spi_encode(buf, sizeof(buf), 1, &req, NULL) > 0);
}

/* ------------------------------------------------------------------ */
/* Kernel messages and events                                          */

static void
xsel(struct xfrm_selector *s, int family, const char *src, unsigned slen,
     const char *dst, unsigned dlen, uint8_t proto)
{
	struct er_addr a;

	memset(s, 0, sizeof(*s));
	s->family = (uint16_t)family;
	addr_make(&a, src);
	memcpy(&s->saddr, a.a, 16);
	addr_make(&a, dst);
	memcpy(&s->daddr, a.a, 16);
	s->prefixlen_s = (uint8_t)slen;
	s->prefixlen_d = (uint8_t)dlen;
	s->proto = proto;
}

static size_t
acquire_msg(uint8_t *buf)
{
	struct xfrm_user_acquire ua;
	struct xfrm_user_tmpl ut;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = XFRM_MSG_ACQUIRE;
	memset(&ua, 0, sizeof(ua));
	ua.id.proto = IPPROTO_ESP;
	ua.id.daddr.a4 = htonl(0xc6336409);	/* 198.51.100.9 */
	ua.saddr.a4 = htonl(0xc0000207);	/* 192.0.2.7 */
	xsel(&ua.sel, AF_INET, "192.0.2.7", 32, "198.51.100.9", 32,
	     IPPROTO_UDP);
	ua.sel.sport = htons(40000);
	ua.sel.sport_mask = 0xffff;
	ua.sel.dport = htons(53);
	ua.sel.dport_mask = 0xffff;
	ua.sel.ifindex = 3;
	xsel(&ua.policy.sel, AF_INET, "192.0.2.0", 24, "198.51.100.0", 24, 0);
	ua.policy.dir = XFRM_POLICY_OUT;
	ua.seq = 99;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(ua)), &ua, sizeof(ua));
	memset(&ut, 0, sizeof(ut));
	ut.family = AF_INET;
	ut.id.proto = IPPROTO_ESP;
	ut.reqid = ER_REQID_BASE + 12;
	mnl_attr_put(nlh, XFRMA_TMPL, sizeof(ut), &ut);
	return nlh->nlmsg_len;
}

static size_t
expire_msg(uint8_t *buf, bool hard)
{
	struct xfrm_user_expire ue;
	struct xfrm_mark m = {0, 0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = XFRM_MSG_EXPIRE;
	memset(&ue, 0, sizeof(ue));
	ue.state.family = AF_INET6;
	ue.state.id.proto = IPPROTO_ESP;
	ue.state.id.spi = htonl(0xc0ffee);
	memcpy(&ue.state.id.daddr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02",
	       16);
	ue.state.mode = XFRM_MODE_TUNNEL;
	ue.state.reqid = ER_REQID_BASE + 1;
	ue.hard = hard;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(ue)), &ue, sizeof(ue));
	mnl_attr_put(nlh, XFRMA_MARK, sizeof(m), &m);
	return nlh->nlmsg_len;
}

static size_t
polexpire_msg(uint8_t *buf, bool hard)
{
	struct xfrm_user_polexpire upe;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = XFRM_MSG_POLEXPIRE;
	memset(&upe, 0, sizeof(upe));
	xsel(&upe.pol.sel, AF_INET, "10.1.0.0", 16, "10.9.0.0", 16, 0);
	upe.pol.dir = XFRM_POLICY_OUT;
	upe.pol.action = XFRM_POLICY_BLOCK;
	upe.pol.lft.soft_packet_limit =
		er_xfrm_marker_encode(ER_ACTION_DROP, false, 0);
	upe.hard = hard;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(upe)), &upe,
	       sizeof(upe));
	return nlh->nlmsg_len;
}

static size_t
delpolicy_msg(uint8_t *buf)
{
	struct xfrm_userpolicy_id id;
	struct xfrm_userpolicy_info pi;
	struct xfrm_user_tmpl ut;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = XFRM_MSG_DELPOLICY;
	nlh->nlmsg_pid = 4242;
	memset(&id, 0, sizeof(id));
	id.dir = XFRM_POLICY_IN;
	id.index = 0x19;	/* deleted by index: no selector here */
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(id)), &id, sizeof(id));
	memset(&pi, 0, sizeof(pi));
	xsel(&pi.sel, AF_INET6, "2001:db8:2::", 48, "2001:db8:1::", 48, 0);
	pi.dir = XFRM_POLICY_IN;
	pi.action = XFRM_POLICY_ALLOW;
	mnl_attr_put(nlh, XFRMA_POLICY, sizeof(pi), &pi);
	memset(&ut, 0, sizeof(ut));
	ut.family = AF_INET6;
	ut.id.proto = IPPROTO_ESP;
	ut.mode = XFRM_MODE_TRANSPORT;
	ut.reqid = 321;
	mnl_attr_put(nlh, XFRMA_TMPL, sizeof(ut), &ut);
	return nlh->nlmsg_len;
}

static size_t
delsa_msg(uint8_t *buf)
{
	struct xfrm_usersa_id id;
	struct xfrm_usersa_info si;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = XFRM_MSG_DELSA;
	memset(&id, 0, sizeof(id));
	id.family = AF_INET;
	id.proto = IPPROTO_ESP;
	id.spi = htonl(0x4444);
	id.daddr.a4 = htonl(0xc0000201);
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(id)), &id, sizeof(id));
	memset(&si, 0, sizeof(si));
	si.family = AF_INET;
	si.id = (struct xfrm_id){.daddr.a4 = htonl(0xc0000201),
				 .spi = htonl(0x4444),
				 .proto = IPPROTO_ESP};
	si.saddr.a4 = htonl(0xc0000202);
	si.reqid = ER_REQID_BASE + 3;
	si.mode = XFRM_MODE_TUNNEL;
	si.lft.soft_byte_limit = XFRM_INF;
	mnl_attr_put(nlh, XFRMA_SA, sizeof(si), &si);
	return nlh->nlmsg_len;
}

static size_t
flush_msg(uint8_t *buf, uint16_t type)
{
	struct xfrm_usersa_flush f = {IPSEC_PROTO_ANY};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	if (type == XFRM_MSG_FLUSHSA)
		memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(f)), &f,
		       sizeof(f));
	return nlh->nlmsg_len;
}

/* An error as the kernel sends it with NETLINK_EXT_ACK, capped or not. */
static size_t
ack_msg(uint8_t *buf, int error, bool capped, const char *text)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr e;
	uint8_t orig[64];

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = (uint16_t)((capped ? NLM_F_CAPPED : 0) |
				      (text != NULL ? NLM_F_ACK_TLVS : 0));
	memset(&e, 0, sizeof(e));
	e.error = error;
	e.msg.nlmsg_len = capped ? NLMSG_HDRLEN : NLMSG_HDRLEN + sizeof(orig);
	e.msg.nlmsg_type = XFRM_MSG_NEWSA;
	e.msg.nlmsg_seq = 5;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(e)), &e, sizeof(e));
	if (!capped) {
		memset(orig, 0xab, sizeof(orig));
		memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(orig)), orig,
		       sizeof(orig));
	}
	if (text != NULL)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
	return nlh->nlmsg_len;
}

static size_t
spdinfo_msg(uint8_t *buf)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct xfrmu_spdinfo si = {1, 2, 3, 0, 0, 0};
	struct xfrmu_spdhinfo sh = {7, 1024};
	struct xfrmu_spdhthresh h4 = {24, 16}, h6 = {64, 48};
	uint32_t flags = 0;

	nlh->nlmsg_type = XFRM_MSG_NEWSPDINFO;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(flags)), &flags,
	       sizeof(flags));
	mnl_attr_put(nlh, XFRMA_SPD_INFO, sizeof(si), &si);
	mnl_attr_put(nlh, XFRMA_SPD_HINFO, sizeof(sh), &sh);
	mnl_attr_put(nlh, XFRMA_SPD_IPV4_HTHRESH, sizeof(h4), &h4);
	mnl_attr_put(nlh, XFRMA_SPD_IPV6_HTHRESH, sizeof(h6), &h6);
	return nlh->nlmsg_len;
}

static void
test_event_acquire(void **state)
{
	uint8_t buf[BUF];
	struct er_kernel_event ev;
	char s[ER_SELECTOR_STRLEN];
	size_t len = acquire_msg(buf);

	(void)state;
	assert_int_equal(er_xfrm_event_decode(&codec, buf, len, &ev), 1);
	assert_int_equal(ev.type, ER_KEV_ACQUIRE);
	assert_int_equal(ev.dir, ER_DIR_OUT);
	assert_int_equal(ev.reqid, ER_REQID_BASE + 12);
	assert_int_equal(ev.pkt.proto, IPPROTO_UDP);
	assert_int_equal(ev.pkt.sport, 40000);
	assert_int_equal(ev.pkt.dport, 53);
	er_selector_format(&ev.sel, s, sizeof(s));
	assert_string_equal(s, "192.0.2.7/32 -> 198.51.100.9/32 udp");
	er_selector_format(&ev.policy_sel, s, sizeof(s));
	assert_string_equal(s, "192.0.2.0/24 -> 198.51.100.0/24");
	assert_int_equal(ev.sa.proto, IPPROTO_ESP);
	assert_int_equal(er_addr_v4(&ev.sa.dst), 0xc6336409);
}

static void
test_event_expire_soft_and_hard(void **state)
{
	uint8_t buf[BUF];
	struct er_kernel_event ev;
	size_t len;

	(void)state;
	len = expire_msg(buf, false);
	assert_int_equal(er_xfrm_event_decode(&codec, buf, len, &ev), 1);
	assert_int_equal(ev.type, ER_KEV_SA_EXPIRE);
	assert_false(ev.hard);
	assert_int_equal(ev.sa.spi, 0xc0ffee);
	assert_int_equal(ev.sa.proto, IPPROTO_ESP);
	assert_int_equal(ev.sa.dst.family, AF_INET6);
	assert_int_equal(ev.reqid, ER_REQID_BASE + 1);
	len = expire_msg(buf, true);
	assert_int_equal(er_xfrm_event_decode(&codec, buf, len, &ev), 1);
	assert_true(ev.hard);
}

static void
test_event_polexpire_hard_only(void **state)
{
	uint8_t buf[BUF];
	struct er_kernel_event ev;
	char s[ER_SELECTOR_STRLEN];
	size_t len;

	(void)state;
	len = polexpire_msg(buf, false);
	assert_int_equal(er_xfrm_event_decode(&codec, buf, len, &ev), 0);
	len = polexpire_msg(buf, true);
	assert_int_equal(er_xfrm_event_decode(&codec, buf, len, &ev), 1);
	assert_int_equal(ev.type, ER_KEV_POLICY_EXPIRE);
	assert_true(ev.hard);
	assert_int_equal(ev.dir, ER_DIR_OUT);
	er_selector_format(&ev.sel, s, sizeof(s));
	assert_string_equal(s, "10.1.0.0/16 -> 10.9.0.0/16");
}

static void
test_event_changes_and_flushes(void **state)
{
	uint8_t buf[BUF];
	struct er_kernel_event ev;
	char s[ER_SELECTOR_STRLEN];
	size_t len;

	(void)state;
	len = delpolicy_msg(buf);
	assert_int_equal(er_xfrm_event_decode(&codec, buf, len, &ev), 1);
	assert_int_equal(ev.type, ER_KEV_POLICY_CHANGED);
	assert_true(ev.deleted);
	assert_int_equal(ev.dir, ER_DIR_IN);
	assert_int_equal(ev.reqid, 321);
	er_selector_format(&ev.sel, s, sizeof(s));
	assert_string_equal(s, "2001:db8:2::/48 -> 2001:db8:1::/48");

	len = foreign_policy(buf, XFRM_POLICY_ALLOW, 0, XFRM_INF, false);
	assert_int_equal(er_xfrm_event_decode(&codec, buf, len, &ev), 1);
	assert_int_equal(ev.type, ER_KEV_POLICY_CHANGED);
	assert_false(ev.deleted);

	len = delsa_msg(buf);
	assert_int_equal(er_xfrm_event_decode(&codec, buf, len, &ev), 1);
	assert_int_equal(ev.type, ER_KEV_SA_CHANGED);
	assert_true(ev.deleted);
	assert_int_equal(ev.sa.spi, 0x4444);
	assert_int_equal(ev.reqid, ER_REQID_BASE + 3);

	len = flush_msg(buf, XFRM_MSG_FLUSHSA);
	assert_int_equal(er_xfrm_event_decode(&codec, buf, len, &ev), 1);
	assert_int_equal(ev.type, ER_KEV_LOST);
	len = flush_msg(buf, XFRM_MSG_FLUSHPOLICY);
	assert_int_equal(er_xfrm_event_decode(&codec, buf, len, &ev), 1);
	assert_int_equal(ev.type, ER_KEV_LOST);
	/* a type that is no event */
	len = flush_msg(buf, XFRM_MSG_NEWAE);
	assert_int_equal(er_xfrm_event_decode(&codec, buf, len, &ev), 0);
}

static void
test_acquire_from_larval_sa(void **state)
{
	struct er_sa sa;
	struct er_kernel_event ev;
	char s[ER_SELECTOR_STRLEN];

	(void)state;
	memset(&sa, 0, sizeof(sa));
	addr_make(&sa.id.dst, "198.51.100.9");
	addr_make(&sa.src, "192.0.2.7");
	sa.id.proto = IPPROTO_ESP;
	sa.reqid = ER_REQID_BASE + 1;
	sel_make(&sa.sel, "192.0.2.7/32", "198.51.100.9/32", IPPROTO_TCP,
		 "33000", "22");
	er_xfrm_acquire_from_sa(&sa, &ev);
	assert_int_equal(ev.type, ER_KEV_ACQUIRE);
	assert_int_equal(ev.pkt.sport, 33000);
	assert_int_equal(ev.pkt.dport, 22);
	assert_int_equal(ev.reqid, ER_REQID_BASE + 1);
	er_selector_format(&ev.sel, s, sizeof(s));
	assert_string_equal(s, "192.0.2.7/32 -> 198.51.100.9/32 tcp");
}

static void
test_ack_decode(void **state)
{
	uint8_t buf[BUF];
	char msg[256];
	size_t len;
	int error = 1;

	(void)state;
	len = ack_msg(buf, 0, true, NULL);
	assert_int_equal(er_xfrm_ack_decode(buf, len, &error, msg, sizeof(msg)),
			 0);
	assert_int_equal(error, 0);
	assert_string_equal(msg, "");
	len = ack_msg(buf, -EPROTONOSUPPORT, true, "Requested type not found");
	assert_int_equal(er_xfrm_ack_decode(buf, len, &error, msg, sizeof(msg)),
			 0);
	assert_int_equal(error, -EPROTONOSUPPORT);
	assert_string_equal(msg, "Requested type not found");
	len = ack_msg(buf, -EEXIST, false, "exists");
	assert_int_equal(er_xfrm_ack_decode(buf, len, &error, msg, sizeof(msg)),
			 0);
	assert_int_equal(error, -EEXIST);
	assert_string_equal(msg, "exists");
	/* a positive errno is nonsense */
	len = ack_msg(buf, 5, true, NULL);
	assert_int_equal(er_xfrm_ack_decode(buf, len, &error, msg, sizeof(msg)),
			 -EBADMSG);
}

static void
test_spdinfo(void **state)
{
	uint8_t buf[BUF];
	struct er_xfrm_thresholds t = {24, 16, 64, 48}, got;
	uint32_t n[ER_DIR_COUNT] = {0};
	size_t len;
	int elen;

	(void)state;
	len = spdinfo_msg(buf);
	assert_int_equal(er_xfrm_spdinfo_decode(buf, len, &got, n), 0);
	assert_memory_equal(&got, &t, sizeof(t));
	assert_int_equal(n[ER_DIR_IN], 1);
	assert_int_equal(n[ER_DIR_OUT], 2);
	assert_int_equal(n[ER_DIR_FWD], 3);
	elen = er_xfrm_spdinfo_encode(buf, sizeof(buf), 1, &t, NULL);
	assert_int_equal(elen, MNL_NLMSG_HDRLEN + 4 + 2 * 8);
	t.v4_lbits = 33;
	assert_int_equal(er_xfrm_spdinfo_encode(buf, sizeof(buf), 1, &t, NULL),
			 -EINVAL);
	assert_int_equal(er_xfrm_spdinfo_encode(buf, sizeof(buf), 1, NULL,
						NULL),
			 MNL_NLMSG_HDRLEN + 4);
}

/* ------------------------------------------------------------------ */
/* Truncated and corrupted input                                       */

enum decoder {
	D_POLICY,
	D_SA,
	D_EVENT,
	D_ACK,
	D_SPD,
};

/* Decode with the decoder a message is for; sanity of what comes out. */
static int
decode_any(enum decoder d, const uint8_t *buf, size_t len)
{
	struct er_policy pol;
	struct er_sa sa;
	struct er_kernel_event ev;
	struct er_xfrm_thresholds t;
	char msg[64];
	int ret = -EINVAL, error;

	switch (d) {
	case D_POLICY:
		ret = er_xfrm_policy_decode(&codec, buf, len, &pol);
		if (ret == 0) {
			assert_true(pol.ntmpl <= ER_TMPL_MAX);
			assert_true((unsigned)pol.dir < ER_DIR_COUNT);
			assert_true((unsigned)pol.action < ER_ACTION_COUNT);
			assert_true(pol.sel.src.len <=
				    er_addr_bits(pol.sel.src.addr.family));
		}
		break;
	case D_SA:
		ret = er_xfrm_sa_decode(&codec, buf, len, &sa);
		if (ret == 0) {
			assert_true(sa.keys.enc_key_len <= ER_SA_KEY_MAX);
			assert_true(strlen(sa.keys.enc_alg) < ER_SA_ALG_MAX);
			assert_true(strlen(sa.keys.integ_alg) < ER_SA_ALG_MAX);
		}
		break;
	case D_EVENT:
		ret = er_xfrm_event_decode(&codec, buf, len, &ev);
		ret = ret == 1 ? 0 : ret == 0 ? 0 : ret;
		break;
	case D_ACK:
		ret = er_xfrm_ack_decode(buf, len, &error, msg, sizeof(msg));
		if (ret == 0)
			assert_true(strlen(msg) < sizeof(msg));
		break;
	case D_SPD:
		ret = er_xfrm_spdinfo_decode(buf, len, &t, NULL);
		break;
	}
	return ret;
}

struct sample {
	const char *name;
	enum decoder d;
	uint8_t buf[BUF];
	size_t len;
	size_t fixed;	/* payload bytes before the attributes */
};

static void
sample_init(struct sample *s, const char *name, enum decoder d, size_t fixed)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->d = d;
	s->fixed = fixed;
}

static size_t
samples_build(struct sample *s)
{
	struct er_policy p;
	struct er_sa sa;
	size_t n = 0, i;

	golden_policy_value(&p);
	sample_init(&s[n], "policy", D_POLICY,
		    sizeof(struct xfrm_userpolicy_info));
	s[n].len = (size_t)er_xfrm_policy_encode(&codec, s[n].buf, BUF,
						 XFRM_MSG_NEWPOLICY, 1, &p,
						 NULL);
	n++;
	pcase_policy(&pcases[7], 7, &p);	/* three templates */
	sample_init(&s[n], "policy-3tmpl", D_POLICY,
		    sizeof(struct xfrm_userpolicy_info));
	s[n].len = (size_t)er_xfrm_policy_encode(&codec, s[n].buf, BUF,
						 XFRM_MSG_UPDPOLICY, 1, &p,
						 NULL);
	n++;
	for (i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
		scase_sa(&scases[i], &sa);
		sample_init(&s[n], "sa", D_SA,
			    sizeof(struct xfrm_usersa_info));
		s[n].len = (size_t)er_xfrm_sa_encode(&codec, s[n].buf, BUF,
						     XFRM_MSG_NEWSA, 1, &sa,
						     NULL);
		n++;
	}
	sample_init(&s[n], "acquire", D_EVENT,
		    sizeof(struct xfrm_user_acquire));
	s[n].len = acquire_msg(s[n].buf);
	n++;
	sample_init(&s[n], "expire", D_EVENT,
		    sizeof(struct xfrm_user_expire));
	s[n].len = expire_msg(s[n].buf, true);
	n++;
	sample_init(&s[n], "polexpire", D_EVENT,
		    sizeof(struct xfrm_user_polexpire));
	s[n].len = polexpire_msg(s[n].buf, true);
	n++;
	sample_init(&s[n], "delpolicy", D_EVENT,
		    sizeof(struct xfrm_userpolicy_id));
	s[n].len = delpolicy_msg(s[n].buf);
	n++;
	sample_init(&s[n], "delsa", D_SA,
		    sizeof(struct xfrm_usersa_id));
	s[n].len = delsa_msg(s[n].buf);
	n++;
	/* the attributes follow the echoed request (64 bytes of payload) */
	sample_init(&s[n], "ack", D_ACK,
		    sizeof(struct nlmsgerr) + 64);
	s[n].len = ack_msg(s[n].buf, -EEXIST, false, "File exists here");
	n++;
	sample_init(&s[n], "spdinfo", D_SPD,
		    4);
	s[n].len = spdinfo_msg(s[n].buf);
	n++;
	for (i = 0; i < n; i++)
		assert_int_equal(decode_any(s[i].d, s[i].buf, s[i].len), 0);
	return n;
}

#define NSAMPLES 32

/* Is @cut the end of the fixed part, or of an attribute (with or without
 * all of its padding)? */
static bool
at_boundary(const struct sample *s, size_t cut)
{
	const struct nlmsghdr *nlh = (const void *)s->buf;
	const struct nlattr *a;
	size_t start;

	if (cut == MNL_NLMSG_HDRLEN + MNL_ALIGN(s->fixed))
		return true;
	mnl_attr_for_each(a, nlh, s->fixed)
	{
		start = (size_t)((const uint8_t *)a - s->buf);
		if (cut >= start + a->nla_len &&
		    cut <= start + MNL_ALIGN(a->nla_len))
			return true;
	}
	return false;
}

static void
test_truncated_at_every_byte(void **state)
{
	static struct sample s[NSAMPLES];
	uint8_t *copy;
	size_t n, i, cut;
	int r;

	(void)state;
	n = samples_build(s);
	for (i = 0; i < n; i++) {
		for (cut = 0; cut < s[i].len; cut++) {
			/* A heap copy of exactly @cut bytes: ASan sees any
			 * read beyond it. */
			copy = malloc(cut ? cut : 1);
			memcpy(copy, s[i].buf, cut);
			/* the header says more than there is */
			r = decode_any(s[i].d, cut ? copy : NULL, cut);
			if (r >= 0)
				fail_msg("%s cut at %zu accepted", s[i].name,
					 cut);
			/* the header agrees with the cut: only a cut between
			 * whole attributes may still be a message */
			if (cut >= NLMSG_HDRLEN) {
				((struct nlmsghdr *)(void *)copy)->nlmsg_len =
					(uint32_t)cut;
				r = decode_any(s[i].d, copy, cut);
				if (r >= 0 && !at_boundary(&s[i], cut))
					fail_msg("%s cut at %zu (consistent "
						 "header) accepted",
						 s[i].name, cut);
			}
			free(copy);
		}
	}
}

/* Every attribute header broken in every way: all refused. */
static void
test_corrupted_attribute_headers(void **state)
{
	static struct sample s[NSAMPLES];
	static const uint16_t bad_len[] = {0, 1, 2, 3, 5, 0xffff};
	uint8_t copy[BUF];
	const struct nlattr *a;
	struct nlattr *w;
	size_t n, i, k, off;

	(void)state;
	n = samples_build(s);
	for (i = 0; i < n; i++) {
		mnl_attr_for_each(a, (const struct nlmsghdr *)(void *)s[i].buf,
				  s[i].fixed)
		{
			off = (size_t)((const uint8_t *)a - s[i].buf);
			for (k = 0; k < sizeof(bad_len) / sizeof(bad_len[0]);
			     k++) {
				memcpy(copy, s[i].buf, s[i].len);
				w = (void *)(copy + off);
				if (bad_len[k] == 5 && a->nla_len <= 8)
					continue;
				w->nla_len = bad_len[k] == 5
						     ? (uint16_t)(a->nla_len -
								  4)
						     : bad_len[k];
				if (decode_any(s[i].d, copy, s[i].len) >= 0)
					fail_msg("%s: attribute at %zu with "
						 "length %u accepted",
						 s[i].name, off, w->nla_len);
			}
			/* the right length for another type: a template
			 * claiming to be a mark, a string an offset */
			memcpy(copy, s[i].buf, s[i].len);
			w = (void *)(copy + off);
			if (s[i].d == D_ACK)
				w->nla_type = NLMSGERR_ATTR_OFFS;
			else if (s[i].d == D_SPD)
				continue;
			else
				/* a type whose exact length this is not */
				w->nla_type = mnl_attr_get_payload_len(a) == 8
						      ? XFRMA_IF_ID
						      : XFRMA_LASTUSED;
			if (decode_any(s[i].d, copy, s[i].len) >= 0)
				fail_msg("%s: attribute at %zu retyped "
					 "accepted", s[i].name, off);
		}
		/* the message longer than its bytes, and absurdly short */
		memcpy(copy, s[i].buf, s[i].len);
		((struct nlmsghdr *)(void *)copy)->nlmsg_len =
			(uint32_t)s[i].len + 4;
		assert_true(decode_any(s[i].d, copy, s[i].len) < 0);
		((struct nlmsghdr *)(void *)copy)->nlmsg_len = 8;
		assert_true(decode_any(s[i].d, copy, s[i].len) < 0);
	}
}

/* Random damage anywhere: never a crash or an out-of-bounds read; what is
 * accepted passes the sanity checks in decode_any(). */
static void
test_corrupted_randomly(void **state)
{
	static struct sample s[NSAMPLES];
	struct er_rng rng;
	uint8_t *copy;
	size_t n, i, iter, flips, k, pos;
	unsigned rejected = 0, total = 0;

	(void)state;
	n = samples_build(s);
	er_rng_init(&rng, 2024);
	for (i = 0; i < n; i++) {
		for (iter = 0; iter < 3000; iter++) {
			copy = malloc(s[i].len);
			memcpy(copy, s[i].buf, s[i].len);
			flips = (size_t)er_rng_range(&rng, 1, 4);
			for (k = 0; k < flips; k++) {
				pos = (size_t)er_rng_range(&rng, 0,
							   s[i].len - 1);
				copy[pos] = (uint8_t)er_rng_next(&rng);
			}
			if (decode_any(s[i].d, copy, s[i].len) < 0)
				rejected++;
			total++;
			free(copy);
		}
	}
	/* Many flips land in addresses and keys, which stay valid; but a
	 * good share hits the framing or a checked value. */
	assert_true(rejected > total / 20);
}

/* ------------------------------------------------------------------ */
/* Hash thresholds and the ND bypass                                   */

static void
test_thresholds_choose(void **state)
{
	struct er_policy *p = calloc(4000, sizeof(*p));
	struct er_xfrm_thresholds t;
	struct er_addr a, b;
	struct er_prefix ps, pd;
	size_t i;

	(void)state;
	/* hosts only: the kernel's defaults are right */
	for (i = 0; i < 1000; i++) {
		er_addr_from_v4(&a, 0x0a000000 + (uint32_t)i);
		er_addr_from_v4(&b, 0x0b000000 + (uint32_t)i * 7);
		er_prefix_host(&ps, &a);
		er_prefix_host(&pd, &b);
		assert_int_equal(er_selector_init(&p[i].sel, &ps, &pd, 0, NULL,
						  NULL, NULL),
				 0);
	}
	er_xfrm_thresholds_choose(p, 1000, &t);
	assert_int_equal(t.v4_lbits, 32);
	assert_int_equal(t.v4_rbits, 32);
	assert_int_equal(t.v6_lbits, 128);
	assert_int_equal(t.v6_rbits, 128);
	/* mixed prefixes, /16 and longer on both sides: everything can be
	 * hashed on 16 bits without crowding a key */
	for (i = 0; i < 4000; i++) {
		er_addr_from_v4(&a, 0x0a000000 + ((uint32_t)i << 16) +
					    (uint32_t)i * 13);
		er_addr_from_v4(&b, 0x0a000000 + ((uint32_t)(i * 7) << 12));
		er_prefix_init(&ps, &a, 16 + (unsigned)(i % 3) * 8);
		er_prefix_init(&pd, &b, 16 + (unsigned)(i % 5) * 4);
		assert_int_equal(er_selector_init(&p[i].sel, &ps, &pd, 0, NULL,
						  NULL, NULL),
				 0);
		p[i].dir = (enum er_dir)(i % 3);
	}
	er_xfrm_thresholds_choose(p, 4000, &t);
	assert_true(t.v4_lbits <= 16);
	assert_true(t.v4_rbits <= 16);
	assert_true(t.v4_lbits > 0 || t.v4_rbits > 0);
	assert_int_equal(t.v6_lbits, 128);
	free(p);
	/* nothing at all */
	er_xfrm_thresholds_choose(NULL, 0, &t);
	assert_int_equal(t.v4_lbits, 32);
}

static void
test_nd_bypass_policies(void **state)
{
	struct er_policy p[ER_XFRM_ND_BYPASS_COUNT], out;
	struct xfrm_userpolicy_info pi;
	uint8_t buf[BUF];
	unsigned i;
	int len;

	(void)state;
	er_xfrm_nd_bypass_policies(p);
	for (i = 0; i < ER_XFRM_ND_BYPASS_COUNT; i++) {
		assert_int_equal(p[i].action, ER_ACTION_PASS);
		assert_true(p[i].persist);
		assert_true(p[i].priority < 0x10000000);
		len = er_xfrm_policy_encode(&codec, buf, sizeof(buf),
					    XFRM_MSG_NEWPOLICY, 1, &p[i], NULL);
		assert_true(len > 0);
		pi = policy_info_of(buf);
		assert_int_equal(pi.sel.family, AF_INET6);
		assert_int_equal(pi.sel.proto, IPPROTO_ICMPV6);
		/* the ICMPv6 type travels as the source "port" */
		assert_int_equal(ntohs(pi.sel.sport), i < 3 ? 135 : 136);
		assert_int_equal(pi.sel.sport_mask, 0xffff);
		assert_int_equal(pi.sel.dport_mask, 0);
		assert_int_equal(pi.action, XFRM_POLICY_ALLOW);
		assert_int_equal(er_xfrm_policy_decode(&codec, buf, (size_t)len,
						       &out),
				 0);
		assert_policy_equal(&p[i], &out);
		assert_int_equal(out.owner, ER_OWNER_BARE);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_round_trip_every_case),
		cmocka_unit_test(test_policy_round_trip_cross_product),
		cmocka_unit_test(test_policy_action_mapping),
		cmocka_unit_test(test_policy_marker_and_lifetime_fields),
		cmocka_unit_test(test_marker_round_trip_and_rejects_others),
		cmocka_unit_test(test_policy_ports_must_be_blocks),
		cmocka_unit_test(
			test_policy_encode_refuses_what_xfrm_cannot_say),
		cmocka_unit_test(test_policy_id_encode),
		cmocka_unit_test(test_policy_owner_classification),
		cmocka_unit_test(test_policy_unsupported_kinds),
		cmocka_unit_test(test_policy_unknown_attributes_skipped),
		cmocka_unit_test(test_golden_policy),
		cmocka_unit_test(test_golden_sa),
		cmocka_unit_test(test_sa_round_trip),
		cmocka_unit_test(test_sa_algorithm_names),
		cmocka_unit_test(test_sa_encode_refuses),
		cmocka_unit_test(test_sa_decode_refuses_nameless_algorithm),
		cmocka_unit_test(test_sa_id_and_spi_requests),
		cmocka_unit_test(test_event_acquire),
		cmocka_unit_test(test_event_expire_soft_and_hard),
		cmocka_unit_test(test_event_polexpire_hard_only),
		cmocka_unit_test(test_event_changes_and_flushes),
		cmocka_unit_test(test_acquire_from_larval_sa),
		cmocka_unit_test(test_ack_decode),
		cmocka_unit_test(test_spdinfo),
		cmocka_unit_test(test_truncated_at_every_byte),
		cmocka_unit_test(test_corrupted_attribute_headers),
		cmocka_unit_test(test_corrupted_randomly),
		cmocka_unit_test(test_thresholds_choose),
		cmocka_unit_test(test_nd_bypass_policies),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
