// SPDX-License-Identifier: MIT
/*
 * DPDK's rte_acl as the baseline to beat, built only when pkg-config finds
 * libdpdk.  EAL runs without hugepages or PCI on one lcore (the CPU the
 * bench is pinned to).  Each set gets one context: the "avx2" row forces
 * RTE_ACL_CLASSIFY_AVX2; the "avx512" row is the same context switched to
 * RTE_ACL_CLASSIFY_AVX512X32 after rte_vect_set_max_simd_bitwidth(512) --
 * what --force-max-simd-bitwidth=512 does, in the same process (EAL can be
 * initialised once), so both rows classify the very same tries.
 *
 * Semantics: rte_acl picks the highest priority among matching rules, so
 * the rule of lookup rank r (bset_rank()) gets priority MAX - r and user
 * data r + 1 (0 is rte_acl's "no match"); one category.  Rule fields are
 * in host order, packets in network order as rte_acl wants: a 1-byte
 * protocol, then 4-byte groups (the addresses, IPv6 as four 32-bit masks
 * each, and the two ports together).
 *
 * Memory: the EAL heap's allocated bytes after the build minus before
 * (rte_acl has no memory counter in 22.11); the peak is the growth of the
 * process's resident high-water mark over the build, which also counts the
 * build's temporary malloc()s.
 */
#define ALLOW_EXPERIMENTAL_API 1

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_vect.h>
#include <rte_version.h>

#include "bench.h"

#define V4_FIELDS 5
#define V6_FIELDS 11
#define V4_SIZE 16
#define V6_SIZE 40

RTE_ACL_RULE_DEF(acl_rule6, V6_FIELDS);

struct acl {
	const struct bset *s;
	struct rte_acl_ctx *ctx;
	unsigned nf, tsize;
	uint8_t *buf[TRACE_COUNT];
	const uint8_t **ptr[TRACE_COUNT];
	int32_t *answer_of;	/* rank -> answer */
	uint32_t res[BENCH_BATCH];
	size_t bytes, peak;
};

static bool eal_up;

int
acl_init(int cpu, char *why, size_t len)
{
	const char *mb = getenv("BENCH_DPDK_MB");
	char core[16], mem[16];
	char *argv[] = {"eroute-bench", "--no-huge", "--no-pci", "-l", core,
			"-m", mem, "--no-shconf", "--no-telemetry",
			"--log-level=error", NULL};
	int ret;

	snprintf(core, sizeof(core), "%d", cpu);
	snprintf(mem, sizeof(mem), "%s", mb ? mb : "4096");
	ret = rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv);
	if (ret < 0) {
		snprintf(why, len, "rte_eal_init: %s",
			 rte_strerror(rte_errno));
		return -1;
	}
	eal_up = true;
	return 0;
}

void
acl_fini(void)
{
	if (eal_up)
		rte_eal_cleanup();
	eal_up = false;
}

const char *
acl_version(void)
{
	return rte_version();
}

static void
field_defs(struct rte_acl_config *cfg, bool v6)
{
	unsigned n = 0, in = 0, off = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->num_categories = 1;
	cfg->defs[n] = (struct rte_acl_field_def){
		.type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 1,
		.field_index = (uint8_t)n, .input_index = (uint8_t)in++,
		.offset = off};
	n++;
	off = 4;
	for (unsigned w = 0; w < (v6 ? 8u : 2u); w++) {
		cfg->defs[n] = (struct rte_acl_field_def){
			.type = RTE_ACL_FIELD_TYPE_MASK, .size = 4,
			.field_index = (uint8_t)n, .input_index = (uint8_t)in++,
			.offset = off};
		n++;
		off += 4;
	}
	for (unsigned p = 0; p < 2; p++) {
		cfg->defs[n] = (struct rte_acl_field_def){
			.type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2,
			.field_index = (uint8_t)n, .input_index = (uint8_t)in,
			.offset = off};
		n++;
		off += 2;
	}
	cfg->num_fields = n;
}

static uint32_t
word(const uint8_t *a, unsigned w)
{
	return (uint32_t)a[4 * w] << 24 | (uint32_t)a[4 * w + 1] << 16 |
	       (uint32_t)a[4 * w + 2] << 8 | a[4 * w + 3];
}

