// SPDX-License-Identifier: MIT
/*
 * The classifier and SAD part of `make bench` (issue 6): eroute's classifier
 * against the ordered scan and DPDK's rte_acl (AVX2 and AVX-512), measured
 * in one process on one pinned CPU, on the ClassBench sets when the data
 * folder is there and always on the project's own generated sets; then the
 * SAD.  It prints one table, checks the targets from the measured
 * ratios, and writes the same rows to results.json.
 *
 * Every answer is checked against the oracle (the trace files' expected
 * rule, or the ordered scan for generated sets): the mismatch column counts
 * wrong answers over both traces, before and after the add/delete churn,
 * plus any update the implementation refused.  The scan answers only a
 * sample of each trace at large sizes (it is slow); the others answer all.
 *
 * Environment:
 *   BENCH_SETS      acl1,fw1,ipc1,gen4,gen6,sad (default all)
 *   BENCH_SIZES     1k,10k,100k (default all three)
 *   BENCH_IMPLS     linear,eroute,rte_acl (default all)
 *   BENCH_SAD_SIZES 100k,1M (default; 100k when BENCH_SIZES lacks 100k)
 *   BENCH_DATA      the ClassBench folder (default ../shared/bench-data/
 *                   classbench beside the source tree)
 *   BENCH_RESULTS   results.json path (default build/bench/results.json)
 *   BENCH_CPU       CPU to pin to (default 0)
 *   BENCH_REPEATS   timed repeats, the median is reported (default 7)
 *   BENCH_CHURN     rules deleted and re-added one by one (default 1000)
 *   BENCH_LINEAR_SAMPLE  most packets the scan looks up per trace (default
 *                   1e7 / rules, at least 1000)
 *   BENCH_DPDK_MB   EAL memory without hugepages (default 4096)
 *   BENCH_ACL_BUDGET, BENCH_ACL_MALLOC_MB  limits of one rte_acl
 *                   measurement (see measure_acl())
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define ROWS_MAX 256

static struct row rows[ROWS_MAX];
static size_t nrows;
static unsigned long long checked;

void
row_init(struct row *r, const char *set, const char *impl)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->set, sizeof(r->set), "%s", set);
	r->impl = impl;
	r->build_s = r->bytes_per_rule = r->peak_bytes_per_rule = NAN;
	r->hit_b_mlps = r->hit_u_ns = r->rand_b_mlps = r->rand_u_ns = NAN;
	r->add_med_us = r->add_p99_us = r->del_med_us = r->del_p99_us = NAN;
	r->flush_ms = NAN;
	r->mismatches = -1;
}

static bool
listed(const char *list, const char *name)
{
	char buf[256], *tok, *save;

	if (list == NULL || *list == '\0')
		return true;
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, name) == 0)
			return true;
	return false;
}

static size_t
size_count(const char *size)
{
	if (strcmp(size, "1k") == 0)
		return 1000;
	return strcmp(size, "10k") == 0 ? 10000 : 100000;
}

static long
check(const struct impl_ops *ops, void *ctx, const struct bset *s,
      const size_t *lim)
{
	long bad = 0;

	for (int t = 0; t < TRACE_COUNT; t++) {
		int32_t *got = calloc(lim[t] + 1, sizeof(*got));

		if (got == NULL)
			return lim[t];
		ops->answers(ctx, t, lim[t], got);
		for (size_t i = 0; i < lim[t]; i++)
			bad += got[i] != s->tr[t].want[i];
		checked += lim[t];
		free(got);
	}
	return bad;
}

/* Seconds per lookup: the median over repeats of a timed unit made of
 * enough passes to last about 5 ms, after one untimed pass. */
static double
per_lookup(const struct impl_ops *ops, void *ctx, int t, size_t n,
	   bool batched)
{
	int reps = bench_repeats();
	double v[50], t0, one;
	size_t k;

	if (n == 0)
		return NAN;
	t0 = now_s();
	batched ? ops->batched(ctx, t, n) : ops->single(ctx, t, n);
	one = now_s() - t0;
	k = one > 0 ? (size_t)(0.005 / one) + 1 : 1;
	for (int i = 0; i < reps; i++) {
		double c0 = cpu_s();

		t0 = now_s();
		for (size_t j = 0; j < k; j++)
			batched ? ops->batched(ctx, t, n)
				: ops->single(ctx, t, n);
		v[i] = now_s() - t0;
		share_note(v[i], cpu_s() - c0);
		v[i] /= (double)(k * n);
	}
	return median(v, (size_t)reps);
}

