// SPDX-License-Identifier: MIT
/* eroute monitor: erouted's events, one per line, until interrupted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
print_event(json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "event"));
	const char *conn = json_string_value(json_object_get(ev, "conn"));
	long long t = (long long)json_integer_value(json_object_get(ev, "time"));

	printf("[%lld] %s%s", t, conn ? conn : "", conn ? ": " : "");
	if (type == NULL) {
		printf("?\n");
	} else if (strcmp(type, "log") == 0) {
		printf("%s\n", json_string_value(json_object_get(ev, "text")));
	} else if (strcmp(type, "state") == 0) {
		printf("%s -> %s\n",
		       json_string_value(json_object_get(ev, "old")),
		       json_string_value(json_object_get(ev, "new")));
	} else if (strcmp(type, "updown") == 0) {
		printf("updown %s\n",
		       json_string_value(json_object_get(ev, "verb")));
	} else if (strcmp(type, "negotiate") == 0) {
		printf("negotiate #%lld attempt %lld for %s\n",
		       (long long)json_integer_value(json_object_get(ev, "id")),
		       (long long)json_integer_value(
			       json_object_get(ev, "attempt")),
		       json_string_value(json_object_get(ev, "selector")));
	} else {
		printf("%s\n", type);
	}
	fflush(stdout);
}

int
cmd_monitor(struct cli *c, int argc, char **argv)
{
	json_t *res;
	char *line;
	int ret;

	(void)argv;
	if (argc != 0)
		return cli_usage_error("monitor takes no arguments");
	ret = cli_call(c, json_pack("{s:s}", "cmd", "monitor"), &res);
	if (ret != CLI_OK)
		return ret;
	json_decref(res);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((line = cli_read_line(c)) != NULL) {
		json_t *ev = json_loads(line, 0, NULL);

		if (c->json)
			printf("%s\n", line);
		else if (ev != NULL)
			print_event(ev);
		json_decref(ev);
		free(line);
	}
	return CLI_OK;
}
