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
 * member of the socket's group, from SO_PEERCRED and SO_PEERGROUPS).  Bad
 * input -- garbage, an oversized line, wrong types, an unknown command --
 * gets an error answer and the connection stays usable.
 *
 * What one client can cost is bounded (the limits below):
 * - a request line is at most CONTROL_LINE_MAX bytes; a longer one gets
 *   E2BIG and is skipped to its newline, and a client that keeps sending
 *   one line past CONTROL_DISCARD_MAX bytes is closed;
 * - a client with more than CONTROL_BACKLOG_MAX unread answer bytes, or
 *   with any while all clients together have CONTROL_OUTPUT_MAX unread, is
 *   not served until it reads them (a monitor subscriber is dropped);
 * - a client in the middle of a request, or with unread answers, that
 *   makes no progress for CONTROL_STALL_SECS is closed (sending more
 *   requests is no progress while answers wait); its socket's send buffer
 *   is CONTROL_SNDBUF, so that the kernel's share is bounded too;
 * - at most CONTROL_CLIENTS_MAX clients, the last CONTROL_CLIENTS_RESERVED
 *   of them for privileged peers; at the file descriptor limit a client is
 *   answered EMFILE and closed;
 * - each turn of the loop reads at most CONTROL_READ_CHUNK bytes of
 *   requests from a client (the rest of one long line in bigger bites, up
 *   to 1 MiB of an oversized one) and serves a few of its requests, the
 *   clients in turn, so that a busy client cannot starve the others; a
 *   newcomer's first request goes before the others' next ones.
 */
#ifndef EROUTED_CONTROL_H
#define EROUTED_CONTROL_H

#include <jansson.h>
#include <sys/types.h>

#include "eroute/err.h"

#define CONTROL_LINE_MAX (64 * 1024)
#define CONTROL_DISCARD_MAX (16 * 1024 * 1024)
#define CONTROL_BACKLOG_MAX (256 * 1024)
#define CONTROL_OUTPUT_MAX (32 * 1024 * 1024)
#define CONTROL_STALL_SECS 10
#define CONTROL_SNDBUF (64 * 1024)
#define CONTROL_CLIENTS_MAX 2048
#define CONTROL_CLIENTS_RESERVED 64
#define CONTROL_READ_CHUNK 4096

struct daemon;
struct control;

/**
 * control_new - listen on @path (mode 0660, group @gid, or the daemon's
 *	own group when @gid is (gid_t)-1); a stale socket is replaced, a live
 *	one (another erouted) is an error
 */
struct control *control_new(struct daemon *d, const char *path, gid_t gid,
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
