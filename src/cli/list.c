// SPDX-License-Identifier: MIT
/* eroute policy list, sa list, shunt list: the kernel's and the bare
 * shunts' views, as tables. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Run @cmd; with --json print the result, else fill a table from the
 * listed fields of each element. */
static int
list(struct cli *c, const char *cmd, int argc, int ncols,
     const char *const *head, const char *const *fields)
{
	json_t *res, *row;
	struct table *t;
	size_t i;
	int ret;

	if (argc != 0)
		return cli_usage_error("%s takes no arguments", cmd);
	ret = cli_query(c, json_pack("{s:s}", "cmd", cmd), &res);
	if (ret != CLI_OK || res == NULL)
		return ret;
	t = table_new(ncols, head);
	json_array_foreach(res, i, row) {
		char bufs[16][32];
		const char *cells[16];

		for (int k = 0; k < ncols && k < 16; k++)
			cells[k] = cli_cell(json_object_get(row, fields[k]),
					    bufs[k], sizeof(bufs[k]));
		table_add(t, cells);
	}
	table_print(t);
	table_free(t);
	json_decref(res);
	return CLI_OK;
}

int
cmd_policy_list(struct cli *c, int argc, char **argv)
{
	static const char *const head[] = {"DIR", "SRC", "DST", "PROTO",
					   "SPORT", "DPORT", "PRIORITY",
					   "ACTION", "OWNER", "REQID"};
	static const char *const fields[] = {"dir", "src", "dst", "proto",
					     "sport", "dport", "priority",
					     "action", "owner", "reqid"};

	(void)argv;
	return list(c, "policy-list", argc, 10, head, fields);
}

int
cmd_sa_list(struct cli *c, int argc, char **argv)
{
	static const char *const head[] = {"SRC", "DST", "PROTO", "SPI",
					   "REQID", "STATE", "OWNER",
					   "PACKETS"};
	static const char *const fields[] = {"src", "dst", "proto", "spi",
					     "reqid", "state", "owner",
					     "packets"};

	(void)argv;
	return list(c, "sa-list", argc, 8, head, fields);
}

int
cmd_shunt_list(struct cli *c, int argc, char **argv)
{
	json_t *res, *s;
	size_t i;
	int ret;

	(void)argv;
	if (argc != 0)
		return cli_usage_error("shunt list takes no arguments");
	ret = cli_query(c, json_pack("{s:s}", "cmd", "shunt-list"), &res);
	if (ret != CLI_OK || res == NULL)
		return ret;
	/* ipsec shuntstatus: SRC -PROTO-> DST => %ACTION COUNT ORIGIN. */
	json_array_foreach(res, i, s) {
		json_t *exp = json_object_get(s, "expires_in");
		char left[32] = "never expires";

		if (json_is_integer(exp))
			snprintf(left, sizeof(left), "expires in %llds",
				 (long long)json_integer_value(exp));
		printf("%s -%s-> %s => %%%s %lld    %s; %s\n",
		       json_string_value(json_object_get(s, "src")),
		       json_string_value(json_object_get(s, "proto")),
		       json_string_value(json_object_get(s, "dst")),
		       json_string_value(json_object_get(s, "action")),
		       (long long)json_integer_value(
			       json_object_get(s, "use_count")),
		       json_string_value(json_object_get(s, "origin")), left);
	}
	if (json_array_size(res) == 0)
		puts("no bare shunts");
	json_decref(res);
	return CLI_OK;
}
