// SPDX-License-Identifier: MIT
/* The routing state machine's table: which (state, event) pairs it takes
 * and which it refuses, checked pair by pair against the design. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "engine_impl.h"

#define R (1u << CEV_ROUTE)
#define UR (1u << CEV_UNROUTE)
#define UP (1u << CEV_UP)
#define DN (1u << CEV_DOWN)
#define AQ (1u << CEV_ACQUIRE)
#define SU (1u << CEV_SA_UP)
#define NF (1u << CEV_NEG_FAIL)
#define SE (1u << CEV_SHUNT_EXPIRE)
#define SG (1u << CEV_SA_GONE)
#define EC (1u << CEV_ECLIPSE)
#define UE (1u << CEV_UNECLIPSE)
#define DL (1u << CEV_DELETE)

static const unsigned allowed[ER_RT_COUNT] = {
	[ER_RT_UNROUTED] = R | UR | UP | DN | SU | DL,
	[ER_RT_UNROUTED_HOLD] = R | UR | UP | DN | AQ | SU | NF | DL,
	[ER_RT_PROSPECTIVE] = R | UR | UP | DN | AQ | SU | EC | DL,
	[ER_RT_ROUTED_HOLD] = R | UR | UP | DN | AQ | SU | NF | EC | DL,
	[ER_RT_FAILURE] = R | UR | UP | DN | SU | SE | EC | DL,
	/* A tunnel is not unrouted: down it first. */
	[ER_RT_TUNNEL] = R | UP | DN | AQ | SU | NF | SG | EC | DL,
	[ER_RT_NEVER_NEGOTIATE] = R | UR | DN | EC | DL,
	[ER_RT_ECLIPSED] = R | UR | DN | SU | SG | UE | DL,
};

static void
test_routing_table_every_pair(void **state)
{
	(void)state;
	for (int st = 0; st < ER_RT_COUNT; st++) {
		for (int ev = 0; ev < CEV_COUNT; ev++) {
			bool want = (allowed[st] >> ev) & 1;
			bool got = conn_event_allowed((enum er_routing)st,
						      (enum conn_event)ev);

			if (want != got)
				fail_msg("%s + %s: table says %s",
					 er_routing_name((enum er_routing)st),
					 conn_event_name((enum conn_event)ev),
					 got ? "allowed" : "refused");
		}
	}
	assert_false(conn_event_allowed((enum er_routing)99, CEV_ROUTE));
	assert_false(conn_event_allowed(ER_RT_TUNNEL, (enum conn_event)99));
}

static void
test_routing_names(void **state)
{
	static const char *const names[ER_RT_COUNT] = {
		"unrouted", "unrouted-hold", "prospective", "routed-hold",
		"failure", "tunnel", "never-negotiate", "eclipsed",
	};

	(void)state;
	for (int st = 0; st < ER_RT_COUNT; st++)
		assert_string_equal(er_routing_name((enum er_routing)st),
				    names[st]);
	assert_string_equal(er_routing_name((enum er_routing)42), "?");
	assert_string_equal(conn_event_name(CEV_SHUNT_EXPIRE), "shunt-expire");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routing_table_every_pair),
		cmocka_unit_test(test_routing_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
