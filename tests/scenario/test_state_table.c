// SPDX-License-Identifier: MIT
/*
 * Every (routing state, event) pair, table-driven: bring connection "c"
 * into each state, apply each event through the public API, and compare
 * the outcome with the table below -- the new state, or a refusal that
 * changes nothing -- and that each change was logged "c: old -> new
 * (event)".  Many pairs cannot even arise through the API (a negotiation
 * failure with no negotiation); those the state machine's table refuses
 * are also fed to conn_transition() itself, which must refuse each with
 * no side effect at all.  The engine's own table (routing.c) is checked
 * against the same expectations in tests/unit/test_routing.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine_impl.h"
#include "harness.h"

enum ev {
	EV_ROUTE,
	EV_UNROUTE,
	EV_UP,
	EV_DOWN,
	EV_ACQUIRE,
	EV_SA_UP,
	EV_NEG_FAIL,
	EV_SHUNT_EXPIRE,
	EV_SA_GONE,
	EV_ECLIPSE,
	EV_UNECLIPSE,
	EV_DELETE,
	EV_COUNT
};

static const char *const ev_names[EV_COUNT] = {
	"route", "unroute", "up", "down", "acquire", "sa-up", "neg-fail",
	"shunt-expire", "sa-gone", "eclipse", "uneclipse", "delete",
};

#define REFUSED (-1)	/* the API says no; nothing changes */
#define NOOP (-2)	/* nothing to do in this state; nothing changes */
#define GONE (-3)	/* the connection is deleted */

#define U ER_RT_UNROUTED
#define UH ER_RT_UNROUTED_HOLD
#define P ER_RT_PROSPECTIVE
#define RH ER_RT_ROUTED_HOLD
#define F ER_RT_FAILURE
#define T ER_RT_TUNNEL
#define NN ER_RT_NEVER_NEGOTIATE
#define EC ER_RT_ECLIPSED

static const int expect[ER_RT_COUNT][EV_COUNT] = {
	/*         route unroute up       down acquire sa-up    neg-fail
	 *         shunt-exp sa-gone eclipse uneclipse delete */
	[U] = {P, U, UH, U, NOOP, T, NOOP, NOOP, NOOP, U, NOOP, GONE},
	[UH] = {RH, UH, UH, U, UH, T, U, NOOP, NOOP, UH, NOOP, GONE},
	[P] = {P, U, RH, P, RH, T, NOOP, NOOP, NOOP, EC, NOOP, GONE},
	[RH] = {RH, U, RH, P, RH, T, F, NOOP, NOOP, EC, NOOP, GONE},
	[F] = {F, U, RH, P, F, T, NOOP, P, NOOP, EC, NOOP, GONE},
	[T] = {T, REFUSED, T, P, T, T, NOOP, NOOP, P, EC, NOOP, GONE},
	[NN] = {NN, U, REFUSED, NN, NN, REFUSED, NOOP, NOOP, NOOP, EC, NOOP,
		GONE},
	[EC] = {EC, U, REFUSED, EC, EC, EC, NOOP, NOOP, NOOP, EC, P, GONE},
};

static void
add_better(struct h *h)
{
	struct er_conn_config cc;

	h_conn(&cc, h_exists(h, "better") ? "better2" : "better",
	       "192.0.2.1", "198.51.100.1", "10.1.0.0/16", "10.2.0.0/16");
	cc.type = ER_CONN_DROP;
	cc.priority = 7;
	cc.autostart = ER_AUTO_ONDEMAND;
	h_add(h, &cc);
}

/* A change of state is logged as "c: old -> new (event)". */
static void
check_logged(struct h *h, int from, int to, enum ev ev)
{
	char text[160];

	snprintf(text, sizeof(text), "%s -> %s (%s)",
		 er_routing_name((enum er_routing)from),
		 er_routing_name((enum er_routing)to), ev_names[ev]);
	if (!h_logged(h, "c", text))
		fail_msg("%s + %s: \"c: %s\" not logged",
			 er_routing_name((enum er_routing)from), ev_names[ev],
			 text);
}