static void
lookups(const struct impl_ops *ops, void *ctx, const struct bset *s,
	const size_t *lim, struct row *r)
{
	r->mismatches = check(ops, ctx, s, lim);
	r->hit_b_mlps = 1e-6 / per_lookup(ops, ctx, TRACE_HIT, lim[0], true);
	r->hit_u_ns = 1e9 * per_lookup(ops, ctx, TRACE_HIT, lim[0], false);
	r->rand_b_mlps = 1e-6 / per_lookup(ops, ctx, TRACE_RAND, lim[1], true);
	r->rand_u_ns = 1e9 * per_lookup(ops, ctx, TRACE_RAND, lim[1], false);
}

/*
 * Delete and re-add rules one at a time in the full set, timing each: in
 * rounds of CHURN_ROUND distinct random rules deleted, then added back, so
 * that an add does not find the very nodes its delete just touched still in
 * cache, and the set never drops more than a round below full.
 */
#define CHURN_ROUND 16

static void
churn(const struct impl_ops *ops, void *ctx, const struct bset *s,
      struct row *r)
{
	const char *e = getenv("BENCH_CHURN");
	size_t k = e ? strtoul(e, NULL, 10) : 1000;
	size_t *pick = calloc(s->nrules + 1, sizeof(*pick));
	double *td = calloc(k + 1, sizeof(double));
	double *ta = calloc(k + 1, sizeof(double));
	uint64_t seed = s->nrules;

	if (k > s->nrules)
		k = s->nrules;
	if (pick == NULL || td == NULL || ta == NULL || k == 0)
		goto out;
	/* k distinct rules in a random order (a partial shuffle). */
	for (size_t i = 0; i < s->nrules; i++)
		pick[i] = i;
	for (size_t i = 0; i < k; i++) {
		size_t j = i + splitmix(&seed) % (s->nrules - i), t = pick[i];

		pick[i] = pick[j];
		pick[j] = t;
	}
	for (size_t at = 0; at < k; at += CHURN_ROUND) {
		size_t end = at + CHURN_ROUND < k ? at + CHURN_ROUND : k;

		for (size_t i = at; i < end; i++) {
			double t0 = now_s();

			if (ops->del(ctx, pick[i]) < 0)
				r->mismatches++;
			td[i] = (now_s() - t0) * 1e6;
		}
		for (size_t i = at; i < end; i++) {
			double t0 = now_s();

			if (ops->add(ctx, pick[i]) < 0)
				r->mismatches++;
			ta[i] = (now_s() - t0) * 1e6;
		}
	}
	r->del_med_us = median(td, k);
	r->del_p99_us = pctl(td, k, 0.99);
	r->add_med_us = median(ta, k);
	r->add_p99_us = pctl(ta, k, 0.99);
out:
	free(pick);
	free(td);
	free(ta);
}

static size_t
linear_sample(const struct bset *s, size_t n)
{
	const char *e = getenv("BENCH_LINEAR_SAMPLE");
	size_t cap = e ? strtoul(e, NULL, 10)
		       : (size_t)(1e7 / (double)(s->nrules + 1));

	if (cap < 1000)
		cap = 1000;
	return n < cap ? n : cap;
}

