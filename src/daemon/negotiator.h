/* SPDX-License-Identifier: MIT */
/*
 * Negotiators: who answers the engine's "please negotiate".
 *
 * sim       answers only when told (eroute sim negotiate NAME ok|fail), and
 *           fails a negotiation whose connection's retransmit-timeout
 *           passes without an answer, as a silent peer would.
 * external  an IKE daemon registered on the control socket gets every
 *           request as a JSON line and answers with negotiation-result;
 *           requests made while none is registered wait for one.
 */
#ifndef EROUTED_NEGOTIATOR_H
#define EROUTED_NEGOTIATOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "eroute/engine.h"

struct daemon;
struct negotiator;

struct negotiator *negotiator_new(struct daemon *d, bool external);
void negotiator_free(struct negotiator *n);

/**
 * negotiator_on_event - the engine asked for (or cancelled) a negotiation
 */
void negotiator_on_event(struct negotiator *n, const struct er_event *ev);

/**
 * negotiator_tick - fail negotiations whose retransmit timeout passed
 */
void negotiator_tick(struct negotiator *n, uint64_t now);

/**
 * negotiator_next_deadline - the earliest such timeout, or 0
 */
uint64_t negotiator_next_deadline(const struct negotiator *n);

/**
 * negotiator_sim_resolve - resolve @name's oldest pending negotiation;
 *	@ok with none pending stands for the peer initiating
 */
int negotiator_sim_resolve(struct negotiator *n, const char *name, bool ok,
			   struct er_err *err);

/**
 * negotiator_external_attached - a negotiator registered: send it every
 *	request still waiting
 */
void negotiator_external_attached(struct negotiator *n);

/**
 * negotiator_spec_parse - an SA group from a request's fields: "spi_out"
 *	(required), "spi_in", "proto", "lifetime", "enc_alg", "enc_key",
 *	"integ_alg", "integ_key" (keys in hex)
 */
int negotiator_spec_parse(json_t *req, struct er_sa_group_spec *spec,
			  struct er_err *err);

#endif
