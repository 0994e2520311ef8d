// SPDX-License-Identifier: MIT
/*
 * Clock jumps: a clock that moves hours at once (a suspend and resume, a
 * manual clock) fires every expiry on the way exactly once, in time order,
 * as a clock ticking every second would have -- the engine's failure
 * shunts, bare shunts and revivals in one er_engine_tick(), the kernel's
 * larval, soft and hard SA lifetimes in one er_sim_tick().
 */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

#define JUMP (10 * 3600)

/*
 * f1 fails at 1000 (drop until 1900); f2, auto=start, at 1100 (pass until
 * 2000, revived 5 s later); two peers of the group oe fail at 1150 and
 * 1300 and leave bare pass shunts until 2050 and 2200.
 */
static struct h *
engine_timers(void)
{
	struct h_opts o = {.shunt_lifetime = 900};
	struct h *h = h_new(&o);
	struct er_conn_config cc;

	h_conn(&cc, "f1", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.keyingtries = 1;
	cc.failshunt = ER_FAILSHUNT_DROP;
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	h_conn(&cc, "f2", "192.0.2.1", "198.51.100.2", "10.3.0.0/16",
	       "10.4.0.0/16");
	cc.keyingtries = 1;
	cc.failshunt = ER_FAILSHUNT_PASS;
	cc.autostart = ER_AUTO_START;
	h_add(h, &cc);
	h_group(&cc, "oe", "192.0.2.1", "203.0.113.0/24");
	h_add(h, &cc);

	h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_ICMP, 0, 0);
	h_fail(h, "f1");
	h_advance(h, 100);
	h_fail(h, "f2");
	h_advance(h, 50);
	h_send(h, "192.0.2.1", "203.0.113.1", IPPROTO_ICMP, 0, 0);
	h_fail(h, "oe#203.0.113.1/32");
	h_advance(h, 150);
	h_send(h, "192.0.2.1", "203.0.113.2", IPPROTO_ICMP, 0, 0);
	h_fail(h, "oe#203.0.113.2/32");
	assert_int_equal(h_state(h, "f1"), ER_RT_FAILURE);
	assert_int_equal(h_state(h, "f2"), ER_RT_FAILURE);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 2);
	assert_int_equal(h->now, 1300);
	h_clear_events(h);
	return h;
}

static const char *
label(const struct er_selector *sel)
{
	static const char *const names[][2] = {
		{"10.2.0.0/16", "f1"},
		{"10.4.0.0/16", "f2"},
		{"203.0.113.1/32", "oe1"},
		{"203.0.113.2/32", "oe2"},
	};
	char dst[ER_PREFIX_STRLEN];

	er_prefix_format(&sel->dst, dst, sizeof(dst));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(dst, names[i][0]) == 0)
			return names[i][1];
	}
	return "?";
}

/* One tick of the engine to now + @secs, then one of the kernel -- the
 * engine's deadlines come before the kernel's backstop lifetimes.  @ops
 * gets the outbound selectors the engine's tick changed, in order. */
static void
jump(struct h *h, uint64_t secs, char *ops, size_t len)
{
	const struct er_sim_oprec *recs;
	size_t n, used = 0;
	const char *last = "";

	h->now += secs;
	er_engine_tick(h->e, h->now);
	n = er_sim_oplog(h->sim, &recs);
	ops[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *l = label(&recs[i].sel);

		if (recs[i].dir != ER_DIR_OUT || strcmp(l, last) == 0)
			continue;
		used += (size_t)snprintf(ops + used, len - used, "%s%s",
					 used ? " " : "", l);
		last = l;
	}
	h_step(h, "engine jump");
	er_sim_tick(h->sim, h->now);
	h_step(h, "kernel tick");
}

static void
assert_state_event(const struct h_event *ev, const char *conn, uint64_t now,
		   enum er_routing from, enum er_routing to)
{
	assert_non_null(ev);
	assert_int_equal(ev->type, ER_EV_STATE);
	assert_string_equal(ev->conn, conn);
	assert_int_equal(ev->now, now);
	assert_int_equal(ev->old_state, from);
	assert_int_equal(ev->new_state, to);
}

