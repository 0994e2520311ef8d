/* SPDX-License-Identifier: MIT */
/*
 * eroute, the command-line tool: shared pieces.  Every command sends one
 * JSON request to erouted and prints the result: as an aligned table for
 * people, or exactly the answer's "result" with --json.
 */
#ifndef EROUTE_CLI_H
#define EROUTE_CLI_H

#include <jansson.h>
#include <stdbool.h>

/* Exit codes. */
#define CLI_OK 0
#define CLI_ERROR 1
#define CLI_USAGE 2

struct cli {
	const char *socket;
	bool json;
	int fd;
};

struct cli_command {
	const char *name;	/* "status", "policy", "sim" */
	const char *sub;	/* "list", "packet", or NULL */
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *args;	/* usage after the command words */
	const char *help;
};

/**
 * cli_call - send @req (stolen), wait for the answer; on success *result
 *	is the answer's result (new reference).  Errors are printed as
 *	"eroute: message".  Return: CLI_OK or CLI_ERROR.
 */
int cli_call(struct cli *c, json_t *req, json_t **result);

/**
 * cli_query - cli_call; with --json the result is printed at once and
 *	*result is NULL, so a command only formats for people when there is
 *	something left to format
 */
int cli_query(struct cli *c, json_t *req, json_t **result);

/**
 * cli_simple - cli_call, then print the result with --json, or @done
 *	(may be NULL) for people
 */
int cli_simple(struct cli *c, json_t *req, const char *done);

/**
 * cli_connect - connect to erouted's socket.  Return: CLI_OK/CLI_ERROR.
 */
int cli_connect(struct cli *c);

/**
 * cli_read_line - read one line from erouted (for monitor), NULL at end
 */
char *cli_read_line(struct cli *c);

void cli_print_json(json_t *v);
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A string for a JSON value in a table cell: strings as they are,
 * numbers as numbers, null as "-". */
const char *cli_cell(json_t *v, char *buf, size_t len);

/* Aligned tables. */
struct table;
struct table *table_new(int ncols, const char *const *headers);
void table_add(struct table *t, const char *const *cells);
void table_print(struct table *t);
void table_free(struct table *t);

/* The packet arguments SRC DST [PROTO [SPORT [DPORT]]] into @req. */
int cli_packet_args(json_t *req, int argc, char **argv);

/* Command handlers, one file per group. */
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_policy_list(struct cli *c, int argc, char **argv);
int cmd_sa_list(struct cli *c, int argc, char **argv);
int cmd_shunt_list(struct cli *c, int argc, char **argv);
int cmd_route(struct cli *c, int argc, char **argv);
int cmd_unroute(struct cli *c, int argc, char **argv);
int cmd_up(struct cli *c, int argc, char **argv);
int cmd_down(struct cli *c, int argc, char **argv);
int cmd_reload(struct cli *c, int argc, char **argv);
int cmd_trace(struct cli *c, int argc, char **argv);
int cmd_monitor(struct cli *c, int argc, char **argv);
int cmd_sim_packet(struct cli *c, int argc, char **argv);
int cmd_sim_advance(struct cli *c, int argc, char **argv);
int cmd_sim_negotiate(struct cli *c, int argc, char **argv);
int cmd_sim_fail(struct cli *c, int argc, char **argv);
int cmd_version(struct cli *c, int argc, char **argv);

#endif
