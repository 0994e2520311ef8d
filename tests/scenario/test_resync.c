// SPDX-License-Identifier: MIT
/*
 * Another process changes the kernel under eroute (issue 5: "policy/SA
 * changes made by someone else are turned into engine inputs"): a deleted
 * or overwritten policy of eroute's is put back at once with one kernel
 * call, a flush or lost events make a resync that puts everything back the
 * way a restart's adoption would, SAs that vanish are their group's hard
 * expiry (reference 001's replacement), and a policy that was another
 * daemon's first is never overwritten.  The harness checks the invariants,
 * the engine's view against the sim's tables and make-before-break after
 * every step.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

static struct er_selector
sel_of(const char *src, const char *dst)
{
	struct er_selector sel;
	struct er_prefix s, d;

	assert_int_equal(er_prefix_parse(&s, src, NULL), 0);
	assert_int_equal(er_prefix_parse(&d, dst, NULL), 0);
	assert_int_equal(er_selector_init(&sel, &s, &d, 0, NULL, NULL, NULL),
			 0);
	return sel;
}

/* Another daemon's policy: pass, priority 5. */
static struct er_policy
foreign_pol(enum er_dir dir, const char *src, const char *dst)
{
	struct er_policy p = {0};

	p.dir = dir;
	p.sel = sel_of(src, dst);
	p.priority = 5;
	p.action = ER_ACTION_PASS;
	p.owner = ER_OWNER_FOREIGN;
	return p;
}

static uint64_t
ops(struct h *h)
{
	struct er_sim_stats st;

	er_sim_stats(h->sim, &st);
	return st.ops;
}

/* Kernel events that never reach the engine (an overflowed socket). */
static void
lose_events(struct h *h)
{
	struct er_kernel k = er_sim_kernel(h->sim);
	struct er_kernel_event ev;

	while (er_kernel_poll_event(&k, &ev) == 1)
		;
}

static void
feed_lost(struct h *h)
{
	struct er_kernel_event ev = {.type = ER_KEV_LOST};

	assert_int_equal(er_engine_kernel_event(h->e, &ev, NULL), 0);
	h_step(h, "lost events");
}

static size_t
eroute_policies(struct h *h)
{
	size_t n = 0;

	for (int d = 0; d < ER_DIR_COUNT; d++)
		n += er_spd_count(er_engine_spd(h->e), (enum er_dir)d);
	return n;
}

static void
test_deleted_trap_is_put_back_with_one_add(void **state)
{
	struct h *h = h_into_state(ER_RT_PROSPECTIVE);
	struct er_selector sel = sel_of("10.1.0.0/16", "10.2.0.0/16");
	const struct er_policy *p;
	uint64_t before;

	(void)state;
	/* ip xfrm policy delete of eroute's trap. */
	assert_int_equal(er_sim_external_policy_del(h->sim, ER_DIR_OUT, &sel),
			 0);
	assert_null(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16"));
	before = ops(h);
	h_step(h, "another process deletes the trap");
	assert_int_equal(ops(h) - before, 1);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_non_null(p);
	assert_int_equal(p->action, ER_ACTION_TRAP);
	assert_int_equal(p->owner, h_info(h, "c").id);
	assert_int_equal(h_state(h, "c"), ER_RT_PROSPECTIVE);
	assert_non_null(strstr(h->warning, "policy out 10.1.0.0/16 -> "
					   "10.2.0.0/16 (trap) was removed by "
					   "another process"));
	/* The trap traps again. */
	assert_true(h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_UDP, 1, 53)
			    .acquire);
	h_free(h);
}

