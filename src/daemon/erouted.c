// SPDX-License-Identifier: MIT
/*
 * erouted: the eroute daemon.  Reads the configuration, builds the engine
 * over a kernel backend, and runs a libev loop that turns the control
 * socket, kernel events, timers and signals into engine inputs.
 *
 * Time: the engine's clock is whole seconds of CLOCK_BOOTTIME (it keeps
 * counting through suspend, never jumps back), or, with --clock manual, a
 * number that only "eroute sim advance" moves.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <ifaddrs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "journal.h"
#include "daemon.h"
#include "negotiator.h"
#include "render.h"
#include "updown.h"
#ifdef EROUTE_HAVE_XFRM
#include "eroute/xfrm.h"
#endif

#define DEFAULT_CONFIG "/etc/eroute/eroute.conf"
#define DEFAULT_SOCKET "/run/eroute/erouted.sock"
#define DEFAULT_STATE_DIR "/var/lib/eroute"
#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

static const char usage_text[] =
	"Usage: erouted [OPTION]...\n"
	"The eroute daemon: keeps the kernel's IPsec policies and SAs right\n"
	"for the connections of an ipsec.conf-style configuration.\n"
	"\n"
	"  -f, --foreground          stay in the foreground, log to stderr\n"
	"  -c, --config FILE         configuration (default " DEFAULT_CONFIG ")\n"
	"      --check               check the configuration and exit: 0 if\n"
	"                            good, 1 with FILE:LINE: messages if not\n"
	"      --kernel sim|xfrm     kernel backend (default sim)\n"
	"      --negotiator sim|external\n"
	"                            who negotiates SAs (default sim)\n"
	"      --clock real|manual   manual: time moves only by\n"
	"                            'eroute sim advance' (sim kernel only)\n"
	"      --socket PATH         control socket (default $EROUTE_SOCKET or\n"
	"                            " DEFAULT_SOCKET ")\n"
	"      --socket-group GROUP  the socket's group, whose members may\n"
	"                            change things (default: erouted's own)\n"
	"      --state-dir DIR       journal directory (default "
	DEFAULT_STATE_DIR ")\n"
	"      --log-level LEVEL     error, warning, info (default) or debug\n"
	"      --updown-timeout SECS kill an updown call after SECS (default 30)\n"
	"  -h, --help                this text\n"
	"  -V, --version             the version\n"
	"\n"
	"Signals: SIGHUP reloads the configuration (a bad file changes\n"
	"nothing); SIGTERM and SIGINT shut down cleanly, removing eroute's\n"
	"policies unless keep-policies=yes.  See erouted(8).\n";

#define UPDOWN_TIMEOUT_DEFAULT 30

static uint64_t updown_timeout = UPDOWN_TIMEOUT_DEFAULT;

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;

	(void)loop;
	(void)revents;
	daemon_tick(d);
}

static void
kernel_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct daemon *d = w->data;

	(void)loop;
	(void)revents;
	daemon_settle(d);
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	struct er_err err = {0};

	(void)loop;
	(void)revents;
	if (w->signum == SIGHUP) {
		log_msg(ER_LOG_INFO, NULL, "SIGHUP: reloading");
		if (daemon_reload(d, &err, NULL) < 0)
			log_msg(ER_LOG_ERROR, NULL, "reload failed: %s",
				err.msg);
		return;
	}
	log_msg(ER_LOG_INFO, NULL, "signal %d: shutting down", w->signum);
	daemon_stop(d);
}

static void
drain_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	*(bool *)w->data = true;
	ev_break(loop, EVBREAK_ONE);
}

/*
 * libreswan runs down and unroute for each connection as it shuts down:
 * the updown calls er_engine_shutdown() queued run to their end, for at
 * most one updown timeout in all, before the lanes are torn down.  Nothing
 * else is listened to meanwhile: the control socket is gone and the
 * engine is stopped.
 */
