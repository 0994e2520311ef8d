// SPDX-License-Identifier: MIT
/*
 * The control socket's I/O: accept, read lines, parse JSON, check the
 * peer's rights, dispatch to command.c, write answers.  Nothing here knows
 * what a command does.
 *
 * Every client is bounded as control.h describes: its request buffer
 * grows only to one line, it is served only while it reads its answers,
 * and a client that stops making progress is closed.  Serving is a queue:
 * a client read from with complete requests waits in line (no longer read
 * from), each turn of the loop serves the line a few requests per client
 * up to a budget, newcomers first, so a turn does not grow with the
 * number of clients and "eroute status" is answered at once however many
 * clients are busy.  Answers are written when a client's turn ends, the
 * write watcher taking only what the socket would not.  Running out of
 * clients or file descriptors refuses the newcomer with an error line; it
 * never stops the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "command.h"
#include "control.h"
#include "daemon.h"
#include "negotiator.h"

/* Connections taken per wakeup of the listening socket. */
#define ACCEPT_BATCH 256
/* How long accepting pauses when not even the spare descriptor helps. */
#define ACCEPT_PAUSE_SECS 1.
/* Requests answered per client per turn, and per turn over all. */
#define TURN_LINES 16
#define TURN_BUDGET 256
#define TURN_MIN 64
/* Reads per turn while skipping an oversized line (of CONTROL_LINE_MAX). */
#define DISCARD_READS 16
/* At most one line per this many seconds about refused clients, per
 * reason. */
#define REFUSAL_LOG_SECS 10.

enum refusal {
	REFUSE_BUSY,
	REFUSE_FDS,
	REFUSE_NOMEM,
	REFUSALS,
};

static const struct {
	const char *code, *why;
} refusals[REFUSALS] = {
	[REFUSE_BUSY] = {"EBUSY", "too many clients"},
	[REFUSE_FDS] = {"EMFILE", "erouted is out of file descriptors"},
	[REFUSE_NOMEM] = {"ENOMEM", "out of memory"},
};

struct client {
	struct control *ctl;
	int fd;
	ev_io rio, wio;
	ev_timer stall;
	char *in;
	size_t nin, incap;
	bool discarding;	/* skipping the rest of an oversized line */
	size_t discarded;	/* ... this many bytes of it so far */
	char *out;
	size_t nout, outcap, outoff;
	bool privileged;
	bool monitor;
	bool negotiator;
	bool closing;		/* close once the answer is written */
	bool serving;		/* answers go out when the turn is done */
	bool fresh;		/* nothing asked yet: served at once */
	bool ready;		/* waiting in line with complete requests */
	uid_t uid;
	pid_t pid;
	LIST_ENTRY(client) link;
	TAILQ_ENTRY(client) ready_link;
};

LIST_HEAD(client_list, client);
TAILQ_HEAD(client_queue, client);

struct control {
	struct daemon *d;
	int fd;
	int spare_fd;		/* given up to refuse a client at EMFILE */
	char *path;
	gid_t gid;		/* the socket's group */
	ev_io accept_io;
	ev_timer accept_pause;
	struct client_list clients;
	struct client_queue ready_fresh, ready;
	unsigned budget;	/* lines left to serve this turn */
	ev_prepare refill;
	ev_check serve;
	ev_idle idle;
	size_t nclients;
	size_t queued;		/* unread answer bytes, all clients */
	struct client *negotiator;
	size_t refused[REFUSALS];	/* since the last line about it */
	ev_tstamp refusal_logged[REFUSALS];
};

static void client_free(struct client *cl);

static size_t
client_backlog(const struct client *cl)
{
	return cl->nout - cl->outoff;
}

/* Root, our own user, or a member of the socket's group may change
 * things; anybody who can connect may look.  The peer's groups are the
 * kernel's (SO_PEERGROUPS), so no user database is asked in the loop. */
