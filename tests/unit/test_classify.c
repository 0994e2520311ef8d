// SPDX-License-Identifier: MIT
/*
 * The classifier against an ordered scan.  The oracle is a plain list of
 * rules: a lookup takes, among the live rules that er_selector_matches(),
 * the least by (priority, er_selector_cmp(), order of addition).  Random
 * rule sets of several adversarial shapes go through random interleaved
 * adds, deletes and flushes, and at every checkpoint each of the three
 * lookup paths (single, portable batch, SIMD batch) must give the oracle's
 * rule for every packet, and the structure must pass cls_check().  Seeds
 * are fixed; a failure prints the shape, the seed and the step.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/classify.h"
#include "eroute/rng.h"
#include "eroute/spd.h"

#include "classify_impl.h"

/* ---- the oracle -------------------------------------------------- */

struct orule {
	struct er_selector sel;
	uint32_t prio;
	struct er_cls_rule *h;
	bool live;
};

struct model {
	struct orule *r; /* every rule ever added; data = index + 1 */
	size_t n, cap;
	size_t *live; /* indices of the live rules */
	size_t nlive;
};

static void
model_add(struct model *m, const struct er_selector *sel, uint32_t prio,
          struct er_cls_rule *h)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 256;
		m->r = realloc(m->r, m->cap * sizeof(*m->r));
		m->live = realloc(m->live, m->cap * sizeof(*m->live));
		assert_non_null(m->r);
		assert_non_null(m->live);
	}
	m->r[m->n] =
	        (struct orule){.sel = *sel, .prio = prio, .h = h, .live = true};
	m->live[m->nlive++] = m->n++;
}

static void
model_free(struct model *m)
{
	free(m->r);
	free(m->live);
}

/* Is rule @a before rule @b (indices) in lookup order? */
static bool
model_before(const struct model *m, size_t a, size_t b)
{
	int c;

	if (m->r[a].prio != m->r[b].prio)
		return m->r[a].prio < m->r[b].prio;
	c = er_selector_cmp(&m->r[a].sel, &m->r[b].sel);
	if (c != 0)
		return c < 0;
	return a < b;
}

/* The oracle: index + 1 of the winning rule, 0 for none. */
static uintptr_t
model_lookup(const struct model *m, const struct er_packet *pkt)
{
	size_t best = SIZE_MAX;

	for (size_t k = 0; k < m->nlive; k++) {
		size_t i = m->live[k];

		if (!er_selector_matches(&m->r[i].sel, pkt))
			continue;
		if (best == SIZE_MAX || model_before(m, i, best))
			best = i;
	}
	return best == SIZE_MAX ? 0 : best + 1;
}

/* ---- random rules and packets ------------------------------------ */

enum shape {
	SHAPE_OVERLAP,   /* few bases, nested prefixes, mixed everything */
	SHAPE_LENGTHS,   /* every prefix-length pair: hundreds of tables */
	SHAPE_WIDEPORTS, /* tcp/udp with wide and overlapping port ranges */
	SHAPE_ANYPROTO,  /* every rule protocol any */
	SHAPE_EQUALPRIO, /* three priorities for all */
	SHAPE_FLAT,      /* every length pair and three priorities: ties
	                  * across many tables */
	SHAPE_DUPS,      /* many rules with one selector, few priorities */
	SHAPE_SAMEADDR,  /* one address pair: only protocol and ports differ */
	SHAPE_V6,        /* IPv6, lengths 0..128 */
	SHAPE_MIXED,     /* IPv4 and IPv6 in one classifier */
	SHAPE_GEN,       /* like the bench's gen4: nested anchors, every
	                  * length /8-/32, the SPD's default priorities in
	                  * several bands and some explicit ones */
	SHAPE_GEN6,      /* the same in IPv6, /32-/128 */
	SHAPE_COUNT
};

static const char *const shape_names[SHAPE_COUNT] = {
        "overlap", "lengths", "wideports", "anyproto", "equalprio",
        "flat",    "dups",    "sameaddr",  "v6",       "mixed",
        "gen",     "gen6",
};

struct gen {
	struct er_rng rng;
	enum shape shape;
	struct er_selector last;
	bool have_last;
};