static void
updown_drain(struct daemon *d)
{
	bool late = false;
	ev_timer t;

	if (updown_running(d->updown) == 0)
		return;
	control_free(d->control);
	d->control = NULL;
	ev_timer_stop(d->loop, &d->tick);
	ev_signal_stop(d->loop, &d->sighup);
	if (d->xfrm != NULL)
		ev_io_stop(d->loop, &d->kernel_io);
	ev_timer_init(&t, drain_timeout_cb, (double)updown_timeout, 0.);
	t.data = &late;
	ev_timer_start(d->loop, &t);
	while (!late && updown_running(d->updown) > 0)
		ev_run(d->loop, EVRUN_ONCE);
	ev_timer_stop(d->loop, &t);
	if (late)
		log_msg(ER_LOG_WARNING, NULL,
			"updown: %zu calls unfinished after %llus; "
			"killed",
			updown_running(d->updown),
			(unsigned long long)updown_timeout);
}

/* A group name, or a number. */
static int
group_parse(const char *s, gid_t *out)
{
	struct group *g = getgrnam(s);
	char *end;
	unsigned long n;

	if (g != NULL) {
		*out = g->gr_gid;
		return 0;
	}
	errno = 0;
	n = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || n >= (gid_t)-1)
		return -EINVAL;
	*out = (gid_t)n;
	return 0;
}