static bool
peer_privileged(const struct control *c, int fd, const struct ucred *cred)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	bool ok = false;

	if (cred->uid == 0 || cred->uid == geteuid() || cred->gid == c->gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) {
		if (errno != ERANGE || (groups = malloc(len)) == NULL)
			return false;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups,
			       &len) != 0)
			len = 0;
	}
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		ok |= groups[i] == c->gid;
	if (groups != small)
		free(groups);
	return ok;
}

/* The stall clock runs while we wait on the client: for it to read its
 * answers (only reading them resets it -- sending more requests does not
 * excuse leaving the answers unread), or to finish the request it
 * started.  Called after a read, a write or a turn; @wrote: answers went
 * out. */
static void
client_progress(struct client *cl, bool wrote)
{
	struct ev_loop *loop = cl->ctl->d->loop;
	bool unread = client_backlog(cl) > 0;
	bool unfinished = ev_is_active(&cl->rio) &&
			  (cl->nin > 0 || cl->discarding);

	if (!unread && !unfinished)
		ev_timer_stop(loop, &cl->stall);
	else if (wrote || !unread || !ev_is_active(&cl->stall))
		ev_timer_again(loop, &cl->stall);
}

static void
client_queue(struct client *cl, const char *data, size_t len)
{
	struct control *c = cl->ctl;
	struct ev_loop *loop = c->d->loop;

	if (cl->outoff > 0 && cl->nout + len + 1 > cl->outcap) {
		memmove(cl->out, cl->out + cl->outoff, client_backlog(cl));
		cl->nout -= cl->outoff;
		cl->outoff = 0;
	}
	if (cl->nout + len + 1 > cl->outcap) {
		size_t cap = cl->outcap ? cl->outcap : 4096;
		char *n;

		while (cap < cl->nout + len + 1)
			cap *= 2;
		n = realloc(cl->out, cap);
		if (n == NULL) {
			cl->closing = true;
			return;
		}
		cl->out = n;
		cl->outcap = cap;
	}
	memcpy(cl->out + cl->nout, data, len);
	cl->nout += len;
	cl->out[cl->nout++] = '\n';
	c->queued += len + 1;
	if (!cl->serving)
		ev_io_start(loop, &cl->wio);
	/* Queueing is not the client's progress: only start the clock. */
	if (!ev_is_active(&cl->stall))
		ev_timer_again(loop, &cl->stall);
}

static void
client_send_json(struct client *cl, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	if (s != NULL) {
		client_queue(cl, s, strlen(s));
		free(s);
	}
	json_decref(o);
}

static void
answer_error(struct client *cl, int code, const char *msg)
{
	struct er_err err;

	er_err_set(&err, code, "%s", msg);
	client_send_json(cl, command_answer(code, NULL, &err));
}

/* The answer to a request line of more than CONTROL_LINE_MAX bytes. */
static void
answer_too_long(struct client *cl)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "request too long (more than %d bytes)",
		 CONTROL_LINE_MAX);
	answer_error(cl, -E2BIG, msg);
}

static void
handle_line(struct client *cl, const char *line, size_t len)
{
	struct control *c = cl->ctl;
	json_t *req = NULL, *result = NULL;
	const struct command *cmd;
	struct er_err err = {0};
	int ret;

	if (len == 0)
		return;
	/* Too long, even when it came whole before it could be refused
	 * half-read. */
	if (len > CONTROL_LINE_MAX) {
		answer_too_long(cl);
		return;
	}
	ret = command_request_parse(line, len, cl->privileged,
				    (unsigned)cl->uid, &req, &cmd, &err);
	if (ret < 0) {
		client_send_json(cl, command_answer(ret, NULL, &err));
		return;
	}
	if (strcmp(cmd->name, "monitor") == 0) {
		cl->monitor = true;
		result = json_object();
		ret = 0;
	} else if (strcmp(cmd->name, "negotiator-register") == 0) {
		if (c->negotiator != NULL && c->negotiator != cl) {
			ret = er_err_set(&err, -EBUSY,
					 "another negotiator is registered "
					 "(pid %d)", (int)c->negotiator->pid);
		} else {
			c->negotiator = cl;
			cl->negotiator = true;
			result = json_object();
			ret = 0;
		}
	} else {
		ret = cmd->fn(c->d, req, &result, &err);
	}
	json_decref(req);
	client_send_json(cl, command_answer(ret, result, &err));
	if (ret == 0 && cl->negotiator &&
	    strcmp(cmd->name, "negotiator-register") == 0)
		negotiator_external_attached(c->d->negotiator);
	daemon_settle(c->d);
}

