// SPDX-License-Identifier: MIT
/*
 * storm: load and abuse for erouted's control socket, for
 * tests/daemon/test_storm.sh.  One process, one epoll, many non-blocking
 * unix sockets:
 *
 *   --clients N   clients that, until --seconds pass, send batches of one
 *                 to four pipelined requests (read-only valid ones and
 *                 garbage, mixed), check every answer against what that
 *                 request must get, now and then reconnect or hang up in
 *                 the middle of a line;
 *   --unprivileged  the mix also holds every mutating command, each of
 *                 which must be refused with EPERM (run as a peer that is
 *                 not root and not in the socket's group);
 *   --stall N     clients that send half a line and wait to be closed;
 *   --huge BYTES  one client that streams a line of BYTES without a
 *                 newline, reading the error and waiting to be closed;
 *   --deaf N      clients that send requests and never read;
 *   --hold N      clients that ask for status once and keep the
 *                 connection (counting answers and refusals);
 *   --probe SECS  every SECS, a fresh client asks for status and times the
 *                 answer, from its first connect attempt.
 *
 * It prints one JSON object with the counts and timings and exits 1 if any
 * answer was not the one its request must get, a client was dropped that
 * should not have been, or a batch went unanswered for --patience seconds.
 * Whether the stalled, huge and deaf clients were handled is for the test
 * to judge from the numbers.  SIGTERM ends the run early.  STORM_DEBUG=1
 * prints each probe's time.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define BATCH_MAX 4
#define LONG_LINE 70000		/* past erouted's 64 KiB line limit */

enum kind {
	K_NORMAL,
	K_STALL,
	K_HUGE,
	K_DEAF,
	K_HOLD,
	K_PROBE,
};

struct req {
	const char *line;
	size_t len;		/* 0: strlen(line) */
	const char *want;	/* "ok", an error code, or NULL: no answer */
	const char *want_unpriv;
	bool unpriv_only;	/* mutating: only sent by --unprivileged */
};

static const char nul_line[] = "{\"cmd\":\"st\0atus\"}";

#define R(l, w, u) {l, 0, w, u, false}
#define M(l) {l, 0, NULL, "EPERM", true}

static const struct req mix[] = {
	R("{\"cmd\":\"status\"}", "ok", "ok"),
	R("{\"cmd\":\"status\"}", "ok", "ok"),
	R("{\"cmd\":\"policy-list\"}", "ok", "ok"),
	R("{\"cmd\":\"sa-list\"}", "ok", "ok"),
	R("{\"cmd\":\"shunt-list\"}", "ok", "ok"),
	R("{\"cmd\":\"version\"}", "ok", "ok"),
	R("{\"cmd\":\"trace\",\"src\":\"10.1.0.1\",\"dst\":\"10.2.0.1\"}",
	  "ok", "ok"),
	R("", NULL, NULL),
	R("this is not json", "EINVAL", "EINVAL"),
	R("{\"cmd\":\"status\"", "EINVAL", "EINVAL"),
	R("[1,2,3]", "EINVAL", "EINVAL"),
	R("{\"cmd\":7}", "EINVAL", "EINVAL"),
	R("\"status\"", "EINVAL", "EINVAL"),
	R("{\"cmd\":\"frobnicate\"}", "EOPNOTSUPP", "EOPNOTSUPP"),
	R("{\"cmd\":\"status\",\"cmd\":\"route\"}", "EINVAL", "EINVAL"),
	R("{\"cmd\":\"trace\",\"src\":\"10.0.0.1\",\"dst\":\"::1\"}",
	  "EINVAL", "EINVAL"),
	R("{\"cmd\":\"trace\",\"src\":\"10.0.0.1\"}", "EINVAL", "EINVAL"),
	R("{\"cmd\":\"route\",\"name\":42}", "EINVAL", "EPERM"),
	R("{\"cmd\":\"route\",\"name\":\"no-such-conn\"}", "ENOENT", "EPERM"),
	R("{\"cmd\":\"sim-advance\",\"seconds\":\"soon\"}", "EINVAL",
	  "EPERM"),
	{"\x01\x02\xff\xfe{\"cmd\":\"status\"}", 0, "EINVAL", "EINVAL",
	 false},
	{nul_line, sizeof(nul_line) - 1, "EINVAL", "EINVAL", false},
	M("{\"cmd\":\"route\",\"name\":\"west\"}"),
	M("{\"cmd\":\"unroute\",\"name\":\"west\"}"),
	M("{\"cmd\":\"up\",\"name\":\"west\"}"),
	M("{\"cmd\":\"down\",\"name\":\"west\"}"),
	M("{\"cmd\":\"reload\"}"),
	M("{\"cmd\":\"sim-packet\",\"src\":\"10.1.0.1\",\"dst\":\"10.2.0.1\"}"),
	M("{\"cmd\":\"sim-advance\",\"seconds\":36000}"),
	M("{\"cmd\":\"sim-negotiate\",\"name\":\"west\",\"result\":\"ok\"}"),
	M("{\"cmd\":\"negotiator-register\"}"),
	M("{\"cmd\":\"negotiation-result\",\"id\":1,\"ok\":false}"),
	M("{\"cmd\":\"sa-group\",\"name\":\"west\",\"spi_out\":\"0x1234\"}"),
};