static void
test_engine_expiries_fire_once_in_order_in_one_tick(void **state)
{
	struct h *h = engine_timers();
	const struct h_event *states[8] = {0};
	size_t nstates = 0;
	char ops[256];

	(void)state;
	jump(h, JUMP, ops, sizeof(ops));
	/* The kernel saw them in time order: f1's failure shunt back to its
	 * trap (1900), f2's (2000) and its revival's hold (2005), the bare
	 * shunts (2050, 2200). */
	assert_string_equal(ops, "f1 f2 oe1 oe2");
	for (size_t i = 0; i < h->nev; i++) {
		if (i > 0)
			assert_true(h->ev[i].now >= h->ev[i - 1].now);
		if (h->ev[i].type == ER_EV_STATE && nstates < 8)
			states[nstates++] = &h->ev[i];
	}
	assert_int_equal(nstates, 3);
	assert_state_event(states[0], "f1", 1900, ER_RT_FAILURE,
			   ER_RT_PROSPECTIVE);
	assert_state_event(states[1], "f2", 2000, ER_RT_FAILURE,
			   ER_RT_PROSPECTIVE);
	/* The revival is timed from the expiry, not from the jump. */
	assert_state_event(states[2], "f2", 2005, ER_RT_PROSPECTIVE,
			   ER_RT_ROUTED_HOLD);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "f2"), 1);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, NULL), 1);
	/* And the end: traps back, f2 negotiating, no shunt left. */
	assert_int_equal(er_engine_now(h->e), 1300 + JUMP);
	assert_int_equal(h_state(h, "f1"), ER_RT_PROSPECTIVE);
	assert_int_equal(h_state(h, "f2"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_state(h, "oe"), ER_RT_PROSPECTIVE);
	assert_int_equal(er_shunt_count(er_engine_shunts(h->e)), 0);
	assert_null(h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "203.0.113.1/32"));
	assert_null(h_policy(h, ER_DIR_OUT, "192.0.2.1/32", "203.0.113.2/32"));
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.1.0.0/16", "10.2.0.0/16")
				 ->action,
			 ER_ACTION_TRAP);
	assert_int_equal(h_policy(h, ER_DIR_OUT, "10.3.0.0/16", "10.4.0.0/16")
				 ->action,
			 ER_ACTION_HOLD);
	/* Nothing is left due: a second tick does nothing. */
	h_clear_events(h);
	jump(h, 0, ops, sizeof(ops));
	assert_string_equal(ops, "");
	assert_int_equal(h->nev, 0);
	h_free(h);
}

/* The oracle: one jump tells the same story, event for event and second
 * for second, as a tick every second. */
static void
test_engine_jump_equals_ticking_every_second(void **state)
{
	struct h *a = engine_timers(), *b = engine_timers();
	char ops[256];

	(void)state;
	jump(a, JUMP, ops, sizeof(ops));
	for (unsigned i = 0; i < 1500; i++)
		h_advance(b, 1);
	h_advance(b, JUMP - 1500);
	assert_int_equal(a->now, b->now);
	assert_int_equal(a->nev, b->nev);
	for (size_t i = 0; i < a->nev; i++) {
		assert_int_equal(a->ev[i].type, b->ev[i].type);
		assert_int_equal(a->ev[i].now, b->ev[i].now);
		assert_string_equal(a->ev[i].conn, b->ev[i].conn);
		assert_int_equal(a->ev[i].old_state, b->ev[i].old_state);
		assert_int_equal(a->ev[i].new_state, b->ev[i].new_state);
		assert_int_equal(a->ev[i].verb, b->ev[i].verb);
		assert_int_equal(a->ev[i].negotiation, b->ev[i].negotiation);
	}
	h_free(a);
	h_free(b);
}

struct deadline {
	struct er_sa_id id;
	uint64_t larval, soft, hard;
	unsigned nlarval, nsoft, nhard;
};

/*
 * The kernel's timers: t1 up at 1000 (soft at 51 min, hard at 1 h), t2 up
 * at 1100 (2 h lifetime), l1 negotiating from 1200 with a larval SA (30
 * s).  One tick 10 h on raises larval, each soft and each hard expiry
 * exactly once, in the order of their deadlines.
 */
