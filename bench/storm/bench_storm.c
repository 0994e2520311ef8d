// SPDX-License-Identifier: MIT
/*
 * The acquire-storm row of `make bench` (set "storm"): one opportunistic
 * group over 10.0.0.0/8 on the simulated kernel, 1 000 000 trapped packets
 * to 100 000 peers, every negotiation answered (most succeed), every
 * failure shunt run out, the group deleted -- the driver and checks of
 * tests/scenario/test_storm.c (tests/scenario/acquire_storm.h), at full
 * size, timed.  It prints packets per second through the engine and the
 * kernel, the negotiations, the peak memory (RSS, and the heap, per peer)
 * and the time of each phase, and writes the same to BENCH_OUT (default
 * build/bench/storm.json).  BENCH_STORM_PACKETS and BENCH_STORM_PEERS
 * change the size.  A failed check is an error (exit 1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acquire_storm.h"

static const char usage_text[] =
	"Usage: bench_storm\n"
	"An acquire storm on the simulated kernel: packets to the peers of one\n"
	"opportunistic group, every negotiation answered, checked and timed.\n"
	"\n"
	"Environment: BENCH_STORM_PACKETS (1000000), BENCH_STORM_PEERS\n"
	"(100000), BENCH_OUT (build/bench/storm.json).\n";

static int
env_size(const char *name, size_t *out)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long n;

	if (v == NULL || *v == '\0')
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || n == 0) {
		fprintf(stderr, "bench_storm: %s=%s: not a positive number\n",
			name, v);
		return -1;
	}
	*out = (size_t)n;
	return 0;
}

int
main(int argc, char **argv)
{
	struct storm_config cfg = {0};
	struct storm_result r;
	const char *outp = getenv("BENCH_OUT");
	double pps, rss_mib, rss_pp, heap_pp;
	int ret;
	FILE *json;

	if (argc > 1) {
		bool help = strcmp(argv[1], "-h") == 0 ||
			    strcmp(argv[1], "--help") == 0;

		fputs(usage_text, help ? stdout : stderr);
		return help && argc == 2 ? 0 : 2;
	}
	if (env_size("BENCH_STORM_PACKETS", &cfg.packets) < 0 ||
	    env_size("BENCH_STORM_PEERS", &cfg.peers) < 0)
		return 2;
	storm_config_defaults(&cfg);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("storm: %zu packets to %zu peers of one opportunistic group "
	       "(sim kernel), %u/1000 negotiations failing, at most %zu "
	       "pending\n",
	       cfg.packets, cfg.peers, cfg.fail_permille, cfg.window);
	ret = storm_run(&cfg, &r);
	pps = r.storm_s > 0 ? (double)r.packets / r.storm_s : 0;
	rss_mib = (double)r.rss_peak_kb / 1024;
	rss_pp = (double)(r.rss_peak_kb - r.rss_base_kb) * 1024 /
		 (double)cfg.peers;
	heap_pp = (double)(r.heap_peak - r.heap_base) / (double)cfg.peers;
	printf("storm: %zu packets in %.2f s (answers included, checks "
	       "not): %.0f packets/s (%zu held, %zu through a tunnel, %zu "
	       "passed)\n",
	       r.packets, r.storm_s, pps, r.held, r.ipsec, r.passed);
	printf("storm: %zu acquires, %zu negotiations (%zu ok, %zu failed, "
	       "%zu peers without exactly one), at most %zu pending and "
	       "%zu instances\n",
	       r.acquires, r.negotiations, r.succeeded, r.failed,
	       r.peers_not_one, r.pending_max, r.instances_max);
	printf("storm: peak RSS %.1f MiB (%.0f bytes per peer over the "
	       "%.1f MiB before), peak heap %.1f MiB (%.0f bytes per peer); "
	       "heap after teardown %+zd bytes\n",
	       rss_mib, rss_pp, (double)r.rss_base_kb / 1024,
	       (double)(r.heap_peak - r.heap_base) / 1048576, heap_pp,
	       (ssize_t)(r.heap_end - r.heap_base));
	printf("storm: total %.2f s (storm %.2f s; %zu checks %.2f s; then "
	       "%llu simulated s of shunt expiry and the group's delete)\n",
	       r.total_s, r.storm_s, r.checks, r.check_s,
	       (unsigned long long)r.sim_seconds);
	if (ret < 0)
		printf("storm: FAIL: %s\n", r.error);
	else
		printf("storm: PASS: one negotiation per peer, no hold left, "
		       "nothing left after the delete\n");
	json = fopen(outp != NULL ? outp : "build/bench/storm.json", "w");
	if (json != NULL) {
		fprintf(json,
			"{\"bench\": \"storm\", \"packets\": %zu, \"peers\": %zu, "
			"\"storm_s\": %.3f, \"packets_per_s\": %.0f, "
			"\"total_s\": %.3f, \"check_s\": %.3f, \"acquires\": %zu, "
			"\"negotiations\": %zu, \"succeeded\": %zu, "
			"\"failed\": %zu, \"peers_not_one\": %zu, "
			"\"pending_max\": %zu, \"instances_max\": %zu, "
			"\"rss_peak_kb\": %zu, \"rss_base_kb\": %zu, "
			"\"rss_bytes_per_peer\": %.0f, \"heap_peak_bytes\": %zu, "
			"\"heap_bytes_per_peer\": %.0f, \"ok\": %s}\n",
			r.packets, cfg.peers, r.storm_s, pps, r.total_s, r.check_s,
			r.acquires, r.negotiations, r.succeeded, r.failed,
			r.peers_not_one, r.pending_max, r.instances_max,
			r.rss_peak_kb, r.rss_base_kb, rss_pp,
			r.heap_peak - r.heap_base, heap_pp,
			ret == 0 ? "true" : "false");
		fclose(json);
	} else {
		fprintf(stderr, "bench_storm: %s: %s\n",
			outp != NULL ? outp : "build/bench/storm.json",
			strerror(errno));
	}
	return ret == 0 ? 0 : 1;
}
