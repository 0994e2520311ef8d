// SPDX-License-Identifier: MIT
/* The updown hook; see updown.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "updown.h"

#define ENV_MAX 24

struct job {
	char script[ER_UPDOWN_MAX];
	char verb[40];
	char *env[ENV_MAX + 1];
	TAILQ_ENTRY(job) link;
};

TAILQ_HEAD(job_list, job);

/* One lane per connection: its calls run one after another. */
struct lane {
	struct updown *u;
	char conn[ER_CONN_NAME_MAX];
	struct job_list jobs;
	pid_t pid;			/* running, or 0 */
	int out_fd;
	size_t logged;			/* bytes of output logged */
	size_t dropped;			/* ... and past UPDOWN_LOG_MAX */
	char line[256];
	size_t nline;
	ev_child child;
	ev_io out;
	ev_timer timeout;
	LIST_ENTRY(lane) link;
};

LIST_HEAD(lane_list, lane);

struct updown {
	struct daemon *d;
	uint64_t timeout;
	struct lane_list lanes;
	size_t njobs;
};

static void lane_next(struct lane *l);

struct updown *
updown_new(struct daemon *d, uint64_t timeout_secs)
{
	struct updown *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	u->d = d;
	u->timeout = timeout_secs ? timeout_secs : 30;
	LIST_INIT(&u->lanes);
	return u;
}

static void
job_free(struct job *j)
{
	for (int i = 0; i < ENV_MAX && j->env[i] != NULL; i++)
		free(j->env[i]);
	free(j);
}

static void
lane_stop_io(struct lane *l)
{
	struct ev_loop *loop = l->u->d->loop;

	ev_child_stop(loop, &l->child);
	ev_timer_stop(loop, &l->timeout);
	ev_io_stop(loop, &l->out);
	if (l->out_fd >= 0)
		close(l->out_fd);
	l->out_fd = -1;
}

void
updown_free(struct updown *u)
{
	struct lane *l;
	struct job *j;

	if (u == NULL)
		return;
	while ((l = LIST_FIRST(&u->lanes)) != NULL) {
		if (l->pid > 0) {
			kill(-l->pid, SIGKILL);
			waitpid(l->pid, NULL, 0);
		}
		lane_stop_io(l);
		while ((j = TAILQ_FIRST(&l->jobs)) != NULL) {
			TAILQ_REMOVE(&l->jobs, j, link);
			job_free(j);
		}
		LIST_REMOVE(l, link);
		free(l);
	}
	free(u);
}

size_t
updown_running(const struct updown *u)
{
	return u->njobs;
}

void
updown_verb(const struct er_event *ev, char *buf, size_t len)
{
	const struct er_conn_config *cc = ev->config;
	const char *base = er_updown_verb_name(ev->verb);
	bool host = cc != NULL && er_prefix_is_host(&cc->local_client) &&
		    cc->nremote == 1 &&
		    er_prefix_is_host(&cc->remote_clients[0]) &&
		    er_addr_equal(&cc->local_client.addr, &cc->local) &&
		    er_addr_equal(&cc->remote_clients[0].addr, &ev->remote);
	size_t n = strcspn(base, "-");

	snprintf(buf, len, "%.*s-%s%s", (int)n, base, host ? "host" : "client",
		 ev->sel.src.addr.family == AF_INET6 ? "-v6" : "");
}

static void
prefix_parts(const struct er_prefix *p, char *net, size_t nlen, char *mask,
	     size_t mlen)
{
	struct er_addr m = {.family = p->addr.family};
	struct er_prefix full;

	er_addr_format(&p->addr, net, nlen);
	memset(m.a, 0xff, er_addr_bits(p->addr.family) / 8);
	er_prefix_init(&full, &m, p->len);
	er_addr_format(&full.addr, mask, mlen);
}

