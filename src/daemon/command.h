/* SPDX-License-Identifier: MIT */
/*
 * The control commands: one table of {name, handler, needs privilege,
 * needs the sim kernel, needs the manual clock}.  Handlers take the
 * request object, build a result and return 0, or return -errno with a
 * message; they never see the socket.
 */
#ifndef EROUTED_COMMAND_H
#define EROUTED_COMMAND_H

#include <jansson.h>
#include <stdbool.h>

#include "eroute/err.h"

struct daemon;

typedef int command_fn(struct daemon *d, json_t *req, json_t **result,
		       struct er_err *err);

struct command {
	const char *name;
	command_fn *fn;		/* NULL: handled by the socket layer */
	bool privileged;
	const char *help;
};

/**
 * command_find - the command called @name, or NULL
 */
const struct command *command_find(const char *name);

#endif
