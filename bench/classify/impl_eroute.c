// SPDX-License-Identifier: MIT
/*
 * eroute's classifier (include/eroute/classify.h) under test.  Each rule is
 * added one by one -- the build is nothing but incremental adds -- with its
 * answer (index + 1, so that no answer is NULL) as the data pointer.
 */
#include <errno.h>
#include <stdlib.h>

#include "eroute/classify.h"

#include "bench.h"

struct ecls {
	const struct bset *s;
	struct er_cls *cls;
	struct er_cls_rule **h;
	void *out[BENCH_BATCH];
};

static void *
answer_data(const struct brule *r)
{
	return (void *)(uintptr_t)(r->idx + 1);
}

static int32_t
data_answer(const void *d)
{
	return d == NULL ? -1 : (int32_t)((uintptr_t)d - 1);
}

static void
e_free(void *ctx)
{
	struct ecls *e = ctx;

	if (e == NULL)
		return;
	er_cls_free(e->cls);
	free(e->h);
	free(e);
}

static int
e_build(void **ctx, const struct bset *s, char *why, size_t len)
{
	struct ecls *e = calloc(1, sizeof(*e));
	int ret = -ENOMEM;

	(void)why;
	(void)len;
	if (e == NULL)
		goto out;
	e->s = s;
	e->cls = er_cls_new();
	e->h = calloc(s->nrules ? s->nrules : 1, sizeof(*e->h));
	if (e->cls == NULL || e->h == NULL)
		goto out;
	for (size_t i = 0; i < s->nrules; i++) {
		const struct brule *r = &s->rules[i];

		ret = er_cls_add(e->cls, &r->sel, r->prio, answer_data(r),
				 &e->h[i]);
		if (ret < 0)
			goto out;
	}
	ret = 0;
out:
	if (ret < 0) {
		e_free(e);
		e = NULL;
	}
	*ctx = e;
	return ret;
}

static void
e_batched(void *ctx, int tr, size_t n)
{
	struct ecls *e = ctx;
	const struct er_packet *p = e->s->tr[tr].pkt;

	for (size_t off = 0; off < n; off += BENCH_BATCH)
		er_cls_lookup_batch(e->cls, &p[off],
				    n - off < BENCH_BATCH ? n - off
							  : BENCH_BATCH,
				    e->out);
}

static void
e_single(void *ctx, int tr, size_t n)
{
	struct ecls *e = ctx;
	const struct er_packet *p = e->s->tr[tr].pkt;

	for (size_t i = 0; i < n; i++)
		e->out[i % BENCH_BATCH] = er_cls_lookup(e->cls, &p[i]);
}

/* Both entry points are checked: the batch for the first half of each
 * trace, the single lookup for the rest. */
static void
e_answers(void *ctx, int tr, size_t n, int32_t *out)
{
	struct ecls *e = ctx;
	const struct er_packet *p = e->s->tr[tr].pkt;
	size_t half = n / 2;

	for (size_t off = 0; off < half; off += BENCH_BATCH) {
		size_t k = half - off < BENCH_BATCH ? half - off : BENCH_BATCH;

		er_cls_lookup_batch(e->cls, &p[off], k, e->out);
		for (size_t i = 0; i < k; i++)
			out[off + i] = data_answer(e->out[i]);
	}
	for (size_t i = half; i < n; i++)
		out[i] = data_answer(er_cls_lookup(e->cls, &p[i]));
}

static int
e_del(void *ctx, size_t i)
{
	struct ecls *e = ctx;

	er_cls_del(e->cls, e->h[i]);
	e->h[i] = NULL;
	return 0;
}

static int
e_add(void *ctx, size_t i)
{
	struct ecls *e = ctx;
	const struct brule *r = &e->s->rules[i];

	return er_cls_add(e->cls, &r->sel, r->prio, answer_data(r), &e->h[i]);
}

static void
e_flush(void *ctx)
{
	er_cls_flush(((struct ecls *)ctx)->cls);
}

static void
e_mem(void *ctx, size_t *bytes, size_t *peak)
{
	struct er_cls_stats st;

	er_cls_get_stats(((struct ecls *)ctx)->cls, &st);
	*bytes = st.bytes;
	*peak = st.peak_bytes;
}

const struct impl_ops impl_eroute = {
	.name = "eroute",
	.build = e_build,
	.batched = e_batched,
	.single = e_single,
	.answers = e_answers,
	.del = e_del,
	.add = e_add,
	.flush = e_flush,
	.mem = e_mem,
	.free = e_free,
};
