// SPDX-License-Identifier: MIT
/*
 * The kernel seam: thin wrappers over struct er_kernel_ops, so that callers
 * never reach into a backend, and the one formatter for naming a policy in
 * messages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "eroute/kernel.h"

#include "grow.h"

const char *
er_kevent_name(enum er_kevent_type type)
{
	static const char *const names[] = {
		"acquire", "sa-expire", "policy-expire",
		"policy-changed", "sa-changed", "lost",
	};

	return (unsigned)type < sizeof(names) / sizeof(names[0]) ? names[type]
								   : "?";
}

int
er_policy_describe(enum er_dir dir, const struct er_selector *sel, char *buf,
		   size_t len)
{
	char s[ER_SELECTOR_STRLEN];

	er_selector_format(sel, s, sizeof(s));
	return snprintf(buf, len, "policy %s %s", er_dir_name(dir), s);
}

int
er_kernel_policy_add(const struct er_kernel *k, const struct er_policy *pol,
		     struct er_err *err)
{
	return k->ops->policy_add(k->ctx, pol, err);
}

int
er_kernel_policy_add_bulk(const struct er_kernel *k,
			  const struct er_policy *pols, size_t n, int *results,
			  struct er_err *err)
{
	int ret = 0;

	if (k->ops->policy_add_bulk != NULL)
		return k->ops->policy_add_bulk(k->ctx, pols, n, results, err);
	for (size_t i = 0; i < n; i++) {
		results[i] = k->ops->policy_add(k->ctx, &pols[i],
						ret == 0 ? err : NULL);
		if (results[i] < 0 && ret == 0)
			ret = results[i];
	}
	return ret;
}

int
er_kernel_policy_del_bulk(const struct er_kernel *k,
			  const struct er_policy *pols, size_t n, int *results,
			  struct er_err *err)
{
	int ret = 0;

	if (k->ops->policy_del_bulk != NULL)
		return k->ops->policy_del_bulk(k->ctx, pols, n, results, err);
	for (size_t i = 0; i < n; i++) {
		results[i] = k->ops->policy_del(k->ctx, pols[i].dir,
						&pols[i].sel,
						ret == 0 ? err : NULL);
		if (results[i] < 0 && ret == 0)
			ret = results[i];
	}
	return ret;
}

int
er_kernel_policy_replace(const struct er_kernel *k, const struct er_policy *pol,
			 struct er_err *err)
{
	return k->ops->policy_replace(k->ctx, pol, err);
}

int
er_kernel_policy_del(const struct er_kernel *k, enum er_dir dir,
		     const struct er_selector *sel, struct er_err *err)
{
	return k->ops->policy_del(k->ctx, dir, sel, err);
}

int
er_kernel_sa_add(const struct er_kernel *k, const struct er_sa *sa,
		 struct er_err *err)
{
	return k->ops->sa_add(k->ctx, sa, err);
}

int
er_kernel_sa_update(const struct er_kernel *k, const struct er_sa *sa,
		    struct er_err *err)
{
	return k->ops->sa_update(k->ctx, sa, err);
}

int
er_kernel_sa_del(const struct er_kernel *k, const struct er_sa_id *id,
		 struct er_err *err)
{
	return k->ops->sa_del(k->ctx, id, err);
}

int
er_kernel_spi_alloc(const struct er_kernel *k, const struct er_spi_req *req,
		    uint32_t *spi, struct er_err *err)
{
	return k->ops->spi_alloc(k->ctx, req, spi, err);
}

int
er_kernel_policy_dump(const struct er_kernel *k, er_kernel_policy_cb *cb,
		      void *cbctx, struct er_err *err)
{
	if (k->ops->policy_dump == NULL)
		return er_err_set(err, -EOPNOTSUPP, "%s: no policy dump",
				  k->ops->name);
	return k->ops->policy_dump(k->ctx, cb, cbctx, err);
}

int
er_kernel_sa_dump(const struct er_kernel *k, er_kernel_sa_cb *cb, void *cbctx,
		  struct er_err *err)
{
	if (k->ops->sa_dump == NULL)
		return er_err_set(err, -EOPNOTSUPP, "%s: no SA dump",
				  k->ops->name);
	return k->ops->sa_dump(k->ctx, cb, cbctx, err);
}

int
er_kernel_poll_event(const struct er_kernel *k, struct er_kernel_event *ev)
{
	if (k->ops->poll_event == NULL)
		return 0;
	return k->ops->poll_event(k->ctx, ev);
}

int
er_kernel_policy_count(const struct er_kernel *k, size_t counts[ER_DIR_COUNT],
		       struct er_err *err)
{
	if (k->ops->policy_count == NULL)
		return er_err_set(err, -EOPNOTSUPP, "%s: no policy count",
				  k->ops->name);
	return k->ops->policy_count(k->ctx, counts, err);
}

int
er_kernel_acquire_dump(const struct er_kernel *k, er_kernel_event_cb *cb,
		       void *cbctx, struct er_err *err)
{
	if (k->ops->acquire_dump == NULL)
		return er_err_set(err, -EOPNOTSUPP, "%s: no acquire dump",
				  k->ops->name);
	return k->ops->acquire_dump(k->ctx, cb, cbctx, err);
}

/* A flush collects first and deletes after: a dump must not see its own
 * changes. */
