/* SPDX-License-Identifier: MIT */
/*
 * Connection descriptions: what a connection asks of the policy plane.
 *
 * A connection joins a local and a remote client (subnet) between a local
 * and a remote host, optionally narrowed to a protocol and ports.  Its type
 * says what its policy does (protect with IPsec, or pass / drop / reject);
 * auto says what happens when it is added; the shunts say what its
 * traffic meets while it negotiates and after it fails.
 *
 * An opportunistic group (right=%opportunisticgroup) has several remote
 * prefixes, one trap over each, and no peer of its own: an acquire inside
 * it creates an instance for the single peer address, named
 * "GROUP#ADDR/32", which negotiates with that peer.  Every other connection
 * has exactly one remote client; ipsec.conf's "{a b}" subnets are expanded
 * by the configuration reader into one connection per combination.
 */
#ifndef EROUTE_CONN_H
#define EROUTE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/addr.h"
#include "eroute/err.h"
#include "eroute/selector.h"
#include "eroute/spd.h"

#pragma GCC visibility push(default)

#define ER_CONN_NAME_MAX 128
#define ER_UPDOWN_MAX 256
#define ER_CONN_GROUP_MAX 4096	/* remote prefixes of one group */

enum er_conn_type {
	ER_CONN_TUNNEL,
	ER_CONN_TRANSPORT,
	ER_CONN_PASSTHROUGH,
	ER_CONN_DROP,
	ER_CONN_REJECT,
};

enum er_auto {
	ER_AUTO_IGNORE,
	ER_AUTO_ADD,
	ER_AUTO_ONDEMAND,	/* "route" is its alias */
	ER_AUTO_START,
};

enum er_negshunt {
	ER_NEGSHUNT_HOLD,
	ER_NEGSHUNT_PASS,
};

enum er_failshunt {
	ER_FAILSHUNT_NONE,	/* no shunt of its own: held (see README) */
	ER_FAILSHUNT_PASS,
	ER_FAILSHUNT_DROP,
	ER_FAILSHUNT_REJECT,
};

struct er_conn_config {
	char name[ER_CONN_NAME_MAX];
	struct er_addr local, remote;	/* remote may be %any */
	struct er_prefix local_client;
	/* One remote client; an opportunistic group may have more. */
	const struct er_prefix *remote_clients;
	size_t nremote;
	uint8_t proto;			/* 0 = any */
	struct er_port_range local_ports, remote_ports;
	enum er_conn_type type;
	enum er_auto autostart;
	enum er_negshunt negshunt;
	enum er_failshunt failshunt;
	uint32_t keyingtries;		/* 0 = %forever */
	uint64_t retransmit_timeout;	/* seconds */
	uint64_t ike_lifetime;		/* seconds */
	uint64_t sa_lifetime;		/* seconds: hard SA lifetime */
	uint64_t rekey_margin;		/* seconds before hard: soft lifetime */
	uint32_t priority;		/* 0 = computed */
	uint32_t reqid;			/* 0 = allocated by the engine */
	bool opportunistic;		/* authby=null */
	bool group;			/* right=%opportunisticgroup */
	char updown[ER_UPDOWN_MAX];	/* leftupdown=, "" for none */
};

/**
 * er_conn_config_init - fill in libreswan's defaults: tunnel, auto=ignore,
 *	negotiationshunt=hold, failureshunt=none, keyingtries=%forever,
 *	retransmit-timeout=60s, ikelifetime=8h, salifetime=8h, rekeymargin=9m,
 *	any protocol and ports
 */
void er_conn_config_init(struct er_conn_config *cc);

/**
 * er_conn_config_check - refuse a description the engine cannot carry out
 *
 * Return: 0 or -EINVAL with the connection named in @err.
 */
int er_conn_config_check(const struct er_conn_config *cc, struct er_err *err);

/**
 * er_conn_out_selector - the outbound selector of a connection towards
 *	one of its remote clients; the inbound one swaps the sides
 */
void er_conn_out_selector(const struct er_conn_config *cc,
			  const struct er_prefix *remote_client,
			  struct er_selector *out);
void er_conn_in_selector(const struct er_conn_config *cc,
			 const struct er_prefix *remote_client,
			 struct er_selector *in);

/**
 * er_conn_is_never_negotiate - passthrough, drop and reject connections
 *	install their action and never negotiate
 */
bool er_conn_is_never_negotiate(const struct er_conn_config *cc);

const char *er_conn_type_name(enum er_conn_type type);
const char *er_auto_name(enum er_auto autostart);
const char *er_negshunt_name(enum er_negshunt shunt);
const char *er_failshunt_name(enum er_failshunt shunt);

/**
 * er_conn_type_parse, er_auto_parse, er_negshunt_parse,
 * er_failshunt_parse - the ipsec.conf spellings, including libreswan's
 *	aliases ("route" for ondemand, "drop" for a hold negotiation shunt,
 *	"passthrough" for pass)
 *
 * Return: 0 or -EINVAL.
 */
int er_conn_type_parse(enum er_conn_type *out, const char *s);
int er_auto_parse(enum er_auto *out, const char *s);
int er_negshunt_parse(enum er_negshunt *out, const char *s);
int er_failshunt_parse(enum er_failshunt *out, const char *s);

#pragma GCC visibility pop

#endif