static void
measure(const struct impl_ops *ops, const struct bset *s, bool avx512)
{
	struct row *r, *r512 = NULL;
	size_t lim[TRACE_COUNT], bytes, peak;
	char why[128] = "";
	void *ctx;
	double t0;
	int ret;

	if (nrows + 2 > ROWS_MAX)
		return;
	r = &rows[nrows++];
	row_init(r, s->name, ops->name);
	snprintf(r->base, sizeof(r->base), "%s", s->base);
	snprintf(r->size, sizeof(r->size), "%s", s->size);
	r->rules = s->nrules;
	fprintf(stderr, "bench: %s %s\n", s->name, ops->name);
	t0 = now_s();
	ret = ops->build(&ctx, s, why, sizeof(why));
	if (ret < 0) {
		snprintf(r->note, sizeof(r->note), "build failed: %s",
			 why[0] ? why : strerror(-ret));
		return;
	}
	r->build_s = now_s() - t0;
	ops->mem(ctx, &bytes, &peak);
	r->bytes_per_rule = (double)bytes / (double)s->nrules;
	r->peak_bytes_per_rule = (double)peak / (double)s->nrules;
	for (int t = 0; t < TRACE_COUNT; t++)
		lim[t] = ops == &impl_linear ? linear_sample(s, s->tr[t].n)
					     : s->tr[t].n;
	lookups(ops, ctx, s, lim, r);
	if (lim[0] < s->tr[0].n || lim[1] < s->tr[1].n)
		snprintf(r->note, sizeof(r->note),
			 "lookups on the first %zu+%zu packets", lim[0],
			 lim[1]);
	if (ops->del != NULL) {
		churn(ops, ctx, s, r);
		r->mismatches += check(ops, ctx, s, lim);
	} else {
		snprintf(r->note, sizeof(r->note),
			 "no add/delete: a change is a rebuild");
	}
#ifdef HAVE_DPDK
	if (avx512) {
		r512 = &rows[nrows++];
		*r512 = *r;
		r512->impl = "rte_acl_avx512";
		if (acl_use_avx512(ctx, why, sizeof(why)) == 0) {
			lookups(ops, ctx, s, lim, r512);
			snprintf(r512->note, sizeof(r512->note),
				 "the avx2 row's context, AVX512X32 classify");
		} else {
			r512->hit_b_mlps = r512->hit_u_ns = NAN;
			r512->rand_b_mlps = r512->rand_u_ns = NAN;
			r512->mismatches = -1;
			snprintf(r512->note, sizeof(r512->note), "%s", why);
		}
	}
#else
	(void)avx512;
#endif
	t0 = now_s();
	ops->flush(ctx);
	r->flush_ms = (now_s() - t0) * 1e3;
	if (r512 != NULL)
		r512->flush_ms = r->flush_ms;
	ops->free(ctx);
}

#ifdef HAVE_DPDK
static long
env_long(const char *name, long def)
{
	const char *e = getenv(name);

	return e != NULL && *e != '\0' ? atol(e) : def;
}

/*
 * rte_acl's build cannot be interrupted and grows fast with wildcards and
 * ranges (seconds and hundreds of MB at 10k generated rules), so it runs in
 * a child -- EAL's memory is private and copied on fork -- that has
 * BENCH_ACL_BUDGET seconds (default 300) and BENCH_ACL_MALLOC_MB of address
 * space beyond what it inherits (default 4096) for the whole measurement.
 * The rows come back through a pipe; the impl names are the parent's own
 * string constants, as the child runs the same image.
 */
static void
measure_acl(const struct bset *s)
{
	long budget = env_long("BENCH_ACL_BUDGET", 300);
	struct {
		struct row r[2];
		size_t n;
		unsigned long long checked;
	} res;
	size_t base = nrows;
	struct pollfd pfd;
	int fds[2], status;
	double t0 = now_s();
	pid_t pid;

	if (nrows + 2 > ROWS_MAX || pipe(fds) != 0)
		return;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl;

		close(fds[0]);
		rl.rlim_cur = rl.rlim_max =
			(rlim_t)(mem_vm_kb() +
				 env_long("BENCH_ACL_MALLOC_MB", 4096) * 1024) *
			1024;
		setrlimit(RLIMIT_AS, &rl);
		measure(&impl_acl, s, true);
		res.n = nrows - base;
		memcpy(res.r, &rows[base], res.n * sizeof(res.r[0]));
		res.checked = checked;
		if (write(fds[1], &res, sizeof(res)) != (ssize_t)sizeof(res))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	if (pid > 0 && poll(&pfd, 1, (int)(budget * 1000)) == 1 &&
	    read(fds[0], &res, sizeof(res)) == (ssize_t)sizeof(res)) {
		memcpy(&rows[nrows], res.r, res.n * sizeof(res.r[0]));
		nrows += res.n;
		checked = res.checked;
	} else {
		static const char *const names[] = {"rte_acl_avx2",
						    "rte_acl_avx512"};

		for (int i = 0; i < 2; i++) {
			struct row *r = &rows[nrows++];

			row_init(r, s->name, names[i]);
			snprintf(r->base, sizeof(r->base), "%s", s->base);
			snprintf(r->size, sizeof(r->size), "%s", s->size);
			r->rules = s->nrules;
			snprintf(r->note, sizeof(r->note),
				 "not measured: stopped after %.0f s "
				 "(BENCH_ACL_BUDGET), or out of memory",
				 now_s() - t0);
		}
		if (pid > 0)
			kill(pid, SIGKILL);
	}
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
}
#endif