struct flush_set {
	struct flush_pol {
		enum er_dir dir;
		struct er_selector sel;
		bool trap;
	} *pols;
	struct er_sa_id *sas;
	size_t npols, nsas, cap_pols, cap_sas;
};

static int
flush_collect_policy(void *ctx, const struct er_policy *pol)
{
	struct flush_set *f = ctx;
	void *n;

	if (pol->owner == ER_OWNER_FOREIGN)
		return 0;
	n = er_grow(f->pols, &f->cap_pols, f->npols, sizeof(*f->pols), 64);
	if (n == NULL)
		return -ENOMEM;
	f->pols = n;
	f->pols[f->npols].dir = pol->dir;
	f->pols[f->npols].sel = pol->sel;
	f->pols[f->npols++].trap = pol->action == ER_ACTION_TRAP;
	return 0;
}

static int
flush_collect_sa(void *ctx, const struct er_sa *sa)
{
	struct flush_set *f = ctx;
	void *n;

	if (sa->owner == ER_OWNER_FOREIGN)
		return 0;
	n = er_grow(f->sas, &f->cap_sas, f->nsas, sizeof(*f->sas), 64);
	if (n == NULL)
		return -ENOMEM;
	f->sas = n;
	f->sas[f->nsas++] = sa->id;
	return 0;
}

int
er_kernel_flush(const struct er_kernel *k, struct er_err *err)
{
	struct flush_set f = {0};
	int ret, first = 0, n = 0;

	ret = er_kernel_policy_dump(k, flush_collect_policy, &f, err);
	if (ret == 0)
		ret = er_kernel_sa_dump(k, flush_collect_sa, &f, err);
	if (ret != 0) {
		if (ret == -ENOMEM)
			er_err_set(err, ret, "%s: flush: out of memory",
				   k->ops->name);
		goto out;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < f.npols; i++) {
			if (f.pols[i].trap != (pass == 0))
				continue;
			ret = er_kernel_policy_del(k, f.pols[i].dir,
						   &f.pols[i].sel,
						   first == 0 ? err : NULL);
			if (ret == 0)
				n++;
			else if (ret < 0 && first == 0)
				first = ret;
		}
	}
	for (size_t i = 0; i < f.nsas; i++) {
		ret = er_kernel_sa_del(k, &f.sas[i], first == 0 ? err : NULL);
		if (ret == 0)
			n++;
		else if (ret < 0 && first == 0)
			first = ret;
	}
	ret = n > 0 || first == 0 ? n : first;
out:
	free(f.pols);
	free(f.sas);
	return ret;
}
