// SPDX-License-Identifier: MIT
/*
 * Coalesced policy deletes, for the engine's shutdown.
 *
 * A clean shutdown deletes every policy eroute holds, each through the
 * claim it loses; one kernel call per policy costs a round trip each, and
 * on XFRM a delete in an unlucky order walks long inexact lists (100k
 * mixed policies: about 4 s).  While a batch is open the engine's kernel
 * is this wrapper: a policy delete is queued and answered with success at
 * once, and the queue goes to the backend's bulk delete when the batch
 * closes or before any other kernel operation, so the kernel sees the same
 * operations in the same order, consecutive deletes merely merged.  A
 * queued delete that then fails is logged with the policy named, and a
 * policy the view held goes back into it under an empty, dirty claim key
 * (claim_orphan()), as an unbatched failed delete would have left it: the
 * view stays the kernel's truth and a later tick would retry.  Only the
 * shutdown opens a batch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_impl.h"
#include "grow.h"

struct kbatch {
	struct er_engine *e;
	struct er_kernel inner;
	struct er_policy *pols;	/* (dir, sel, priority) of each delete */
	bool *inview;		/* pols[i] was in the engine's view */
	size_t n, cap;
};

static void
kb_flush(struct kbatch *b)
{
	struct er_err err = {0};
	int *res;
	size_t failed = 0;

	if (b->n == 0)
		return;
	res = calloc(b->n, sizeof(*res));
	if (res == NULL) {
		/* No room for the answers: one by one, as without a batch. */
		for (size_t i = 0; i < b->n; i++)
			er_kernel_policy_del(&b->inner, b->pols[i].dir,
					     &b->pols[i].sel, NULL);
		b->n = 0;
		return;
	}
	if (er_kernel_policy_del_bulk(&b->inner, b->pols, b->n, res, &err) <
	    0) {
		for (size_t i = 0; i < b->n; i++) {
			if (res[i] >= 0)
				continue;
			failed++;
			if (b->inview[i]) {
				er_spd_upsert(b->e->view, &b->pols[i], NULL);
				claim_orphan(b->e, b->pols[i].dir,
					     &b->pols[i].sel);
			}
		}
		engine_log(b->e, ER_LOG_ERROR, NULL,
			   "kernel: %s (%zu of %zu deletes failed; those "
			   "policies stay)", err.msg, failed, b->n);
	}
	free(res);
	b->n = 0;
}

static int
kb_policy_del(void *ctx, enum er_dir dir, const struct er_selector *sel,
	      struct er_err *err)
{
	struct kbatch *b = ctx;
	const struct er_policy *cur = er_spd_get(b->e->view, dir, sel);
	struct er_policy *p;

	if (b->n == b->cap) {
		size_t ncap = er_grow_cap(b->cap, 1024);
		struct er_policy *np = reallocarray(b->pols, ncap, sizeof(*np));
		bool *nv;

		if (np != NULL)
			b->pols = np;
		nv = np != NULL ? reallocarray(b->inview, ncap, sizeof(*nv))
		                : NULL;
		if (nv == NULL) {
			kb_flush(b);
			return er_kernel_policy_del(&b->inner, dir, sel, err);
		}
		b->inview = nv;
		b->cap = ncap;
	}
	b->inview[b->n] = cur != NULL;
	p = &b->pols[b->n++];
	if (cur != NULL) {
		*p = *cur;
	} else {
		memset(p, 0, sizeof(*p));
		p->sel = *sel;
	}
	p->dir = dir;
	return 0;
}

/* Everything else: the queued deletes first, then the operation. */

static int
kb_policy_add(void *ctx, const struct er_policy *pol, struct er_err *err)
{
	struct kbatch *b = ctx;

	kb_flush(b);
	return er_kernel_policy_add(&b->inner, pol, err);
}

static int
kb_policy_replace(void *ctx, const struct er_policy *pol, struct er_err *err)
{
	struct kbatch *b = ctx;

	kb_flush(b);
	return er_kernel_policy_replace(&b->inner, pol, err);
}