static const struct row *
find_row(const char *set, const char *impl)
{
	for (size_t i = 0; i < nrows; i++)
		if (strcmp(rows[i].set, set) == 0 &&
		    strcmp(rows[i].impl, impl) == 0)
			return &rows[i];
	return NULL;
}

static void
fmt(char *buf, size_t len, const char *f, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, f, v);
}

static void
fmt2(char *buf, size_t len, const char *f, double a, double b)
{
	if (isnan(a) || isnan(b))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, f, a, b);
}

static void
print_table(void)
{
	printf("\n%-10s %6s %-14s %8s %6s %7s %8s %7s %8s %7s %13s %13s "
	       "%8s %5s %13s %15s  %s\n",
	       "set", "rules", "impl", "build s", "B/rule", "peak B", "hit M/s",
	       "hit ns", "rand M/s", "rand ns", "add us m/p99", "del us m/p99",
	       "flush ms", "mism", "x acl2 b/u", "x scan b/u", "notes");
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		const struct row *acl = find_row(r->set, "rte_acl_avx2");
		const struct row *lin = find_row(r->set, "linear");
		char c[14][32], mm[24];

		fmt(c[0], 32, "%.3f", r->build_s);
		fmt(c[1], 32, "%.0f", r->bytes_per_rule);
		fmt(c[2], 32, "%.0f", r->peak_bytes_per_rule);
		fmt(c[3], 32, "%.2f", r->hit_b_mlps);
		fmt(c[4], 32, "%.0f", r->hit_u_ns);
		fmt(c[5], 32, "%.2f", r->rand_b_mlps);
		fmt(c[6], 32, "%.0f", r->rand_u_ns);
		fmt2(c[7], 32, "%.2f/%.2f", r->add_med_us, r->add_p99_us);
		fmt2(c[8], 32, "%.2f/%.2f", r->del_med_us, r->del_p99_us);
		fmt(c[9], 32, "%.3f", r->flush_ms);
		if (acl != NULL && acl != r)
			fmt2(c[10], 32, "%.2f/%.2f",
			     r->hit_b_mlps / acl->hit_b_mlps,
			     acl->hit_u_ns / r->hit_u_ns);
		else
			snprintf(c[10], 32, "-");
		if (lin != NULL && lin != r)
			fmt2(c[11], 32, "%.0f/%.0f",
			     r->hit_b_mlps / lin->hit_b_mlps,
			     lin->hit_u_ns / r->hit_u_ns);
		else
			snprintf(c[11], 32, "-");
		if (r->mismatches < 0)
			snprintf(mm, sizeof(mm), "-");
		else
			snprintf(mm, sizeof(mm), "%ld", r->mismatches);
		printf("%-10s %6zu %-14s %8s %6s %7s %8s %7s %8s %7s %13s %13s "
		       "%8s %5s %13s %15s  %s\n",
		       r->set, r->rules, r->impl, c[0], c[1], c[2], c[3], c[4],
		       c[5], c[6], c[7], c[8], c[9], mm, c[10], c[11],
		       r->note);
	}
	printf("(M/s: million lookups per second, batches of %d; ns: one "
	       "lookup per call; add/del: one rule out of and back into the "
	       "full set;\n x acl2 / x scan: eroute's or the row's speed-up "
	       "on the hit trace over rte_acl AVX2 / the ordered scan, "
	       "batched / unbatched)\n",
	       BENCH_BATCH);
}

/* The worst eroute figure over the sets of one size. */
struct worst {
	double v;
	char set[32];
	bool any;
};

static void
worst_take(struct worst *w, double v, const char *set, bool higher_worse)
{
	if (isnan(v))
		v = higher_worse ? INFINITY : 0;
	if (!w->any || (higher_worse ? v > w->v : v < w->v)) {
		w->v = v;
		snprintf(w->set, sizeof(w->set), "%.31s", set);
		w->any = true;
	}
}

static void
target(const char *what, const struct worst *w, double limit,
       bool at_most, const char *unit, bool goal)
{
	const char *verdict;

	if (!w->any)
		verdict = "SKIP";
	else if (at_most ? w->v <= limit : w->v >= limit)
		verdict = goal ? "MET " : "PASS";
	else
		verdict = goal ? "NOT " : "FAIL";
	if (w->any)
		printf("  %s  %-46s %s %g%s: worst %.3g%s (%s)\n", verdict,
		       what, at_most ? "<=" : ">=", limit, unit, w->v, unit,
		       w->set);
	else
		printf("  %s  %-46s (not measured)\n", verdict, what);
}