#define NMIX (sizeof(mix) / sizeof(mix[0]))

struct conn {
	enum kind kind;
	int fd;
	char *out;
	size_t nout, outoff, outcap;
	char *in;
	size_t nin, incap;
	const char *want[BATCH_MAX + 1];
	int nwant, got;
	double sent_at;
	double retry_at;	/* 0: connected or done */
	double started;
	unsigned gen;		/* counts closes: a reconnect is a new one */
	bool done;
	/* the special clients */
	uint64_t sent;
	bool answered;
	char *answer_code;
	uint64_t answer_at;	/* bytes sent when the answer came */
	double probe_t0;	/* probe: its first connect attempt */
	bool tail_sent;		/* huge: the newline and a status */
	char *followup;		/* ... and the answer to that status */
	bool closed;
	double closed_after;
	uint64_t closed_at;
};

static struct {
	const char *path;
	int clients, stall, deaf, hold;
	uint64_t huge;
	double seconds, patience, probe;
	bool unpriv;
	unsigned seed;
} opt = {.clients = 0, .seconds = 10, .patience = 10};

static struct {
	uint64_t requests, expected, answers, batches, reconnects, hangups,
		connect_retries, long_lines;
	uint64_t mismatches, dropped, stuck, connect_failed;
	uint64_t codes[8];
	double lat_max, lat_sum;
	uint64_t held, refused_emfile, refused_ebusy, refused_other,
		hold_dropped;
	uint64_t probes, probes_bad;
	double probe_max;
} st;

static const char *code_names[8] = {"ok", "EINVAL", "EOPNOTSUPP", "ENOENT",
				    "EPERM", "E2BIG", "other", NULL};

static int ep;
static double t_start;
static volatile sig_atomic_t stopping;

/* SIGTERM ends the run early, with the summary all the same. */
static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned
rnd(unsigned n)
{
	return (unsigned)rand_r(&opt.seed) % n;
}

static void
watch(struct conn *c, bool out)
{
	struct epoll_event ev = {.data.ptr = c};

	/* The deaf never read; hang-ups reach them anyway. */
	ev.events = (c->kind == K_DEAF ? 0 : EPOLLIN) | (out ? EPOLLOUT : 0);
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->gen++;
	c->nout = c->outoff = c->nin = 0;
	c->nwant = c->got = 0;
}

static void
append(struct conn *c, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (c->nout + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 256;

		while (cap < c->nout + n)
			cap *= 2;
		c->out = realloc(c->out, cap);
		if (c->out == NULL) {
			perror("storm: realloc");
			exit(2);
		}
		c->outcap = cap;
	}
	memcpy(c->out + c->nout, s, n);
	c->nout += n;
}

/* Send what is queued.  Return: 0, or -1 when the daemon hung up. */
static int
flush(struct conn *c)
{
	while (c->outoff < c->nout) {
		ssize_t n = write(c->fd, c->out + c->outoff,
				  c->nout - c->outoff);

		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		c->outoff += (size_t)n;
		c->sent += (uint64_t)n;
	}
	if (c->outoff == c->nout)
		c->outoff = c->nout = 0;
	watch(c, c->nout > 0);
	return 0;
}

