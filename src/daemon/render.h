/* SPDX-License-Identifier: MIT */
/*
 * JSON forms of the engine's objects: the one printer behind every list,
 * status and monitor answer, so a policy reads the same wherever it shows.
 * Prefixes are "addr/len", protocols a name, a number or "any", ports a
 * number, a "lo-hi" range or null.
 */
#ifndef EROUTED_RENDER_H
#define EROUTED_RENDER_H

#include <jansson.h>

#include "eroute/engine.h"
#include "eroute/sim.h"

json_t *render_prefix(const struct er_prefix *p);
json_t *render_proto(uint8_t proto);
json_t *render_ports(const struct er_port_range *r);
json_t *render_spi(uint32_t spi);

/**
 * render_policy - {"dir","src","dst","proto","sport","dport","priority",
 *	"action","owner","reqid"}; @owner is a name, or NULL for bare
 */
json_t *render_policy(const struct er_policy *p, const char *owner);

/**
 * render_sa - {"src","dst","proto","spi","reqid","state","owner"}
 */
json_t *render_sa(const struct er_sa *sa, const char *owner);

/**
 * render_shunt - {"src","dst","proto","action","origin","expires_in",...}
 */
json_t *render_shunt(const struct er_shunt *s, uint64_t now);

/**
 * render_conn - a status entry
 */
json_t *render_conn(const struct er_conn_info *info, uint64_t now);

/**
 * render_event - an engine event for monitor subscribers, or NULL for
 *	events that are not shown
 */
json_t *render_event(const struct er_event *ev);

/**
 * render_sim_result - {"verdict","policy","acquire","spi"}
 */
json_t *render_sim_result(const struct er_sim_result *r, const char *owner);

#endif