/* Apply @ev; return the API's answer (0 or -errno). */
static int
apply(struct h *h, enum ev ev)
{
	struct er_kernel_event kev = {.type = ER_KEV_SA_EXPIRE, .hard = true};
	uint64_t neg;
	int ret = 0;

	switch (ev) {
	case EV_ROUTE:
		ret = er_engine_route(h->e, "c", NULL);
		break;
	case EV_UNROUTE:
		ret = er_engine_unroute(h->e, "c", NULL);
		break;
	case EV_UP:
		ret = er_engine_up(h->e, "c", NULL);
		break;
	case EV_DOWN:
		ret = er_engine_down(h->e, "c", NULL);
		break;
	case EV_ACQUIRE:
		h_send(h, "10.1.0.1", "10.2.0.1", IPPROTO_UDP, 1, 53);
		break;
	case EV_SA_UP:
		return h_responder(h, "c", NULL);
	case EV_NEG_FAIL:
		neg = er_engine_oldest_negotiation(h->e, "c");
		if (neg != 0)
			ret = er_engine_negotiation_failed(h->e, neg, "test",
							   NULL);
		break;
	case EV_SHUNT_EXPIRE:
		h_advance(h, 900);
		break;
	case EV_SA_GONE:
		for (const struct er_sa *sa = er_sad_first(er_engine_sad(h->e));
		     sa != NULL; sa = er_sad_next(er_engine_sad(h->e), sa)) {
			char a[ER_ADDR_STRLEN];

			er_addr_format(&sa->id.dst, a, sizeof(a));
			if (sa->state != ER_SA_LARVAL &&
			    strcmp(a, "198.51.100.1") == 0) {
				kev.sa = sa->id;
				break;
			}
		}
		if (kev.sa.spi != 0)
			er_engine_kernel_event(h->e, &kev, NULL);
		break;
	case EV_ECLIPSE:
		add_better(h);
		break;
	case EV_UNECLIPSE:
		if (h_exists(h, "better"))
			ret = er_engine_conn_del(h->e, "better", NULL);
		break;
	case EV_DELETE:
		ret = er_engine_conn_del(h->e, "c", NULL);
		break;
	case EV_COUNT:
		break;
	}
	h_step(h, ev_names[ev]);
	return ret;
}

static void
test_every_state_event_pair(void **state)
{
	(void)state;
	for (int st = 0; st < ER_RT_COUNT; st++) {
		for (int ev = 0; ev < EV_COUNT; ev++) {
			struct h *h = h_into_state((enum er_routing)st);
			int want = expect[st][ev];
			int ret = apply(h, (enum ev)ev);
			const char *sn = er_routing_name((enum er_routing)st);

			if (want == GONE) {
				if (ret != 0 || h_exists(h, "c"))
					fail_msg("%s + %s: not deleted", sn,
						 ev_names[ev]);
			} else if (want == REFUSED) {
				if (ret >= 0)
					fail_msg("%s + %s: accepted, should "
						 "be refused", sn,
						 ev_names[ev]);
				if (h_state(h, "c") != (enum er_routing)st)
					fail_msg("%s + %s: refused but "
						 "changed state", sn,
						 ev_names[ev]);
			} else {
				int got = (int)h_state(h, "c");
				int w = want == NOOP ? st : want;

				if (ret < 0)
					fail_msg("%s + %s: refused (%d)", sn,
						 ev_names[ev], ret);
				if (got != w)
					fail_msg("%s + %s: %s, expected %s",
						 sn, ev_names[ev],
						 er_routing_name(
							 (enum er_routing)got),
						 er_routing_name(
							 (enum er_routing)w));
				if (got != st)
					check_logged(h, st, got, ev);
			}
			h_free(h);
		}
	}
}

/* The state machine itself refuses every pair its table does not take:
 * -EINVAL with a message, and nothing changes -- no state, no event, no
 * kernel operation, no broken invariant. */
static void
test_refused_pairs_change_nothing(void **state)
{
	size_t refused = 0;

	(void)state;
	for (int st = 0; st < ER_RT_COUNT; st++) {
		for (int ev = 0; ev < CEV_COUNT; ev++) {
			const char *sn = er_routing_name((enum er_routing)st);
			struct er_err err = {0};
			struct er_sim_stats before, after;
			struct h *h;
			struct conn *c;
			size_t nev;
			char want[160];
			int ret;

			if (conn_event_allowed((enum er_routing)st,
					       (enum conn_event)ev))
				continue;
			h = h_into_state((enum er_routing)st);
			c = conn_by_name(h->e, "c");
			assert_non_null(c);
			nev = h->nev;
			er_sim_stats(h->sim, &before);
			ret = conn_transition(h->e, c, (enum conn_event)ev,
					      NULL, &err);
			if (ret != -EINVAL)
				fail_msg("%s + %s: not refused (%d)", sn,
					 conn_event_name((enum conn_event)ev),
					 ret);
			snprintf(want, sizeof(want), "c: cannot %s while %s",
				 conn_event_name((enum conn_event)ev), sn);
			assert_string_equal(err.msg, want);
			er_sim_stats(h->sim, &after);
			if (h_state(h, "c") != (enum er_routing)st ||
			    h->nev != nev || after.ops != before.ops)
				fail_msg("%s + %s: refused, but something "
					 "changed", sn,
					 conn_event_name((enum conn_event)ev));
			h_step(h, "refused pair");
			h_free(h);
			refused++;
		}
	}
	/* The table refuses something in every state. */
	assert_true(refused >= ER_RT_COUNT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_state_event_pair),
		cmocka_unit_test(test_refused_pairs_change_nothing),
	};

	return h_run_tests(tests);
}
