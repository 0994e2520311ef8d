// SPDX-License-Identifier: MIT
/* eroute trace: which policy a packet would hit, and why. */
#include <stdio.h>

#include "cli.h"

static void
print_policy(const char *lead, json_t *p)
{
	char b1[32], b2[32], b3[32], b4[32];

	printf("%s%s %s -> %s %s %s -> %s  %s  priority %s  owner %s  reqid "
	       "%s\n",
	       lead, json_string_value(json_object_get(p, "dir")),
	       json_string_value(json_object_get(p, "src")),
	       json_string_value(json_object_get(p, "dst")),
	       json_string_value(json_object_get(p, "proto")),
	       cli_cell(json_object_get(p, "sport"), b1, sizeof(b1)),
	       cli_cell(json_object_get(p, "dport"), b2, sizeof(b2)),
	       json_string_value(json_object_get(p, "action")),
	       cli_cell(json_object_get(p, "priority"), b3, sizeof(b3)),
	       json_string_value(json_object_get(p, "owner")) ?: "(bare)",
	       cli_cell(json_object_get(p, "reqid"), b4, sizeof(b4)));
}

int
cmd_trace(struct cli *c, int argc, char **argv)
{
	json_t *req = json_pack("{s:s}", "cmd", "trace"), *res, *p;
	size_t i;
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
	if (json_is_null(p)) {
		printf("no policy: the packet passes in the clear\n");
	} else {
		print_policy("hits     ", p);
		json_array_foreach(json_object_get(res, "candidates"), i, p) {
			if (i > 0)
				print_policy("shadows  ", p);
		}
	}
	printf("why: %s\n", json_string_value(json_object_get(res, "why")));
	json_decref(res);
	return CLI_OK;
}
