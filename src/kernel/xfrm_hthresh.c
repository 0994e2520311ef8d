// SPDX-License-Identifier: MIT
/*
 * Choosing the XFRM SPD hash thresholds for a set of policies.
 *
 * The kernel hashes a policy by its (local, remote) addresses masked to
 * (lbits, rbits) when both of its prefixes are at least that long; every
 * other policy is "inexact".  Since 5.0 the kernel keeps inexact policies
 * in trees of prefix bins, so an inexact insert costs about log n steps;
 * before, it walked one list and n inserts cost n^2.  A hash bucket is a
 * list: lower thresholds hash more policies but mask more address bits, so
 * more of them share a key, and policies concentrated in one network (all
 * of 10.0.0.0/8) crowd a few buckets -- worse than the inexact trees.  The
 * kernel's defaults (32/32, 128/128) hash only host-to-host policies.
 *
 * This module scores candidate thresholds by that model -- n log n tree
 * steps for the inexact policies plus the sum over hash keys of count^2,
 * per direction, scaled from a sample -- and keeps the cheapest, which is
 * the default when hashing would only crowd the buckets.  Pure: no kernel,
 * no clock; the answer depends only on the policies.
 */
#include <stdlib.h>
#include <string.h>

#include "eroute/xfrm.h"

/* Score at most this many policies of a family: the sample is spread over
 * the whole input, so the estimate scales. */
#define SAMPLE_MAX 8192u
#define LEN_COUNT 129u	/* prefix lengths 0..128 */
#define CAND_MAX 12u	/* candidate lengths tried per side */
#define INEXACT_STEP 4u	/* an inexact tree step, in bucket-walk units */

struct hkey {
	uint8_t dir;
	uint8_t local[16], remote[16];
};

struct fam {
	int family;
	unsigned bits;
	size_t n;		/* sampled policies of the family */
	const struct er_policy **pol;
	bool llen[LEN_COUNT], rlen[LEN_COUNT];	/* lengths present */
	size_t stride;		/* one policy sampled in this many */
};

static void
prefix_sides(const struct er_policy *p, const struct er_prefix **local,
	     const struct er_prefix **remote)
{
	/* out: the source is local; in and fwd: the destination. */
	if (p->dir == ER_DIR_OUT) {
		*local = &p->sel.src;
		*remote = &p->sel.dst;
	} else {
		*local = &p->sel.dst;
		*remote = &p->sel.src;
	}
}

static void
mask_copy(uint8_t *out, const uint8_t *a, unsigned bits, unsigned width)
{
	unsigned i;

	memset(out, 0, 16);
	for (i = 0; i < width / 8; i++) {
		if (bits >= (i + 1) * 8)
			out[i] = a[i];
		else if (bits > i * 8)
			out[i] = (uint8_t)(a[i] & (0xff00u >> (bits - i * 8)));
	}
}

static int
hkey_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct hkey));
}

/* The model's cost of (lbits, rbits) for one family's sample. */
static uint64_t
score(const struct fam *f, unsigned lbits, unsigned rbits, struct hkey *keys)
{
	const struct er_prefix *l, *r;
	uint64_t inexact[ER_DIR_COUNT] = {0}, cost = 0, run = 0;
	size_t i, nk = 0;

	for (i = 0; i < f->n; i++) {
		prefix_sides(f->pol[i], &l, &r);
		if (l->len < lbits || r->len < rbits) {
			inexact[f->pol[i]->dir % ER_DIR_COUNT]++;
			continue;
		}
		keys[nk].dir = (uint8_t)f->pol[i]->dir;
		mask_copy(keys[nk].local, l->addr.a, lbits, f->bits);
		mask_copy(keys[nk].remote, r->addr.a, rbits, f->bits);
		nk++;
	}
	/* Kernels since 5.0 keep inexact policies in trees of prefix bins:
	 * an insert costs about log n tree steps, a few hash compares each.
	 * In sample units: the sample stands for stride times as many. */
	for (i = 0; i < ER_DIR_COUNT; i++) {
		uint64_t total = inexact[i] * f->stride, depth = 1;

		while (total >>= 1)
			depth++;
		cost += inexact[i] * depth * INEXACT_STEP;
	}
	qsort(keys, nk, sizeof(*keys), hkey_cmp);
	/* A hash bucket is a list: a run of r sampled keys stands for
	 * r * stride policies, each walking the bucket. */
	for (i = 0; i < nk; i++) {
		run++;
		if (i + 1 == nk || hkey_cmp(&keys[i], &keys[i + 1]) != 0) {
			cost += run * run * f->stride;
			run = 0;
		}
	}
	return cost;
}