/* A client is served while it reads: one with nothing unread always, one
 * behind by a little unless all clients together are far behind. */
static bool
client_may_serve(const struct client *cl)
{
	size_t backlog = client_backlog(cl);

	if (backlog == 0)
		return true;
	return backlog <= CONTROL_BACKLOG_MAX &&
	       cl->ctl->queued <= CONTROL_OUTPUT_MAX;
}

/* Write what is queued now, without waiting for the loop to say the
 * socket is writable (it nearly always is); what does not fit waits for
 * the write watcher.  A write error leaves the freeing to that watcher. */
static void
client_flush(struct client *cl)
{
	struct control *c = cl->ctl;
	ssize_t n;

	while (client_backlog(cl) > 0) {
		n = write(cl->fd, cl->out + cl->outoff, client_backlog(cl));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN)
				cl->closing = true;
			break;
		}
		cl->outoff += (size_t)n;
		c->queued -= (size_t)n;
	}
	if (client_backlog(cl) > 0 || cl->closing) {
		ev_io_start(c->d->loop, &cl->wio);
		return;
	}
	cl->nout = cl->outoff = 0;
	if (cl->outcap > CONTROL_BACKLOG_MAX) {
		free(cl->out);
		cl->out = NULL;
		cl->outcap = 0;
	}
}

static bool
client_has_line(const struct client *cl)
{
	return cl->nin > 0 && memchr(cl->in, '\n', cl->nin) != NULL;
}

static void
ready_add(struct control *c, struct client *cl)
{
	if (cl->ready)
		return;
	TAILQ_INSERT_TAIL(cl->fresh ? &c->ready_fresh : &c->ready, cl,
			  ready_link);
	cl->ready = true;
	/* Work waits: the loop must not sleep in its poll. */
	ev_idle_start(c->d->loop, &c->idle);
}

/* After a turn: read on, wait in line with the requests already
 * buffered, or -- while its answers are not read -- neither (the write
 * watcher brings it back). */
static void
client_next(struct client *cl)
{
	struct ev_loop *loop = cl->ctl->d->loop;

	if (cl->closing || !client_may_serve(cl)) {
		ev_io_stop(loop, &cl->rio);
	} else if (client_has_line(cl)) {
		ev_io_stop(loop, &cl->rio);
		ready_add(cl->ctl, cl);
	} else {
		ev_io_start(loop, &cl->rio);
	}
}

/* One turn: answer up to @max of the complete lines buffered, keep the
 * rest and the partial tail.  Return: how many were answered. */
static unsigned
serve_turn(struct client *cl, unsigned max)
{
	size_t start = 0;
	unsigned n = 0;
	char *nl;

	cl->serving = true;
	while (n < max && !cl->closing && start < cl->nin &&
	       client_may_serve(cl) &&
	       (nl = memchr(cl->in + start, '\n', cl->nin - start)) != NULL) {
		handle_line(cl, cl->in + start, (size_t)(nl - cl->in) - start);
		start = (size_t)(nl - cl->in) + 1;
		n++;
	}
	if (start > 0) {
		memmove(cl->in, cl->in + start, cl->nin - start);
		cl->nin -= start;
	}
	if (cl->nin > CONTROL_LINE_MAX && !client_has_line(cl)) {
		answer_too_long(cl);
		cl->discarding = true;
		cl->discarded = cl->nin;
		cl->nin = 0;
	}
	/* One big request must not pin its buffer for the client's life. */
	if (cl->nin == 0 && cl->incap > CONTROL_READ_CHUNK) {
		free(cl->in);
		cl->in = NULL;
		cl->incap = 0;
	}
	cl->serving = false;
	if (n > 0)
		cl->fresh = false;
	client_flush(cl);
	client_next(cl);
	return n;
}