static uint32_t
rnd(struct gen *g, uint32_t n)
{
	return (uint32_t)er_rng_range(&g->rng, 0, n - 1);
}

static const uint8_t v4_bases[][4] = {
        {10, 0, 0, 0},     {10, 1, 0, 0},    {10, 1, 2, 0},    {192, 0, 2, 0},
        {198, 51, 100, 0}, {203, 0, 113, 0}, {192, 0, 2, 128}, {10, 1, 2, 255},
};

static const uint8_t v6_base[16] = {0x20, 0x01, 0x0d, 0xb8};

static bool
gen_like(const struct gen *g)
{
	return g->shape == SHAPE_GEN || g->shape == SHAPE_GEN6;
}

/* One of 16 anchors inside 10.0.0.0/8 or 2001:db8::/32 with its bits
 * from a random position on replaced, so that prefixes of every length
 * nest in clusters as in the bench's generator. */
static void
gen_anchor_addr(struct gen *g, struct er_addr *a, bool v6)
{
	unsigned fixed = v6 ? 32 : 8, bits = v6 ? 128 : 32;
	unsigned anchor = rnd(g, 16), keep = fixed + rnd(g, bits - fixed + 1);

	memset(a, 0, sizeof(*a));
	a->family = v6 ? AF_INET6 : AF_INET;
	if (v6)
		memcpy(a->a, v6_base, 4);
	else
		a->a[0] = 10;
	for (unsigned i = fixed; i < bits; i++) {
		/* The anchor's bits: a fixed pattern per anchor. */
		bool on = i < keep ? ((anchor * 0x9e3779b1u) >> (i % 29)) & 1
		                   : rnd(g, 2);

		if (on)
			a->a[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	}
}

/* An address near one of a few bases, so that prefixes nest and collide. */
static void
gen_addr(struct gen *g, struct er_addr *a, bool v6)
{
	if (gen_like(g)) {
		gen_anchor_addr(g, a, v6);
		return;
	}
	memset(a, 0, sizeof(*a));
	if (!v6) {
		a->family = AF_INET;
		memcpy(a->a, v4_bases[rnd(g, 8)], 4);
		if (rnd(g, 4) == 0)
			a->a[3] = (uint8_t)rnd(g, 256);
		if (rnd(g, 8) == 0)
			a->a[2] = (uint8_t)rnd(g, 4);
		return;
	}
	a->family = AF_INET6;
	memcpy(a->a, v6_base, 16);
	a->a[5] = (uint8_t)rnd(g, 3);
	a->a[7] = (uint8_t)rnd(g, 2);
	if (rnd(g, 2) == 0)
		a->a[15] = (uint8_t)rnd(g, 4);
	if (rnd(g, 4) == 0)
		a->a[rnd(g, 16)] ^= (uint8_t)(1u << rnd(g, 8));
}

static unsigned
gen_len(struct gen *g, unsigned bits)
{
	static const uint8_t v4_common[] = {0, 8, 16, 24, 28, 32, 32, 32};
	static const uint8_t v6_common[] = {0, 32, 48, 64, 120, 128, 128};

	if (gen_like(g))
		return bits == 32 ? 8 + rnd(g, 25) : 32 + rnd(g, 97);
	if (g->shape == SHAPE_LENGTHS || g->shape == SHAPE_FLAT ||
	    rnd(g, 3) == 0)
		return rnd(g, bits + 1);
	if (bits == 32)
		return v4_common[rnd(g, sizeof(v4_common))];
	return v6_common[rnd(g, sizeof(v6_common))];
}

static void
gen_prefix(struct gen *g, struct er_prefix *p, bool v6)
{
	struct er_addr a;

	gen_addr(g, &a, v6);
	assert_true(er_prefix_init(p, &a, gen_len(g, v6 ? 128 : 32)) >= 0);
}

static const uint16_t ports[] = {0,   22,   53,   80,   443,
                                 500, 1023, 1024, 4500, 65535};

static void
gen_range(struct gen *g, struct er_port_range *r)
{
	uint16_t a, b;

	switch (rnd(g, g->shape == SHAPE_WIDEPORTS ? 3 : 4)) {
	case 0:
		r->lo = r->hi = ports[rnd(g, 10)];
		return;
	case 1:
		a = ports[rnd(g, 10)];
		b = ports[rnd(g, 10)];
		break;
	case 2:
		a = (uint16_t)rnd(g, 65536);
		b = (uint16_t)rnd(g, 65536);
		break;
	default:
		r->lo = 0;
		r->hi = 65535;
		return;
	}
	r->lo = a < b ? a : b;
	r->hi = a < b ? b : a;
}

static uint8_t
gen_proto(struct gen *g)
{
	static const uint8_t protos[] = {
	        0, 0, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ESP};

	if (g->shape == SHAPE_ANYPROTO)
		return 0;
	if (g->shape == SHAPE_WIDEPORTS)
		return rnd(g, 2) ? IPPROTO_TCP : IPPROTO_UDP;
	return protos[rnd(g, sizeof(protos))];
}

static bool
gen_v6(struct gen *g)
{
	return g->shape == SHAPE_V6 || g->shape == SHAPE_GEN6 ||
	       (g->shape == SHAPE_MIXED && rnd(g, 2));
}

static void
gen_selector(struct gen *g, struct er_selector *sel)
{
	struct er_prefix s, d;
	struct er_port_range sp = {0, 65535}, dp = {0, 65535};
	uint8_t proto;
	bool v6 = gen_v6(g);

	if (g->have_last &&
	    ((g->shape == SHAPE_DUPS && rnd(g, 2)) || rnd(g, 16) == 0)) {
		*sel = g->last;
		return;
	}
	if (g->shape == SHAPE_SAMEADDR && g->have_last) {
		s = g->last.src;
		d = g->last.dst;
	} else {
		gen_prefix(g, &s, v6);
		gen_prefix(g, &d, v6);
	}
	proto = gen_proto(g);
	if (er_proto_has_ports(proto)) {
		gen_range(g, &sp);
		gen_range(g, &dp);
	}
	assert_int_equal(er_selector_init(sel, &s, &d, proto, &sp, &dp, NULL),
	                 0);
	g->last = *sel;
	g->have_last = true;
}

/* The gen shapes' priorities: mostly the SPD's defaults for a
 * connection, some for a bare shunt or an instance, some explicit
 * anywhere in the 32 bits (every band). */
static uint32_t
gen_default_prio(struct gen *g, const struct er_selector *sel)
{
	uint32_t roll = rnd(g, 100);

	if (roll < 75)
		return er_priority_default(sel, ER_PRIO_CONN);
	if (roll < 85)
		return er_priority_default(sel, ER_PRIO_BARE);
	if (roll < 92)
		return er_priority_default(sel, ER_PRIO_INSTANCE);
	return (uint32_t)er_rng_next(&g->rng);
}

static uint32_t
gen_prio(struct gen *g)
{
	if (g->shape == SHAPE_EQUALPRIO || g->shape == SHAPE_FLAT)
		return rnd(g, 3);
	if (g->shape == SHAPE_DUPS)
		return rnd(g, 4);
	return rnd(g, 1000);
}

/* Random bits past @len in @a (sometimes all zeros or all ones, as at a
 * range's corners). */
static void
fill_host_bits(struct gen *g, struct er_addr *a, unsigned len, unsigned bits)
{
	unsigned mode = rnd(g, 3);

	for (unsigned i = len; i < bits; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));
		bool on = mode == 0 ? rnd(g, 2) : mode == 1;

		if (on)
			a->a[i / 8] |= bit;
		else
			a->a[i / 8] &= (uint8_t)~bit;
	}
}

