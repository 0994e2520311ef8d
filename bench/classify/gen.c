// SPDX-License-Identifier: MIT
/*
 * The project's own rule sets, IPv4 (gen4, inside 10.0.0.0/8, prefixes /8 to
 * /32) and IPv6 (gen6, inside 2001:db8::/32, /32 to /128), made to be hard
 * for a classifier that is not exact:
 *
 *   - heavy overlap: every address is one of 256 anchors with its low bits
 *     from some random position on replaced, so prefixes nest in clusters;
 *   - every prefix length on both sides, hence many distinct length pairs;
 *   - protocol any (no ports) for a third of the rules, else tcp, udp, esp
 *     or icmp; tcp and udp with single ports and ranges on both sides;
 *   - priorities as eroute computes them (er_priority_default(), so many
 *     ties that er_selector_cmp() breaks), some in another class, some
 *     explicit.
 *
 * Selectors are unique (as in an SPD direction); rules are inserted in a
 * random order.  The hit trace holds packets drawn inside random rules, the
 * random trace packets drawn uniformly over the covered space.  The answers
 * come from the ordered scan.  Everything is seeded: a set is the same on
 * every run.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eroute/spd.h"

#include "bench.h"

#define ANCHORS 256

struct gen {
	uint64_t seed;
	int family;
	unsigned bits, fixed;	/* address width; bits of the covered space */
	uint8_t base[16];	/* the covered space */
	uint8_t anchor[ANCHORS][16];
};

static uint64_t
rnd(struct gen *g, uint64_t n)
{
	return n ? splitmix(&g->seed) % n : 0;
}

static void
set_bit(uint8_t *a, unsigned b, bool v)
{
	uint8_t m = (uint8_t)(0x80u >> (b % 8));

	a[b / 8] = v ? (uint8_t)(a[b / 8] | m) : (uint8_t)(a[b / 8] & ~m);
}

/* @a keeps its first @keep bits; the rest are random. */
static void
randomise_from(struct gen *g, uint8_t *a, unsigned keep)
{
	for (unsigned b = keep; b < g->bits; b++)
		set_bit(a, b, splitmix(&g->seed) & 1);
}

static void
addr_of(struct gen *g, const uint8_t *bytes, struct er_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)g->family;
	memcpy(out->a, bytes, g->bits / 8);
}

static void
gen_prefix(struct gen *g, struct er_prefix *p)
{
	uint8_t a[16];
	unsigned len = g->fixed + (unsigned)rnd(g, g->bits - g->fixed + 1);
	unsigned keep = g->fixed + (unsigned)rnd(g, g->bits - g->fixed + 1);
	struct er_addr addr;

	memcpy(a, g->anchor[rnd(g, ANCHORS)], sizeof(a));
	randomise_from(g, a, keep);
	addr_of(g, a, &addr);
	er_prefix_init(p, &addr, len);
}

static uint16_t
popular_port(struct gen *g)
{
	static const uint16_t ports[] = {22, 53, 80, 123, 443, 500, 3306,
					 4500, 5060, 8080};

	if (rnd(g, 2))
		return ports[rnd(g, sizeof(ports) / sizeof(ports[0]))];
	return (uint16_t)(1 + rnd(g, 65535));
}

/* Any, a single port or a range, with the chances in percent. */
static void
gen_ports(struct gen *g, struct er_port_range *r, unsigned any,
	  unsigned single)
{
	unsigned roll = (unsigned)rnd(g, 100);

	if (roll < any) {
		r->lo = 0;
		r->hi = 65535;
	} else if (roll < any + single) {
		r->lo = r->hi = popular_port(g);
	} else if (rnd(g, 4) == 0) {
		r->lo = 1024;
		r->hi = 65535;
	} else {
		uint32_t lo = (uint32_t)rnd(g, 65536);
		uint32_t w = 1u << (1 + rnd(g, 15));

		r->lo = (uint16_t)lo;
		r->hi = (uint16_t)(lo + w - 1 > 65535 ? 65535 : lo + w - 1);
	}
}

static uint8_t
gen_icmp(const struct gen *g)
{
	return g->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
}

static void
gen_rule(struct gen *g, struct brule *r)
{
	struct er_prefix src, dst;
	struct er_port_range sp = {0, 65535}, dp = {0, 65535};
	unsigned roll = (unsigned)rnd(g, 100);
	uint8_t proto;

	gen_prefix(g, &src);
	gen_prefix(g, &dst);
	if (roll < 35) {
		proto = ER_PROTO_ANY;
	} else if (roll < 65) {
		proto = IPPROTO_TCP;
	} else if (roll < 90) {
		proto = IPPROTO_UDP;
	} else if (roll < 95) {
		proto = IPPROTO_ESP;
	} else {
		proto = gen_icmp(g);
	}
	if (er_proto_has_ports(proto)) {
		gen_ports(g, &sp, 60, 25);
		gen_ports(g, &dp, 25, 50);
	}
	er_selector_init(&r->sel, &src, &dst, proto, &sp, &dp, NULL);
	roll = (unsigned)rnd(g, 100);
	if (roll < 85)
		r->prio = er_priority_default(&r->sel, ER_PRIO_CONN);
	else if (roll < 95)
		r->prio = er_priority_default(&r->sel, ER_PRIO_BARE);
	else
		r->prio = (uint32_t)rnd(g, 1u << 30);
}