static unsigned
word_len(unsigned len, unsigned w)
{
	return len <= 32 * w ? 0 : len - 32 * w > 32 ? 32 : len - 32 * w;
}

static void
rule_of(struct rte_acl_rule *out, const struct brule *r, uint32_t rank,
	unsigned words)
{
	unsigned f = 0;

	out->data.category_mask = 1;
	out->data.priority = (int32_t)(RTE_ACL_MAX_PRIORITY - rank);
	out->data.userdata = rank + 1;
	out->field[f].value.u8 = r->sel.proto;
	out->field[f++].mask_range.u8 = r->sel.proto ? 0xff : 0;
	for (unsigned side = 0; side < 2; side++) {
		const struct er_prefix *p = side ? &r->sel.dst : &r->sel.src;

		for (unsigned w = 0; w < words; w++) {
			out->field[f].value.u32 = word(p->addr.a, w);
			out->field[f++].mask_range.u32 = word_len(p->len, w);
		}
	}
	out->field[f].value.u16 = r->sel.sport.lo;
	out->field[f++].mask_range.u16 = r->sel.sport.hi;
	out->field[f].value.u16 = r->sel.dport.lo;
	out->field[f].mask_range.u16 = r->sel.dport.hi;
}

static void
a_free(void *ctx)
{
	struct acl *a = ctx;

	if (a == NULL)
		return;
	rte_acl_free(a->ctx);
	for (int t = 0; t < TRACE_COUNT; t++) {
		free(a->buf[t]);
		free(a->ptr[t]);
	}
	free(a->answer_of);
	free(a);
}

static size_t
heap_bytes(void)
{
	struct rte_malloc_socket_stats st;

	if (rte_malloc_get_socket_stats((int)rte_socket_id(), &st) < 0)
		return 0;
	return st.heap_allocsz_bytes;
}

static int
a_build(void **ctx, const struct bset *s, char *why, size_t len)
{
	static unsigned serial;
	struct acl *a = calloc(1, sizeof(*a));
	bool v6 = s->family != AF_INET;
	struct rte_acl_param prm = {0};
	struct rte_acl_config cfg;
	char name[RTE_ACL_NAMESIZE];
	uint8_t *rules = NULL;
	size_t rsize, heap0 = heap_bytes();
	long rss0;
	int ret = -ENOMEM;

	mem_peak_reset();
	rss0 = mem_rss_kb();
	if (a == NULL)
		goto out;
	a->s = s;
	a->nf = v6 ? V6_FIELDS : V4_FIELDS;
	a->tsize = v6 ? V6_SIZE : V4_SIZE;
	rsize = RTE_ACL_RULE_SZ(a->nf);
	a->answer_of = calloc(s->nrules + 1, sizeof(*a->answer_of));
	rules = calloc(s->nrules + 1, rsize);
	if (a->answer_of == NULL || rules == NULL)
		goto out;
	snprintf(name, sizeof(name), "bench%u", serial++);
	prm.name = name;
	prm.socket_id = (int)rte_socket_id();
	prm.rule_size = (uint32_t)rsize;
	prm.max_rule_num = (uint32_t)s->nrules;
	a->ctx = rte_acl_create(&prm);
	if (a->ctx == NULL) {
		snprintf(why, len, "rte_acl_create: %s",
			 rte_strerror(rte_errno));
		goto out;
	}
	for (size_t i = 0; i < s->nrules; i++) {
		rule_of((struct rte_acl_rule *)(rules + i * rsize),
			&s->rules[i], s->rank[i], v6 ? 4 : 1);
		a->answer_of[s->rank[i]] = s->rules[i].idx;
	}
	ret = rte_acl_add_rules(a->ctx, (struct rte_acl_rule *)rules,
				(uint32_t)s->nrules);
	free(rules);
	rules = NULL;
	if (ret < 0) {
		snprintf(why, len, "rte_acl_add_rules: %s", strerror(-ret));
		goto out;
	}
	field_defs(&cfg, v6);
	ret = rte_acl_build(a->ctx, &cfg);
	if (ret < 0) {
		snprintf(why, len, "rte_acl_build: %s%s", strerror(-ret),
			 ret == -ENOMEM ? " (limits: BENCH_DPDK_MB, "
					  "BENCH_ACL_MALLOC_MB)"
					: "");
		goto out;
	}
	ret = rte_acl_set_ctx_classify(a->ctx, RTE_ACL_CLASSIFY_AVX2);
	if (ret < 0) {
		snprintf(why, len, "AVX2 classify: %s", strerror(-ret));
		goto out;
	}
	a->bytes = heap_bytes() - heap0;
	a->peak = (size_t)(mem_peak_kb() - rss0) * 1024;
	if (a->peak < a->bytes)
		a->peak = a->bytes;
out:
	free(rules);
	if (ret < 0) {
		a_free(a);
		a = NULL;
	}
	*ctx = a;
	return ret;
}