static uint16_t
port_in(struct gen *g, const struct er_port_range *r)
{
	switch (rnd(g, 3)) {
	case 0:
		return r->lo;
	case 1:
		return r->hi;
	default:
		return (uint16_t)er_rng_range(&g->rng, r->lo, r->hi);
	}
}

static void
gen_packet(struct gen *g, const struct model *m, struct er_packet *p)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP,
	                                 IPPROTO_ESP, 0};

	memset(p, 0, sizeof(*p));
	if (m->nlive > 0 && rnd(g, 4) != 0) {
		/* Inside a live rule, so that lookups hit and overlap. */
		const struct er_selector *s =
		        &m->r[m->live[rnd(g, (uint32_t)m->nlive)]].sel;
		unsigned bits = er_addr_bits(s->src.addr.family);

		p->src = s->src.addr;
		p->dst = s->dst.addr;
		fill_host_bits(g, &p->src, s->src.len, bits);
		fill_host_bits(g, &p->dst, s->dst.len, bits);
		p->proto = s->proto != 0 ? s->proto : protos[rnd(g, 5)];
		p->sport = port_in(g, &s->sport);
		p->dport = port_in(g, &s->dport);
		if (rnd(g, 8) == 0)
			p->proto = protos[rnd(g, 5)];
		return;
	}
	gen_addr(g, &p->src, gen_v6(g));
	gen_addr(g, &p->dst, p->src.family == AF_INET6);
	fill_host_bits(g, &p->src, rnd(g, 33), 32);
	p->proto = protos[rnd(g, 5)];
	p->sport = ports[rnd(g, 10)];
	p->dport = (uint16_t)rnd(g, 65536);
}