static int
parse_options(int argc, char **argv, struct daemon_options *o)
{
	enum {
		OPT_CHECK = 256,
		OPT_KERNEL,
		OPT_NEGOTIATOR,
		OPT_CLOCK,
		OPT_SOCKET,
		OPT_SOCKET_GROUP,
		OPT_STATE_DIR,
		OPT_LOG_LEVEL,
		OPT_UPDOWN_TIMEOUT,
	};
	static const struct option longopts[] = {
		{"foreground", no_argument, NULL, 'f'},
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, OPT_CHECK},
		{"kernel", required_argument, NULL, OPT_KERNEL},
		{"negotiator", required_argument, NULL, OPT_NEGOTIATOR},
		{"clock", required_argument, NULL, OPT_CLOCK},
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"socket-group", required_argument, NULL, OPT_SOCKET_GROUP},
		{"state-dir", required_argument, NULL, OPT_STATE_DIR},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"updown-timeout", required_argument, NULL,
		 OPT_UPDOWN_TIMEOUT},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *env = getenv("EROUTE_SOCKET");
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->config_path = DEFAULT_CONFIG;
	o->kernel = "sim";
	o->negotiator = NEGOTIATOR_SIM;
	o->clock = CLOCK_KIND_REAL;
	o->socket_path = env != NULL && *env != '\0' ? env : DEFAULT_SOCKET;
	o->socket_group = (gid_t)-1;
	o->state_dir = DEFAULT_STATE_DIR;
	o->log_level = ER_LOG_INFO;
	while ((c = getopt_long(argc, argv, "fc:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->foreground = true;
			break;
		case 'c':
			o->config_path = optarg;
			break;
		case OPT_CHECK:
			o->check_only = true;
			break;
		case OPT_KERNEL:
			if (strcmp(optarg, "sim") != 0 &&
			    strcmp(optarg, "xfrm") != 0) {
				fprintf(stderr, "erouted: --kernel: sim or "
						"xfrm, not \"%s\"\n", optarg);
				return 2;
			}
			o->kernel = optarg;
			break;
		case OPT_NEGOTIATOR:
			if (strcmp(optarg, "sim") == 0)
				o->negotiator = NEGOTIATOR_SIM;
			else if (strcmp(optarg, "external") == 0)
				o->negotiator = NEGOTIATOR_EXTERNAL;
			else {
				fprintf(stderr, "erouted: --negotiator: sim "
						"or external, not \"%s\"\n",
					optarg);
				return 2;
			}
			break;
		case OPT_CLOCK:
			if (strcmp(optarg, "real") == 0)
				o->clock = CLOCK_KIND_REAL;
			else if (strcmp(optarg, "manual") == 0)
				o->clock = CLOCK_KIND_MANUAL;
			else {
				fprintf(stderr, "erouted: --clock: real or "
						"manual, not \"%s\"\n", optarg);
				return 2;
			}
			break;
		case OPT_SOCKET:
			o->socket_path = optarg;
			break;
		case OPT_SOCKET_GROUP:
			if (group_parse(optarg, &o->socket_group) < 0) {
				fprintf(stderr, "erouted: --socket-group: no "
						"group \"%s\"\n", optarg);
				return 2;
			}
			break;
		case OPT_STATE_DIR:
			o->state_dir = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (log_level_parse(optarg, &o->log_level) < 0) {
				fprintf(stderr, "erouted: --log-level: error, "
						"warning, info or debug, not "
						"\"%s\"\n", optarg);
				return 2;
			}
			break;
		case OPT_UPDOWN_TIMEOUT:
			updown_timeout = strtoull(optarg, &end, 10);
			if (*end != '\0' || updown_timeout == 0 ||
			    updown_timeout > 86400) {
				fprintf(stderr, "erouted: --updown-timeout: "
						"seconds 1-86400\n");
				return 2;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf("erouted 0.1.0\n");
			exit(0);
		default:
			fprintf(stderr, "Try 'erouted --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "erouted: unexpected argument \"%s\"\n"
				"Try 'erouted --help'.\n", argv[optind]);
		return 2;
	}
	if (o->clock == CLOCK_KIND_MANUAL && strcmp(o->kernel, "sim") != 0) {
		fprintf(stderr, "erouted: --clock manual needs --kernel sim\n");
		return 2;
	}
	return 0;
}

static int
load_config(struct daemon *d)
{
	struct config_errors errs;
	int ret;

	config_errors_init(&errs);
	ret = config_load(d->opt.config_path, &daemon_config_options,
			  &d->config, &errs);
	if (ret < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "erouted: %s\n", errs.msgs[i]);
		if (errs.dropped)
			fprintf(stderr, "erouted: ... and %zu more errors\n",
				errs.dropped);
		if (errs.n == 0)
			fprintf(stderr, "erouted: %s: %s\n",
				d->opt.config_path, strerror(-ret));
	}
	config_errors_fini(&errs);
	return ret;
}

/* The directory a path lives in, made if missing. */
static int
make_parent(const char *path, mode_t mode)
{
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, mode) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

#ifdef EROUTE_HAVE_XFRM
static void
xfrm_log(void *ctx, int priority, const char *msg)
{
	(void)ctx;
	log_msg(priority <= LOG_ERR	  ? ER_LOG_ERROR
		: priority <= LOG_WARNING ? ER_LOG_WARNING
		: priority <= LOG_INFO	  ? ER_LOG_INFO
					  : ER_LOG_DEBUG,
		NULL, "%s", msg);
}
#endif

static const char *
journal_name(void *ctx, uint32_t owner)
{
	struct daemon *d = ctx;

	return d->engine != NULL ? er_engine_conn_name(d->engine, owner)
				 : NULL;
}

static int
keep_reqid(void *ctx, const struct er_selector *sel, uint32_t reqid)
{
	struct daemon *d = ctx;

	er_engine_reqid_reserve(d->engine, sel, reqid);
	return 0;
}

/*
 * Ours?  Both backends mark eroute's objects (XFRM: the marker, docs/xfrm.md;
 * the sim: its owner field), and then the mark alone decides: a policy that
 * another process replaced while erouted was down lost the mark and is
 * theirs now, whatever the journal remembers.  The journal decides only on
 * a backend that cannot mark.
 */
static bool
policy_is_ours(void *ctx, const struct er_policy *pol)
{
	struct daemon *d = ctx;
	bool marked = pol->owner != ER_OWNER_FOREIGN;
	bool journalled = d->journal != NULL &&
			  journal_owns_policy(d->journal, pol->dir, &pol->sel);
	char what[ER_SELECTOR_STRLEN + 16];

	if (d->sim == NULL && d->xfrm == NULL)
		return marked || journalled;
	if (journalled && !marked && d->adopting) {
		er_policy_describe(pol->dir, &pol->sel, what, sizeof(what));
		log_msg(ER_LOG_WARNING, NULL,
			"restart: %s is in the journal but carries no eroute "
			"marker: another process replaced it while erouted was "
			"down; it is theirs, left alone", what);
	}
	return marked;
}

static int
setup_kernel(struct daemon *d, uint64_t seed, struct er_err *err)
{
	if (strcmp(d->opt.kernel, "sim") == 0) {
		struct er_sim_config sc = {.seed = seed,
					   .now = daemon_now(d)};

		d->sim = er_sim_new(&sc);
		if (d->sim == NULL)
			return er_err_set(err, -ENOMEM, "out of memory");
		for (size_t i = 0; i < d->config->nconns; i++)
			if (d->config->conns[i].local.family != AF_UNSPEC)
				er_sim_add_local(d->sim,
						 &d->config->conns[i].local);
		d->kernel = er_sim_kernel(d->sim);
		return 0;
	}
#ifdef EROUTE_HAVE_XFRM
	{
		struct er_xfrm_config xc = {0};

		xc.log = xfrm_log;
		xc.log_ctx = d;
		d->xfrm = er_xfrm_new(&xc, err);
		if (d->xfrm == NULL)
			return err->code ? err->code : -EIO;
		d->kernel = er_xfrm_kernel(d->xfrm);
		ev_io_init(&d->kernel_io, kernel_io_cb, er_xfrm_event_fd(d->xfrm),
			   EV_READ);
		d->kernel_io.data = d;
		ev_io_start(d->loop, &d->kernel_io);
		return 0;
	}
#else
	(void)kernel_io_cb;
	return er_err_set(err, -EOPNOTSUPP,
			  "--kernel xfrm: this erouted was built without the "
			  "XFRM backend");
#endif
}

/* On the real kernel, acquires towards any address of this host are
 * refused, not only towards left= addresses. */
static void
host_addresses(struct er_engine_config *ec)
{
	static struct er_addr addrs[256];
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) != 0)
		return;
	for (i = ifa; i != NULL && n < 256; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		memset(&addrs[n], 0, sizeof(addrs[n]));
		if (i->ifa_addr->sa_family == AF_INET) {
			addrs[n].family = AF_INET;
			memcpy(addrs[n++].a,
			       &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
			       4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			addrs[n].family = AF_INET6;
			memcpy(addrs[n++].a,
			       &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
			       16);
		}
	}
	freeifaddrs(ifa);
	ec->local_addrs = addrs;
	ec->nlocal_addrs = n;
}

