// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the control protocol: the input is the lines a
 * client sends, and each runs, as erouted runs it, against a fresh daemon
 * core -- an engine on the simulated kernel with a manual clock, the sim
 * negotiator and a small configuration (west, a net-to-net tunnel; oe, an
 * opportunistic group; exceptions that pass and drop; an IPv6
 * host-to-host transport).  Nothing but the input drives it: no socket,
 * no real clock, a fixed seed, so every run of an input is the same.
 *
 * Besides crashes, leaks and undefined behaviour it checks, for every
 * line: that command_request_parse() refuses an unprivileged peer exactly
 * the commands that need privilege; that every request gets an answer
 * that is one line of JSON (jansson refuses to build one around text that
 * is not UTF-8, and the client would wait for ever); that the engine's
 * invariants (er_engine_check()) hold after it; and that nothing erouted
 * logs on the way carries a control character (a newline in a log line
 * forges the next one).
 *
 *   make fuzz FUZZ_TARGETS=control, or by hand:
 *   build-fuzz/fuzz/fuzz_control -dict=fuzz/control.dict DIR
 *   FUZZ_CONTROL_TRACE=1 build/fuzz/fuzz_control FILE	(the dialogue)
 */
#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>
#include <wctype.h>

#include "command.h"
#include "daemon.h"
#include "negotiator.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Requests per input: enough for any story, few enough to stay fast. */
#define LINES_MAX 64

/*
 * shuntlifetime=30d: v6 (auto=start, a peer that never answers) revives
 * after every failure shunt, so with 15m a ten-year sim-advance is 350 000
 * revivals -- right, but a minute of ASan per input, which libFuzzer
 * would call a hang.
 */
static const char config_text[] =
	"config setup\n"
	"\tshuntlifetime=30d\n"
	"\texpire-shunt-interval=20s\n"
	"\n"
	"conn %default\n"
	"\tleft=192.0.2.10\n"
	"\tkeyingtries=2\n"
	"\tretransmit-timeout=30s\n"
	"\n"
	"conn west\n"
	"\tright=198.51.100.20\n"
	"\tleftsubnet=10.1.0.0/16\n"
	"\trightsubnet=10.2.0.0/16\n"
	"\tsalifetime=1h\n"
	"\trekeymargin=5m\n"
	"\tauto=route\n"
	"\tfailureshunt=drop\n"
	"\n"
	"conn east\n"
	"\tright=198.51.100.30\n"
	"\tleftsubnet=10.1.0.0/16\n"
	"\trightsubnet=10.3.0.0/16\n"
	"\trightprotoport=tcp/443\n"
	"\tauto=add\n"
	"\n"
	"conn oe\n"
	"\tright=%opportunisticgroup\n"
	"\trightsubnet=203.0.113.0/24\n"
	"\tauthby=null\n"
	"\tnegotiationshunt=passthrough\n"
	"\tfailureshunt=passthrough\n"
	"\tauto=ondemand\n"
	"\n"
	"conn clear\n"
	"\tright=%any\n"
	"\trightsubnet=203.0.113.53/32\n"
	"\ttype=passthrough\n"
	"\tauto=route\n"
	"\n"
	"conn block\n"
	"\tright=%any\n"
	"\trightsubnet=198.51.100.128/25\n"
	"\ttype=drop\n"
	"\tauto=route\n"
	"\n"
	"conn v6\n"
	"\tleft=2001:db8::1\n"
	"\tright=2001:db8::2\n"
	"\ttype=transport\n"
	"\tauto=start\n";

/* The configuration as a file, for config_load() and reload. */
static char config_path[] = "/tmp/eroute-fuzz-control-XXXXXX";
static struct ev_loop *loop;
static bool trace;	/* FUZZ_CONTROL_TRACE=1: print requests, answers */

static void
config_file_remove(void)
{
	unlink(config_path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd = mkstemp(config_path);
	size_t len = sizeof(config_text) - 1;

	(void)argc;
	(void)argv;
	if (fd < 0 || write(fd, config_text, len) != (ssize_t)len ||
	    close(fd) != 0) {
		perror("fuzz_control: the configuration file");
		abort();
	}
	atexit(config_file_remove);
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) {
		perror("fuzz_control: the C.UTF-8 locale");
		abort();
	}
	loop = ev_default_loop(EVFLAG_AUTO);
	trace = getenv("FUZZ_CONTROL_TRACE") != NULL;
	return 0;
}

/*
 * One line of UTF-8 text, else abort: log files and syslog split on
 * newlines, terminals act on escapes, and jansson refuses what is not
 * UTF-8.  Decoded with mbrtowc(), not with eroute's own decoder.
 */
static void
check_text(const char *what, const char *s)
{
	size_t n = strlen(s), len;
	mbstate_t st;
	wchar_t wc;

	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < n; i += len) {
		len = mbrtowc(&wc, s + i, n - i, &st);
		if (len == (size_t)-1 || len == (size_t)-2 || len == 0 ||
		    iswcntrl((wint_t)wc)) {
			fprintf(stderr, "%s is not one line of text: %s\n",
				what, s);
			abort();
		}
	}
}

/* erouted's log, here a sink that checks every line. */
void
log_msg(enum er_log_level level, const char *conn, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (conn != NULL)
		check_text("a log line's connection", conn);
	check_text("a log line", line);
	if (trace)
		fprintf(stderr, "  log: %s%s%s\n", conn != NULL ? conn : "",
			conn != NULL ? ": " : "", line);
}

static void
check_engine(const struct daemon *d, const char *after)
{
	char why[256];

	if (er_engine_check(d->engine, why, sizeof(why)) != 0) {
		fprintf(stderr, "engine invariant broken after %s: %s\n",
			after, why);
		abort();
	}
}