/* ---- the differential run ---------------------------------------- */

#define NPKT 64

static void
report(const char *what, const struct gen *g, uint64_t seed, int step,
       const struct model *m, const struct er_packet *p, uintptr_t want,
       uintptr_t got)
{
	char a[ER_ADDR_STRLEN], b[ER_ADDR_STRLEN];
	char ws[ER_SELECTOR_STRLEN] = "none", gs[ER_SELECTOR_STRLEN] = "none";

	er_addr_format(&p->src, a, sizeof(a));
	er_addr_format(&p->dst, b, sizeof(b));
	if (want != 0)
		er_selector_format(&m->r[want - 1].sel, ws, sizeof(ws));
	if (got != 0 && got <= m->n)
		er_selector_format(&m->r[got - 1].sel, gs, sizeof(gs));
	print_error("%s: shape %s seed %lu step %d: packet %s -> %s proto %u "
	            "%u -> %u: want #%lu (%s prio %u), got #%lu (%s)\n",
	            what, shape_names[g->shape], (unsigned long)seed, step, a,
	            b, p->proto, p->sport, p->dport, (unsigned long)want, ws,
	            want ? m->r[want - 1].prio : 0, (unsigned long)got, gs);
}

static void
check_lookups(struct er_cls *cls, struct gen *g, const struct model *m,
              uint64_t seed, int step)
{
	struct er_packet pkts[NPKT];
	uintptr_t want[NPKT];
	void *out[NPKT];
	char buf[256];
	int bad = 0;

	if (cls_check(cls, buf, sizeof(buf)) != 0) {
		print_error("cls_check: shape %s seed %lu step %d: %s\n",
		            shape_names[g->shape], (unsigned long)seed, step,
		            buf);
		fail();
	}
	assert_int_equal(er_cls_count(cls), m->nlive);
	for (int i = 0; i < NPKT; i++) {
		gen_packet(g, m, &pkts[i]);
		want[i] = model_lookup(m, &pkts[i]);
	}
	for (int simd = 0; simd < 2; simd++) {
		bool on = er_cls_set_simd(cls, simd);

		/* The portable path is always available; SIMD where the
		 * CPU has it, and then it must be in use. */
		assert_true(on == (simd && cls_simd_supported()));
		for (int i = 0; i < NPKT; i++) {
			void *got = er_cls_lookup(cls, &pkts[i]);

			if ((uintptr_t)got != want[i] && bad++ == 0)
				report(simd ? "single simd" : "single portable",
				       g, seed, step, m, &pkts[i], want[i],
				       (uintptr_t)got);
		}
		memset(out, 0xa5, sizeof(out));
		/* An odd split, so that chunks end mid-vector. */
		er_cls_lookup_batch(cls, pkts, 37, out);
		er_cls_lookup_batch(cls, pkts + 37, NPKT - 37, out + 37);
		for (int i = 0; i < NPKT; i++) {
			if ((uintptr_t)out[i] != want[i] && bad++ == 0)
				report(simd ? "batch simd" : "batch portable",
				       g, seed, step, m, &pkts[i], want[i],
				       (uintptr_t)out[i]);
		}
	}
	assert_int_equal(bad, 0);
}