/* Serve the clients of @q in order, up to @each lines each, while
 * @budget lasts; who still has requests goes to the back of its queue. */
static void
serve_queue(struct client_queue *q, unsigned each, unsigned *budget)
{
	struct client *cl;
	unsigned n;

	while (*budget > 0 && (cl = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, cl, ready_link);
		cl->ready = false;
		n = serve_turn(cl, *budget < each ? *budget : each);
		*budget -= n > 0 ? n : 1;
		if (cl->closing && client_backlog(cl) == 0)
			client_free(cl);
		else
			client_progress(cl, false);
	}
}

/* Every turn of the loop, after its I/O: the clients waiting with
 * requests, newcomers first (one request each), then the others a few
 * lines each -- at least TURN_MIN lines of them, however many newcomers
 * came.  So a turn's length does not grow with the number of clients. */
static void
serve_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	struct control *c = w->data;
	unsigned others;

	(void)revents;
	serve_queue(&c->ready_fresh, 1, &c->budget);
	others = c->budget > TURN_MIN ? c->budget : TURN_MIN;
	serve_queue(&c->ready, TURN_LINES, &others);
	if (TAILQ_EMPTY(&c->ready) && TAILQ_EMPTY(&c->ready_fresh))
		ev_idle_stop(loop, &c->idle);
}

static void
refill_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct control *c = w->data;

	(void)loop;
	(void)revents;
	c->budget = TURN_BUDGET;
}

static void
idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	/* Only there to keep the poll from sleeping; serve_cb works. */
	(void)loop;
	(void)w;
	(void)revents;
}

/* Take @n bytes read from the client.  Return: 0, or -E2BIG when an
 * oversized line goes on past CONTROL_DISCARD_MAX. */
static int
client_feed(struct client *cl, const char *buf, size_t n)
{
	if (cl->discarding) {
		const char *nl = memchr(buf, '\n', n);
		size_t skip = nl != NULL ? (size_t)(nl - buf) + 1 : n;

		cl->discarded += skip;
		if (nl == NULL)
			return cl->discarded > CONTROL_DISCARD_MAX ? -E2BIG : 0;
		cl->discarding = false;
		cl->discarded = 0;
		buf += skip;
		n -= skip;
		if (n == 0)
			return 0;
	}
	if (cl->nin + n > cl->incap) {
		size_t cap = cl->incap ? cl->incap : 1024;
		char *p;

		while (cap < cl->nin + n)
			cap *= 2;
		if (cap > CONTROL_LINE_MAX + CONTROL_READ_CHUNK &&
		    cl->nin + n <= CONTROL_LINE_MAX + CONTROL_READ_CHUNK)
			cap = CONTROL_LINE_MAX + CONTROL_READ_CHUNK;
		p = realloc(cl->in, cap);
		if (p == NULL)
			return -ENOMEM;
		cl->in = p;
		cl->incap = cap;
	}
	memcpy(cl->in + cl->nin, buf, n);
	cl->nin += n;
	return 0;
}

