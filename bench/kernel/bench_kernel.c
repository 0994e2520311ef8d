// SPDX-License-Identifier: MIT
/*
 * The kernel row of `make bench`: install, reconcile-after-restart and flush
 * of 1k, 10k and 100k mixed-prefix policies on the real Linux XFRM, each in a
 * network namespace of its own.
 *
 *   eroute    erouted's path: the engine over the XFRM backend.  Install is a
 *             first start (adoption of an empty kernel ends in one bulk call:
 *             batched netlink, SPD hash thresholds chosen for the set);
 *             reconcile is a restart after a crash over the unchanged
 *             policies; flush is a clean shutdown.  The notes give what
 *             erouted's periodic check (er_engine_verify: one policy
 *             count) costs, and what a full resync (the dumps, sorted)
 *             of the unchanged kernel would cost if it ran instead.
 *   baseline  what other IKE daemons do: one message and one acknowledgement
 *             per policy, with the kernel's default hash thresholds; a
 *             restart that does not know its policies adds them all again
 *             (EEXIST, then an update); a flush deletes one by one.
 *
 * Needs root (it makes its own network namespaces); without root it says so
 * and exits 0 so that the rest of `make bench` goes on.  BENCH_SIZES=1k,10k
 * limits the sizes; BENCH_KERNEL_BASELINE_MAX (default 100000) skips the
 * baseline above that size, and a baseline phase stops after
 * BENCH_KERNEL_BUDGET seconds (default 180) and says how far it got.
 * Results also go to BENCH_OUT (default build/bench/kernel.json).
 */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eroute/engine.h"
#include "eroute/xfrm.h"

struct result {
	size_t n;
	const char *impl;
	double install_s, reconcile_s, flush_s;
	double verify_s, resync_s;	/* eroute: the periodic check, and a
					   resync of an unchanged kernel */
	size_t install_done, reconcile_done, flush_done;
	size_t adopted, eexist;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int
key_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* @n distinct (local client, remote client) pairs, /8 to /32, heavily
 * overlapping, inside 10.0.0.0/8: candidates are drawn, normalised,
 * encoded and deduplicated, then decoded. */
static struct er_prefix (*pairs(size_t n))[2]
{
	struct er_prefix (*p)[2] = calloc(n, sizeof(*p));
	uint64_t *keys = calloc(2 * n + 64, sizeof(*keys));
	uint64_t seed = 42;
	size_t m = 0, got = 0;

	while (p != NULL && keys != NULL && got < n) {
		m = got;
		while (m < 2 * n + 64) {
			uint32_t a = (uint32_t)splitmix(&seed) & 0xffffff;
			uint32_t b = (uint32_t)splitmix(&seed) & 0xffffff;
			unsigned la = 8 + (unsigned)(splitmix(&seed) % 25);
			unsigned lb = 8 + (unsigned)(splitmix(&seed) % 25);

			a &= la >= 32 ? 0xffffff : ~((1u << (32 - la)) - 1) & 0xffffff;
			b &= lb >= 32 ? 0xffffff : ~((1u << (32 - lb)) - 1) & 0xffffff;
			keys[m++] = (uint64_t)a << 36 | (uint64_t)la << 30 |
				    (uint64_t)b << 6 | lb;
		}
		qsort(keys, m, sizeof(*keys), key_cmp);
		got = 0;
		for (size_t i = 0; i < m && got < n; i++)
			if (got == 0 || keys[i] != keys[got - 1])
				keys[got++] = keys[i];
	}
	for (size_t i = 0; p != NULL && keys != NULL && i < n; i++) {
		struct er_addr a, b;
		uint64_t k = keys[i];

		er_addr_from_v4(&a, 0x0a000000u | (uint32_t)(k >> 36));
		er_addr_from_v4(&b, 0x0a000000u | (uint32_t)((k >> 6) &
							     0xffffff));
		er_prefix_init(&p[i][0], &a, (unsigned)(k >> 30) & 63);
		er_prefix_init(&p[i][1], &b, (unsigned)k & 63);
	}
	free(keys);
	return p;
}

static void
conn_of(struct er_conn_config *cc, size_t i, const struct er_prefix *pair)
{
	er_conn_config_init(cc);
	snprintf(cc->name, sizeof(cc->name), "c%zu", i);
	er_addr_from_v4(&cc->local, 0xc000020a);	/* 192.0.2.10 */
	er_addr_from_v4(&cc->remote, 0xc6336401);	/* 198.51.100.1 */
	cc->local_client = pair[0];
	cc->remote_clients = &pair[1];
	cc->nremote = 1;
	cc->autostart = ER_AUTO_ONDEMAND;
}

/* Start (or restart) erouted's engine over XFRM with the @n connections;
 * return the seconds from first dump to last install. */
static double
engine_start(struct er_xfrm *x, struct er_prefix (*p)[2], size_t n,
	     struct er_engine **out, struct er_adopt_stats *st)
{
	struct er_engine_config ec = {0};
	struct er_err err = {0};
	struct er_engine *e;
	double t0 = now_s();