/* Grow to about @steps / 3 rules, then churn around that size; flush
 * once two thirds of the way and grow again. */
static void
run(enum shape shape, uint64_t seed, int steps)
{
	struct er_cls *cls = er_cls_new();
	struct model m = {0};
	struct gen g = {.shape = shape};
	size_t target = (size_t)steps / 3;

	assert_non_null(cls);
	er_rng_init(&g.rng, seed * 1000003u + shape);
	for (int step = 0; step < steps; step++) {
		uint32_t op = rnd(&g, 1000);
		uint32_t add = m.nlive < target ? 800 : 450;

		if (step == steps * 2 / 3 || op == 0) {
			er_cls_flush(cls);
			for (size_t k = 0; k < m.nlive; k++)
				m.r[m.live[k]].live = false;
			m.nlive = 0;
		} else if (op < add || m.nlive == 0) {
			struct er_selector sel;
			struct er_cls_rule *h;
			uint32_t prio = gen_prio(&g);

			gen_selector(&g, &sel);
			if (gen_like(&g))
				prio = gen_default_prio(&g, &sel);
			assert_int_equal(
			        er_cls_add(cls, &sel, prio,
			                   (void *)(uintptr_t)(m.n + 1), &h),
			        0);
			model_add(&m, &sel, prio, h);
		} else {
			size_t k = rnd(&g, (uint32_t)m.nlive);
			size_t i = m.live[k];

			er_cls_del(cls, m.r[i].h);
			m.r[i].live = false;
			m.live[k] = m.live[--m.nlive];
		}
		if (step % 50 == 0 || step == steps - 1)
			check_lookups(cls, &g, &m, seed, step);
	}
	er_cls_free(cls);
	model_free(&m);
}

static void
test_classify_matches_ordered_scan(void **state)
{
	(void)state;
	for (int shape = 0; shape < SHAPE_COUNT; shape++) {
		for (uint64_t seed = 1; seed <= 3; seed++)
			run((enum shape)shape, seed, 1000);
	}
}

/* Growth past a few hundred rules: buckets split and merge, groups
 * overflow into new tables, heaps grow segments. */
static void
test_classify_matches_ordered_scan_larger(void **state)
{
	(void)state;
	run(SHAPE_OVERLAP, 7, 2500);
	run(SHAPE_SAMEADDR, 7, 1500);
	run(SHAPE_MIXED, 7, 2500);
	run(SHAPE_GEN, 7, 3000);
	run(SHAPE_GEN6, 7, 2000);
}

/* ---- targeted cases ---------------------------------------------- */

static struct er_selector
SEL(const char *src, const char *dst, uint8_t proto, const char *sport,
    const char *dport) {
	struct er_selector sel;
	struct er_prefix s, d;
	struct er_port_range sp, dp;

	assert_true(er_prefix_parse(&s, src, NULL) >= 0);
	assert_true(er_prefix_parse(&d, dst, NULL) >= 0);
	assert_int_equal(er_port_range_parse(&sp, sport, NULL), 0);
	assert_int_equal(er_port_range_parse(&dp, dport, NULL), 0);
	assert_int_equal(er_selector_init(&sel, &s, &d, proto, &sp, &dp, NULL),
	                 0);
	return sel;
}

static struct er_packet
PKT(const char *src, const char *dst, uint8_t proto, uint16_t sport,
    uint16_t dport) {
	struct er_packet p = {.proto = proto, .sport = sport, .dport = dport};

	assert_int_equal(er_addr_parse(&p.src, src, NULL), 0);
	assert_int_equal(er_addr_parse(&p.dst, dst, NULL), 0);
	return p;
}

