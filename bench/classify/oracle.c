// SPDX-License-Identifier: MIT
/*
 * The oracle of the generated sets: the rules in lookup order and
 * er_selector_matches() on each until one matches -- er_spd_lookup_scan()'s
 * walk over an array, as plain as it can be, so that it is obviously right
 * rather than fast.  (The "linear" row is a tuned form of the same scan,
 * and is checked against this.)
 */
#include <stdlib.h>

#include "bench.h"

struct oracle {
	struct brule *r;
	size_t n;
};

struct oracle *
oracle_new(const struct bset *s)
{
	struct oracle *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->r = calloc(s->nrules + 1, sizeof(*o->r));
	if (o->r == NULL) {
		free(o);
		return NULL;
	}
	for (size_t i = 0; i < s->nrules; i++)
		o->r[s->rank[i]] = s->rules[i];
	o->n = s->nrules;
	return o;
}

int32_t
oracle_lookup(const struct oracle *o, const struct er_packet *pkt)
{
	for (size_t i = 0; i < o->n; i++)
		if (er_selector_matches(&o->r[i].sel, pkt))
			return o->r[i].idx;
	return -1;
}

void
oracle_free(struct oracle *o)
{
	if (o == NULL)
		return;
	free(o->r);
	free(o);
}