static void
test_deleted_tunnel_policies_are_put_back(void **state)
{
	struct h *h = h_into_state(ER_RT_TUNNEL);
	struct er_selector out = sel_of("10.1.0.0/16", "10.2.0.0/16");
	struct er_selector in = sel_of("10.2.0.0/16", "10.1.0.0/16");
	const struct er_policy *p;
	uint32_t spi;
	uint64_t before;

	(void)state;
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_non_null(p);
	spi = p->tmpl[0].spi;
	assert_int_equal(er_sim_external_policy_del(h->sim, ER_DIR_OUT, &out),
			 0);
	assert_int_equal(er_sim_external_policy_del(h->sim, ER_DIR_IN, &in),
			 0);
	before = ops(h);
	h_step(h, "another process deletes the tunnel's policies");
	assert_int_equal(ops(h) - before, 2);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	assert_non_null(p);
	assert_int_equal(p->action, ER_ACTION_IPSEC);
	assert_int_equal(p->tmpl[0].spi, spi);
	assert_non_null(h_policy(h, ER_DIR_IN, "10.2.0.0/16", "10.1.0.0/16"));
	assert_int_equal(h_state(h, "c"), ER_RT_TUNNEL);
	/* Traffic goes through the tunnel again, not in the clear. */
	assert_int_equal(h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_UDP, 1, 53)
				 .verdict,
			 ER_ACTION_IPSEC);
	h_free(h);
}

static void
test_overwritten_policy_is_put_back_with_one_replace(void **state)
{
	struct h *h = h_into_state(ER_RT_PROSPECTIVE);
	struct er_policy theirs =
		foreign_pol(ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	struct er_err err = {0};
	uint64_t before;

	(void)state;
	/* ip xfrm policy update over eroute's trap. */
	assert_int_equal(er_sim_external_policy_add(h->sim, &theirs), 0);
	before = ops(h);
	h_step(h, "another process overwrites the trap");
	assert_int_equal(ops(h) - before, 1);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->action,
			 ER_ACTION_TRAP);
	assert_non_null(strstr(h->warning, "was overwritten by another "
					   "process; eroute held it first"));
	/* eroute's again, not the other daemon's: routing it is no
	 * collision. */
	assert_int_equal(er_engine_unroute(h->e, "c", &err), 0);
	h_step(h, "unroute");
	assert_null(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16"));
	assert_int_equal(er_engine_route(h->e, "c", &err), 0);
	h_step(h, "route");
	assert_int_equal(h_state(h, "c"), ER_RT_PROSPECTIVE);
	h_free(h);
}

/* A process that overwrites eroute's policy each time eroute puts it back
 * gets one replace a second, not a loop. */
static void
test_a_fight_costs_one_replace_a_second(void **state)
{
	struct h *h = h_into_state(ER_RT_PROSPECTIVE);
	struct er_policy theirs =
		foreign_pol(ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	uint64_t before;

	(void)state;
	assert_int_equal(er_sim_external_policy_add(h->sim, &theirs), 0);
	before = ops(h);
	h_step(h, "overwritten");
	assert_int_equal(ops(h) - before, 1);
	/* Again, within the same second: eroute waits for the next one. */
	assert_int_equal(er_sim_external_policy_add(h->sim, &theirs), 0);
	h->check_every_step = false;
	before = ops(h);
	h_step(h, "overwritten again");
	assert_int_equal(ops(h) - before, 0);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->owner,
			 ER_OWNER_FOREIGN);
	assert_int_equal(er_engine_next_deadline(h->e), h->now + 1);
	/* The next second's tick puts it back. */
	h->check_every_step = true;
	before = ops(h);
	h->now++;
	er_engine_tick(h->e, h->now);
	h_step(h, "engine tick");
	assert_int_equal(ops(h) - before, 1);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->action,
			 ER_ACTION_TRAP);
	h_free(h);
}

/* The rule from restart (a foreign policy is never overwritten) holds at
 * run time: routing over it is refused, and neither its events nor a
 * resync make eroute touch it. */