static void
test_classify_rejects_bad_selectors(void **state)
{
	struct er_cls *cls = er_cls_new();
	struct er_selector sel =
	        SEL("10.0.0.0/8", "10.1.0.0/16", 0, "any", "any");
	struct er_selector bad;
	int d = 1;

	(void)state;
	bad = sel;
	bad.dst.addr.family = AF_INET6;
	assert_int_equal(er_cls_add(cls, &bad, 1, &d, NULL), -EINVAL);
	bad = sel;
	bad.src.addr.family = bad.dst.addr.family = AF_UNSPEC;
	assert_int_equal(er_cls_add(cls, &bad, 1, &d, NULL), -EINVAL);
	bad = sel;
	bad.src.len = 33;
	assert_int_equal(er_cls_add(cls, &bad, 1, &d, NULL), -EINVAL);
	assert_int_equal(er_cls_count(cls), 0);
	er_cls_free(cls);
	er_cls_free(NULL);
}

static void
test_classify_families_never_mix(void **state)
{
	struct er_cls *cls = er_cls_new();
	struct er_selector any4 =
	        SEL("0.0.0.0/0", "0.0.0.0/0", 0, "any", "any");
	struct er_selector any6 = SEL("::/0", "::/0", 0, "any", "any");
	struct er_packet p4 = PKT("192.0.2.1", "198.51.100.1", 6, 1, 2);
	struct er_packet p6 = PKT("2001:db8::1", "2001:db8::2", 6, 1, 2);
	struct er_packet none = p4;
	int a = 4, b = 6;

	(void)state;
	assert_null(er_cls_lookup(cls, &p4));
	assert_int_equal(er_cls_add(cls, &any4, 10, &a, NULL), 0);
	assert_ptr_equal(er_cls_lookup(cls, &p4), &a);
	assert_null(er_cls_lookup(cls, &p6));
	assert_int_equal(er_cls_add(cls, &any6, 20, &b, NULL), 0);
	assert_ptr_equal(er_cls_lookup(cls, &p6), &b);
	assert_ptr_equal(er_cls_lookup(cls, &p4), &a);
	none.src.family = none.dst.family = AF_UNSPEC;
	assert_null(er_cls_lookup(cls, &none));
	none = p4;
	none.dst = p6.dst;
	assert_null(er_cls_lookup(cls, &none));
	er_cls_free(cls);
}

static void
test_classify_ties(void **state)
{
	struct er_cls *cls = er_cls_new();
	struct er_selector wide =
	        SEL("10.0.0.0/8", "0.0.0.0/0", 0, "any", "any");
	struct er_selector narrow =
	        SEL("10.1.0.0/16", "0.0.0.0/0", 0, "any", "any");
	struct er_packet p = PKT("10.1.2.3", "192.0.2.1", 17, 5, 53);
	struct er_cls_rule *h1, *h2, *h3;
	int one = 1, two = 2, three = 3;

	(void)state;
	/* Equal priorities: the smaller selector (longer source) wins,
	 * whatever the order of addition. */
	assert_int_equal(er_cls_add(cls, &wide, 5, &one, &h1), 0);
	assert_int_equal(er_cls_add(cls, &narrow, 5, &two, &h2), 0);
	assert_ptr_equal(er_cls_lookup(cls, &p), &two);
	/* Same selector and priority again: the first added still wins. */
	assert_int_equal(er_cls_add(cls, &narrow, 5, &three, &h3), 0);
	assert_ptr_equal(er_cls_lookup(cls, &p), &two);
	er_cls_del(cls, h2);
	assert_ptr_equal(er_cls_lookup(cls, &p), &three);
	er_cls_del(cls, h3);
	assert_ptr_equal(er_cls_lookup(cls, &p), &one);
	/* A lower value beats any selector. */
	assert_int_equal(er_cls_add(cls, &narrow, 6, &two, &h2), 0);
	assert_ptr_equal(er_cls_lookup(cls, &p), &one);
	er_cls_del(cls, h1);
	assert_ptr_equal(er_cls_lookup(cls, &p), &two);
	er_cls_free(cls);
}

/* er_selector_matches() ignores the ports of a protocol-any selector even
 * when a hand-built one carries some; so does the classifier. */
static void
test_classify_any_protocol_ignores_ports(void **state)
{
	struct er_cls *cls = er_cls_new();
	struct er_selector sel =
	        SEL("10.0.0.0/8", "0.0.0.0/0", 0, "any", "any");
	struct er_packet p = PKT("10.0.0.1", "192.0.2.1", 6, 1000, 2000);
	int d = 1;

	(void)state;
	sel.dport.lo = sel.dport.hi = 80;
	assert_true(er_selector_matches(&sel, &p));
	assert_int_equal(er_cls_add(cls, &sel, 1, &d, NULL), 0);
	assert_ptr_equal(er_cls_lookup(cls, &p), &d);
	er_cls_free(cls);
}