static void
client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *cl = w->data;
	char buf[CONTROL_LINE_MAX];
	ssize_t n;
	int ret = 0;

	(void)revents;
	/* A small bite of requests per turn, so every ready client gets
	 * one.  The rest of one long line costs only the copy: it comes in
	 * big bites, and skipping an oversized one takes up to
	 * DISCARD_READS of them. */
	for (int i = 0; i < DISCARD_READS && ret == 0; i++) {
		bool long_line = cl->discarding ||
				 (cl->nin >= CONTROL_READ_CHUNK &&
				  memchr(cl->in, '\n', cl->nin) == NULL);

		n = read(cl->fd, buf,
			 long_line ? sizeof(buf) : CONTROL_READ_CHUNK);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			/* Done sending (a partial line is forgotten): answer
			 * what it asked, then close. */
			ev_io_stop(loop, &cl->rio);
			cl->closing = true;
			if (n < 0 || client_backlog(cl) == 0) {
				client_free(cl);
				return;
			}
			break;
		}
		ret = client_feed(cl, buf, (size_t)n);
		if (!cl->discarding)
			break;
	}
	if (ret < 0) {
		log_msg(ER_LOG_WARNING, NULL,
			"control client (pid %d, uid %u): %s; closed",
			(int)cl->pid, (unsigned)cl->uid,
			ret == -E2BIG ? "a request line of more than "
					"16 MiB"
				      : "out of memory");
		client_free(cl);
		return;
	}
	/* A newcomer is answered at once while the turn's budget lasts;
	 * the others wait their turn. */
	if (!client_has_line(cl)) {
		serve_turn(cl, 0);
	} else if (cl->fresh && cl->ctl->budget > 0) {
		serve_turn(cl, 1);
		cl->ctl->budget--;
	} else {
		client_next(cl);
	}
	if (cl->closing && client_backlog(cl) == 0) {
		client_free(cl);
		return;
	}
	client_progress(cl, false);
}

static void
client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *cl = w->data;
	struct control *c = cl->ctl;
	ssize_t n;

	(void)revents;
	n = write(cl->fd, cl->out + cl->outoff, client_backlog(cl));
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		client_free(cl);
		return;
	}
	if (n > 0) {
		cl->outoff += (size_t)n;
		c->queued -= (size_t)n;
	}
	if (client_backlog(cl) > 0) {
		if (n > 0)
			client_progress(cl, true);
		return;
	}
	cl->nout = cl->outoff = 0;
	ev_io_stop(loop, &cl->wio);
	if (cl->outcap > CONTROL_BACKLOG_MAX) {
		free(cl->out);
		cl->out = NULL;
		cl->outcap = 0;
	}
	if (cl->closing) {
		client_free(cl);
		return;
	}
	/* Drained: serve requests again, those already buffered first. */
	if (!ev_is_active(&cl->rio) && !cl->ready)
		client_next(cl);
	client_progress(cl, true);
}

static void
client_stall_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client *cl = w->data;

	(void)loop;
	(void)revents;
	log_msg(ER_LOG_WARNING, NULL,
		"control client (pid %d, uid %u) made no progress for %ds "
		"(%zu answer bytes unread, %zu request bytes pending); closed",
		(int)cl->pid, (unsigned)cl->uid, CONTROL_STALL_SECS,
		client_backlog(cl), cl->nin + cl->discarded);
	client_free(cl);
}

static void
client_free(struct client *cl)
{
	struct control *c = cl->ctl;

	ev_io_stop(c->d->loop, &cl->rio);
	ev_io_stop(c->d->loop, &cl->wio);
	ev_timer_stop(c->d->loop, &cl->stall);
	close(cl->fd);
	if (c->negotiator == cl) {
		c->negotiator = NULL;
		log_msg(ER_LOG_WARNING, NULL, "external negotiator went away");
	}
	c->queued -= client_backlog(cl);
	if (cl->ready)
		TAILQ_REMOVE(cl->fresh ? &c->ready_fresh : &c->ready, cl,
			     ready_link);
	LIST_REMOVE(cl, link);
	c->nclients--;
	free(cl->in);
	free(cl->out);
	free(cl);
}

/* Tell a client we cannot take it, and close.  The line fits in any
 * socket buffer, so the write does not block. */
