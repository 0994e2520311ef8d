/* SPDX-License-Identifier: MIT */
/*
 * Scenario harness: the engine over the simulated kernel, driven step by
 * step.  After every step the harness drains the sim's events into the
 * engine and checks that er_engine_check() holds, that the engine's view
 * and the sim's SPD agree, that no selector lost its policy between a
 * delete and an add, and that no SA was deleted while a policy still sent
 * traffic to it.  A failure stops the test with the step named.
 */
#ifndef EROUTE_TEST_HARNESS_H
#define EROUTE_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "eroute/engine.h"
#include "eroute/sim.h"

#define H_MAX_EVENTS 200000
#define H_LOGS 64

struct h_event {
	enum er_event_type type;
	uint64_t now;			/* the engine's clock when it came */
	char conn[ER_CONN_NAME_MAX];
	enum er_updown_verb verb;
	enum er_routing old_state, new_state;
	uint64_t negotiation;
	unsigned attempt;
	uint32_t spi_in;
	bool rekey;
};

struct h {
	struct er_sim *sim;
	struct er_engine *e;
	uint64_t now;
	struct h_event *ev;
	size_t nev, ev_cap;		/* grows up to H_MAX_EVENTS */
	uint32_t next_spi;
	bool verbose;
	size_t nwarnings;		/* warnings the engine logged */
	char warning[512];		/* the last one */
	bool check_every_step;
	uint64_t shunt_lifetime;
	unsigned restarts;
	bool adopting;			/* no kernel call may happen */
	struct er_addr engine_local;	/* engine's local_addrs, if set */
	bool has_engine_local;
	/* The last H_LOGS log lines, a ring; nlogs counts them all. */
	struct {
		char conn[ER_CONN_NAME_MAX];
		char text[160];
	} logs[H_LOGS];
	size_t nlogs;
	/* Fault mode (below): which out selectors of each routed
	 * connection the kernel has covered since it was routed, one bit
	 * per remote client, by connection id. */
	uint64_t *covered;
	size_t ncovered;
	struct h *next_live;
};

struct h_opts {
	uint64_t shunt_lifetime;
	bool default_drop;
	uint32_t fail_every;
	const char *local_addr;		/* a host address (IKE bypass) */
	const char *engine_local_addr;	/* a host address beyond left=s */
};

struct h *h_new(const struct h_opts *o);
void h_free(struct h *h);

/* Drain events and check everything; @what names the step. */
void h_step(struct h *h, const char *what);

/* A connection description; strings are parsed, NULL for defaults. */
void h_conn(struct er_conn_config *cc, const char *name, const char *left,
	    const char *right, const char *leftsubnet, const char *rightsubnet);
int h_add(struct h *h, struct er_conn_config *cc);

/* Group: rightsubnets separated by spaces. */
void h_group(struct er_conn_config *cc, const char *name, const char *left,
	     const char *prefixes);

struct er_packet h_pkt(const char *src, const char *dst, uint8_t proto,
		       uint16_t sport, uint16_t dport);
struct er_sim_result h_send(struct h *h, const char *src, const char *dst,
			    uint8_t proto, uint16_t sport, uint16_t dport);

void h_advance(struct h *h, uint64_t secs);

/* Resolve @name's oldest negotiation. */
int h_ok(struct h *h, const char *name);
int h_fail(struct h *h, const char *name);
/* The peer initiates: an SA group arrives for @name. */
int h_responder(struct h *h, const char *name, const char *peer);

enum er_routing h_state(struct h *h, const char *name);
bool h_exists(struct h *h, const char *name);
struct er_conn_info h_info(struct h *h, const char *name);

/* Events recorded since the start (or h_clear_events). */
size_t h_count(struct h *h, enum er_event_type type, const char *conn);
size_t h_count_updown(struct h *h, enum er_updown_verb verb,
		      const char *conn);
void h_clear_events(struct h *h);

/* Was "@conn: @text" among the last H_LOGS log lines? */
bool h_logged(struct h *h, const char *conn, const char *text);

/* The out policy (sim kernel) for exactly this selector, or NULL (in fault
 * mode a placeholder whose action is ER_ACTION_COUNT). */
const struct er_policy *h_policy(struct h *h, enum er_dir dir,
				 const char *src, const char *dst);
size_t h_policies(struct h *h);