/* The candidate lengths of one side, longest first: the full width and
 * every length present, thinned evenly to at most CAND_MAX. */
static size_t
candidates(const struct fam *f, const bool *present, unsigned *out)
{
	unsigned all[LEN_COUNT];
	size_t n = 0, i, m;

	for (i = f->bits + 1; i-- > 0;) {
		if (present[i] || i == f->bits)
			all[n++] = (unsigned)i;
	}
	m = n < CAND_MAX ? n : CAND_MAX;
	for (i = 0; i < m; i++)
		out[i] = all[i * n / m];
	return m;
}

static void
choose(struct fam *f, uint8_t *lbits, uint8_t *rbits)
{
	unsigned lc[CAND_MAX], rc[CAND_MAX];
	struct hkey *keys = NULL;
	uint64_t best = UINT64_MAX, s;
	size_t nl, nr, i, j;

	*lbits = *rbits = (uint8_t)f->bits;
	if (f->n == 0)
		goto out;
	keys = malloc(f->n * sizeof(*keys));
	if (keys == NULL)
		goto out;
	nl = candidates(f, f->llen, lc);
	nr = candidates(f, f->rlen, rc);
	/* Longest first, so that ties keep the longer thresholds. */
	for (i = 0; i < nl; i++) {
		for (j = 0; j < nr; j++) {
			s = score(f, lc[i], rc[j], keys);
			if (s < best) {
				best = s;
				*lbits = (uint8_t)lc[i];
				*rbits = (uint8_t)rc[j];
			}
		}
	}
out:
	free(keys);
}

void
er_xfrm_thresholds_choose(const struct er_policy *pols, size_t n,
			  struct er_xfrm_thresholds *out)
{
	struct fam fams[2] = {{.family = AF_INET, .bits = 32},
			      {.family = AF_INET6, .bits = 128}};
	const struct er_prefix *l, *r;
	size_t counts[2] = {0, 0}, stride[2], seen[2] = {0, 0}, i;
	unsigned k;

	for (i = 0; i < n; i++)
		counts[pols[i].sel.src.addr.family == AF_INET6]++;
	for (k = 0; k < 2; k++) {
		stride[k] = counts[k] / SAMPLE_MAX + 1;
		fams[k].stride = stride[k];
		fams[k].pol = calloc(counts[k] / stride[k] + 1,
				     sizeof(*fams[k].pol));
	}
	for (i = 0; i < n; i++) {
		k = pols[i].sel.src.addr.family == AF_INET6;
		if (pols[i].sel.src.addr.family != fams[k].family ||
		    fams[k].pol == NULL || seen[k]++ % stride[k] != 0)
			continue;
		prefix_sides(&pols[i], &l, &r);
		fams[k].pol[fams[k].n++] = &pols[i];
		fams[k].llen[l->len < LEN_COUNT ? l->len : 0] = true;
		fams[k].rlen[r->len < LEN_COUNT ? r->len : 0] = true;
	}
	choose(&fams[0], &out->v4_lbits, &out->v4_rbits);
	choose(&fams[1], &out->v6_lbits, &out->v6_rbits);
	free(fams[0].pol);
	free(fams[1].pol);
}