int
acl_use_avx512(void *ctx, char *why, size_t len)
{
	struct acl *a = ctx;
	int ret = rte_vect_set_max_simd_bitwidth(RTE_VECT_SIMD_512);

	if (ret < 0) {
		snprintf(why, len, "max SIMD bitwidth 512: %s", strerror(-ret));
		return ret;
	}
	ret = rte_acl_set_ctx_classify(a->ctx, RTE_ACL_CLASSIFY_AVX512X32);
	if (ret < 0)
		snprintf(why, len, "AVX512X32 classify: %s", strerror(-ret));
	return ret;
}

/* Packets in rte_acl's input form, made on first use (not in the build). */
static const uint8_t **
input(struct acl *a, int tr)
{
	const struct trace *t = &a->s->tr[tr];

	if (a->ptr[tr] != NULL)
		return a->ptr[tr];
	a->buf[tr] = calloc(t->n + 1, a->tsize);
	a->ptr[tr] = calloc(t->n + 1, sizeof(*a->ptr[tr]));
	if (a->buf[tr] == NULL || a->ptr[tr] == NULL) {
		fprintf(stderr, "bench: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct er_packet *p = &t->pkt[i];
		uint8_t *b = a->buf[tr] + i * a->tsize;
		unsigned alen = a->tsize == V6_SIZE ? 16 : 4;

		b[0] = p->proto;
		memcpy(b + 4, p->src.a, alen);
		memcpy(b + 4 + alen, p->dst.a, alen);
		b[4 + 2 * alen] = (uint8_t)(p->sport >> 8);
		b[5 + 2 * alen] = (uint8_t)p->sport;
		b[6 + 2 * alen] = (uint8_t)(p->dport >> 8);
		b[7 + 2 * alen] = (uint8_t)p->dport;
		a->ptr[tr][i] = b;
	}
	return a->ptr[tr];
}

static void
a_batched(void *ctx, int tr, size_t n)
{
	struct acl *a = ctx;
	const uint8_t **in = input(a, tr);

	for (size_t off = 0; off < n; off += BENCH_BATCH)
		rte_acl_classify(a->ctx, &in[off], a->res,
				 (uint32_t)(n - off < BENCH_BATCH
						    ? n - off
						    : BENCH_BATCH),
				 1);
}

static void
a_single(void *ctx, int tr, size_t n)
{
	struct acl *a = ctx;
	const uint8_t **in = input(a, tr);

	for (size_t i = 0; i < n; i++)
		rte_acl_classify(a->ctx, &in[i], &a->res[i % BENCH_BATCH], 1,
				 1);
}

static void
a_answers(void *ctx, int tr, size_t n, int32_t *out)
{
	struct acl *a = ctx;
	const uint8_t **in = input(a, tr);

	for (size_t off = 0; off < n; off += BENCH_BATCH) {
		size_t k = n - off < BENCH_BATCH ? n - off : BENCH_BATCH;

		rte_acl_classify(a->ctx, &in[off], a->res, (uint32_t)k, 1);
		for (size_t i = 0; i < k; i++)
			out[off + i] = a->res[i] == 0
					       ? -1
					       : a->answer_of[a->res[i] - 1];
	}
}

static void
a_flush(void *ctx)
{
	rte_acl_reset(((struct acl *)ctx)->ctx);
}

static void
a_mem(void *ctx, size_t *bytes, size_t *peak)
{
	struct acl *a = ctx;

	*bytes = a->bytes;
	*peak = a->peak;
}

const struct impl_ops impl_acl = {
	.name = "rte_acl_avx2",
	.build = a_build,
	.batched = a_batched,
	.single = a_single,
	.answers = a_answers,
	.flush = a_flush,
	.mem = a_mem,
	.free = a_free,
};