/* Crash: drop the engine without cleaning the kernel, start a new one over
 * the same sim kernel, and begin adoption; add connections, then call
 * h_adopt_finish(). */
void h_crash_and_restart(struct h *h);
struct er_adopt_stats h_adopt_finish(struct h *h);

/* A new harness with connection "c" (10.1.0.0/16 -> 10.2.0.0/16,
 * keyingtries=1, failureshunt=drop; passthrough for never-negotiate) in
 * routing state @want; for eclipsed, "better" (a drop rule) holds it. */
struct h *h_into_state(enum er_routing want);
/* The same over IPv4 (AF_INET) or IPv6 (AF_INET6). */
struct h *h_into_state_af(enum er_routing want, int family);

/*
 * Fault mode.  h_run_tests() runs a scenario file's tests as cmocka does;
 * with EROUTE_FAULT_SWEEP=FROM-TO in the environment it runs each test once
 * for every N in FROM..TO with the sim kernel failing every Nth mutating
 * operation.  The scripted steps stay the same; what changes:
 *
 *  - Invariants are checked after every step as always (er_engine_check(),
 *    the engine's view against the kernel, no window without a policy, no
 *    SA deleted under a policy), plus one more: a connection in any state
 *    but unrouted never loses the kernel policy on its selectors once it
 *    had one, and one that never got it has a retry due within a second
 *    (er_engine_retries(), er_engine_next_deadline()).
 *  - The scenario's outcome assertions (assert_*() in the test files) are
 *    relaxed: a failed kernel operation may legitimately change an outcome,
 *    so a mismatch is counted, not fatal.  An assertion whose failure the
 *    script cannot go on from (a NULL pointer it would follow) stops the
 *    script there.
 *  - At the end of the script (or where it stopped) failures are turned
 *    off, one tick runs the engine's retries, and the kernel must then hold
 *    exactly what the engine wants: nothing left to retry, every key
 *    installed, SPD and SAD as the engine sees them.
 */
extern uint32_t h_fault_every;		/* 0: strict mode */

int h_run_tests_(const char *name, const struct CMUnitTest *tests, size_t n);
#define h_run_tests(t) h_run_tests_(#t, t, sizeof(t) / sizeof((t)[0]))

/* Faults off, retries run, the kernel converged: see above. */
void h_converge(struct h *h, const char *what);

/* The outcome assertions, relaxed in fault mode. */
void h_assert_(bool ok, bool can_go_on, const char *what, const char *file,
	       int line);
void h_assert_int_(uintmax_t a, uintmax_t b, bool equal, const char *what,
		   const char *file, int line);
void h_assert_str_(const char *a, const char *b, const char *file, int line);

#ifndef H_HARNESS_INTERNAL
#undef assert_true
#undef assert_false
#undef assert_non_null
#undef assert_null
#undef assert_int_equal
#undef assert_int_not_equal
#undef assert_string_equal
#undef assert_memory_equal
#undef fail_msg
#define assert_true(c) h_assert_((c) ? true : false, true, #c, __FILE__, __LINE__)
#define assert_false(c) h_assert_((c) ? false : true, true, "!(" #c ")", \
				  __FILE__, __LINE__)
#define assert_non_null(c) h_assert_((c) != NULL, false, #c " != NULL", \
				     __FILE__, __LINE__)
#define assert_null(c) h_assert_((c) == NULL, true, #c " == NULL", \
				 __FILE__, __LINE__)
#define assert_int_equal(a, b) \
	h_assert_int_((uintmax_t)(a), (uintmax_t)(b), true, #a " == " #b, \
		      __FILE__, __LINE__)
#define assert_int_not_equal(a, b) \
	h_assert_int_((uintmax_t)(a), (uintmax_t)(b), false, #a " != " #b, \
		      __FILE__, __LINE__)
#define assert_string_equal(a, b) h_assert_str_((a), (b), __FILE__, __LINE__)
#define assert_memory_equal(a, b, n) \
	h_assert_(memcmp((a), (b), (n)) == 0, true, "memcmp(" #a ", " #b ")", \
		  __FILE__, __LINE__)
#define fail_msg(...) \
	do { \
		if (h_fault_every == 0) { \
			print_error("ERROR: " __VA_ARGS__); \
			print_error("\n"); \
		} \
		h_assert_(false, true, "fail_msg", __FILE__, __LINE__); \
	} while (0)
#endif

#endif