static void
test_foreign_policy_there_first_is_never_overwritten(void **state)
{
	struct h *h = h_new(NULL);
	struct er_policy theirs =
		foreign_pol(ER_DIR_OUT, "10.1.0.0/16", "10.3.0.0/16");
	struct er_selector sel = theirs.sel;
	struct er_conn_config cc;
	struct er_err err = {0};
	const struct er_policy *p;

	(void)state;
	assert_int_equal(er_sim_external_policy_add(h->sim, &theirs), 0);
	h_step(h, "another daemon adds its policy");
	h_conn(&cc, "east", "192.0.2.1", "198.51.100.2", "10.1.0.0/16",
	       "10.3.0.0/16");
	h_add(h, &cc);
	assert_int_equal(er_engine_route(h->e, "east", &err), -EBUSY);
	assert_non_null(strstr(err.msg, "belongs to another IPsec daemon"));
	h_step(h, "route refused");
	/* The other daemon changes it: still its own. */
	theirs.action = ER_ACTION_DROP;
	assert_int_equal(er_sim_external_policy_add(h->sim, &theirs), 0);
	h_step(h, "the other daemon updates it");
	er_sim_external_sa_flush(h->sim);
	h_step(h, "a flush of SAs: resync");
	feed_lost(h);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.3.0.0/16");
	assert_int_equal(p->owner, ER_OWNER_FOREIGN);
	assert_int_equal(p->action, ER_ACTION_DROP);
	assert_int_equal(p->priority, 5);
	assert_int_equal(h_state(h, "east"), ER_RT_UNROUTED);
	assert_int_equal(er_engine_route(h->e, "east", &err), -EBUSY);
	/* Once it is gone, east may be routed. */
	assert_int_equal(er_sim_external_policy_del(h->sim, ER_DIR_OUT, &sel),
			 0);
	h_step(h, "the other daemon deletes it");
	assert_int_equal(er_engine_route(h->e, "east", &err), 0);
	h_step(h, "route");
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.3.0.0/16")
				 ->action,
			 ER_ACTION_TRAP);
	h_free(h);
}

/* Claims that are not routed connections (an opportunistic instance, its
 * failure shunt) on a foreign policy's identity wait for it, uninstalled. */
static void
test_instance_waits_for_a_foreign_policy(void **state)
{
	struct h *h = h_new(NULL);
	struct er_policy theirs =
		foreign_pol(ER_DIR_OUT, "192.0.2.1/32", "203.0.113.9/32");
	struct er_conn_config cc;
	const struct er_policy *p;

	(void)state;
	/* Worse than the group's trap, so the trap still catches the flow. */
	theirs.priority = 0x7fffffff;
	assert_int_equal(er_sim_external_policy_add(h->sim, &theirs), 0);
	h_step(h, "another daemon adds a host policy");
	h_group(&cc, "oe", "192.0.2.1", "203.0.113.0/24");
	h_add(h, &cc);
	/* The peer initiates: an instance, a tunnel, its eroute blocked. */
	assert_int_equal(h_responder(h, "oe", "203.0.113.9"), 0);
	assert_int_equal(h_state(h, "oe#203.0.113.9/32"), ER_RT_TUNNEL);
	p = h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "203.0.113.9/32");
	assert_int_equal(p->owner, ER_OWNER_FOREIGN);
	assert_int_equal(p->action, ER_ACTION_PASS);
	assert_non_null(strstr(h->warning, "belongs to another IPsec daemon; "
					   "not overwriting it"));
	feed_lost(h);
	p = h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "203.0.113.9/32");
	assert_int_equal(p->owner, ER_OWNER_FOREIGN);
	assert_int_equal(p->priority, 0x7fffffff);
	/* It goes: the eroute waiting for it goes in. */
	assert_int_equal(er_sim_external_policy_del(h->sim, ER_DIR_OUT,
						    &theirs.sel),
			 0);
	h_step(h, "the other daemon deletes it");
	p = h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "203.0.113.9/32");
	assert_non_null(p);
	assert_int_equal(p->owner, h_info(h, "oe#203.0.113.9/32").id);
	assert_int_equal(p->action, ER_ACTION_IPSEC);
	h_free(h);
}