/* What erouted's run() does before its loop, without the process. */
static int
daemon_up(struct daemon *d)
{
	struct er_engine_config ec = {0};
	/* A short event queue: fast to allocate for every input, and one
	 * that can overflow (a lost event, then a rescan) is fuzzed too. */
	struct er_sim_config sc = {.seed = 1, .now = 1, .max_events = 256};
	struct er_err err = {0};
	struct config_errors errs;

	memset(d, 0, sizeof(*d));
	d->opt.config_path = config_path;
	d->opt.kernel = "sim";
	d->opt.negotiator = NEGOTIATOR_SIM;
	d->opt.clock = CLOCK_KIND_MANUAL;
	d->loop = loop;
	d->manual_now = 1;
	d->started = 1;
	config_errors_init(&errs);
	if (config_load(config_path, &daemon_config_options, &d->config,
			&errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "fuzz_control: %s\n", errs.msgs[i]);
		abort();
	}
	config_errors_fini(&errs);
	d->sim = er_sim_new(&sc);
	if (d->sim == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < d->config->nconns; i++)
		if (d->config->conns[i].local.family != AF_UNSPEC)
			er_sim_add_local(d->sim, &d->config->conns[i].local);
	d->kernel = er_sim_kernel(d->sim);
	ec.kernel = d->kernel;
	ec.event_cb = daemon_engine_event;
	ec.event_ctx = d;
	ec.seed = 1;
	ec.now = 1;
	ec.shunt_lifetime = d->config->setup.shunt_lifetime;
	ec.larval_timeout = d->config->setup.xfrm_lifetime;
	d->engine = er_engine_new(&ec, &err);
	d->negotiator = negotiator_new(d, false);
	if (d->engine == NULL || d->negotiator == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < d->config->nconns; i++) {
		if (er_engine_conn_add(d->engine, &d->config->conns[i], &err) <
		    0) {
			fprintf(stderr, "fuzz_control: %s: %s\n",
				d->config->conns[i].name, err.msg);
			abort();
		}
	}
	daemon_settle(d);
	check_engine(d, "start");
	return 0;
}

static int
count_one(void *ctx, const void *obj)
{
	(void)obj;
	(*(size_t *)ctx)++;
	return 0;
}

static int
count_policy(void *ctx, const struct er_policy *p)
{
	return count_one(ctx, p);
}

static int
count_sa(void *ctx, const struct er_sa *sa)
{
	/* Dead SAs are gone but for their tombstone. */
	return sa->state == ER_SA_DEAD ? 0 : count_one(ctx, sa);
}

static void
daemon_down(struct daemon *d)
{
	size_t npol = 0, nsa = 0;

	if (d->engine != NULL) {
		er_engine_shutdown(d->engine);
		daemon_settle(d);
		check_engine(d, "shutdown");
		/* A clean exit leaves nothing of eroute's in the kernel. */
		er_kernel_policy_dump(&d->kernel, count_policy, &npol, NULL);
		er_kernel_sa_dump(&d->kernel, count_sa, &nsa, NULL);
		if (npol != 0 || nsa != 0) {
			fprintf(stderr, "shutdown left %zu policies and %zu "
					"SAs in the kernel\n",
				npol, nsa);
			abort();
		}
	}
	negotiator_free(d->negotiator);
	er_engine_free(d->engine);
	er_sim_free(d->sim);
	config_free(d->config);
}

/* One request line, as control.c's handle_line() runs it. */
static void
request(struct daemon *d, const char *line, size_t len)
{
	const struct command *cmd = NULL, *ucmd = NULL;
	json_t *req = NULL, *ureq = NULL, *result = NULL, *answer;
	struct er_err err = {0}, uerr = {0};
	char *text;
	int ret, uret;

	ret = command_request_parse(line, len, true, 0, &req, &cmd, &err);
	uret = command_request_parse(line, len, false, 65534, &ureq, &ucmd,
				     &uerr);
	/* An unprivileged peer: the same, but EPERM for what changes
	 * anything. */
	if ((ret == 0) != (cmd != NULL && req != NULL) ||
	    (ret == 0 && cmd->privileged &&
	     (uret != -EPERM || ucmd != NULL || ureq != NULL)) ||
	    (ret == 0 && !cmd->privileged && (uret != 0 || ucmd != cmd)) ||
	    (ret != 0 && (uret != ret || strcmp(err.msg, uerr.msg) != 0)))
		abort();
	json_decref(ureq);
	/* monitor and negotiator-register belong to the socket layer. */
	if (ret == 0 && cmd->fn != NULL)
		ret = cmd->fn(d, req, &result, &err);
	json_decref(req);
	if (ret < 0)
		check_text("an error message", err.msg);
	answer = command_answer(ret, result, &err);
	text = answer != NULL ? json_dumps(answer, JSON_COMPACT) : NULL;
	if (text == NULL || strchr(text, '\n') != NULL) {
		fprintf(stderr, "no answer line for \"%.*s\" (%d: %s)\n",
			(int)len, line, ret, err.msg);
		abort();
	}
	if (trace)
		fprintf(stderr, "> %.*s\n< %s\n", (int)len, line, text);
	free(text);
	json_decref(answer);
	daemon_settle(d);
	check_engine(d, "a request");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size;
	struct daemon d;
	size_t n = 0;

	if (daemon_up(&d) == 0) {
		while (s < end && n++ < LINES_MAX) {
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			size_t len = (size_t)((nl != NULL ? nl : end) - s);

			/* As the socket layer: empty lines are no request. */
			if (len > 0)
				request(&d, s, len);
			s = nl != NULL ? nl + 1 : end;
		}
	}
	daemon_down(&d);
	return 0;
}