static void
test_kernel_expiries_fire_once_in_order_in_one_tick(void **state)
{
	struct h *h = h_new(NULL);
	struct er_kernel k = er_sim_kernel(h->sim);
	struct er_kernel_event kev;
	struct er_conn_config cc;
	struct deadline dl[16];
	size_t ndl = 0, nev = 0;
	uint64_t last = 0;

	(void)state;
	h_conn(&cc, "t1", "192.0.2.1", "198.51.100.1", "10.1.0.0/16",
	       "10.2.0.0/16");
	cc.sa_lifetime = 3600;
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	h_conn(&cc, "t2", "192.0.2.1", "198.51.100.2", "10.3.0.0/16",
	       "10.4.0.0/16");
	cc.sa_lifetime = 7200;
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	h_conn(&cc, "l1", "192.0.2.1", "198.51.100.3", "10.5.0.0/16",
	       "10.6.0.0/16");
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
	h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_ICMP, 0, 0);
	assert_int_equal(h_ok(h, "t1"), 0);
	h_advance(h, 100);
	h_send(h, "10.3.0.1", "10.4.0.1", IPPROTO_ICMP, 0, 0);
	assert_int_equal(h_ok(h, "t2"), 0);
	h_advance(h, 100);
	h_send(h, "10.5.0.1", "10.6.0.1", IPPROTO_ICMP, 0, 0);
	assert_int_equal(h_state(h, "t1"), ER_RT_TUNNEL);
	assert_int_equal(h_state(h, "t2"), ER_RT_TUNNEL);
	assert_int_equal(h_state(h, "l1"), ER_RT_ROUTED_HOLD);
	for (const struct er_sa *sa = er_sad_first(er_sim_sad(h->sim));
	     sa != NULL; sa = er_sad_next(er_sim_sad(h->sim), sa)) {
		struct deadline *d = &dl[ndl++];

		assert_true(ndl <= 16);
		memset(d, 0, sizeof(*d));
		d->id = sa->id;
		if (sa->state == ER_SA_LARVAL) {
			d->larval = sa->larval_expires;
			continue;
		}
		assert_true(sa->soft.secs != 0 && sa->hard.secs != 0);
		d->soft = sa->created + sa->soft.secs;
		d->hard = sa->created + sa->hard.secs;
	}
	/* t1 and t2 in and out, l1's reservation. */
	assert_int_equal(ndl, 5);
	h_clear_events(h);

	h->now += JUMP;
	er_sim_tick(h->sim, h->now);
	while (er_kernel_poll_event(&k, &kev) == 1) {
		struct deadline *d = NULL;
		uint64_t when;

		if (kev.type != ER_KEV_SA_EXPIRE)
			continue;
		for (size_t i = 0; i < ndl; i++) {
			if (memcmp(&dl[i].id, &kev.sa, sizeof(kev.sa)) == 0)
				d = &dl[i];
		}
		assert_non_null(d);
		if (d->larval != 0) {
			assert_true(kev.hard);
			when = d->larval;
			d->nlarval++;
		} else if (!kev.hard) {
			when = d->soft;
			d->nsoft++;
		} else {
			/* Its soft expiry came first. */
			assert_int_equal(d->nsoft, 1);
			when = d->hard;
			d->nhard++;
		}
		assert_true(when >= last);
		last = when;
		nev++;
		er_engine_kernel_event(h->e, &kev, NULL);
	}
	for (size_t i = 0; i < ndl; i++) {
		if (dl[i].larval != 0) {
			assert_int_equal(dl[i].nlarval, 1);
			continue;
		}
		assert_int_equal(dl[i].nsoft, 1);
		assert_int_equal(dl[i].nhard, 1);
	}
	assert_int_equal(nev, 9);
	h_step(h, "kernel jump");
	er_engine_tick(h->e, h->now);
	h_step(h, "engine tick");
	/* Each group asked for its rekey once, then went; the replacements
	 * are still being negotiated, under a hold. */
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "t1"), 1);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "t2"), 1);
	assert_int_equal(h_count(h, ER_EV_NEGOTIATE, "l1"), 0);
	assert_int_equal(h_state(h, "t1"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_state(h, "t2"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_state(h, "l1"), ER_RT_ROUTED_HOLD);
	assert_int_equal(h_info(h, "t1").ngroups, 0);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_engine_expiries_fire_once_in_order_in_one_tick),
		cmocka_unit_test(test_engine_jump_equals_ticking_every_second),
		cmocka_unit_test(
			test_kernel_expiries_fire_once_in_order_in_one_tick),
	};

	return h_run_tests(tests);
}
