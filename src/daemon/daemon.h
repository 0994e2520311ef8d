/* SPDX-License-Identifier: MIT */
/*
 * erouted's shared state.  The daemon is thin: it turns I/O (the control
 * socket, kernel events, timers, signals, child processes) into engine
 * inputs and engine outputs into I/O.  Each module keeps its own state in
 * its own struct; this one ties them together and is passed around.
 */
#ifndef EROUTED_DAEMON_H
#define EROUTED_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "eroute/engine.h"
#include "eroute/sim.h"

#include "config.h"
#include "log.h"

struct control;
struct updown;
struct negotiator;
struct journal;
struct er_xfrm;

enum clock_kind {
	CLOCK_KIND_REAL,
	CLOCK_KIND_MANUAL,
};

enum negotiator_kind {
	NEGOTIATOR_SIM,
	NEGOTIATOR_EXTERNAL,
};

struct daemon_options {
	bool foreground;
	const char *config_path;
	const char *kernel;		/* "sim" or "xfrm" */
	enum negotiator_kind negotiator;
	enum clock_kind clock;
	const char *socket_path;
	gid_t socket_group;		/* (gid_t)-1: the daemon's own */
	const char *state_dir;
	enum er_log_level log_level;
	bool check_only;
};

struct daemon {
	struct daemon_options opt;
	struct ev_loop *loop;
	struct config *config;
	struct er_engine *engine;
	struct er_kernel kernel;
	struct er_sim *sim;		/* when --kernel sim */
	struct er_xfrm *xfrm;		/* when --kernel xfrm */
	uint64_t manual_now;		/* --clock manual */
	uint64_t started;		/* engine time at start */
	struct control *control;
	struct updown *updown;
	struct negotiator *negotiator;
	struct journal *journal;
	ev_timer tick;
	ev_io kernel_io;
	ev_signal sighup, sigterm, sigint;
	bool stopping;
	bool resync_due;		/* kernel events were lost */
	bool adopting;			/* reading the kernel at start */
	uint64_t last_rescan;
	int exit_code;
};

/* How the configuration is read: left=%defaultroute from the routing
 * table. */
extern const struct config_options daemon_config_options;

/**
 * daemon_now - the engine's clock: seconds of CLOCK_BOOTTIME, or the
 *	manual clock
 */
uint64_t daemon_now(const struct daemon *d);

/**
 * daemon_engine_event - the engine's event callback (@ctx is the daemon):
 *	to the log, the monitors, the negotiator and the updown hook
 */
void daemon_engine_event(void *ctx, const struct er_event *ev);

/**
 * daemon_tick - the clock moved: kernel, engine and negotiator timers,
 *	and the rescan every expire-shunt-interval
 */
void daemon_tick(struct daemon *d);

/**
 * daemon_settle - after any input: feed queued kernel events to the
 *	engine, run timers that are due, re-arm the tick
 */
void daemon_settle(struct daemon *d);

/**
 * daemon_advance - move the manual clock to @target, stopping at every
 *	deadline on the way so each expiry fires once, in order
 */
void daemon_advance(struct daemon *d, uint64_t target);

/**
 * daemon_reload - read the configuration again and apply what changed;
 *	on error the running configuration stays.  @result gets the added,
 *	removed and changed names (a JSON object, new reference) or NULL.
 */
int daemon_reload(struct daemon *d, struct er_err *err, void **result);

/**
 * daemon_stop - leave the loop; a clean shutdown follows
 */
void daemon_stop(struct daemon *d);

#endif
