// SPDX-License-Identifier: MIT
/*
 * eroute: the command-line tool.  Parses the global options, finds the
 * command in one table and runs it; every command talks to erouted over
 * its control socket (docs/control-protocol.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_SOCKET "/run/eroute/erouted.sock"

static const struct cli_command commands[] = {
	{"status", NULL, cmd_status, "",
	 "connections and instances with their routing states"},
	{"policy", "list", cmd_policy_list, "",
	 "the kernel's policies (SPD), eroute's and others'"},
	{"sa", "list", cmd_sa_list, "", "the kernel's SAs (SAD); no keys"},
	{"shunt", "list", cmd_shunt_list, "",
	 "bare shunts, with origin and time left"},
	{"route", NULL, cmd_route, "NAME", "install NAME's trap"},
	{"unroute", NULL, cmd_unroute, "NAME", "remove NAME's policies"},
	{"up", NULL, cmd_up, "NAME", "negotiate NAME now"},
	{"down", NULL, cmd_down, "NAME", "tear NAME's SA groups down"},
	{"reload", NULL, cmd_reload, "",
	 "re-read the configuration; only changed connections are touched"},
	{"trace", NULL, cmd_trace, "SRC DST [PROTO [SPORT [DPORT]]]",
	 "which policy a packet would hit, and why; no side effects"},
	{"monitor", NULL, cmd_monitor, "", "events as they happen, until ^C"},
	{"sim", "packet", cmd_sim_packet, "SRC DST [PROTO [SPORT [DPORT]]]",
	 "sim kernel: send an outbound packet"},
	{"sim", "advance", cmd_sim_advance, "DURATION",
	 "manual clock: let DURATION pass (90, 30s, 15m, 2h, 1d)"},
	{"sim", "negotiate", cmd_sim_negotiate, "NAME ok|fail",
	 "sim negotiator: resolve NAME's oldest negotiation (ok with none "
	 "pending: the peer initiates)"},
	{"sim", "fail", cmd_sim_fail, "N",
	 "sim kernel: fail every Nth policy or SA operation (0: none)"},
	{"version", NULL, cmd_version, "", "versions of eroute and erouted"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: eroute [--socket PATH] [--json] COMMAND [ARG]...\n"
		"Ask erouted, the eroute daemon, what its IPsec policies are "
		"and why,\nand tell it what to do.\n\n"
		"Options:\n"
		"  -s, --socket PATH  erouted's control socket (default "
		"$EROUTE_SOCKET\n"
		"                     or " DEFAULT_SOCKET ")\n"
		"  -j, --json         print the answer as JSON, for scripts\n"
		"  -h, --help         this text\n\n"
		"Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		char words[96];

		snprintf(words, sizeof(words), "%s%s%s %s", commands[i].name,
			 commands[i].sub ? " " : "",
			 commands[i].sub ? commands[i].sub : "",
			 commands[i].args);
		fprintf(f, "  %-42s %s\n", words, commands[i].help);
	}
	fprintf(f, "\nExit status: 0 success, 1 error (message on stderr), "
		   "2 bad usage.\nSee eroute(8).\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *env = getenv("EROUTE_SOCKET");
	struct cli c = {.socket = env && *env ? env : DEFAULT_SOCKET,
			.fd = -1};
	const struct cli_command *cmd = NULL;
	int opt, ret;

	/* Options come before the command; the command's own arguments may
	 * look like options (none do today). */
	while ((opt = getopt_long(argc, argv, "+s:jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			c.socket = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			fprintf(stderr, "Try 'eroute --help'.\n");
			return CLI_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, argv[0]) != 0)
			continue;
		if (commands[i].sub == NULL) {
			cmd = &commands[i];
			argc -= 1;
			argv += 1;
			break;
		}
		if (argc > 1 && strcmp(commands[i].sub, argv[1]) == 0) {
			cmd = &commands[i];
			argc -= 2;
			argv += 2;
			break;
		}
	}
	if (cmd == NULL)
		return cli_usage_error("unknown command \"%s%s%s\"", argv[0],
				       argc > 1 ? " " : "",
				       argc > 1 ? argv[1] : "");
	ret = cmd->fn(&c, argc, argv);
	if (c.fd >= 0)
		close(c.fd);
	return ret;
}