static void
start_batch(struct conn *c)
{
	int n = 1 + (int)rnd(BATCH_MAX);

	c->nwant = c->got = 0;
	if (rnd(1000) == 0) {
		/* A line past the limit, then a good one. */
		char *big = malloc(LONG_LINE);

		memset(big, 'x', LONG_LINE);
		append(c, big, LONG_LINE);
		append(c, "\n", 1);
		free(big);
		c->want[c->nwant++] = "E2BIG";
		st.long_lines++;
		st.requests++;
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		const struct req *r;

		do
			r = &mix[rnd(NMIX)];
		while (r->unpriv_only && !opt.unpriv);
		append(c, r->line, r->len ? r->len : strlen(r->line));
		append(c, "\n", 1);
		st.requests++;
		if ((opt.unpriv ? r->want_unpriv : r->want) != NULL)
			c->want[c->nwant++] = opt.unpriv ? r->want_unpriv
							 : r->want;
	}
	if (c->nwant == 0) {
		/* Only empty lines: nothing comes back; make it ask. */
		append(c, "{\"cmd\":\"version\"}\n", 18);
		st.requests++;
		c->want[c->nwant++] = "ok";
	}
	c->sent_at = now_s();
	st.expected += (uint64_t)c->nwant;
	st.batches++;
}

static int
conn_open(struct conn *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.data.ptr = c};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("storm: socket");
		exit(2);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", opt.path);
	if (c->kind == K_PROBE && c->probe_t0 == 0)
		c->probe_t0 = now_s();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		if (e == EAGAIN) {
			/* The listen backlog is full: come back soon. */
			st.connect_retries++;
			c->retry_at = now_s() + 0.005 + rnd(20) / 1000.;
			return 0;
		}
		fprintf(stderr, "storm: connect: %s\n", strerror(e));
		st.connect_failed++;
		c->done = true;
		c->retry_at = 0;
		return -1;
	}
	c->fd = fd;
	c->retry_at = 0;
	c->started = now_s();
	c->sent_at = c->started;
	ev.events = c->kind == K_DEAF ? 0 : EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	switch (c->kind) {
	case K_NORMAL:
		start_batch(c);
		break;
	case K_STALL:
		append(c, "{\"cmd\":\"sta", 11);
		break;
	case K_HOLD:
	case K_PROBE:
		append(c, "{\"cmd\":\"status\"}\n", 17);
		break;
	case K_HUGE:
	case K_DEAF:
		break;
	}
	return 0;
}

static void
count_code(const char *code)
{
	int i;

	for (i = 0; i < 6; i++)
		if (strcmp(code_names[i], code) == 0)
			break;
	st.codes[i]++;
}

/* The answer's kind: "ok" or its error code; NULL if it is not an answer
 * at all. */
static const char *
answer_kind(const char *line, size_t len, char *buf, size_t blen)
{
	json_t *o = json_loadb(line, len, 0, NULL), *ok, *err, *code, *msg;
	const char *kind = NULL;

	if (o == NULL)
		return NULL;
	ok = json_object_get(o, "ok");
	err = json_object_get(o, "error");
	code = json_object_get(err, "code");
	msg = json_object_get(err, "message");
	if (json_is_true(ok) && json_object_get(o, "result") != NULL) {
		kind = "ok";
	} else if (json_is_false(ok) && json_is_string(code) &&
		   json_is_string(msg) && json_string_length(msg) > 0) {
		snprintf(buf, blen, "%s", json_string_value(code));
		kind = buf;
	}
	json_decref(o);
	return kind;
}

static void
after_batch(struct conn *c)
{
	double t = now_s(), lat = t - c->sent_at;
	unsigned r;

	if (lat > st.lat_max)
		st.lat_max = lat;
	st.lat_sum += lat;
	if (t - t_start >= opt.seconds) {
		conn_close(c);
		c->done = true;
		return;
	}
	r = rnd(200);
	if (r < 4) {
		st.reconnects++;
		conn_close(c);
		conn_open(c);
	} else if (r == 4) {
		/* Hang up in the middle of a request. */
		(void)!write(c->fd, "{\"cmd\":\"rou", 11);
		st.hangups++;
		conn_close(c);
		conn_open(c);
	} else {
		start_batch(c);
	}
}

static void
probe_next(struct conn *c)
{
	conn_close(c);
	c->probe_t0 = 0;
	c->retry_at = now_s() + opt.probe;
}