/* ip xfrm policy flush: everything of eroute's is back after one resync,
 * make-before-break, and a foreign policy added afterwards is untouched. */
static void
test_policy_flush_puts_everything_back(void **state)
{
	struct h *h = h_into_state(ER_RT_TUNNEL);
	struct er_policy theirs =
		foreign_pol(ER_DIR_OUT, "10.70.0.0/16", "10.80.0.0/16");
	struct er_conn_config cc;
	const struct er_policy *p;
	size_t mine;
	uint64_t before;

	(void)state;
	h_conn(&cc, "west", "192.0.2.1", "198.51.100.7", "10.1.0.0/16",
	       "10.7.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	assert_int_equal(er_sim_external_policy_add(h->sim, &theirs), 0);
	h_step(h, "a foreign policy");
	mine = eroute_policies(h);
	assert_true(mine >= 3);
	assert_int_equal(er_sim_external_policy_flush(h->sim), mine + 1);
	before = ops(h);
	h_step(h, "flush: resync");
	/* One add each, nothing else. */
	assert_int_equal(ops(h) - before, mine);
	assert_int_equal(eroute_policies(h), mine);
	assert_int_equal(h_policies(h), mine);
	assert_int_equal(h_state(h, "c"), ER_RT_TUNNEL);
	assert_int_equal(h_state(h, "west"), ER_RT_PROSPECTIVE);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.7.0.0/16")
				 ->action,
			 ER_ACTION_TRAP);
	assert_non_null(strstr(h->warning, "put back"));
	/* The flushed foreign policy is forgotten: its identity is free. */
	h_conn(&cc, "late", "192.0.2.1", "198.51.100.8", "10.70.0.0/16",
	       "10.80.0.0/16");
	h_add(h, &cc);
	assert_int_equal(er_engine_route(h->e, "late", NULL), 0);
	h_step(h, "route over the flushed foreign policy's identity");
	assert_int_equal(er_engine_unroute(h->e, "late", NULL), 0);
	h_step(h, "unroute");
	/* A new foreign policy is kept. */
	theirs = foreign_pol(ER_DIR_OUT, "10.71.0.0/16", "10.81.0.0/16");
	assert_int_equal(er_sim_external_policy_add(h->sim, &theirs), 0);
	h_step(h, "a foreign policy after the flush");
	before = ops(h);
	er_sim_external_sa_flush(h->sim);
	lose_events(h);
	feed_lost(h);
	p = h_policy(h, ER_DIR_OUT, "10.71.0.0/16", "10.81.0.0/16");
	assert_non_null(p);
	assert_int_equal(p->owner, ER_OWNER_FOREIGN);
	assert_int_equal(p->action, ER_ACTION_PASS);
	h_free(h);
}

/* Lost events (ENOBUFS): the changes they announced are found by the
 * resync's dumps and sorted as at a restart. */
static void
test_lost_events_are_resynced(void **state)
{
	struct h *h = h_into_state(ER_RT_PROSPECTIVE);
	struct er_kernel k = er_sim_kernel(h->sim);
	struct er_policy theirs =
		foreign_pol(ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	struct er_selector west_sel = sel_of("10.1.0.0/16", "10.7.0.0/16");
	struct er_policy stray = {0};
	struct er_conn_config cc;
	uint64_t before;

	(void)state;
	h_conn(&cc, "west", "192.0.2.1", "198.51.100.7", "10.1.0.0/16",
	       "10.7.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	/* Overwritten, deleted, and a stray policy of eroute's that nobody
	 * claims; none of it reaches the engine. */
	assert_int_equal(er_sim_external_policy_add(h->sim, &theirs), 0);
	assert_int_equal(er_sim_external_policy_del(h->sim, ER_DIR_OUT,
						    &west_sel),
			 0);
	lose_events(h);
	stray.dir = ER_DIR_OUT;
	stray.sel = sel_of("10.9.0.0/16", "10.10.0.0/16");
	stray.action = ER_ACTION_DROP;
	stray.priority = 100;
	stray.owner = ER_OWNER_BARE;
	assert_int_equal(er_kernel_policy_add(&k, &stray, NULL), 0);
	er_sim_oplog_clear(h->sim);
	before = ops(h);
	feed_lost(h);
	/* One replace, one add, one delete. */
	assert_int_equal(ops(h) - before, 3);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->action,
			 ER_ACTION_TRAP);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.7.0.0/16")
				 ->action,
			 ER_ACTION_TRAP);
	assert_null(h_policy(h, ER_DIR_OUT, "10.9.0.0/16", "10.10.0.0/16"));
	/* A second resync finds nothing to do. */
	before = ops(h);
	feed_lost(h);
	assert_int_equal(ops(h) - before, 0);
	h_free(h);
}

