// SPDX-License-Identifier: MIT
/* eroute sim packet / advance / negotiate / fail: driving the simulated
 * kernel, the manual clock and the simulated negotiator. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int
cmd_sim_packet(struct cli *c, int argc, char **argv)
{
	json_t *req = json_pack("{s:s}", "cmd", "sim-packet"), *res, *p;
	int ret;

	ret = cli_packet_args(req, argc, argv);
	if (ret != CLI_OK) {
		json_decref(req);
		return ret;
	}
	ret = cli_query(c, req, &res);
	if (ret != CLI_OK || res == NULL)
		return ret;
	p = json_object_get(res, "policy");
	printf("verdict: %s", json_string_value(json_object_get(res, "verdict")));
	if (json_is_string(json_object_get(res, "spi")))
		printf(" via SA %s",
		       json_string_value(json_object_get(res, "spi")));
	if (json_is_true(json_object_get(res, "acquire")))
		printf(" (ACQUIRE sent to erouted)");
	if (json_is_true(json_object_get(res, "bypass")))
		printf(" (IKE bypass)");
	printf("\n");
	if (json_is_object(p))
		printf("policy:  %s %s -> %s %s, owner %s\n",
		       json_string_value(json_object_get(p, "dir")),
		       json_string_value(json_object_get(p, "src")),
		       json_string_value(json_object_get(p, "dst")),
		       json_string_value(json_object_get(p, "action")),
		       json_string_value(json_object_get(p, "owner")) ?: "(bare)");
	else
		printf("policy:  none\n");
	json_decref(res);
	return CLI_OK;
}

/* "90", "30s", "15m", "2h", "1d" to seconds; -1 when bad. */
static long long
duration(const char *s)
{
	char *end;
	long long n, mult = 1;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (end == s || errno != 0 || n < 0)
		return -1;
	if (*end != '\0') {
		if (end[1] != '\0')
			return -1;
		switch (*end) {
		case 's':
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		default:
			return -1;
		}
	}
	if (n > 315360000 / mult)
		return -1;
	return n * mult;
}

int
cmd_sim_advance(struct cli *c, int argc, char **argv)
{
	json_t *res;
	long long secs;
	int ret;

	if (argc != 1)
		return cli_usage_error("sim advance needs a DURATION "
				       "(90, 30s, 15m, 2h, 1d)");
	secs = duration(argv[0]);
	if (secs < 0)
		return cli_usage_error("\"%s\": not a duration (90, 30s, 15m, "
				       "2h, 1d; at most 10 years)", argv[0]);
	ret = cli_query(c, json_pack("{s:s, s:I}", "cmd", "sim-advance",
				     "seconds", (json_int_t)secs),
			&res);
	if (ret != CLI_OK || res == NULL)
		return ret;
	printf("now: %lld\n",
	       (long long)json_integer_value(json_object_get(res, "now")));
	json_decref(res);
	return CLI_OK;
}

int
cmd_sim_negotiate(struct cli *c, int argc, char **argv)
{
	char done[256];

	if (argc != 2 || (strcmp(argv[1], "ok") != 0 &&
			  strcmp(argv[1], "fail") != 0))
		return cli_usage_error("sim negotiate needs NAME ok|fail");
	snprintf(done, sizeof(done), "%s: negotiation %s", argv[0],
		 strcmp(argv[1], "ok") == 0 ? "succeeded" : "failed");
	return cli_simple(c, json_pack("{s:s, s:s, s:s}", "cmd",
				       "sim-negotiate", "name", argv[0],
				       "result", argv[1]),
			  done);
}

int
cmd_sim_fail(struct cli *c, int argc, char **argv)
{
	json_t *res;
	long long every;
	char *end;
	int ret;

	if (argc != 1)
		return cli_usage_error("sim fail needs N (0: no failures)");
	errno = 0;
	every = strtoll(argv[0], &end, 10);
	if (end == argv[0] || *end != '\0' || errno != 0 || every < 0 ||
	    every > 1000000)
		return cli_usage_error("\"%s\": not a number 0-1000000",
				       argv[0]);
	ret = cli_query(c, json_pack("{s:s, s:I}", "cmd", "sim-fail", "every",
				     (json_int_t)every),
			&res);
	if (ret != CLI_OK || res == NULL)
		return ret;
	if (every == 0)
		printf("sim kernel: no operation fails");
	else if (every == 1)
		printf("sim kernel: every operation fails");
	else
		printf("sim kernel: 1 in %lld operations fails", every);
	printf(" (%lld of %lld failed so far)\n",
	       (long long)json_integer_value(json_object_get(res, "ops_failed")),
	       (long long)json_integer_value(json_object_get(res, "ops")));
	json_decref(res);
	return CLI_OK;
}