	ec.kernel = er_xfrm_kernel(x);
	ec.seed = 1;
	ec.now = 1;
	e = er_engine_new(&ec, &err);
	if (e == NULL || er_engine_adopt_begin(e, NULL, NULL, &err) < 0) {
		fprintf(stderr, "bench: %s\n", err.msg);
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		struct er_conn_config cc;

		conn_of(&cc, i, p[i]);
		if (er_engine_conn_add(e, &cc, &err) < 0) {
			fprintf(stderr, "bench: %s\n", err.msg);
			exit(1);
		}
	}
	if (er_engine_adopt_finish(e, st, &err) < 0)
		fprintf(stderr, "bench: %s\n", err.msg);
	*out = e;
	return now_s() - t0;
}

static struct er_xfrm *
xfrm_open(bool default_thresholds)
{
	struct er_xfrm_config xc = {0};
	struct er_err err = {0};
	struct er_xfrm *x;

	xc.no_events = true;
	xc.no_nd_bypass = true;
	xc.no_auto_thresholds = default_thresholds ||
				getenv("BENCH_KERNEL_NO_AUTO") != NULL;
	x = er_xfrm_new(&xc, &err);
	if (x == NULL) {
		fprintf(stderr, "bench: %s\n", err.msg);
		exit(1);
	}
	return x;
}

static void
run_eroute(size_t n, struct result *r)
{
	struct er_prefix (*p)[2] = pairs(n);
	struct er_adopt_stats st;
	struct er_engine *e;
	struct er_xfrm *x = xfrm_open(false);
	double t0;

	r->impl = "eroute";
	r->install_s = engine_start(x, p, n, &e, &st);
	r->install_done = st.added;
	/* A crash: the engine goes, the kernel keeps everything. */
	er_engine_free(e);
	er_xfrm_free(x);
	x = xfrm_open(false);
	r->reconcile_s = engine_start(x, p, n, &e, &st);
	r->reconcile_done = st.adopted + st.updated;
	r->adopted = st.adopted;
	/* What a periodic check costs, and what a periodic dump would. */
	t0 = now_s();
	if (er_engine_verify(e, NULL) != 0)
		fprintf(stderr, "bench: verify found a difference\n");
	r->verify_s = now_s() - t0;
	t0 = now_s();
	if (er_engine_resync(e, NULL) < 0)
		fprintf(stderr, "bench: resync failed\n");
	r->resync_s = now_s() - t0;
	t0 = now_s();
	er_engine_shutdown(e);
	r->flush_s = now_s() - t0;
	r->flush_done = n;
	er_engine_free(e);
	er_xfrm_free(x);
	free(p);
}

/* The policies eroute installed, built the way the engine builds them,
 * for the one-by-one baseline. */
static struct er_policy *
baseline_policies(struct er_prefix (*p)[2], size_t n)
{
	struct er_policy *pols = calloc(n, sizeof(*pols));

	for (size_t i = 0; i < n && pols != NULL; i++) {
		struct er_policy *q = &pols[i];

		q->dir = ER_DIR_OUT;
		er_selector_init(&q->sel, &p[i][0], &p[i][1], 0, NULL, NULL,
				 NULL);
		q->priority = er_priority_default(&q->sel, ER_PRIO_CONN);
		q->action = ER_ACTION_TRAP;
		q->reqid = ER_REQID_BASE + (uint32_t)(i % ER_REQID_COUNT);
		q->ntmpl = 1;
		q->tmpl[0].proto = IPPROTO_ESP;
		q->tmpl[0].mode = ER_MODE_TUNNEL;
		er_addr_from_v4(&q->tmpl[0].src, 0xc000020a);
		er_addr_from_v4(&q->tmpl[0].dst, 0xc6336401);
		q->tmpl[0].reqid = q->reqid;
	}
	return pols;
}

static void
run_baseline(size_t n, double budget, struct result *r)
{
	struct er_prefix (*p)[2] = pairs(n);
	struct er_policy *pols = baseline_policies(p, n);
	struct er_xfrm *x = xfrm_open(true);
	struct er_kernel k = er_xfrm_kernel(x);
	double t0;
	size_t i;

	r->impl = "baseline";
	t0 = now_s();
	for (i = 0; i < n && now_s() - t0 < budget; i++)
		er_kernel_policy_add(&k, &pols[i], NULL);
	r->install_s = now_s() - t0;
	r->install_done = i;
	/* A restart that knows nothing: add again, EEXIST, update. */
	t0 = now_s();
	for (i = 0; i < r->install_done && now_s() - t0 < budget; i++)
		if (er_kernel_policy_add(&k, &pols[i], NULL) ==
		    ER_KERNEL_UPDATED)
			r->eexist++;
	r->reconcile_s = now_s() - t0;
	r->reconcile_done = i;
	t0 = now_s();
	for (i = 0; i < r->install_done && now_s() - t0 < budget; i++)
		er_kernel_policy_del(&k, ER_DIR_OUT, &pols[i].sel, NULL);
	r->flush_s = now_s() - t0;
	r->flush_done = i;
	er_xfrm_free(x);
	free(pols);
	free(p);
}

/* Each measurement in a fresh network namespace, in a child. */
static int
measure(size_t n, bool baseline, double budget, struct result *out)
{
	int fds[2];
	pid_t pid;
	int status;

	if (pipe(fds) != 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct result r = {.n = n};

		close(fds[0]);
		if (unshare(CLONE_NEWNET) != 0)
			_exit(2);
		if (baseline)
			run_baseline(n, budget, &r);
		else
			run_eroute(n, &r);
		if (write(fds[1], &r, sizeof(r)) != sizeof(r))
			_exit(3);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], out, sizeof(*out)) != sizeof(*out)) {
		close(fds[0]);
		waitpid(pid, &status, 0);
		return -1;
	}
	close(fds[0]);
	waitpid(pid, &status, 0);
	out->impl = baseline ? "baseline" : "eroute";
	return 0;
}