/* Acquires lost with the events are found by the resync too. */
static void
test_resync_finds_lost_acquires(void **state)
{
	struct h *h = h_into_state(ER_RT_PROSPECTIVE);
	struct er_packet pkt = h_pkt("10.1.0.1", "10.2.0.1", IPPROTO_UDP, 1,
				     53);
	struct er_sim_result res;

	(void)state;
	assert_int_equal(er_sim_packet_out(h->sim, &pkt, 100, &res), 0);
	assert_true(res.acquire);
	lose_events(h);
	feed_lost(h);
	assert_int_equal(h_state(h, "c"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "c"), 1);
	h_free(h);
}

/* ip xfrm state flush under a tunnel: its SA group is gone, which is its
 * hard expiry -- back to prospective (the trap by one replace), or to
 * failure after a failed rekey; never an ipsec policy the engine thinks
 * points at SAs. */
static void
test_sa_flush_is_the_groups_hard_expiry(void **state)
{
	struct h *h = h_into_state(ER_RT_TUNNEL);
	uint64_t before;

	(void)state;
	assert_true(er_sim_external_sa_flush(h->sim) >= 2);
	before = ops(h);
	h_step(h, "SA flush: resync");
	assert_int_equal(h_state(h, "c"), ER_RT_PROSPECTIVE);
	assert_int_equal(h_info(h, "c").ngroups, 0);
	assert_int_equal(er_sad_count(er_engine_sad(h->e)), 0);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->action,
			 ER_ACTION_TRAP);
	assert_true(ops(h) - before >= 1);
	assert_non_null(strstr(h->warning, "SAs gone"));
	h_free(h);
}

static void
test_sa_flush_after_failed_rekey_goes_failure(void **state)
{
	struct h *h = h_into_state(ER_RT_TUNNEL);
	struct er_kernel_event ev = {.type = ER_KEV_SA_EXPIRE};
	const struct er_policy *p;

	(void)state;
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	ev.sa.dst = p->tmpl[0].dst;
	ev.sa.proto = p->tmpl[0].proto;
	ev.sa.spi = p->tmpl[0].spi;
	er_engine_kernel_event(h->e, &ev, NULL);
	h_step(h, "soft expire");
	h_fail(h, "c");
	er_sim_external_sa_flush(h->sim);
	h_step(h, "SA flush: resync");
	assert_int_equal(h_state(h, "c"), ER_RT_FAILURE);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->action,
			 ER_ACTION_DROP);
	h_free(h);
}

/* One SA deleted by another process (ip xfrm state delete): the same. */
static void
test_deleted_sa_is_the_groups_hard_expiry(void **state)
{
	struct h *h = h_into_state(ER_RT_TUNNEL);
	const struct er_policy *p;
	struct er_sa_id id;

	(void)state;
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	id.dst = p->tmpl[0].dst;
	id.proto = p->tmpl[0].proto;
	id.spi = p->tmpl[0].spi;
	assert_int_equal(er_sim_external_sa_del(h->sim, &id), 0);
	h_step(h, "another process deletes the outbound SA");
	assert_int_equal(h_state(h, "c"), ER_RT_PROSPECTIVE);
	assert_int_equal(er_sad_count(er_engine_sad(h->e)), 0);
	assert_non_null(strstr(h->warning, "was deleted by another process"));
	h_free(h);
}

