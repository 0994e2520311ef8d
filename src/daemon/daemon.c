// SPDX-License-Identifier: MIT
/*
 * The daemon's core, apart from its process: how engine events fan out
 * (log, monitors, negotiator, updown), how kernel events, timers and the
 * manual clock drive the engine, and reload.  erouted.c owns the process
 * (options, startup, the event loop, signals); everything here works on a
 * struct daemon alone, so that the control commands can run without a
 * process around them (fuzz/fuzz_control.c does).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "daemon.h"
#include "journal.h"
#include "negotiator.h"
#include "render.h"
#include "updown.h"

uint64_t
daemon_now(const struct daemon *d)
{
	struct timespec ts;

	if (d->opt.clock == CLOCK_KIND_MANUAL)
		return d->manual_now;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

/* Everything the engine says goes to the log, the monitors, the
 * negotiator and the updown hook. */
void
daemon_engine_event(void *ctx, const struct er_event *ev)
{
	struct daemon *d = ctx;
	json_t *o;

	if (ev->type == ER_EV_LOG)
		log_msg(ev->level, ev->conn, "%s", ev->text);
	o = render_event(ev);
	if (o != NULL)
		control_publish(d->control, o);
	switch (ev->type) {
	case ER_EV_NEGOTIATE:
	case ER_EV_NEGOTIATE_CANCEL:
		if (d->negotiator != NULL)
			negotiator_on_event(d->negotiator, ev);
		break;
	case ER_EV_UPDOWN:
		if (d->updown != NULL)
			updown_on_event(d->updown, ev);
		break;
	default:
		break;
	}
}

/* Reference 001's SHUNT_PATIENCE: how long an unused bare pass shunt is
 * kept, in sweeps. */
#define SHUNT_PATIENCE_SWEEPS 15 / 2

static void
rescan(struct daemon *d)
{
	struct er_err err = {0};
	uint64_t interval = d->config->setup.expire_shunt_interval;

	d->last_rescan = daemon_now(d);
	if (er_engine_rescan(d->engine, interval * SHUNT_PATIENCE_SWEEPS,
			     &err) < 0)
		log_msg(ER_LOG_WARNING, NULL, "rescan: %s", err.msg);
	/* The kernel's policy counts against the engine's: one call; a
	 * resync's dumps only when they disagree.  Changes come as events,
	 * and lost events as ER_KEV_LOST: this only catches what slipped
	 * past both. */
	if (er_engine_verify(d->engine, &err) < 0)
		log_msg(ER_LOG_WARNING, NULL, "verify: %s", err.msg);
}

static void
drain_kernel(struct daemon *d)
{
	struct er_kernel_event kev;
	struct er_err err = {0};
	int n = 0;

	/* Bounded per call so one burst cannot starve the control socket;
	 * the rest waits for the next turn of the loop. */
	while (n++ < 100000 && er_kernel_poll_event(&d->kernel, &kev) == 1) {
		/* Many losses (a flush of policies and one of SAs, an
		 * overflow) make one resync, after the burst. */
		if (kev.type == ER_KEV_LOST) {
			d->resync_due = true;
			continue;
		}
		if (er_engine_kernel_event(d->engine, &kev, &err) < 0 &&
		    kev.type != ER_KEV_ACQUIRE)
			log_msg(ER_LOG_WARNING, NULL, "kernel event: %s",
				err.msg);
	}
	/* Events were lost: the kernel itself says what it holds. */
	if (d->resync_due) {
		d->resync_due = false;
		log_msg(ER_LOG_WARNING, NULL,
			"kernel events were lost (or the kernel was flushed): "
			"resyncing");
		if (er_engine_resync(d->engine, &err) < 0)
			log_msg(ER_LOG_WARNING, NULL, "%s", err.msg);
	}
}

void
daemon_tick(struct daemon *d)
{
	uint64_t now = daemon_now(d);

	/* The engine's clock first: what the kernel says next happened now,
	 * and is logged and published with this time. */
	er_engine_tick(d->engine, now);
	if (d->sim != NULL)
		er_sim_tick(d->sim, now);
	drain_kernel(d);
	negotiator_tick(d->negotiator, now);
	/* Every expire-shunt-interval: lost acquires and idle shunts. */
	if (now >= d->last_rescan + d->config->setup.expire_shunt_interval)
		rescan(d);
	daemon_settle(d);
}

void
daemon_settle(struct daemon *d)
{
	drain_kernel(d);
	if (d->journal != NULL && journal_sync(d->journal) < 0)
		log_msg(ER_LOG_ERROR, NULL, "journal: cannot sync: %s",
			strerror(errno));
}

static uint64_t
next_deadline(struct daemon *d)
{
	uint64_t best = 0, t[4];

	t[0] = er_engine_next_deadline(d->engine);
	t[1] = negotiator_next_deadline(d->negotiator);
	t[2] = d->sim != NULL ? er_sim_next_deadline(d->sim) : 0;
	/* The sweep of idle shunts and lost acquires is due too. */
	t[3] = d->last_rescan + d->config->setup.expire_shunt_interval;
	for (int i = 0; i < 4; i++) {
		if (t[i] != 0 && (best == 0 || t[i] < best))
			best = t[i];
	}
	return best;
}