/* More identical rules than a group should hold: nothing can split them,
 * so they share one group, still in order. */
static void
test_classify_identical_rules_overflow(void **state)
{
	struct er_cls *cls = er_cls_new();
	struct er_selector sel = SEL("192.0.2.0/24", "198.51.100.7/32",
	                             IPPROTO_TCP, "1000", "443");
	struct er_packet p =
	        PKT("192.0.2.9", "198.51.100.7", IPPROTO_TCP, 1000, 443);
	struct er_cls_rule *h[40];
	int d[40];
	char buf[128];

	(void)state;
	for (int i = 0; i < 40; i++) {
		d[i] = i;
		/* Priorities 39, 38, ..., 0: each new rule is the best. */
		assert_int_equal(
		        er_cls_add(cls, &sel, (uint32_t)(39 - i), &d[i], &h[i]),
		        0);
		assert_ptr_equal(er_cls_lookup(cls, &p), &d[i]);
	}
	assert_int_equal(cls_check(cls, buf, sizeof(buf)), 0);
	for (int i = 39; i > 0; i--) {
		er_cls_del(cls, h[i]);
		assert_ptr_equal(er_cls_lookup(cls, &p), &d[i - 1]);
	}
	assert_int_equal(cls_check(cls, buf, sizeof(buf)), 0);
	er_cls_free(cls);
}

/* A group longer than its filter block (rules no table can separate:
 * one address pair, protocol and port, source ranges of every width),
 * filled and emptied in random orders: every lookup, through all three
 * paths, must find the best live rule whose range holds the port, whether
 * that rule sits in the block or past it in the list. */