static char *
envf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
envf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static void
job_env(struct job *j, const struct er_event *ev, const char *stack)
{
	const struct er_conn_config *cc = ev->config;
	const struct er_prefix *peer = &cc->remote_clients[0];
	char me[ER_ADDR_STRLEN], him[ER_ADDR_STRLEN];
	char mc[ER_PREFIX_STRLEN], pc[ER_PREFIX_STRLEN];
	char mnet[ER_ADDR_STRLEN], mmask[ER_ADDR_STRLEN];
	char pnet[ER_ADDR_STRLEN], pmask[ER_ADDR_STRLEN];
	char proto[16];
	int i = 0;

	er_addr_format(&ev->local, me, sizeof(me));
	er_addr_format(&ev->remote, him, sizeof(him));
	er_prefix_format(&ev->sel.src, mc, sizeof(mc));
	er_prefix_format(&ev->sel.dst, pc, sizeof(pc));
	prefix_parts(&ev->sel.src, mnet, sizeof(mnet), mmask, sizeof(mmask));
	prefix_parts(&ev->sel.dst, pnet, sizeof(pnet), pmask, sizeof(pmask));
	snprintf(proto, sizeof(proto), "%u", ev->sel.proto);
	(void)peer;
	j->env[i++] = envf("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
			   "/usr/bin:/sbin:/bin");
	j->env[i++] = envf("PLUTO_VERSION=2.0");
	j->env[i++] = envf("PLUTO_VERB=%s", j->verb);
	j->env[i++] = envf("PLUTO_CONNECTION=%s", ev->conn);
	j->env[i++] = envf("PLUTO_CONNECTION_TYPE=%s",
			   er_conn_type_name(cc->type));
	j->env[i++] = envf("PLUTO_ME=%s", me);
	j->env[i++] = envf("PLUTO_PEER=%s", him);
	j->env[i++] = envf("PLUTO_MY_CLIENT=%s", mc);
	j->env[i++] = envf("PLUTO_MY_CLIENT_NET=%s", mnet);
	j->env[i++] = envf("PLUTO_MY_CLIENT_MASK=%s", mmask);
	j->env[i++] = envf("PLUTO_PEER_CLIENT=%s", pc);
	j->env[i++] = envf("PLUTO_PEER_CLIENT_NET=%s", pnet);
	j->env[i++] = envf("PLUTO_PEER_CLIENT_MASK=%s", pmask);
	j->env[i++] = envf("PLUTO_MY_PROTOCOL=%s", proto);
	j->env[i++] = envf("PLUTO_MY_PORT=%u", ev->sel.sport.lo ==
							       ev->sel.sport.hi
						       ? ev->sel.sport.lo
						       : 0u);
	j->env[i++] = envf("PLUTO_PEER_PROTOCOL=%s", proto);
	j->env[i++] = envf("PLUTO_PEER_PORT=%u", ev->sel.dport.lo ==
							       ev->sel.dport.hi
						       ? ev->sel.dport.lo
						       : 0u);
	j->env[i++] = envf("PLUTO_PROTO=esp");
	j->env[i++] = envf("PLUTO_REQID=%u", ev->reqid);
	j->env[i++] = envf("PLUTO_STACK=%s", stack);
	if (ev->spi_out != 0)
		j->env[i++] = envf("PLUTO_SPI_OUT=0x%08x", ev->spi_out);
	j->env[i] = NULL;
}

static struct lane *
lane_get(struct updown *u, const char *conn)
{
	struct lane *l;

	LIST_FOREACH(l, &u->lanes, link) {
		if (strcmp(l->conn, conn) == 0)
			return l;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->u = u;
	l->out_fd = -1;
	snprintf(l->conn, sizeof(l->conn), "%s", conn);
	TAILQ_INIT(&l->jobs);
	LIST_INSERT_HEAD(&u->lanes, l, link);
	return l;
}

void
updown_on_event(struct updown *u, const struct er_event *ev)
{
	struct lane *l;
	struct job *j;

	if (ev->type != ER_EV_UPDOWN || ev->config == NULL ||
	    ev->config->updown[0] == '\0')
		return;
	j = calloc(1, sizeof(*j));
	l = lane_get(u, ev->conn);
	if (j == NULL || l == NULL) {
		free(j);
		log_msg(ER_LOG_ERROR, ev->conn, "updown: out of memory");
		return;
	}
	snprintf(j->script, sizeof(j->script), "%s", ev->config->updown);
	updown_verb(ev, j->verb, sizeof(j->verb));
	job_env(j, ev, u->d->kernel.ops->name);
	TAILQ_INSERT_TAIL(&l->jobs, j, link);
	u->njobs++;
	if (l->pid == 0)
		lane_next(l);
}

static void
log_line(struct lane *l)
{
	l->line[l->nline] = '\0';
	log_msg(ER_LOG_INFO, l->conn, "updown: %s", l->line);
	l->nline = 0;
}

/* A script's output, line by line (a long line in pieces), up to
 * UPDOWN_LOG_MAX bytes a call; the rest is only counted. */
static void
log_output(struct lane *l, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (l->logged >= UPDOWN_LOG_MAX) {
			l->dropped += n - i;
			return;
		}
		l->logged++;
		if (buf[i] == '\n') {
			log_line(l);
			continue;
		}
		l->line[l->nline++] = buf[i];
		if (l->nline == sizeof(l->line) - 1)
			log_line(l);
	}
}

