// SPDX-License-Identifier: MIT
/*
 * The control socket's I/O: accept, read lines, parse JSON, check the
 * peer's rights, dispatch to command.c, write answers.  Nothing here knows
 * what a command does.
 *
 * Bounds, so that a hostile or broken client costs little: a line longer
 * than CONTROL_LINE_MAX is answered with an error and skipped to its
 * newline; a client with more than CONTROL_BACKLOG_MAX unread answer bytes
 * is not read from until it drains them (monitor subscribers that fall that
 * far behind are dropped instead); at most CONTROL_CLIENTS_MAX clients.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
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

struct client {
	struct control *ctl;
	int fd;
	ev_io rio, wio;
	char *in;
	size_t nin;
	bool discarding;	/* skipping the rest of an oversized line */
	char *out;
	size_t nout, outcap, outoff;
	bool privileged;
	bool monitor;
	bool negotiator;
	bool closing;		/* close once the answer is written */
	uid_t uid;
	pid_t pid;
	LIST_ENTRY(client) link;
};

LIST_HEAD(client_list, client);

struct control {
	struct daemon *d;
	int fd;
	char *path;
	ev_io accept_io;
	struct client_list clients;
	size_t nclients;
	struct client *negotiator;
};

static void client_free(struct client *cl);
static void client_read_cb(struct ev_loop *loop, ev_io *w, int revents);

/* Root, our own user, or a member of the socket's group may change
 * things; anybody who can connect may look. */
static bool
peer_privileged(const struct control *c, uid_t uid, gid_t gid)
{
	struct stat st;
	struct passwd *pw;
	gid_t groups[256];
	int ngroups = 256;

	if (uid == 0 || uid == geteuid())
		return true;
	if (stat(c->path, &st) != 0)
		return false;
	if (gid == st.st_gid)
		return true;
	pw = getpwuid(uid);
	if (pw == NULL ||
	    getgrouplist(pw->pw_name, gid, groups, &ngroups) < 0)
		return false;
	for (int i = 0; i < ngroups; i++) {
		if (groups[i] == st.st_gid)
			return true;
	}
	return false;
}

static void
client_queue(struct client *cl, const char *data, size_t len)
{
	struct ev_loop *loop = cl->ctl->d->loop;

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
	ev_io_start(loop, &cl->wio);
	/* Backpressure: a client that does not read gets no more service. */
	if (cl->nout - cl->outoff > CONTROL_BACKLOG_MAX)
		ev_io_stop(loop, &cl->rio);
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

/* Split the input buffer into lines; keep the partial tail. */
static void
process_input(struct client *cl)
{
	size_t start = 0;

	for (size_t i = 0; i < cl->nin && !cl->closing; i++) {
		if (cl->in[i] != '\n')
			continue;
		if (!cl->discarding)
			handle_line(cl, cl->in + start, i - start);
		cl->discarding = false;
		start = i + 1;
	}
	memmove(cl->in, cl->in + start, cl->nin - start);
	cl->nin -= start;
	if (cl->nin >= CONTROL_LINE_MAX) {
		if (!cl->discarding) {
			char msg[96];

			snprintf(msg, sizeof(msg),
				 "request too long (more than %d bytes)",
				 CONTROL_LINE_MAX);
			answer_error(cl, -E2BIG, msg);
		}
		cl->discarding = true;
		cl->nin = 0;
	}
}

static void
client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *cl = w->data;
	ssize_t n;

	(void)revents;
	n = read(cl->fd, cl->in + cl->nin, CONTROL_LINE_MAX - cl->nin);
	if (n == 0) {
		/* The client is done sending; answer what it asked, then
		 * close. */
		ev_io_stop(loop, &cl->rio);
		cl->closing = true;
		if (cl->nout == cl->outoff)
			client_free(cl);
		return;
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		client_free(cl);
		return;
	}
	if (n < 0)
		return;
	cl->nin += (size_t)n;
	process_input(cl);
	if (cl->closing && cl->nout == cl->outoff)
		client_free(cl);
}

static void
client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *cl = w->data;
	ssize_t n;

	(void)revents;
	n = write(cl->fd, cl->out + cl->outoff, cl->nout - cl->outoff);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		client_free(cl);
		return;
	}
	if (n > 0)
		cl->outoff += (size_t)n;
	if (cl->outoff < cl->nout)
		return;
	cl->nout = cl->outoff = 0;
	ev_io_stop(loop, &cl->wio);
	if (cl->closing) {
		client_free(cl);
		return;
	}
	/* Drained: serve requests again, including any already buffered. */
	if (!ev_is_active(&cl->rio)) {
		ev_io_start(loop, &cl->rio);
		process_input(cl);
	}
}

static void
client_free(struct client *cl)
{
	struct control *c = cl->ctl;

	ev_io_stop(c->d->loop, &cl->rio);
	ev_io_stop(c->d->loop, &cl->wio);
	close(cl->fd);
	if (c->negotiator == cl) {
		c->negotiator = NULL;
		log_msg(ER_LOG_WARNING, NULL, "external negotiator went away");
	}
	LIST_REMOVE(cl, link);
	c->nclients--;
	free(cl->in);
	free(cl->out);
	free(cl);
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control *c = w->data;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *cl;
	int fd;

	(void)revents;
	fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (c->nclients >= CONTROL_CLIENTS_MAX) {
		static const char busy[] =
			"{\"ok\":false,\"error\":{\"code\":\"EBUSY\","
			"\"message\":\"too many clients\"}}\n";

		(void)!write(fd, busy, sizeof(busy) - 1);
		close(fd);
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (cl != NULL)
		cl->in = malloc(CONTROL_LINE_MAX);
	if (cl == NULL || cl->in == NULL ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		if (cl != NULL)
			free(cl->in);
		free(cl);
		close(fd);
		return;
	}
	cl->ctl = c;
	cl->fd = fd;
	cl->uid = cred.uid;
	cl->pid = cred.pid;
	cl->privileged = peer_privileged(c, cred.uid, cred.gid);
	ev_io_init(&cl->rio, client_read_cb, fd, EV_READ);
	ev_io_init(&cl->wio, client_write_cb, fd, EV_WRITE);
	cl->rio.data = cl->wio.data = cl;
	ev_io_start(loop, &cl->rio);
	LIST_INSERT_HEAD(&c->clients, cl, link);
	c->nclients++;
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
control_new(struct daemon *d, const char *path, struct er_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct control *c;
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
	LIST_INIT(&c->clients);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	strcpy(sa.sun_path, path);
	unlink(path);
	old = umask(0117);
	if (c->fd < 0 || c->path == NULL ||
	    bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(c->fd, 128) != 0) {
		er_err_set(err, -errno, "%s: %s", path, strerror(errno));
		umask(old);
		if (c->fd >= 0)
			close(c->fd);
		free(c->path);
		free(c);
		return NULL;
	}
	umask(old);
	chmod(path, 0660);
	ev_io_init(&c->accept_io, accept_cb, c->fd, EV_READ);
	c->accept_io.data = c;
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
	close(c->fd);
	unlink(c->path);
	free(c->path);
	free(c);
}

void
control_publish(struct control *c, json_t *event)
{
	struct client *cl, *next;
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
		if (cl->nout - cl->outoff > CONTROL_BACKLOG_MAX) {
			/* Not freed here: the publisher may be serving this
			 * very client.  The write watcher finishes it. */
			log_msg(ER_LOG_WARNING, NULL,
				"monitor client (pid %d) does not read; "
				"dropped", (int)cl->pid);
			cl->monitor = false;
			cl->closing = true;
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