static void
test_classify_long_group(void **state)
{
	enum { N = 100 };
	struct er_cls *cls = er_cls_new();
	struct er_cls_stats st;
	struct er_cls_rule *h[N];
	uint32_t prio[N];
	int order[N], d[N];
	bool live[N] = {false};
	struct er_rng rng;
	char buf[128];

	(void)state;
	er_rng_init(&rng, 42);
	for (int i = 0; i < N; i++) {
		order[i] = i;
		d[i] = i;
		prio[i] = (uint32_t)er_rng_range(&rng, 0, 7);
	}
	for (int pass = 0; pass < 2; pass++) {
		for (int i = N - 1; i > 0; i--) {
			int j = (int)er_rng_range(&rng, 0, (uint64_t)i), t;

			t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (int k = 0; k < N; k++) {
			int i = order[k];

			if (pass == 0) {
				char sp[24];
				struct er_selector sel;

				snprintf(sp, sizeof(sp), "1000-%d", 1000 + i);
				sel = SEL("192.0.2.0/24", "198.51.100.7/32",
				          IPPROTO_TCP, sp, "443");
				assert_int_equal(er_cls_add(cls, &sel, prio[i],
				                            &d[i], &h[i]),
				                 0);
				live[i] = true;
			} else {
				er_cls_del(cls, h[i]);
				live[i] = false;
			}
			if (pass == 0 && k == N - 1) {
				/* Every table has one group here: at least one
				 * of them holds more than a block. */
				er_cls_get_stats(cls, &st);
				assert_true(st.tables * CLS_BLK_MAX < N);
			}
			assert_int_equal(cls_check(cls, buf, sizeof(buf)), 0);
			for (int port = 999; port <= 1000 + N; port++) {
				struct er_packet p =
				        PKT("192.0.2.9", "198.51.100.7",
				            IPPROTO_TCP, (uint16_t)port, 443);
				void *want = NULL, *got[4];
				int best = -1;

				/* Equal priorities: the smaller selector (the
				 * narrower range) wins. */
				for (int r = 0; r < N; r++) {
					if (!live[r] || port < 1000 ||
					    port > 1000 + r)
						continue;
					if (best < 0 || prio[r] < prio[best])
						best = r;
				}
				want = best >= 0 ? &d[best] : NULL;
				er_cls_set_simd(cls, false);
				got[0] = er_cls_lookup(cls, &p);
				er_cls_lookup_batch(cls, &p, 1, &got[1]);
				er_cls_set_simd(cls, true);
				got[2] = er_cls_lookup(cls, &p);
				er_cls_lookup_batch(cls, &p, 1, &got[3]);
				for (int j = 0; j < 4; j++)
					assert_ptr_equal(got[j], want);
			}
		}
	}
	er_cls_free(cls);
}

static void
test_classify_batch_sizes(void **state)
{
	struct er_cls *cls = er_cls_new();
	struct er_selector sel =
	        SEL("10.0.0.0/8", "0.0.0.0/0", 0, "any", "any");
	struct er_packet pkts[150];
	void *out[150];
	int d = 1;

	(void)state;
	assert_int_equal(er_cls_add(cls, &sel, 1, &d, NULL), 0);
	for (int i = 0; i < 150; i++) {
		char a[32];

		snprintf(a, sizeof(a), "%d.0.0.1", i % 2 ? 10 : 11);
		pkts[i] = PKT(a, "192.0.2.1", 6, 1, 2);
	}
	er_cls_lookup_batch(cls, pkts, 0, out);
	for (int simd = 0; simd < 2; simd++) {
		er_cls_set_simd(cls, simd);
		memset(out, 0, sizeof(out));
		er_cls_lookup_batch(cls, pkts, 150, out);
		for (int i = 0; i < 150; i++)
			assert_ptr_equal(out[i], i % 2 ? &d : NULL);
	}
	er_cls_free(cls);
}

static void
test_classify_stats_and_flush(void **state)
{
	struct er_cls *cls = er_cls_new();
	struct er_cls_stats st, full;
	struct gen g = {.shape = SHAPE_OVERLAP};
	struct er_packet p = PKT("10.1.2.3", "10.1.2.4", 6, 1, 2);
	char buf[128];

	(void)state;
	er_rng_init(&g.rng, 42);
	er_cls_get_stats(cls, &st);
	assert_int_equal(st.rules, 0);
	assert_int_equal(st.tables, 0);
	assert_true(st.bytes > 0 && st.peak_bytes >= st.bytes);
	for (uint32_t i = 0; i < 2000; i++) {
		struct er_selector sel;

		gen_selector(&g, &sel);
		assert_int_equal(er_cls_add(cls, &sel, i, &g, NULL), 0);
	}
	er_cls_get_stats(cls, &full);
	assert_int_equal(full.rules, 2000);
	assert_int_equal(er_cls_count(cls), 2000);
	assert_true(full.tables > 0);
	assert_true(full.bytes > st.bytes + 2000 * sizeof(struct er_cls_rule));
	assert_true(full.peak_bytes >= full.bytes);
	er_cls_flush(cls);
	er_cls_get_stats(cls, &st);
	assert_int_equal(st.rules, 0);
	assert_int_equal(st.tables, 0);
	assert_int_equal(er_cls_count(cls), 0);
	assert_true(st.bytes < full.bytes);
	assert_int_equal(st.peak_bytes, st.bytes);
	assert_null(er_cls_lookup(cls, &p));
	assert_int_equal(cls_check(cls, buf, sizeof(buf)), 0);
	/* Usable again after a flush. */
	assert_int_equal(er_cls_add(cls, &g.last, 1, &g, NULL), 0);
	assert_int_equal(er_cls_count(cls), 1);
	er_cls_free(cls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_classify_matches_ordered_scan),
	        cmocka_unit_test(test_classify_matches_ordered_scan_larger),
	        cmocka_unit_test(test_classify_rejects_bad_selectors),
	        cmocka_unit_test(test_classify_families_never_mix),
	        cmocka_unit_test(test_classify_ties),
	        cmocka_unit_test(test_classify_any_protocol_ignores_ports),
	        cmocka_unit_test(test_classify_identical_rules_overflow),
	        cmocka_unit_test(test_classify_long_group),
	        cmocka_unit_test(test_classify_batch_sizes),
	        cmocka_unit_test(test_classify_stats_and_flush),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