static void
print_targets(void)
{
	struct worst w[14];
	const char *size = "1k";
	bool any100 = false;

	memset(w, 0, sizeof(w));
	for (size_t i = 0; i < nrows; i++) {
		if (strcmp(rows[i].impl, "eroute") != 0 ||
		    strcmp(rows[i].base, "sad") == 0)
			continue;
		if (strcmp(rows[i].size, "100k") == 0)
			any100 = true;
		else if (strcmp(rows[i].size, "10k") == 0 &&
			 strcmp(size, "1k") == 0)
			size = "10k";
	}
	if (any100)
		size = "100k";
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i], *a2, *a5, *lin, *small;
		char name[32];

		if (strcmp(r->impl, "eroute") != 0 ||
		    strcmp(r->base, "sad") == 0 || strcmp(r->size, size) != 0)
			continue;
		a2 = find_row(r->set, "rte_acl_avx2");
		a5 = find_row(r->set, "rte_acl_avx512");
		lin = find_row(r->set, "linear");
		if (a2 != NULL && !isnan(a2->hit_b_mlps)) {
			worst_take(&w[0], r->hit_b_mlps / a2->hit_b_mlps,
				   r->set, false);
			worst_take(&w[2], r->hit_u_ns / a2->hit_u_ns, r->set,
				   true);
			worst_take(&w[2], r->rand_u_ns / a2->rand_u_ns, r->set,
				   true);
		}
		if (a5 != NULL && !isnan(a5->hit_b_mlps))
			worst_take(&w[1], r->hit_b_mlps / a5->hit_b_mlps,
				   r->set, false);
		if (lin != NULL) {
			worst_take(&w[3], r->hit_b_mlps / lin->hit_b_mlps,
				   r->set, false);
			worst_take(&w[4], lin->hit_u_ns / r->hit_u_ns, r->set,
				   false);
		}
		snprintf(name, sizeof(name), "%s_1k", r->base);
		small = find_row(name, "eroute");
		if (small != NULL && strcmp(size, "100k") == 0) {
			worst_take(&w[5], small->hit_b_mlps / r->hit_b_mlps,
				   r->set, true);
			worst_take(&w[5], r->hit_u_ns / small->hit_u_ns, r->set,
				   true);
		}
		worst_take(&w[6], r->build_s, r->set, true);
		worst_take(&w[7], r->add_p99_us, r->set, true);
		worst_take(&w[7], r->del_p99_us, r->set, true);
		worst_take(&w[8], r->flush_ms, r->set, true);
		worst_take(&w[9], r->bytes_per_rule, r->set, true);
		worst_take(&w[10], r->peak_bytes_per_rule / r->bytes_per_rule,
			   r->set, true);
	}
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		if (strcmp(r->base, "sad") != 0)
			continue;
		if (r->rules == 100000)
			worst_take(&w[11], 1e3 / r->hit_b_mlps, r->set, true);
		if (r->rules == 1000000)
			worst_take(&w[12], 1e3 / r->hit_b_mlps, r->set, true);
	}
	printf("\ntargets of issue 6, eroute at %s rules%s, from the ratios "
	       "above:\n",
	       size, strcmp(size, "100k") ? " (100k not run: indicative only)"
					  : "");
	target("batched hit lookups vs rte_acl AVX2", &w[0], 1, false, "x",
	       false);
	target("batched hit lookups vs rte_acl AVX-512 (goal)", &w[1], 1,
	       false, "x", true);
	target("unbatched latency / rte_acl AVX2's", &w[2], 0.5, true, "x",
	       false);
	target("batched vs the ordered scan", &w[3], 1000, false, "x", false);
	target("unbatched vs the ordered scan", &w[4], 150, false, "x", false);
	target("growth of per-lookup cost 1k -> 100k", &w[5], 3, true, "x",
	       false);
	target("build", &w[6], 1, true, " s", false);
	target("one add or delete, p99", &w[7], 20, true, " us", false);
	target("flush", &w[8], 10, true, " ms", false);
	target("memory per rule, steady", &w[9], 400, true, " B", false);
	target("memory peak during build / steady", &w[10], 2, true, "x",
	       false);
	target("SAD batched lookup at 100k SAs", &w[11], 50, true, " ns",
	       false);
	target("SAD batched lookup at 1M SAs", &w[12], 100, true, " ns",
	       false);
}

