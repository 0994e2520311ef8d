/* SPDX-License-Identifier: MIT */
/*
 * The updown hook: leftupdown= runs once per engine updown event, with
 * libreswan's verbs and PLUTO_* variables, asynchronously, one call at a
 * time per connection and in the order the engine emitted them.  A call
 * that outlives its timeout is killed (its whole process group); what it
 * prints is logged, up to a bound; its exit status is logged when not 0.
 * Nothing a script does stalls the daemon.
 */
#ifndef EROUTED_UPDOWN_H
#define EROUTED_UPDOWN_H

#include <stdint.h>

#include "eroute/engine.h"

#define UPDOWN_LOG_MAX 4096	/* bytes of a script's output logged */

struct daemon;
struct updown;

struct updown *updown_new(struct daemon *d, uint64_t timeout_secs);
void updown_free(struct updown *u);

/**
 * updown_on_event - queue the script call an ER_EV_UPDOWN event asks for
 */
void updown_on_event(struct updown *u, const struct er_event *ev);

/**
 * updown_verb - libreswan's verb: "route-client", "up-host",
 *	"down-client-v6", ...  Host-to-host connections (both clients are
 *	their hosts) use -host, IPv6 ones add -v6.
 */
void updown_verb(const struct er_event *ev, char *buf, size_t len);

/**
 * updown_running - calls queued or running (for tests and shutdown)
 */
size_t updown_running(const struct updown *u);

#endif
