/* SPDX-License-Identifier: MIT */
/*
 * The control socket: JSON lines over a unix stream socket.
 *
 * Request  {"cmd": NAME, ...arguments}
 * Answer   {"ok": true, "result": ...}
 *       or {"ok": false, "error": {"code": "ENOENT", "message": "..."}}
 *
 * docs/control-protocol.md lists every command.  Commands that change
 * anything need a privileged peer (root, the daemon's own user, or a
 * member of the socket's group, from SO_PEERCRED).  Bad input -- garbage,
 * an oversized line, wrong types, an unknown command -- gets an error
 * answer and the connection stays usable.  Memory per client is bounded:
 * a request line is at most CONTROL_LINE_MAX bytes, and a client that does
 * not read its answers is not read from until it does.
 */
#ifndef EROUTED_CONTROL_H
#define EROUTED_CONTROL_H

#include <jansson.h>

#include "eroute/err.h"

#define CONTROL_LINE_MAX (64 * 1024)
#define CONTROL_CLIENTS_MAX 4096
#define CONTROL_BACKLOG_MAX (1024 * 1024)	/* unread answer bytes */

struct daemon;
struct control;

/**
 * control_new - listen on @path (mode 0660); a stale socket is replaced,
 *	a live one (another erouted) is an error
 */
struct control *control_new(struct daemon *d, const char *path,
			    struct er_err *err);
void control_free(struct control *c);

/**
 * control_publish - send an event line to every monitor subscriber
 *	(steals @event)
 */
void control_publish(struct control *c, json_t *event);

/**
 * control_negotiator_send - send a line to the registered external
 *	negotiator (steals @msg).  Return: 0, or -ENOTCONN if none is there.
 */
int control_negotiator_send(struct control *c, json_t *msg);

/**
 * control_has_negotiator - is an external negotiator registered?
 */
int control_has_negotiator(const struct control *c);

#endif