static void
on_line(struct conn *c, const char *line, size_t len)
{
	char buf[64];
	const char *kind = answer_kind(line, len, buf, sizeof(buf));

	switch (c->kind) {
	case K_NORMAL:
		st.answers++;
		if (c->got >= c->nwant || kind == NULL ||
		    strcmp(kind, c->want[c->got]) != 0) {
			if (st.mismatches++ < 5)
				fprintf(stderr,
					"storm: wanted %s, got: %.300s\n",
					c->got < c->nwant ? c->want[c->got]
							  : "nothing",
					line);
		}
		if (kind != NULL)
			count_code(kind);
		if (++c->got >= c->nwant)
			after_batch(c);
		break;
	case K_PROBE:
		if (kind != NULL && strcmp(kind, "ok") == 0) {
			double lat = now_s() - c->probe_t0;

			st.probes++;
			if (getenv("STORM_DEBUG"))
				fprintf(stderr, "probe at %.1f: %.0f ms\n",
					c->probe_t0 - t_start, lat * 1000);
			if (lat > st.probe_max)
				st.probe_max = lat;
		} else {
			st.probes_bad++;
		}
		probe_next(c);
		break;
	case K_HOLD:
		if (c->answered)
			break;
		c->answered = true;
		if (kind != NULL && strcmp(kind, "ok") == 0)
			st.held++;
		else if (kind != NULL && strcmp(kind, "EMFILE") == 0)
			st.refused_emfile++;
		else if (kind != NULL && strcmp(kind, "EBUSY") == 0)
			st.refused_ebusy++;
		else
			st.refused_other++;
		break;
	default:
		if (!c->answered) {
			c->answered = true;
			c->answer_code = strdup(kind != NULL ? kind : "junk");
			c->answer_at = c->sent;
		} else if (c->followup == NULL) {
			c->followup = strdup(kind != NULL ? kind : "junk");
		}
		break;
	}
}

static void
on_hangup(struct conn *c)
{
	switch (c->kind) {
	case K_NORMAL:
		st.dropped++;
		fprintf(stderr, "storm: erouted dropped a client\n");
		break;
	case K_HOLD:
		if (!c->answered)
			st.hold_dropped++;
		break;
	case K_PROBE:
		fprintf(stderr, "storm: erouted dropped a probe\n");
		st.probes_bad++;
		probe_next(c);
		return;
	default:
		c->closed = true;
		c->closed_after = now_s() - c->started;
		c->closed_at = c->sent;
		break;
	}
	conn_close(c);
	c->done = true;
}

static void
on_readable(struct conn *c)
{
	for (;;) {
		ssize_t n;
		size_t start = 0;
		char *nl;

		if (c->nin == c->incap) {
			c->incap = c->incap ? c->incap * 2 : 4096;
			c->in = realloc(c->in, c->incap);
			if (c->in == NULL)
				exit(2);
		}
		n = read(c->fd, c->in + c->nin, c->incap - c->nin);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			on_hangup(c);
			return;
		}
		c->nin += (size_t)n;
		while ((nl = memchr(c->in + start, '\n', c->nin - start))) {
			unsigned gen = c->gen;

			on_line(c, c->in + start,
				(size_t)(nl - c->in) - start);
			/* Closed, or a reconnect started afresh. */
			if (c->gen != gen)
				return;
			start = (size_t)(nl - c->in) + 1;
		}
		memmove(c->in, c->in + start, c->nin - start);
		c->nin -= start;
	}
}

/* A write failed: the daemon hung up.  What it said before is read
 * first (the deaf excepted). */
static void
broken(struct conn *c)
{
	if (c->kind != K_DEAF)
		on_readable(c);
	if (c->fd >= 0)
		on_hangup(c);
}