static int
kb_sa_add(void *ctx, const struct er_sa *sa, struct er_err *err)
{
	struct kbatch *b = ctx;

	kb_flush(b);
	return er_kernel_sa_add(&b->inner, sa, err);
}

static int
kb_sa_update(void *ctx, const struct er_sa *sa, struct er_err *err)
{
	struct kbatch *b = ctx;

	kb_flush(b);
	return er_kernel_sa_update(&b->inner, sa, err);
}

static int
kb_sa_del(void *ctx, const struct er_sa_id *id, struct er_err *err)
{
	struct kbatch *b = ctx;

	kb_flush(b);
	return er_kernel_sa_del(&b->inner, id, err);
}

static int
kb_spi_alloc(void *ctx, const struct er_spi_req *req, uint32_t *spi,
	     struct er_err *err)
{
	struct kbatch *b = ctx;

	kb_flush(b);
	return er_kernel_spi_alloc(&b->inner, req, spi, err);
}

static int
kb_policy_dump(void *ctx, er_kernel_policy_cb *cb, void *cbctx,
	       struct er_err *err)
{
	struct kbatch *b = ctx;

	kb_flush(b);
	return er_kernel_policy_dump(&b->inner, cb, cbctx, err);
}

static int
kb_sa_dump(void *ctx, er_kernel_sa_cb *cb, void *cbctx, struct er_err *err)
{
	struct kbatch *b = ctx;

	kb_flush(b);
	return er_kernel_sa_dump(&b->inner, cb, cbctx, err);
}

static int
kb_poll_event(void *ctx, struct er_kernel_event *ev)
{
	struct kbatch *b = ctx;

	kb_flush(b);
	return er_kernel_poll_event(&b->inner, ev);
}

static int
kb_acquire_dump(void *ctx, er_kernel_event_cb *cb, void *cbctx,
		struct er_err *err)
{
	struct kbatch *b = ctx;

	kb_flush(b);
	return er_kernel_acquire_dump(&b->inner, cb, cbctx, err);
}

static int
kb_policy_add_bulk(void *ctx, const struct er_policy *pols, size_t n,
		   int *results, struct er_err *err)
{
	struct kbatch *b = ctx;

	kb_flush(b);
	return er_kernel_policy_add_bulk(&b->inner, pols, n, results, err);
}

static int
kb_policy_count(void *ctx, size_t counts[ER_DIR_COUNT], struct er_err *err)
{
	struct kbatch *b = ctx;

	kb_flush(b);
	return er_kernel_policy_count(&b->inner, counts, err);
}

static int
kb_policy_del_bulk(void *ctx, const struct er_policy *pols, size_t n,
		   int *results, struct er_err *err)
{
	struct kbatch *b = ctx;

	kb_flush(b);
	return er_kernel_policy_del_bulk(&b->inner, pols, n, results, err);
}

static const struct er_kernel_ops kbatch_ops = {
	.name = "batch",
	.policy_add = kb_policy_add,
	.policy_replace = kb_policy_replace,
	.policy_del = kb_policy_del,
	.sa_add = kb_sa_add,
	.sa_update = kb_sa_update,
	.sa_del = kb_sa_del,
	.spi_alloc = kb_spi_alloc,
	.policy_dump = kb_policy_dump,
	.sa_dump = kb_sa_dump,
	.poll_event = kb_poll_event,
	.acquire_dump = kb_acquire_dump,
	.policy_add_bulk = kb_policy_add_bulk,
	.policy_count = kb_policy_count,
	.policy_del_bulk = kb_policy_del_bulk,
};

int
kbatch_begin(struct er_engine *e)
{
	struct kbatch *b;

	if (e->kbatch != NULL)
		return 0;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;	/* the deletes go one by one */
	b->e = e;
	b->inner = e->cfg.kernel;
	e->kbatch = b;
	e->cfg.kernel.ops = &kbatch_ops;
	e->cfg.kernel.ctx = b;
	return 0;
}

void
kbatch_end(struct er_engine *e)
{
	struct kbatch *b = e->kbatch;

	if (b == NULL)
		return;
	kb_flush(b);
	e->cfg.kernel = b->inner;
	e->kbatch = NULL;
	free(b->pols);
	free(b->inview);
	free(b);
}