static void
out_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lane *l = w->data;
	char buf[4096];
	ssize_t n;

	(void)revents;
	n = read(l->out_fd, buf, sizeof(buf));
	if (n > 0) {
		log_output(l, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	ev_io_stop(loop, &l->out);
}

static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct lane *l = w->data;
	struct job *j = TAILQ_FIRST(&l->jobs);
	char buf[4096];
	ssize_t n;

	(void)loop;
	(void)revents;
	/* Whatever is still in the pipe, up to what a pipe holds: a writer
	 * the script left running would keep it full for ever.  Closing it
	 * below makes that writer's next write fail. */
	for (int i = 0; i < 16 && l->out_fd >= 0 &&
			(n = read(l->out_fd, buf, sizeof(buf))) > 0;
	     i++)
		log_output(l, buf, (size_t)n);
	if (l->nline > 0)
		log_line(l);
	if (l->dropped > 0)
		log_msg(ER_LOG_WARNING, l->conn,
			"updown %s: %zu more bytes of output not logged",
			j->verb, l->dropped);
	if (WIFEXITED(w->rstatus) && WEXITSTATUS(w->rstatus) != 0)
		log_msg(ER_LOG_WARNING, l->conn, "updown %s: exit status %d",
			j->verb, WEXITSTATUS(w->rstatus));
	else if (WIFSIGNALED(w->rstatus))
		log_msg(ER_LOG_WARNING, l->conn, "updown %s: killed by signal %d",
			j->verb, WTERMSIG(w->rstatus));
	lane_stop_io(l);
	l->pid = 0;
	TAILQ_REMOVE(&l->jobs, j, link);
	job_free(j);
	l->u->njobs--;
	lane_next(l);
}

static void
timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lane *l = w->data;

	(void)loop;
	(void)revents;
	log_msg(ER_LOG_WARNING, l->conn,
		"updown %s: still running after %llus; killed",
		TAILQ_FIRST(&l->jobs)->verb,
		(unsigned long long)l->u->timeout);
	/* The whole group: a script's children go too. */
	kill(-l->pid, SIGKILL);
}

static void
lane_next(struct lane *l)
{
	struct ev_loop *loop = l->u->d->loop;
	struct job *j;
	int fds[2];
	pid_t pid;

	while ((j = TAILQ_FIRST(&l->jobs)) != NULL) {
		if (pipe2(fds, O_CLOEXEC) != 0) {
			log_msg(ER_LOG_ERROR, l->conn, "updown: pipe: %s",
				strerror(errno));
			goto skip;
		}
		pid = fork();
		if (pid < 0) {
			log_msg(ER_LOG_ERROR, l->conn, "updown: fork: %s",
				strerror(errno));
			close(fds[0]);
			close(fds[1]);
			goto skip;
		}
		if (pid == 0) {
			int devnull = open("/dev/null", O_RDONLY);

			setpgid(0, 0);
			dup2(devnull, 0);
			dup2(fds[1], 1);
			dup2(fds[1], 2);
			execle("/bin/sh", "sh", "-c", j->script, (char *)NULL,
			       j->env);
			_exit(127);
		}
		setpgid(pid, pid);
		close(fds[1]);
		fcntl(fds[0], F_SETFL, O_NONBLOCK);
		l->pid = pid;
		l->out_fd = fds[0];
		l->logged = 0;
		l->dropped = 0;
		l->nline = 0;
		log_msg(ER_LOG_DEBUG, l->conn, "updown %s", j->verb);
		ev_child_init(&l->child, child_cb, pid, 0);
		l->child.data = l;
		ev_child_start(loop, &l->child);
		ev_io_init(&l->out, out_cb, fds[0], EV_READ);
		l->out.data = l;
		ev_io_start(loop, &l->out);
		ev_timer_init(&l->timeout, timeout_cb, (double)l->u->timeout,
			      0.);
		l->timeout.data = l;
		ev_timer_start(loop, &l->timeout);
		return;
skip:
		TAILQ_REMOVE(&l->jobs, j, link);
		job_free(j);
		l->u->njobs--;
	}
}