static size_t
parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (*end == 'k' || *end == 'K')
		v *= 1000;
	else if (*end == 'm' || *end == 'M')
		v *= 1000000;
	return (size_t)v;
}

static void
cell(char *buf, size_t len, double secs, size_t done, size_t n)
{
	if (done >= n)
		snprintf(buf, len, "%.3f", secs);
	else
		snprintf(buf, len, "%.1f (%zu/%zu)", secs, done, n);
}

static const char usage_text[] =
	"Usage: bench_kernel\n"
	"Install, reconcile after a restart and flush 1k, 10k and 100k\n"
	"mixed-prefix policies on the real XFRM, erouted's way and one message\n"
	"per policy, each in a network namespace of its own (root).\n"
	"\n"
	"Environment: BENCH_SIZES (e.g. 1k,10k), BENCH_KERNEL_BASELINE_MAX\n"
	"(default 100000), BENCH_KERNEL_BUDGET (seconds per baseline phase,\n"
	"default 180), BENCH_OUT (default build/bench/kernel.json),\n"
	"BENCH_KERNEL_NO_AUTO (keep the kernel's hash thresholds).\n";

int
main(int argc, char **argv)
{
	const char *sizes = getenv("BENCH_SIZES");
	const char *bmax = getenv("BENCH_KERNEL_BASELINE_MAX");
	const char *bud = getenv("BENCH_KERNEL_BUDGET");
	const char *outp = getenv("BENCH_OUT");
	size_t baseline_max = bmax ? parse_size(bmax) : 100000;
	double budget = bud ? atof(bud) : 180;
	char list[256], *tok, *save;
	FILE *json;
	bool first = true;

	if (argc > 1) {
		bool help = strcmp(argv[1], "-h") == 0 ||
			    strcmp(argv[1], "--help") == 0;

		fputs(usage_text, help ? stdout : stderr);
		return help && argc == 2 ? 0 : 2;
	}
	if (geteuid() != 0) {
		printf("kernel bench: SKIPPED (needs root for network "
		       "namespaces and XFRM)\n");
		return 0;
	}
	json = fopen(outp ? outp : "build/bench/kernel.json", "w");
	snprintf(list, sizeof(list), "%s", sizes ? sizes : "1k,10k,100k");
	printf("\nkernel: XFRM SPD, mixed /8-/32 IPv4 prefixes (seconds; "
	       "baseline = one message per policy, default hash "
	       "thresholds)\n");
	printf("%-8s %-9s %14s %22s %14s %s\n", "rules", "impl", "install",
	       "reconcile (restart)", "flush", "notes");
	if (json != NULL)
		fputs("[", json);
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t n = parse_size(tok);

		for (int b = 0; b < 2; b++) {
			struct result r = {0};
			char c1[48], c2[48], c3[48], note[96] = "";

			if (b == 1 && n > baseline_max)
				continue;
			if (measure(n, b == 1, budget, &r) < 0) {
				printf("%-8s %-9s failed\n", tok,
				       b ? "baseline" : "eroute");
				continue;
			}
			cell(c1, sizeof(c1), r.install_s, r.install_done, n);
			cell(c2, sizeof(c2), r.reconcile_s, r.reconcile_done,
			     n);
			cell(c3, sizeof(c3), r.flush_s, r.flush_done, n);
			if (b == 0)
				snprintf(note, sizeof(note),
					 "%zu adopted as they were, 0 EEXIST; "
					 "verify %.5f, resync %.3f",
					 r.adopted, r.verify_s, r.resync_s);
			else
				snprintf(note, sizeof(note),
					 "%zu EEXIST at restart", r.eexist);
			printf("%-8s %-9s %14s %22s %14s %s\n", tok, r.impl,
			       c1, c2, c3, note);
			if (json != NULL)
				fprintf(json,
					"%s\n {\"set\": \"kernel-mixed\", "
					"\"rules\": %zu, \"impl\": \"%s\", "
					"\"install_s\": %.4f, \"installed\": "
					"%zu, \"reconcile_s\": %.4f, "
					"\"reconciled\": %zu, \"flush_s\": "
					"%.4f, \"flushed\": %zu}",
					first ? "" : ",", n,
					b ? "xfrm_one_by_one" : "eroute",
					r.install_s, r.install_done,
					r.reconcile_s, r.reconcile_done,
					r.flush_s, r.flush_done);
			first = false;
		}
	}
	if (json != NULL) {
		fputs("\n]\n", json);
		fclose(json);
	}
	return 0;
}
