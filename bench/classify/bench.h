/* SPDX-License-Identifier: MIT */
/*
 * What the classifier bench's parts share: a rule set with its two traces
 * and their expected answers, and the implementations measured on it.
 *
 * A rule's answer is its index in the source set (the ClassBench line, or
 * the generator's number); a rule expanded into several selectors keeps one
 * index, so an answer means the same thing for every implementation and for
 * the oracle.  -1 is "no rule matches".
 */
#ifndef BENCH_CLASSIFY_BENCH_H
#define BENCH_CLASSIFY_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/selector.h"

struct brule {
	struct er_selector sel;
	uint32_t prio;		/* lower wins; ties by er_selector_cmp() */
	int32_t idx;		/* the answer this rule gives */
};

struct trace {
	struct er_packet *pkt;
	int32_t *want;		/* expected answer per packet */
	size_t n;
};

enum { TRACE_HIT, TRACE_RAND, TRACE_COUNT };

struct bset {
	char name[32];		/* "acl1_10k" */
	char base[16];		/* "acl1" */
	char size[8];		/* "10k" */
	int family;
	struct brule *rules;	/* in insertion order */
	size_t nrules;
	size_t nsource;		/* rules in the source, before expansion */
	size_t nexpanded;	/* source rules that became several */
	size_t ndropped;	/* source rules no normalised packet matches */
	uint32_t *rank;		/* rank[i]: rules[i]'s place in lookup order */
	struct trace tr[TRACE_COUNT];
	const char *oracle;	/* where the expected answers come from */
};

/* bset.c */
int bset_rank(struct bset *s);
void bset_fini(struct bset *s);
int brule_cmp(const struct brule *a, const struct brule *b);

/* gen.c: the project's generator; the oracle is the ordered scan. */
int gen_set(struct bset *s, int family, size_t n, const char *size,
	    size_t nhit, size_t nrand);

/* cb_file.c: a ClassBench set from BENCH_DATA; -ENOENT when absent. */
int cb_load(struct bset *s, const char *dir, const char *base,
	    const char *size);

/*
 * An implementation under test.  Every entry point works on a whole pass
 * over the first @n packets of a trace so that the timed loops hold no
 * indirect call per packet.
 */
struct impl_ops {
	const char *name;
	/* Build from @s; 0 or -errno (why in @why). */
	int (*build)(void **ctx, const struct bset *s, char *why, size_t len);
	void (*batched)(void *ctx, int tr, size_t n);	/* batches of 64 */
	void (*single)(void *ctx, int tr, size_t n);
	void (*answers)(void *ctx, int tr, size_t n, int32_t *out);
	/* Incremental updates of rules[i]; NULL when unsupported. */
	int (*del)(void *ctx, size_t i);
	int (*add)(void *ctx, size_t i);
	void (*flush)(void *ctx);
	/* Bytes held now and at the peak of the build. */
	void (*mem)(void *ctx, size_t *bytes, size_t *peak);
	void (*free)(void *ctx);
};

#define BENCH_BATCH 64

extern const struct impl_ops impl_eroute;
extern const struct impl_ops impl_linear;

/* oracle.c: the plain ordered scan that answers for generated sets. */
struct oracle;
struct oracle *oracle_new(const struct bset *s);
int32_t oracle_lookup(const struct oracle *o, const struct er_packet *pkt);
void oracle_free(struct oracle *o);

/* acl.c, only with DPDK */
int acl_init(int cpu, char *why, size_t len);
const char *acl_version(void);
int acl_use_avx512(void *ctx, char *why, size_t len);
void acl_fini(void);
extern const struct impl_ops impl_acl;

/* mem.c */
long mem_rss_kb(void);
long mem_vm_kb(void);
void mem_peak_reset(void);
long mem_peak_kb(void);

/* One line of the table and one object of results.json; NAN where a
 * figure does not apply, mismatches -1 when nothing was checked. */
struct row {
	char set[32], base[16], size[8];
	size_t rules;
	const char *impl;
	double build_s, bytes_per_rule, peak_bytes_per_rule;
	double hit_b_mlps, hit_u_ns, rand_b_mlps, rand_u_ns;
	double add_med_us, add_p99_us, del_med_us, del_p99_us, flush_ms;
	long mismatches;
	char note[128];
};

void row_init(struct row *r, const char *set, const char *impl);

/* timing.c */
double now_s(void);
double cpu_s(void);
void share_note(double wall, double cpu);
double share_of_cpu(void);
double median(double *v, size_t n);
double pctl(double *v, size_t n, double p);
int bench_repeats(void);
uint64_t splitmix(uint64_t *x);

/* sadbench.c: the SAD rows at each size (100k, 1M by default) */
size_t sad_rows(const char *sizes, struct row *rows, size_t max);

#endif