static void
refuse(struct control *c, int fd, enum refusal r)
{
	struct ev_loop *loop = c->d->loop;
	char line[256];
	int n;

	n = snprintf(line, sizeof(line),
		     "{\"ok\":false,\"error\":{\"code\":\"%s\","
		     "\"message\":\"%s\"}}\n", refusals[r].code,
		     refusals[r].why);
	(void)!send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
	c->refused[r]++;
	if (ev_now(loop) - c->refusal_logged[r] >= REFUSAL_LOG_SECS) {
		log_msg(ER_LOG_WARNING, NULL,
			"control: %zu client%s refused: %s (%zu clients)",
			c->refused[r], c->refused[r] == 1 ? "" : "s",
			refusals[r].why, c->nclients);
		c->refused[r] = 0;
		c->refusal_logged[r] = ev_now(loop);
	}
}

static void
client_add(struct control *c, int fd)
{
	struct ev_loop *loop = c->d->loop;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *cl;
	int sndbuf = CONTROL_SNDBUF;
	bool privileged;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		close(fd);
		return;
	}
	/* What the kernel holds for a client that does not read is bounded
	 * too, and such a client is found out sooner. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	privileged = peer_privileged(c, fd, &cred);
	/* The last few places are kept for root and the group, so that
	 * anybody else filling the socket cannot lock the admin out. */
	if (c->nclients >= CONTROL_CLIENTS_MAX ||
	    (!privileged &&
	     c->nclients >= CONTROL_CLIENTS_MAX - CONTROL_CLIENTS_RESERVED)) {
		refuse(c, fd, REFUSE_BUSY);
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL) {
		refuse(c, fd, REFUSE_NOMEM);
		return;
	}
	cl->ctl = c;
	cl->fd = fd;
	cl->uid = cred.uid;
	cl->pid = cred.pid;
	cl->privileged = privileged;
	ev_io_init(&cl->rio, client_read_cb, fd, EV_READ);
	ev_io_init(&cl->wio, client_write_cb, fd, EV_WRITE);
	ev_init(&cl->stall, client_stall_cb);
	cl->stall.repeat = CONTROL_STALL_SECS;
	cl->rio.data = cl->wio.data = cl->stall.data = cl;
	/* A newcomer's first request goes before the regulars' next ones:
	 * "eroute status" answers at once however busy the socket is. */
	cl->fresh = true;
	ev_io_start(loop, &cl->rio);
	LIST_INSERT_HEAD(&c->clients, cl, link);
	c->nclients++;
}

/* Out of file descriptors: give up the spare one to take the newcomer
 * and say so, rather than leave it in the backlog (which would wake the
 * loop again at once, for ever). */
static void
out_of_fds(struct control *c)
{
	struct ev_loop *loop = c->d->loop;
	int fd = -1;

	if (c->spare_fd >= 0) {
		close(c->spare_fd);
		fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			refuse(c, fd, REFUSE_FDS);
		c->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (c->spare_fd < 0) {
		ev_io_stop(loop, &c->accept_io);
		ev_timer_start(loop, &c->accept_pause);
	}
}

static void
accept_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control *c = w->data;

	(void)revents;
	if (c->spare_fd < 0)
		c->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ev_io_start(loop, &c->accept_io);
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control *c = w->data;
	int fd;

	(void)loop;
	(void)revents;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				out_of_fds(c);
			break;
		}
		client_add(c, fd);
	}
}

/* Is another erouted answering on @path? */
static bool
socket_alive(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	alive = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return alive;
}