void
daemon_advance(struct daemon *d, uint64_t target)
{
	/* Stop at every deadline on the way: expiries fire once each, in
	 * order, however far the clock jumps. */
	for (unsigned i = 0; i < 1000000; i++) {
		uint64_t next = next_deadline(d);

		if (next == 0 || next > target)
			break;
		if (next <= d->manual_now) {
			daemon_tick(d);
			if (next_deadline(d) == next)
				break;	/* nothing moved: do not spin */
			continue;
		}
		d->manual_now = next;
		daemon_tick(d);
	}
	d->manual_now = target;
	daemon_tick(d);
}

static void
log_config_errors(const struct config_errors *errs, const char *prefix)
{
	for (size_t i = 0; i < errs->n; i++)
		log_msg(ER_LOG_ERROR, NULL, "%s%s", prefix, errs->msgs[i]);
	if (errs->dropped)
		log_msg(ER_LOG_ERROR, NULL, "%s... and %zu more errors", prefix,
			errs->dropped);
}

static json_t *
names_json(const char **names, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(names[i]));
	return a;
}

/*
 * left=%defaultroute: the source address the kernel would pick towards a
 * documentation address.  connect() on a UDP socket only looks the route
 * up; nothing is sent.
 */
static int
defaultroute(void *ctx, int family, struct er_addr *out)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fams[2] = {family, AF_UNSPEC};

	(void)ctx;
	if (family == AF_UNSPEC) {
		fams[0] = AF_INET;
		fams[1] = AF_INET6;
	}
	for (int i = 0; i < 2 && fams[i] != AF_UNSPEC; i++) {
		int fd = socket(fams[i], SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in sin = {.sin_family = AF_INET,
					  .sin_port = htons(9)};
		struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6,
					    .sin6_port = htons(9)};
		int ok;

		if (fd < 0)
			continue;
		inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
		inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
		ok = fams[i] == AF_INET
			     ? connect(fd, (struct sockaddr *)&sin, sizeof(sin))
			     : connect(fd, (struct sockaddr *)&sin6,
				       sizeof(sin6));
		len = sizeof(ss);
		if (ok == 0 &&
		    getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
			close(fd);
			memset(out, 0, sizeof(*out));
			out->family = (uint8_t)fams[i];
			if (fams[i] == AF_INET)
				memcpy(out->a,
				       &((struct sockaddr_in *)&ss)->sin_addr, 4);
			else
				memcpy(out->a,
				       &((struct sockaddr_in6 *)&ss)->sin6_addr,
				       16);
			return 0;
		}
		close(fd);
	}
	return -ENETUNREACH;
}

const struct config_options daemon_config_options = {
	.defaultroute = defaultroute,
};

int
daemon_reload(struct daemon *d, struct er_err *err, void **result)
{
	struct config *cfg = NULL;
	struct config_errors errs;
	struct config_diff diff = {0};
	struct er_err e2 = {0};
	int ret;

	config_errors_init(&errs);
	ret = config_load(d->opt.config_path, &daemon_config_options, &cfg, &errs);
	if (ret < 0) {
		log_config_errors(&errs, "reload: ");
		er_err_set(err, ret,
			   "%s%s; the running configuration stays",
			   errs.n ? errs.msgs[0] : d->opt.config_path,
			   errs.n + errs.dropped > 1 ? " (and more, see the log)"
						      : "");
		config_errors_fini(&errs);
		return ret;
	}
	config_errors_fini(&errs);
	ret = config_diff(d->config, cfg, &diff);
	if (ret < 0) {
		config_free(cfg);
		return er_err_set(err, ret, "out of memory");
	}
	er_engine_set_shunt_lifetime(d->engine, cfg->setup.shunt_lifetime);
	for (size_t i = 0; i < diff.nremoved; i++) {
		if (er_engine_conn_del(d->engine, diff.removed[i], &e2) < 0)
			log_msg(ER_LOG_WARNING, diff.removed[i], "reload: %s",
				e2.msg);
	}
	for (size_t i = 0; i < diff.nchanged; i++) {
		if (er_engine_conn_replace(d->engine,
					   config_conn_lookup(cfg, diff.changed[i]),
					   &e2) < 0)
			log_msg(ER_LOG_ERROR, diff.changed[i], "reload: %s",
				e2.msg);
	}
	for (size_t i = 0; i < diff.nadded; i++) {
		if (er_engine_conn_add(d->engine,
				       config_conn_lookup(cfg, diff.added[i]),
				       &e2) < 0)
			log_msg(ER_LOG_ERROR, diff.added[i], "reload: %s",
				e2.msg);
	}
	if (result != NULL)
		*result = json_pack("{s:o, s:o, s:o}", "added",
				    names_json(diff.added, diff.nadded),
				    "removed",
				    names_json(diff.removed, diff.nremoved),
				    "changed",
				    names_json(diff.changed, diff.nchanged));
	log_msg(ER_LOG_INFO, NULL,
		"reloaded %s: %zu added, %zu removed, %zu changed",
		d->opt.config_path, diff.nadded, diff.nremoved, diff.nchanged);
	/* The names in the diff point into both configurations. */
	config_diff_fini(&diff);
	config_free(d->config);
	d->config = cfg;
	daemon_settle(d);
	return 0;
}

void
daemon_stop(struct daemon *d)
{
	d->stopping = true;
	ev_break(d->loop, EVBREAK_ALL);
}
