/* SPDX-License-Identifier: MIT */
/*
 * Acquire storm: one opportunistic group over 10.0.0.0/8 on the simulated
 * kernel, and a flood of outbound packets from this host to many peers of
 * it.  The driver is the whole world around the engine: it sends the
 * packets, drains the kernel's events into the engine, answers the
 * engine's negotiation requests as an IKE daemon would (later, a bounded
 * number at a time, most succeeding), and moves the clock.  At the end it
 * checks what must hold after such a storm -- one negotiation per peer, no
 * hold left anywhere once every negotiation is answered, every shunt gone
 * once its lifetime is over, nothing at all once the group is deleted --
 * and measures time and memory.
 *
 * Used by tests/scenario/test_storm.c (which asserts) and bench/storm
 * (which reports); it needs no cmocka.
 *
 * The schedule: peers come in a seeded random order; a packet goes to a
 * random peer among @active current ones, each of which gets about
 * packets / peers packets (any protocol) before a new peer takes its
 * place, so the packets of a peer are interleaved with those of a thousand
 * others and most of them find its hold still there.  A negotiation is
 * answered between @latency_min and @latency_max packets after it was
 * asked for, or earlier when @window are pending; @fail_permille of them
 * fail.  The clock moves one second every @packets_per_second packets.
 */
#ifndef EROUTE_ACQUIRE_STORM_H
#define EROUTE_ACQUIRE_STORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct storm_config {
	size_t packets;			/* 1 000 000 */
	size_t peers;			/* 100 000; at most 2^24 - 2 */
	size_t active;			/* peers sending at once; 1024 */
	size_t window;			/* pending negotiations at most; 4096 */
	size_t latency_min, latency_max; /* in packets; 2 000 .. 16 000 */
	unsigned fail_permille;		/* 200 */
	size_t packets_per_second;	/* 1 000 */
	size_t drain_every;		/* packets between event drains; 64 */
	size_t check_every;		/* packets between full checks; 100 000 */
	uint64_t shunt_lifetime;	/* seconds; 900 */
	uint64_t seed;			/* 1 */
	bool progress;			/* a line on stderr per check */
};

/* Zeroes become the defaults above. */
void storm_config_defaults(struct storm_config *cfg);

struct storm_result {
	/* What happened. */
	size_t packets;			/* sent */
	size_t acquires;		/* ACQUIREs the sim kernel raised */
	size_t negotiations;		/* NEGOTIATE events (first tries) */
	size_t rekeys;			/* NEGOTIATE events for rekeys */
	size_t cancels;			/* NEGOTIATE_CANCEL events */
	size_t succeeded, failed;	/* answers given */
	size_t instances_added, instances_deleted;
	size_t peers_not_one;		/* peers without exactly one */
	size_t pending_max;		/* most negotiations pending at once */
	size_t instances_max;		/* most instances alive at once */
	size_t held, ipsec, passed;	/* sim verdicts of the sent packets */
	size_t warnings;		/* warning or error log lines */
	size_t checks;			/* er_engine_check() runs */
	size_t events_lost;		/* sim event queue overflows */
	/* What was left. */
	size_t holds_after_answers;	/* hold policies, sim SPD */
	size_t larval_after_answers;	/* larval SAs, sim SAD and engine */
	size_t hold_shunts_after_answers; /* bare holds, engine */
	size_t conns_negotiating_after_answers; /* routed-hold etc. */
	size_t tunnels_after_answers;	/* instances up */
	size_t shunts_after_expiry;	/* bare shunts once all expired */
	size_t policies_after_delete;	/* sim SPD, group deleted */
	size_t sas_after_delete;	/* sim SAD, group deleted */
	/* Time (CLOCK_MONOTONIC). */
	double storm_s;			/* the packet phase, checks excluded */
	double check_s;			/* the checks, all phases */
	double total_s;			/* setup to teardown */
	uint64_t sim_seconds;		/* simulated time that passed */
	/* Memory: the process's peak RSS (getrusage) and the heap in use
	 * (mallinfo2, or the sanitizer's allocator, plus the segments
	 * liberoute maps itself), before the engine existed and at their
	 * highest during the run. */
	size_t rss_base_kb, rss_peak_kb;
	size_t heap_base, heap_peak, heap_end;
	/* The first thing that went wrong, or "". */
	char error[512];
};

/**
 * storm_run - run one storm and check it
 *
 * Return: 0 when every check held (@res->error is ""), -1 with
 * @res->error set otherwise; @res is filled in either way.
 */
int storm_run(const struct storm_config *cfg, struct storm_result *res);

#endif
