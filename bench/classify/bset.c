// SPDX-License-Identifier: MIT
/*
 * Rule-set helpers: the lookup order (priority, then er_selector_cmp(), as
 * er_spd_lookup_scan() walks) and its ranks, which rte_acl needs as unique
 * priorities and the ordered scan as its array order.
 */
#include <errno.h>
#include <stdlib.h>

#include "bench.h"

int
brule_cmp(const struct brule *a, const struct brule *b)
{
	if (a->prio != b->prio)
		return a->prio < b->prio ? -1 : 1;
	return er_selector_cmp(&a->sel, &b->sel);
}

static const struct brule *sort_rules;

static int
index_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = brule_cmp(&sort_rules[x], &sort_rules[y]);

	/* Identical rules (ClassBench duplicates) keep their set order. */
	if (c == 0)
		c = x < y ? -1 : x > y;
	return c;
}

int
bset_rank(struct bset *s)
{
	uint32_t *order = calloc(s->nrules ? s->nrules : 1, sizeof(*order));
	int ret = -ENOMEM;

	free(s->rank);
	s->rank = calloc(s->nrules ? s->nrules : 1, sizeof(*s->rank));
	if (order == NULL || s->rank == NULL)
		goto out;
	for (size_t i = 0; i < s->nrules; i++)
		order[i] = (uint32_t)i;
	sort_rules = s->rules;
	qsort(order, s->nrules, sizeof(*order), index_cmp);
	for (size_t i = 0; i < s->nrules; i++)
		s->rank[order[i]] = (uint32_t)i;
	ret = 0;
out:
	free(order);
	return ret;
}

void
bset_fini(struct bset *s)
{
	free(s->rules);
	free(s->rank);
	for (int t = 0; t < TRACE_COUNT; t++) {
		free(s->tr[t].pkt);
		free(s->tr[t].want);
	}
}