/* The huge and the deaf keep the socket full. */
static void
feed(struct conn *c)
{
	static char junk[65536];
	static char reqs[4096];
	static size_t nreqs;

	if (junk[0] == '\0') {
		memset(junk, 'a', sizeof(junk));
		for (nreqs = 0; nreqs + 22 <= sizeof(reqs); nreqs += 22)
			memcpy(reqs + nreqs, "{\"cmd\":\"policy-list\"}\n", 22);
	}
	while (c->nout == 0) {
		if (c->kind == K_HUGE && c->sent >= opt.huge) {
			/* All of it went through: the line is over, and the
			 * connection must still answer. */
			if (!c->tail_sent)
				append(c, "\n{\"cmd\":\"status\"}\n", 18);
			c->tail_sent = true;
			break;
		}
		if (c->kind == K_HUGE)
			append(c, junk,
			       opt.huge - c->sent < sizeof(junk)
				       ? opt.huge - c->sent
				       : sizeof(junk));
		else
			append(c, reqs, nreqs);
		if (flush(c) < 0) {
			broken(c);
			return;
		}
		if (c->nout > 0)
			break;
	}
	if (c->fd >= 0 && flush(c) < 0)
		broken(c);
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: storm --socket PATH [--clients N] [--seconds S] "
		"[--unprivileged]\n"
		"             [--stall N] [--huge BYTES] [--deaf N] "
		"[--hold N] [--probe S] [--patience S] [--seed N]\n");
	exit(2);
}