static json_t *
num(double v)
{
	return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

static void
write_json(const char *path)
{
	json_t *a = json_array();

	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		json_t *o = json_object();

		json_object_set_new(o, "set", json_string(r->set));
		json_object_set_new(o, "rules",
				    json_integer((json_int_t)r->rules));
		json_object_set_new(o, "impl", json_string(r->impl));
		json_object_set_new(o, "build_s", num(r->build_s));
		json_object_set_new(o, "bytes_per_rule",
				    num(r->bytes_per_rule));
		json_object_set_new(o, "peak_bytes_per_rule",
				    num(r->peak_bytes_per_rule));
		json_object_set_new(o, "hit_batched_mlps", num(r->hit_b_mlps));
		json_object_set_new(o, "hit_unbatched_ns", num(r->hit_u_ns));
		json_object_set_new(o, "rand_batched_mlps",
				    num(r->rand_b_mlps));
		json_object_set_new(o, "rand_unbatched_ns", num(r->rand_u_ns));
		json_object_set_new(o, "add_p99_us", num(r->add_p99_us));
		json_object_set_new(o, "del_p99_us", num(r->del_p99_us));
		json_object_set_new(o, "flush_ms", num(r->flush_ms));
		json_object_set_new(o, "mismatches",
				    r->mismatches < 0
					    ? json_null()
					    : json_integer(r->mismatches));
		json_array_append_new(a, o);
	}
	if (json_dump_file(a, path, JSON_INDENT(1)) < 0)
		fprintf(stderr, "bench: cannot write %s\n", path);
	else
		printf("results: %s\n", path);
	json_decref(a);
}

static void
machine(int cpu, bool pinned)
{
	char line[4096], model[128] = "unknown", date[64];
	FILE *f = fopen("/proc/cpuinfo", "r");
	bool avx512 = false;
	struct utsname u;
	time_t t = time(NULL);

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
			snprintf(model, sizeof(model), "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
		}
		if (strncmp(line, "flags", 5) == 0 && strstr(line, " avx512f"))
			avx512 = true;
	}
	if (f != NULL)
		fclose(f);
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M %Z", localtime(&t));
	printf("classifier bench, %s: %s, %ld CPUs, AVX-512 %s, Linux %s; "
	       "pinned to CPU %d%s\n",
	       date, model, sysconf(_SC_NPROCESSORS_ONLN),
	       avx512 ? "yes" : "no", u.release, cpu,
	       pinned ? "" : " (sched_setaffinity failed: not pinned)");
}

static void
run_set(const struct bset *s, bool have_acl)
{
	const char *impls = getenv("BENCH_IMPLS");

	printf("%s: %zu rules (%zu source, %zu proto-any rules with ports "
	       "expanded, %zu unmatchable dropped), %zu+%zu packets, oracle: "
	       "%s\n",
	       s->name, s->nrules, s->nsource, s->nexpanded, s->ndropped,
	       s->tr[0].n, s->tr[1].n, s->oracle);
	fflush(stdout);
	if (listed(impls, "linear"))
		measure(&impl_linear, s, false);
	if (listed(impls, "eroute"))
		measure(&impl_eroute, s, false);
#ifdef HAVE_DPDK
	if (have_acl && listed(impls, "rte_acl"))
		measure_acl(s);
#else
	(void)have_acl;
#endif
}

static const char usage_text[] =
	"Usage: bench_classify\n"
	"eroute's classifier against the ordered scan and DPDK rte_acl (AVX2,\n"
	"AVX-512) on ClassBench and generated rule sets, then the SAD; one\n"
	"table, a check of issue 6's targets, and results.json.\n"
	"\n"
	"Environment: BENCH_SETS (acl1,fw1,ipc1,gen4,gen6,sad), BENCH_SIZES\n"
	"(1k,10k,100k), BENCH_IMPLS (linear,eroute,rte_acl), BENCH_SAD_SIZES,\n"
	"BENCH_DATA, BENCH_RESULTS, BENCH_CPU, BENCH_REPEATS, BENCH_CHURN,\n"
	"BENCH_LINEAR_SAMPLE, BENCH_DPDK_MB, BENCH_ACL_MALLOC_MB,\n"
	"BENCH_ACL_BUDGET (see the top of bench/classify/bench_classify.c).\n";

