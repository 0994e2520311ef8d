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
#include <stddef.h>

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

/**
 * command_request_parse - read and check one request line
 * @line, @len: the line without its newline; need not be NUL-terminated
 * @privileged: may the peer change things?
 * @uid: the peer's user, for the permission message
 * @req: set on success to the request object (a new reference)
 * @cmd: set on success to its command
 * @err: the error answer's message on failure
 *
 * The line must be a JSON object without duplicate keys, with a string
 * "cmd" that names a command the peer may run.  Pure: it sees nothing but
 * its arguments, so it can be fed any bytes (fuzz/fuzz_control.c).
 *
 * Return: 0; -EINVAL for a malformed request, -EOPNOTSUPP for an unknown
 * command, -EPERM for a command that needs privilege the peer lacks.
 */
int command_request_parse(const char *line, size_t len, bool privileged,
			  unsigned uid, json_t **req, const struct command **cmd,
			  struct er_err *err);

/**
 * command_answer - the answer to a request
 * @ret: the outcome, 0 or a negative errno
 * @result: on success the result (stolen; NULL stands for {}); on error
 *	it is dropped
 * @err: on error the message (strerror(-@ret) when empty)
 *
 * Every request gets an answer: a message that is not text becomes a
 * fixed one, and a result that cannot be built an EIO error.
 *
 * Return: {"ok": true, "result": ...} or {"ok": false, "error": {"code":
 * "EINVAL", "message": "..."}} (a new reference); NULL only when memory
 * runs out.
 */
json_t *command_answer(int ret, json_t *result, const struct er_err *err);

#endif
