// SPDX-License-Identifier: MIT
/* eroute status: one line per connection, as ipsec status has it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int
cmd_status(struct cli *c, int argc, char **argv)
{
	static const char *const head[] = {"NAME", "SELECTOR", "ROUTING",
					   "EROUTE", "DETAIL"};
	json_t *res, *conn;
	struct table *t;
	long long retries;
	size_t i;
	int ret;

	(void)argv;
	if (argc != 0)
		return cli_usage_error("status takes no arguments");
	ret = cli_query(c, json_pack("{s:s}", "cmd", "status"), &res);
	if (ret != CLI_OK || res == NULL)
		return ret;
	t = table_new(5, head);
	json_array_foreach(json_object_get(res, "connections"), i, conn) {
		char sel[512], owner[32] = "-", detail[128] = "";
		json_t *remotes = json_object_get(conn, "remote_clients");
		json_t *eo = json_object_get(conn, "eroute_owner");
		json_t *fe = json_object_get(conn, "failure_expires_in");
		const char *inst = json_string_value(
			json_object_get(conn, "instance_of"));
		const char *cells[5];

		snprintf(sel, sizeof(sel), "%s===%s...%s===%s%s",
			 json_string_value(json_object_get(conn, "local_client")),
			 json_string_value(json_object_get(conn, "local")),
			 json_string_value(json_object_get(conn, "remote")),
			 json_string_value(json_array_get(remotes, 0)),
			 json_array_size(remotes) > 1 ? " (+more)" : "");
		if (json_is_integer(eo))
			snprintf(owner, sizeof(owner), "#%lld",
				 (long long)json_integer_value(eo));
		if (json_is_true(json_object_get(conn, "negotiating")))
			snprintf(detail, sizeof(detail), "negotiating, try %lld",
				 (long long)json_integer_value(
					 json_object_get(conn, "tries")));
		else if (json_is_integer(fe))
			snprintf(detail, sizeof(detail),
				 "failure shunt for %llds",
				 (long long)json_integer_value(fe));
		if (inst != NULL)
			snprintf(detail + strlen(detail),
				 sizeof(detail) - strlen(detail),
				 "%sinstance of %s", detail[0] ? "; " : "",
				 inst);
		cells[0] = json_string_value(json_object_get(conn, "name"));
		cells[1] = sel;
		cells[2] = json_string_value(json_object_get(conn, "routing"));
		cells[3] = owner;
		cells[4] = detail[0] ? detail : "-";
		table_add(t, cells);
	}
	table_print(t);
	printf("%zu connections; %lld bare shunts; kernel %s",
	       json_array_size(json_object_get(res, "connections")),
	       (long long)json_integer_value(json_object_get(res, "bare_shunts")),
	       json_string_value(json_object_get(res, "kernel")));
	retries = json_integer_value(json_object_get(res, "kernel_retries"));
	if (retries > 0)
		printf("; %lld refused kernel operation%s waiting for a retry",
		       retries, retries == 1 ? "" : "s");
	printf("\n");
	table_free(t);
	json_decref(res);
	return CLI_OK;
}