int
main(int argc, char **argv)
{
	static const char *const cb_sets[] = {"acl1", "fw1", "ipc1"};
	static const char *const all_sizes[] = {"1k", "10k", "100k"};
	const char *sets = getenv("BENCH_SETS");
	const char *sizes = getenv("BENCH_SIZES");
	const char *data = getenv("BENCH_DATA");
	const char *out = getenv("BENCH_RESULTS");
	const char *cpus = getenv("BENCH_CPU");
	const char *sadsz = getenv("BENCH_SAD_SIZES");
	int cpu = cpus ? atoi(cpus) : 0;
	char why[160] = "not built (pkg-config found no libdpdk)";
	bool have_acl = false, have_cb, pinned;
	struct stat st;
	unsigned long long mism = 0;
	cpu_set_t set;

	if (argc > 1) {
		bool help = strcmp(argv[1], "-h") == 0 ||
			    strcmp(argv[1], "--help") == 0;

		fputs(usage_text, help ? stdout : stderr);
		return help && argc == 2 ? 0 : 2;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pinned = sched_setaffinity(0, sizeof(set), &set) == 0;
	if (data == NULL)
		data = EROUTE_SOURCE_DIR "/../shared/bench-data/classbench";
	setvbuf(stdout, NULL, _IOLBF, 0);
	machine(cpu, pinned);
#ifdef HAVE_DPDK
	have_acl = acl_init(cpu, why, sizeof(why)) == 0;
	if (have_acl)
		printf("baseline: %s rte_acl (EAL --no-huge --no-pci -l %d)\n",
		       acl_version(), cpu);
#endif
	if (!have_acl)
		printf("baseline: rte_acl SKIPPED: %s\n", why);
	have_cb = stat(data, &st) == 0 && S_ISDIR(st.st_mode);
	if (!have_cb)
		printf("ClassBench data not found at %s: generated sets only\n",
		       data);
	for (size_t z = 0; z < sizeof(all_sizes) / sizeof(all_sizes[0]); z++) {
		const char *size = all_sizes[z];

		if (!listed(sizes, size))
			continue;
		for (size_t k = 0; have_cb && k < 3; k++) {
			struct bset s;
			int ret;

			if (!listed(sets, cb_sets[k]))
				continue;
			ret = cb_load(&s, data, cb_sets[k], size);
			if (ret < 0) {
				printf("%s_%s: cannot load (%s)\n", cb_sets[k],
				       size, strerror(-ret));
				continue;
			}
			run_set(&s, have_acl);
			bset_fini(&s);
		}
		for (int fam = 4; fam <= 6; fam += 2) {
			struct bset s;
			char name[8];

			snprintf(name, sizeof(name), "gen%d", fam);
			if (!listed(sets, name))
				continue;
			if (gen_set(&s, fam == 4 ? AF_INET : AF_INET6,
				    size_count(size), size, 20000, 10000) < 0) {
				printf("%s_%s: cannot generate\n", name, size);
				continue;
			}
			run_set(&s, have_acl);
			bset_fini(&s);
		}
	}
	/* A quick run (BENCH_SIZES without 100k) spares the 1M SAD. */
	if (sadsz == NULL)
		sadsz = listed(sizes, "100k") ? "100k,1M" : "100k";
	if (listed(sets, "sad"))
		nrows += sad_rows(sadsz, &rows[nrows], ROWS_MAX - nrows);
	print_table();
	for (size_t i = 0; i < nrows; i++)
		if (rows[i].mismatches > 0)
			mism += (unsigned long long)rows[i].mismatches;
	printf("\nanswers checked against the oracle: %llu classifier lookups "
	       "(all impls) plus the SAD's; mismatches: %llu%s\n",
	       checked, mism, mism == 0 ? " (verified zero)" : " -- WRONG");
	if (share_of_cpu() < 0.9)
		printf("the timed loops had %.0f%% of a CPU (wall clock "
		       "against thread CPU time): other load on this machine "
		       "made the lookup figures up to %.1fx slower\n",
		       100 * share_of_cpu(), 1 / share_of_cpu());
	else
		printf("the timed loops had %.0f%% of a CPU\n",
		       100 * share_of_cpu());
	print_targets();
	write_json(out ? out : "build/bench/results.json");
#ifdef HAVE_DPDK
	acl_fini();
#endif
	return mism == 0 ? 0 : 1;
}