/* After a rekey two groups live; the newest one's SAs vanish: the eroute
 * moves to the older group by one replace, and the tunnel stays. */
static void
test_newest_group_vanishing_moves_the_eroute(void **state)
{
	struct h *h = h_into_state(ER_RT_TUNNEL);
	struct er_kernel_event ev = {.type = ER_KEV_SA_EXPIRE};
	const struct er_policy *p;
	struct er_sa_id old_out, new_out;

	(void)state;
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	old_out.dst = p->tmpl[0].dst;
	old_out.proto = p->tmpl[0].proto;
	old_out.spi = p->tmpl[0].spi;
	ev.sa = old_out;
	er_engine_kernel_event(h->e, &ev, NULL);
	h_step(h, "soft expire");
	h_ok(h, "c");
	assert_int_equal(h_info(h, "c").ngroups, 2);
	p = h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16");
	new_out = old_out;
	new_out.spi = p->tmpl[0].spi;
	assert_int_not_equal(new_out.spi, old_out.spi);
	assert_int_equal(er_sim_external_sa_del(h->sim, &new_out), 0);
	lose_events(h);
	feed_lost(h);
	assert_int_equal(h_state(h, "c"), ER_RT_TUNNEL);
	assert_int_equal(h_info(h, "c").ngroups, 1);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->tmpl[0]
				 .spi,
			 old_out.spi);
	h_free(h);
}

/* The periodic check: one count call; a resync only when it disagrees. */
static void
test_verify_resyncs_only_when_counts_differ(void **state)
{
	struct h *h = h_into_state(ER_RT_PROSPECTIVE);
	struct er_selector sel = sel_of("10.1.0.0/16", "10.2.0.0/16");
	struct er_policy theirs =
		foreign_pol(ER_DIR_OUT, "10.70.0.0/16", "10.80.0.0/16");

	(void)state;
	assert_int_equal(er_engine_verify(h->e, NULL), 0);
	assert_int_equal(er_sim_external_policy_add(h->sim, &theirs), 0);
	h_step(h, "a foreign policy, announced");
	assert_int_equal(er_engine_verify(h->e, NULL), 0);
	/* A deletion whose event was lost, without an overflow to say so. */
	assert_int_equal(er_sim_external_policy_del(h->sim, ER_DIR_OUT, &sel),
			 0);
	lose_events(h);
	assert_int_equal(er_engine_verify(h->e, NULL), 1);
	h_step(h, "verify");
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->action,
			 ER_ACTION_TRAP);
	assert_int_equal(er_engine_verify(h->e, NULL), 0);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deleted_trap_is_put_back_with_one_add),
		cmocka_unit_test(test_deleted_tunnel_policies_are_put_back),
		cmocka_unit_test(
			test_overwritten_policy_is_put_back_with_one_replace),
		cmocka_unit_test(test_a_fight_costs_one_replace_a_second),
		cmocka_unit_test(
			test_foreign_policy_there_first_is_never_overwritten),
		cmocka_unit_test(test_instance_waits_for_a_foreign_policy),
		cmocka_unit_test(test_policy_flush_puts_everything_back),
		cmocka_unit_test(test_lost_events_are_resynced),
		cmocka_unit_test(test_resync_finds_lost_acquires),
		cmocka_unit_test(test_sa_flush_is_the_groups_hard_expiry),
		cmocka_unit_test(test_sa_flush_after_failed_rekey_goes_failure),
		cmocka_unit_test(test_deleted_sa_is_the_groups_hard_expiry),
		cmocka_unit_test(test_newest_group_vanishing_moves_the_eroute),
		cmocka_unit_test(test_verify_resyncs_only_when_counts_differ),
	};

	return h_run_tests(tests);
}
