// SPDX-License-Identifier: MIT
/* eroute route / unroute / up / down NAME, and reload. */
#include <stdio.h>

#include "cli.h"

static int
conn_cmd(struct cli *c, const char *cmd, int argc, char **argv)
{
	char done[256];

	if (argc != 1)
		return cli_usage_error("%s needs one connection name", cmd);
	snprintf(done, sizeof(done), "%s: %s done", argv[0], cmd);
	return cli_simple(c, json_pack("{s:s, s:s}", "cmd", cmd, "name",
				       argv[0]),
			  done);
}

int
cmd_route(struct cli *c, int argc, char **argv)
{
	return conn_cmd(c, "route", argc, argv);
}

int
cmd_unroute(struct cli *c, int argc, char **argv)
{
	return conn_cmd(c, "unroute", argc, argv);
}

int
cmd_up(struct cli *c, int argc, char **argv)
{
	return conn_cmd(c, "up", argc, argv);
}

int
cmd_down(struct cli *c, int argc, char **argv)
{
	return conn_cmd(c, "down", argc, argv);
}

static void
print_names(const char *what, json_t *list)
{
	json_t *v;
	size_t i;

	printf("%s:", what);
	if (json_array_size(list) == 0)
		printf(" none");
	json_array_foreach(list, i, v)
		printf(" %s", json_string_value(v));
	printf("\n");
}

int
cmd_reload(struct cli *c, int argc, char **argv)
{
	json_t *res;
	int ret;

	(void)argv;
	if (argc != 0)
		return cli_usage_error("reload takes no arguments");
	ret = cli_query(c, json_pack("{s:s}", "cmd", "reload"), &res);
	if (ret != CLI_OK || res == NULL)
		return ret;
	print_names("added", json_object_get(res, "added"));
	print_names("removed", json_object_get(res, "removed"));
	print_names("changed", json_object_get(res, "changed"));
	json_decref(res);
	return CLI_OK;
}

int
cmd_version(struct cli *c, int argc, char **argv)
{
	json_t *res;
	int ret;

	(void)argv;
	if (argc != 0)
		return cli_usage_error("version takes no arguments");
	printf("eroute 0.1.0\n");
	ret = cli_call(c, json_pack("{s:s}", "cmd", "version"), &res);
	if (ret != CLI_OK)
		return ret;
	printf("erouted %s (kernel %s, clock %s)\n",
	       json_string_value(json_object_get(res, "version")),
	       json_string_value(json_object_get(res, "kernel")),
	       json_string_value(json_object_get(res, "clock")));
	json_decref(res);
	return CLI_OK;
}
