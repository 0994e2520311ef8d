// SPDX-License-Identifier: MIT
/*
 * The SAD rows: er_sad filled with N ESP SAs towards 4096 peers under
 * random-looking SPIs (a bijective mix of a counter, so they are unique and
 * a disjoint range of the counter gives ids that are surely absent).  Hit
 * lookups ask for random present ids, random lookups for absent ones; every
 * answer is checked.  Add and delete are timed one at a time on a sample of
 * SAs taken out of and put back into the full SAD.  Bytes per SA is what
 * er_sad_bytes() counts (its entries live in pools of their own, which
 * glibc's heap statistics do not see); the peak is the growth of the
 * resident high-water mark over the fill, or the steady figure if larger.
 */
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eroute/sad.h"

#include "bench.h"

#define PEERS 4096
#define TRACE_LEN 100000

struct sadrun {
	struct er_sad *sad;
	struct er_sa_id *ids[TRACE_COUNT];
	const struct er_sa *out[BENCH_BATCH];
};

/* A bijection of 32-bit values (xorshift and odd multiplications). */
static uint32_t
mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static void
sa_of(struct er_sa *sa, uint32_t i)
{
	memset(sa, 0, sizeof(*sa));
	er_addr_from_v4(&sa->id.dst, 0x0a000000u | (i % PEERS));
	sa->id.proto = IPPROTO_ESP;
	sa->id.spi = mix32(i + 1);
	er_addr_from_v4(&sa->src, 0x0aff0001u);
	sa->mode = ER_MODE_TUNNEL;
	sa->reqid = 1 + i % 1000;
	sa->state = ER_SA_MATURE;
}

static void
sad_batched(struct sadrun *r, int t, size_t n)
{
	const struct er_sa_id *id = r->ids[t];

	for (size_t off = 0; off < n; off += BENCH_BATCH)
		er_sad_lookup_batch(r->sad, &id[off],
				    n - off < BENCH_BATCH ? n - off
							  : BENCH_BATCH,
				    r->out);
}

static void
sad_single(struct sadrun *r, int t, size_t n)
{
	const struct er_sa_id *id = r->ids[t];

	for (size_t i = 0; i < n; i++)
		r->out[i % BENCH_BATCH] = er_sad_lookup(r->sad, &id[i].dst,
							id[i].proto,
							id[i].spi);
}

/* Both entry points answer: the batch for the first half of the ids, the
 * single lookup for the rest. */
static long
sad_check(struct sadrun *r, int t, size_t n)
{
	long bad = 0;

	for (size_t i = 0; i < n; i++) {
		const struct er_sa_id *id = &r->ids[t][i];
		const struct er_sa *sa;

		if (i < n / 2 && i % BENCH_BATCH == 0)
			er_sad_lookup_batch(r->sad, id,
					    n / 2 - i < BENCH_BATCH
						    ? n / 2 - i
						    : BENCH_BATCH,
					    r->out);
		if (i < n / 2)
			sa = r->out[i % BENCH_BATCH];
		else
			sa = er_sad_lookup(r->sad, &id->dst, id->proto,
					   id->spi);

		if (t == TRACE_HIT)
			bad += sa == NULL || sa->id.spi != id->spi ||
			       !er_addr_equal(&sa->id.dst, &id->dst);
		else
			bad += sa != NULL;
	}
	return bad;
}

/* Median over repeats of one timed unit of passes long enough to time. */
static double
time_passes(struct sadrun *r, int t, size_t n, bool batched)
{
	int reps = bench_repeats();
	double v[50], t0, one;
	size_t k;

	t0 = now_s();
	batched ? sad_batched(r, t, n) : sad_single(r, t, n);
	one = now_s() - t0;
	k = one > 0 ? (size_t)(0.005 / one) + 1 : 1;
	for (int i = 0; i < reps; i++) {
		double c0 = cpu_s();

		t0 = now_s();
		for (size_t j = 0; j < k; j++)
			batched ? sad_batched(r, t, n) : sad_single(r, t, n);
		v[i] = now_s() - t0;
		share_note(v[i], cpu_s() - c0);
		v[i] /= (double)(k * n);
	}
	return median(v, (size_t)reps);
}