static int
sel_cmp(const void *a, const void *b)
{
	return er_selector_cmp(&((const struct brule *)a)->sel,
			       &((const struct brule *)b)->sel);
}

static uint8_t
any_proto(struct gen *g)
{
	static const uint8_t p[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ESP, 0};
	uint8_t v = p[rnd(g, 4)];

	return v ? v : gen_icmp(g);
}

static uint16_t
in_range(struct gen *g, const struct er_port_range *r)
{
	return (uint16_t)(r->lo + rnd(g, (uint64_t)r->hi - r->lo + 1));
}

static void
gen_hit(struct gen *g, const struct brule *r, struct er_packet *p)
{
	uint8_t a[16];

	memset(p, 0, sizeof(*p));
	memcpy(a, r->sel.src.addr.a, sizeof(a));
	randomise_from(g, a, r->sel.src.len);
	addr_of(g, a, &p->src);
	memcpy(a, r->sel.dst.addr.a, sizeof(a));
	randomise_from(g, a, r->sel.dst.len);
	addr_of(g, a, &p->dst);
	p->proto = r->sel.proto != ER_PROTO_ANY ? r->sel.proto : any_proto(g);
	if (er_proto_has_ports(p->proto)) {
		p->sport = in_range(g, &r->sel.sport);
		p->dport = in_range(g, &r->sel.dport);
	}
}

static void
gen_rand(struct gen *g, struct er_packet *p)
{
	uint8_t a[16];

	memset(p, 0, sizeof(*p));
	memcpy(a, g->base, sizeof(a));
	randomise_from(g, a, g->fixed);
	addr_of(g, a, &p->src);
	randomise_from(g, a, g->fixed);
	addr_of(g, a, &p->dst);
	p->proto = any_proto(g);
	if (er_proto_has_ports(p->proto)) {
		p->sport = (uint16_t)rnd(g, 65536);
		p->dport = (uint16_t)rnd(g, 65536);
	}
}

static int
gen_rules(struct gen *g, struct bset *s, size_t n)
{
	size_t want = n + n / 8 + 16, got = 0;
	struct brule *r = calloc(want, sizeof(*r));

	if (r == NULL)
		return -ENOMEM;
	/* Draw, drop repeated selectors, draw again for the missing ones. */
	while (got < n) {
		for (size_t i = got; i < want; i++)
			gen_rule(g, &r[i]);
		qsort(r, want, sizeof(*r), sel_cmp);
		got = 0;
		for (size_t i = 0; i < want; i++)
			if (got == 0 || !er_selector_equal(&r[i].sel,
							   &r[got - 1].sel))
				r[got++] = r[i];
	}
	/* A random insertion order, then the first n. */
	for (size_t i = got - 1; i > 0; i--) {
		size_t j = (size_t)rnd(g, i + 1);
		struct brule t = r[i];

		r[i] = r[j];
		r[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		r[i].idx = (int32_t)i;
	s->rules = r;
	s->nrules = s->nsource = n;
	return 0;
}

static int
gen_trace(struct gen *g, struct bset *s, int t, size_t n,
	  const struct oracle *oracle)
{
	struct trace *tr = &s->tr[t];

	tr->pkt = calloc(n ? n : 1, sizeof(*tr->pkt));
	tr->want = calloc(n ? n : 1, sizeof(*tr->want));
	if (tr->pkt == NULL || tr->want == NULL)
		return -ENOMEM;
	tr->n = n;
	for (size_t i = 0; i < n; i++) {
		if (t == TRACE_HIT)
			gen_hit(g, &s->rules[rnd(g, s->nrules)], &tr->pkt[i]);
		else
			gen_rand(g, &tr->pkt[i]);
		tr->want[i] = oracle_lookup(oracle, &tr->pkt[i]);
	}
	return 0;
}

int
gen_set(struct bset *s, int family, size_t n, const char *size, size_t nhit,
	size_t nrand)
{
	struct gen g = {.family = family};
	struct oracle *oracle = NULL;
	int ret;

	memset(s, 0, sizeof(*s));
	s->family = family;
	snprintf(s->base, sizeof(s->base), "gen%d", family == AF_INET ? 4 : 6);
	snprintf(s->size, sizeof(s->size), "%s", size);
	snprintf(s->name, sizeof(s->name), "%s_%s", s->base, size);
	s->oracle = "ordered scan";
	g.seed = (uint64_t)n * 2654435761u + (uint64_t)family;
	if (family == AF_INET) {
		g.bits = 32;
		g.fixed = 8;
		g.base[0] = 10;
	} else {
		static const uint8_t db8[4] = {0x20, 0x01, 0x0d, 0xb8};

		g.bits = 128;
		g.fixed = 32;
		memcpy(g.base, db8, sizeof(db8));
	}
	for (size_t i = 0; i < ANCHORS; i++) {
		memcpy(g.anchor[i], g.base, sizeof(g.base));
		randomise_from(&g, g.anchor[i], g.fixed);
	}
	ret = gen_rules(&g, s, n);
	if (ret == 0)
		ret = bset_rank(s);
	if (ret == 0) {
		oracle = oracle_new(s);
		ret = oracle != NULL ? 0 : -ENOMEM;
	}
	if (ret == 0)
		ret = gen_trace(&g, s, TRACE_HIT, nhit, oracle);
	if (ret == 0)
		ret = gen_trace(&g, s, TRACE_RAND, nrand, oracle);
	oracle_free(oracle);
	if (ret < 0)
		bset_fini(s);
	return ret;
}