struct control *
control_new(struct daemon *d, const char *path, gid_t gid,
	    struct er_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct control *c;
	struct stat st;
	mode_t old;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		er_err_set(err, -ENAMETOOLONG, "%s: socket path too long", path);
		return NULL;
	}
	if (socket_alive(path)) {
		er_err_set(err, -EADDRINUSE,
			   "%s: another erouted is listening there", path);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		er_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	c->d = d;
	c->path = strdup(path);
	c->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	LIST_INIT(&c->clients);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	strcpy(sa.sun_path, path);
	unlink(path);
	old = umask(0117);
	if (c->fd < 0 || c->path == NULL ||
	    bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0) ||
	    chmod(path, 0660) != 0 || stat(path, &st) != 0 ||
	    listen(c->fd, SOMAXCONN) != 0) {
		er_err_set(err, -errno, "%s: %s", path, strerror(errno));
		umask(old);
		if (c->fd >= 0) {
			close(c->fd);
			unlink(path);
		}
		if (c->spare_fd >= 0)
			close(c->spare_fd);
		free(c->path);
		free(c);
		return NULL;
	}
	umask(old);
	/* Fixed now: who is privileged does not follow later chgrps. */
	c->gid = st.st_gid;
	ev_io_init(&c->accept_io, accept_cb, c->fd, EV_READ);
	ev_set_priority(&c->accept_io, EV_MAXPRI);
	c->accept_io.data = c;
	TAILQ_INIT(&c->ready_fresh);
	TAILQ_INIT(&c->ready);
	ev_prepare_init(&c->refill, refill_cb);
	c->refill.data = c;
	ev_prepare_start(d->loop, &c->refill);
	ev_check_init(&c->serve, serve_cb);
	c->serve.data = c;
	ev_check_start(d->loop, &c->serve);
	ev_idle_init(&c->idle, idle_cb);
	ev_timer_init(&c->accept_pause, accept_pause_cb, ACCEPT_PAUSE_SECS, 0.);
	c->accept_pause.data = c;
	ev_io_start(d->loop, &c->accept_io);
	return c;
}

void
control_free(struct control *c)
{
	struct client *cl;

	if (c == NULL)
		return;
	while ((cl = LIST_FIRST(&c->clients)) != NULL)
		client_free(cl);
	ev_io_stop(c->d->loop, &c->accept_io);
	ev_timer_stop(c->d->loop, &c->accept_pause);
	ev_prepare_stop(c->d->loop, &c->refill);
	ev_check_stop(c->d->loop, &c->serve);
	ev_idle_stop(c->d->loop, &c->idle);
	close(c->fd);
	if (c->spare_fd >= 0)
		close(c->spare_fd);
	unlink(c->path);
	free(c->path);
	free(c);
}

void
control_publish(struct control *c, json_t *event)
{
	struct client *cl, *next;
	size_t backlog;
	char *s;

	if (c == NULL) {
		json_decref(event);
		return;
	}
	s = json_dumps(event, JSON_COMPACT);
	json_decref(event);
	if (s == NULL)
		return;
	for (cl = LIST_FIRST(&c->clients); cl != NULL; cl = next) {
		next = LIST_NEXT(cl, link);
		if (!cl->monitor)
			continue;
		backlog = client_backlog(cl);
		if (backlog > CONTROL_BACKLOG_MAX ||
		    (backlog > 0 && c->queued > CONTROL_OUTPUT_MAX)) {
			/* Not freed here: the publisher may be serving this
			 * very client.  The write watcher finishes it. */
			log_msg(ER_LOG_WARNING, NULL,
				"monitor client (pid %d, uid %u) does not "
				"read; dropped", (int)cl->pid,
				(unsigned)cl->uid);
			cl->monitor = false;
			cl->closing = true;
			c->queued -= backlog;
			cl->nout = cl->outoff = 0;
			shutdown(cl->fd, SHUT_RDWR);
			ev_io_stop(c->d->loop, &cl->rio);
			ev_io_start(c->d->loop, &cl->wio);
			continue;
		}
		client_queue(cl, s, strlen(s));
	}
	free(s);
}

int
control_negotiator_send(struct control *c, json_t *msg)
{
	char *s;

	if (c == NULL || c->negotiator == NULL) {
		json_decref(msg);
		return -ENOTCONN;
	}
	s = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (s == NULL)
		return -ENOMEM;
	client_queue(c->negotiator, s, strlen(s));
	free(s);
	return 0;
}

int
control_has_negotiator(const struct control *c)
{
	return c != NULL && c->negotiator != NULL;
}