static void
sad_one(size_t n, const char *size, struct row *row)
{
	struct sadrun r = {0};
	size_t churn = n < 1000 ? n : 1000;
	double *tadd = calloc(churn + 1, sizeof(double));
	double *tdel = calloc(churn + 1, sizeof(double));
	uint64_t seed = n;
	long rss0;
	double t0;

	row_init(row, "sad", "eroute");
	snprintf(row->base, sizeof(row->base), "sad");
	snprintf(row->size, sizeof(row->size), "%s", size);
	snprintf(row->set, sizeof(row->set), "sad_%s", size);
	row->rules = n;
	for (int t = 0; t < TRACE_COUNT; t++)
		r.ids[t] = calloc(TRACE_LEN, sizeof(*r.ids[t]));
	if (tadd == NULL || tdel == NULL || r.ids[0] == NULL ||
	    r.ids[1] == NULL) {
		snprintf(row->note, sizeof(row->note), "out of memory");
		goto out;
	}
	mem_peak_reset();
	rss0 = mem_rss_kb();
	t0 = now_s();
	r.sad = er_sad_new();
	for (size_t i = 0; r.sad != NULL && i < n; i++) {
		struct er_sa sa;

		sa_of(&sa, (uint32_t)i);
		if (er_sad_add(r.sad, &sa, NULL) < 0) {
			snprintf(row->note, sizeof(row->note),
				 "er_sad_add failed at %zu", i);
			goto out;
		}
	}
	row->build_s = now_s() - t0;
	row->bytes_per_rule = (double)er_sad_bytes(r.sad) / (double)n;
	row->peak_bytes_per_rule = (double)(mem_peak_kb() - rss0) * 1024 /
				   (double)n;
	if (row->peak_bytes_per_rule < row->bytes_per_rule)
		row->peak_bytes_per_rule = row->bytes_per_rule;
	for (size_t i = 0; i < TRACE_LEN; i++) {
		struct er_sa sa;

		sa_of(&sa, (uint32_t)(splitmix(&seed) % n));
		r.ids[TRACE_HIT][i] = sa.id;
		sa_of(&sa, (uint32_t)(n + i));
		r.ids[TRACE_RAND][i] = sa.id;
	}
	row->mismatches = sad_check(&r, TRACE_HIT, TRACE_LEN) +
			  sad_check(&r, TRACE_RAND, TRACE_LEN);
	row->hit_b_mlps = 1e-6 / time_passes(&r, TRACE_HIT, TRACE_LEN, true);
	row->hit_u_ns = 1e9 * time_passes(&r, TRACE_HIT, TRACE_LEN, false);
	row->rand_b_mlps = 1e-6 / time_passes(&r, TRACE_RAND, TRACE_LEN,
					      true);
	row->rand_u_ns = 1e9 * time_passes(&r, TRACE_RAND, TRACE_LEN, false);
	for (size_t k = 0; k < churn; k++) {
		struct er_sa sa;
		double t1;

		sa_of(&sa, (uint32_t)(splitmix(&seed) % n));
		t0 = now_s();
		if (er_sad_del(r.sad, &sa.id) < 0)
			row->mismatches++;
		t1 = now_s();
		if (er_sad_add(r.sad, &sa, NULL) < 0)
			row->mismatches++;
		tadd[k] = (now_s() - t1) * 1e6;
		tdel[k] = (t1 - t0) * 1e6;
	}
	row->mismatches += sad_check(&r, TRACE_HIT, TRACE_LEN);
	row->del_med_us = median(tdel, churn);
	row->del_p99_us = pctl(tdel, churn, 0.99);
	row->add_med_us = median(tadd, churn);
	row->add_p99_us = pctl(tadd, churn, 0.99);
out:
	er_sad_free(r.sad);
	for (int t = 0; t < TRACE_COUNT; t++)
		free(r.ids[t]);
	free(tadd);
	free(tdel);
}

static size_t
parse_count(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (*end == 'k' || *end == 'K')
		v *= 1e3;
	else if (*end == 'm' || *end == 'M')
		v *= 1e6;
	return v < 1 ? 0 : (size_t)v;
}

size_t
sad_rows(const char *sizes, struct row *rows, size_t max)
{
	char list[128], *tok, *save;
	size_t n = 0;

	snprintf(list, sizeof(list), "%s", sizes);
	for (tok = strtok_r(list, ",", &save); tok != NULL && n < max;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t count = parse_count(tok);

		if (count == 0)
			continue;
		fprintf(stderr, "bench: sad %s\n", tok);
		sad_one(count, tok, &rows[n++]);
	}
	return n;
}