/* Room for every control client the socket takes, and then some: the
 * soft limit goes up towards the hard one.  Past it, the control socket
 * refuses newcomers with EMFILE. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want = CONTROL_CLIENTS_MAX + 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_msg(ER_LOG_WARNING, NULL, "cannot raise the file limit: %s",
			strerror(errno));
}

static int
run(struct daemon *d)
{
	struct er_engine_config ec = {0};
	struct er_err err = {0};
	char boot[80];
	uint64_t seed;
	int ret;

	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	d->loop = ev_default_loop(EVFLAG_AUTO);
	d->manual_now = 1;
	d->started = daemon_now(d);
	ret = setup_kernel(d, seed, &err);
	if (ret < 0) {
		log_msg(ER_LOG_ERROR, NULL, "%s", err.msg);
		return 1;
	}
	d->journal = journal_open(d->opt.state_dir,
				  journal_boot_id_read(BOOT_ID_PATH, boot,
						       sizeof(boot)),
				  &err);
	if (d->journal == NULL)
		log_msg(ER_LOG_WARNING, NULL,
			"journal: %s; eroute's objects are still known by "
			"their marker", err.msg);
	else
		d->kernel = journal_wrap(d->journal, d->kernel, journal_name,
					 d);
	if (d->journal != NULL && journal_set_aside(d->journal) != NULL)
		log_msg(ER_LOG_WARNING, NULL, "journal: %s",
			journal_set_aside(d->journal));
	if (d->xfrm != NULL)
		host_addresses(&ec);
	ec.kernel = d->kernel;
	ec.event_cb = daemon_engine_event;
	ec.event_ctx = d;
	ec.seed = seed;
	ec.now = daemon_now(d);
	ec.shunt_lifetime = d->config->setup.shunt_lifetime;
	ec.larval_timeout = d->config->setup.xfrm_lifetime;
	d->engine = er_engine_new(&ec, &err);
	d->negotiator =
		negotiator_new(d, d->opt.negotiator == NEGOTIATOR_EXTERNAL);
	d->updown = updown_new(d, updown_timeout);
	if (d->engine == NULL || d->negotiator == NULL || d->updown == NULL) {
		log_msg(ER_LOG_ERROR, NULL, "cannot start: %s",
			err.msg[0] ? err.msg : "out of memory");
		return 1;
	}
	/* Before the socket appears: whoever sees it may signal us at once,
	 * and a shell starts background jobs with SIGINT ignored. */
	ev_signal_init(&d->sighup, signal_cb, SIGHUP);
	ev_signal_init(&d->sigterm, signal_cb, SIGTERM);
	ev_signal_init(&d->sigint, signal_cb, SIGINT);
	d->sighup.data = d->sigterm.data = d->sigint.data = d;
	ev_signal_start(d->loop, &d->sighup);
	ev_signal_start(d->loop, &d->sigterm);
	ev_signal_start(d->loop, &d->sigint);
	if (make_parent(d->opt.socket_path, 0755) < 0)
		log_msg(ER_LOG_WARNING, NULL, "%s: cannot make its directory",
			d->opt.socket_path);
	raise_fd_limit();
	d->control = control_new(d, d->opt.socket_path, d->opt.socket_group,
				 &err);
	if (d->control == NULL) {
		log_msg(ER_LOG_ERROR, NULL, "%s", err.msg);
		return 1;
	}
	if (d->journal != NULL)
		journal_foreach_reqid(d->journal, keep_reqid, d);
	/* Reference 004: what a previous run left in the kernel is adopted,
	 * not added again. */
	d->adopting = true;
	if (er_engine_adopt_begin(d->engine, policy_is_ours, d, &err) < 0)
		log_msg(ER_LOG_ERROR, NULL, "restart: %s", err.msg);
	d->adopting = false;
	for (size_t i = 0; i < d->config->nconns; i++) {
		if (er_engine_conn_add(d->engine, &d->config->conns[i], &err) < 0)
			log_msg(ER_LOG_ERROR, d->config->conns[i].name, "%s",
				err.msg);
	}
	if (er_engine_adopt_finish(d->engine, NULL, &err) < 0)
		log_msg(ER_LOG_ERROR, NULL, "%s", err.msg);
	daemon_settle(d);
	log_msg(ER_LOG_INFO, NULL,
		"erouted started: %zu connections, kernel %s, negotiator %s, "
		"clock %s, socket %s",
		d->config->nconns, d->kernel.ops->name,
		d->opt.negotiator == NEGOTIATOR_SIM ? "sim" : "external",
		d->opt.clock == CLOCK_KIND_MANUAL ? "manual" : "real",
		d->opt.socket_path);

	if (d->opt.clock == CLOCK_KIND_REAL) {
		ev_timer_init(&d->tick, tick_cb, 1., 1.);
		d->tick.data = d;
		ev_timer_start(d->loop, &d->tick);
	}
	ev_run(d->loop, 0);

	if (d->config->setup.keep_policies) {
		log_msg(ER_LOG_INFO, NULL,
			"keep-policies=yes: leaving the kernel as it is");
	} else {
		log_msg(ER_LOG_INFO, NULL, "removing eroute's policies");
		er_engine_shutdown(d->engine);
		daemon_settle(d);
		updown_drain(d);
#ifdef EROUTE_HAVE_XFRM
		if (d->xfrm != NULL && er_xfrm_nd_bypass_remove(d->xfrm, &err) < 0)
			log_msg(ER_LOG_WARNING, NULL, "%s", err.msg);
#endif
	}
	return 0;
}

static void
cleanup(struct daemon *d)
{
	control_free(d->control);
	updown_free(d->updown);
	negotiator_free(d->negotiator);
	er_engine_free(d->engine);
	journal_close(d->journal);
	er_sim_free(d->sim);
#ifdef EROUTE_HAVE_XFRM
	er_xfrm_free(d->xfrm);
#endif
	config_free(d->config);
	if (d->loop != NULL)
		ev_loop_destroy(d->loop);
}

int
main(int argc, char **argv)
{
	struct daemon d = {0};
	int ret;

	ret = parse_options(argc, argv, &d.opt);
	if (ret != 0)
		return ret;
	if (load_config(&d) < 0)
		return 1;
	if (d.opt.check_only) {
		printf("%s: configuration OK (%zu connections)\n",
		       d.opt.config_path, d.config->nconns);
		config_free(d.config);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!d.opt.foreground && daemon(0, 0) != 0) {
		perror("erouted: daemon");
		return 1;
	}
	log_init(d.opt.foreground, d.opt.log_level);
	ret = run(&d);
	cleanup(&d);
	log_fini();
	return ret;
}