static void
print_special(const char *name, struct conn *c, int n, bool last)
{
	printf("\"%s\":[", name);
	for (int i = 0; i < n; i++) {
		json_t *o = json_pack(
			"{s:s?, s:I, s:s?, s:b, s:f, s:I, s:I}", "answer",
			c[i].answer_code, "answer_at",
			(json_int_t)c[i].answer_at, "followup", c[i].followup,
			"closed", c[i].closed, "closed_after",
			c[i].closed_after, "closed_at",
			(json_int_t)c[i].closed_at, "sent",
			(json_int_t)c[i].sent);
		char *js = json_dumps(o, JSON_COMPACT);

		printf("%s%s", i ? "," : "", js);
		free(js);
		json_decref(o);
	}
	printf("]%s", last ? "" : ",");
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct rlimit rl;
	struct conn *conns;
	int total, live;

	opt.seed = (unsigned)getpid();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--unprivileged") == 0) {
			opt.unpriv = true;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--socket") == 0)
			opt.path = v;
		else if (strcmp(a, "--clients") == 0)
			opt.clients = atoi(v);
		else if (strcmp(a, "--seconds") == 0)
			opt.seconds = atof(v);
		else if (strcmp(a, "--patience") == 0)
			opt.patience = atof(v);
		else if (strcmp(a, "--stall") == 0)
			opt.stall = atoi(v);
		else if (strcmp(a, "--deaf") == 0)
			opt.deaf = atoi(v);
		else if (strcmp(a, "--hold") == 0)
			opt.hold = atoi(v);
		else if (strcmp(a, "--probe") == 0)
			opt.probe = atof(v);
		else if (strcmp(a, "--huge") == 0)
			opt.huge = strtoull(v, NULL, 10);
		else if (strcmp(a, "--seed") == 0)
			opt.seed = (unsigned)atoi(v);
		else
			usage();
	}
	if (opt.path == NULL)
		usage();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	total = opt.clients + opt.stall + opt.deaf + opt.hold +
		(opt.huge ? 1 : 0) + (opt.probe > 0 ? 1 : 0);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)total + 16) {
		fprintf(stderr, "storm: %d clients need more than the file "
				"limit of %llu\n", total,
			(unsigned long long)rl.rlim_cur);
		return 2;
	}
	conns = calloc((size_t)total + 1, sizeof(*conns));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (conns == NULL || ep < 0)
		return 2;
	t_start = now_s();
	for (int i = 0; i < total; i++) {
		struct conn *c = &conns[i];

		c->fd = -1;
		c->kind = i < opt.clients ? K_NORMAL
			  : i < opt.clients + opt.stall ? K_STALL
			  : i < opt.clients + opt.stall + opt.deaf ? K_DEAF
			  : i < opt.clients + opt.stall + opt.deaf + opt.hold
				  ? K_HOLD
			  : opt.huge && i == total - 1 - (opt.probe > 0)
				  ? K_HUGE
				  : K_PROBE;
		c->retry_at = t_start;
	}
	for (;;) {
		double t = now_s();
		int n;

		if (stopping)
			opt.seconds = t - t_start;
		live = 0;
		for (int i = 0; i < total; i++) {
			struct conn *c = &conns[i];

			if (c->done)
				continue;
			live++;
			if (c->retry_at != 0 && c->retry_at <= t) {
				bool ends = c->kind == K_NORMAL ||
					    c->kind == K_PROBE;

				if (ends && t - t_start >= opt.seconds) {
					c->done = true;
					continue;
				}
				conn_open(c);
			}
			if (c->fd < 0)
				continue;
			if ((c->kind == K_NORMAL || c->kind == K_PROBE) &&
			    t - c->sent_at > opt.patience) {
				st.stuck++;
				fprintf(stderr, "storm: a batch went "
						"unanswered for %.0fs\n",
					opt.patience);
				conn_close(c);
				c->done = true;
				continue;
			}
			if (c->kind != K_NORMAL &&
			    t - t_start >= opt.seconds) {
				conn_close(c);
				c->done = true;
				continue;
			}
			if (c->nout > 0 && c->outoff == 0 &&
			    (c->kind == K_NORMAL || c->kind == K_STALL ||
			     c->kind == K_HOLD || c->kind == K_PROBE) &&
			    flush(c) < 0)
				broken(c);
			else if ((c->kind == K_HUGE || c->kind == K_DEAF) &&
				 c->fd >= 0 && c->nout == 0)
				feed(c);
		}
		if (live == 0)
			break;
		n = epoll_wait(ep, evs, 256, 5);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c->fd < 0)
				continue;
			if (evs[i].events & EPOLLIN)
				on_readable(c);
			if (c->fd < 0)
				continue;
			if (evs[i].events & (EPOLLERR | EPOLLHUP) &&
			    !(evs[i].events & EPOLLIN)) {
				on_hangup(c);
				continue;
			}
			if (evs[i].events & EPOLLOUT) {
				if (c->kind == K_HUGE || c->kind == K_DEAF)
					feed(c);
				else if (flush(c) < 0)
					broken(c);
			}
		}
	}
	printf("{\"clients\":%d,\"seconds\":%.1f,\"requests\":%llu,"
	       "\"expected\":%llu,\"answers\":%llu,\"batches\":%llu,"
	       "\"reconnects\":%llu,"
	       "\"hangups\":%llu,\"long_lines\":%llu,"
	       "\"connect_retries\":%llu,\"mismatches\":%llu,"
	       "\"dropped\":%llu,\"stuck\":%llu,\"connect_failed\":%llu,"
	       "\"latency_max_ms\":%.1f,\"latency_mean_ms\":%.2f,"
	       "\"held\":%llu,\"refused_emfile\":%llu,\"refused_ebusy\":%llu,"
	       "\"refused_other\":%llu,\"hold_dropped\":%llu,"
	       "\"probes\":%llu,\"probes_bad\":%llu,\"probe_max_ms\":%.1f,"
	       "\"codes\":{",
	       opt.clients, now_s() - t_start,
	       (unsigned long long)st.requests,
	       (unsigned long long)st.expected, (unsigned long long)st.answers,
	       (unsigned long long)st.batches,
	       (unsigned long long)st.reconnects,
	       (unsigned long long)st.hangups,
	       (unsigned long long)st.long_lines,
	       (unsigned long long)st.connect_retries,
	       (unsigned long long)st.mismatches,
	       (unsigned long long)st.dropped, (unsigned long long)st.stuck,
	       (unsigned long long)st.connect_failed, st.lat_max * 1000,
	       st.batches ? st.lat_sum * 1000 / (double)st.batches : 0.,
	       (unsigned long long)st.held,
	       (unsigned long long)st.refused_emfile,
	       (unsigned long long)st.refused_ebusy,
	       (unsigned long long)st.refused_other,
	       (unsigned long long)st.hold_dropped,
	       (unsigned long long)st.probes,
	       (unsigned long long)st.probes_bad, st.probe_max * 1000);
	for (int i = 0; i < 7; i++)
		printf("%s\"%s\":%llu", i ? "," : "", code_names[i],
		       (unsigned long long)st.codes[i]);
	printf("},");
	print_special("stall", conns + opt.clients, opt.stall, false);
	print_special("deaf", conns + opt.clients + opt.stall, opt.deaf,
		      false);
	print_special("huge",
		      conns + opt.clients + opt.stall + opt.deaf + opt.hold,
		      opt.huge ? 1 : 0, true);
	printf("}\n");
	for (int i = 0; i < total; i++) {
		free(conns[i].in);
		free(conns[i].out);
		free(conns[i].answer_code);
		free(conns[i].followup);
	}
	free(conns);
	close(ep);
	return st.mismatches || st.dropped || st.stuck || st.connect_failed ||
			       st.probes_bad
		       ? 1
		       : 0;
}
