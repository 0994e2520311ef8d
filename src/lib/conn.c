// SPDX-License-Identifier: MIT
/*
 * Connection descriptions: defaults, checks, the selectors a description
 * implies, and the ipsec.conf names of its enums.  No state lives here; the
 * engine owns connections and their routing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "eroute/conn.h"

void
er_conn_config_init(struct er_conn_config *cc)
{
	memset(cc, 0, sizeof(*cc));
	cc->type = ER_CONN_TUNNEL;
	cc->autostart = ER_AUTO_IGNORE;
	cc->negshunt = ER_NEGSHUNT_HOLD;
	cc->failshunt = ER_FAILSHUNT_NONE;
	cc->keyingtries = 0;
	cc->retransmit_timeout = 60;
	cc->ike_lifetime = 8 * 3600;
	cc->sa_lifetime = 8 * 3600;
	cc->rekey_margin = 9 * 60;
	cc->local_ports = (struct er_port_range){0, 65535};
	cc->remote_ports = (struct er_port_range){0, 65535};
}

bool
er_conn_is_never_negotiate(const struct er_conn_config *cc)
{
	return cc->type == ER_CONN_PASSTHROUGH || cc->type == ER_CONN_DROP ||
	       cc->type == ER_CONN_REJECT;
}

int
er_conn_config_check(const struct er_conn_config *cc, struct er_err *err)
{
	const char *n = cc->name;
	int family = cc->local_client.addr.family;

	if (cc->name[0] == '\0' || memchr(cc->name, '\0', sizeof(cc->name)) ==
					   NULL)
		return er_err_set(err, -EINVAL, "connection without a name");
	if (er_addr_bits(family) == 0)
		return er_err_set(err, -EINVAL, "%s: no local client", n);
	if (cc->remote_clients == NULL || cc->nremote == 0)
		return er_err_set(err, -EINVAL, "%s: no remote client", n);
	if (cc->nremote > 1 && !cc->group)
		return er_err_set(err, -EINVAL,
				  "%s: several remote clients but not an "
				  "opportunistic group", n);
	if (cc->nremote > ER_CONN_GROUP_MAX)
		return er_err_set(err, -EINVAL,
				  "%s: more than %d group prefixes", n,
				  ER_CONN_GROUP_MAX);
	for (size_t i = 0; i < cc->nremote; i++) {
		if (cc->remote_clients[i].addr.family != family)
			return er_err_set(err, -EINVAL,
					  "%s: remote client %zu is not of the "
					  "local client's address family", n,
					  i + 1);
	}
	if ((unsigned)cc->type > ER_CONN_REJECT ||
	    (unsigned)cc->autostart > ER_AUTO_START ||
	    (unsigned)cc->negshunt > ER_NEGSHUNT_PASS ||
	    (unsigned)cc->failshunt > ER_FAILSHUNT_REJECT)
		return er_err_set(err, -EINVAL, "%s: bad enum value", n);
	if (!er_proto_has_ports(cc->proto) &&
	    (!er_port_range_is_any(&cc->local_ports) ||
	     !er_port_range_is_any(&cc->remote_ports)))
		return er_err_set(err, -EINVAL,
				  "%s: ports given for a protocol without "
				  "ports", n);
	if (!er_conn_is_never_negotiate(cc) && !cc->group &&
	    er_addr_bits(cc->remote.family) == 0 &&
	    cc->autostart >= ER_AUTO_ONDEMAND)
		return er_err_set(err, -EINVAL,
				  "%s: auto=%s needs a peer address (right=)",
				  n, er_auto_name(cc->autostart));
	if (cc->sa_lifetime != 0 && cc->rekey_margin >= cc->sa_lifetime)
		return er_err_set(err, -EINVAL,
				  "%s: rekeymargin must be shorter than "
				  "salifetime", n);
	if (cc->reqid != 0 && cc->group)
		return er_err_set(err, -EINVAL,
				  "%s: reqid= cannot be set on an "
				  "opportunistic group (each instance has its "
				  "own)", n);
	return 0;
}

void
er_conn_out_selector(const struct er_conn_config *cc,
		     const struct er_prefix *remote_client,
		     struct er_selector *out)
{
	memset(out, 0, sizeof(*out));
	out->src = cc->local_client;
	out->dst = *remote_client;
	out->proto = cc->proto;
	out->sport = cc->local_ports;
	out->dport = cc->remote_ports;
}

void
er_conn_in_selector(const struct er_conn_config *cc,
		    const struct er_prefix *remote_client,
		    struct er_selector *in)
{
	memset(in, 0, sizeof(*in));
	in->src = *remote_client;
	in->dst = cc->local_client;
	in->proto = cc->proto;
	in->sport = cc->remote_ports;
	in->dport = cc->local_ports;
}

static const char *const type_names[] = {"tunnel", "transport",
					 "passthrough", "drop", "reject"};
static const char *const auto_names[] = {"ignore", "add", "ondemand",
					 "start"};
static const char *const negshunt_names[] = {"hold", "pass"};
static const char *const failshunt_names[] = {"none", "pass", "drop",
					      "reject"};

#define NAME_OF(table, v)                                                     \
	((unsigned)(v) < sizeof(table) / sizeof(table[0]) ? table[v] : "?")

const char *
er_conn_type_name(enum er_conn_type type)
{
	return NAME_OF(type_names, type);
}

const char *
er_auto_name(enum er_auto autostart)
{
	return NAME_OF(auto_names, autostart);
}

const char *
er_negshunt_name(enum er_negshunt shunt)
{
	return NAME_OF(negshunt_names, shunt);
}

const char *
er_failshunt_name(enum er_failshunt shunt)
{
	return NAME_OF(failshunt_names, shunt);
}

/* Find @s in @names (or its alias); -EINVAL when absent. */
static int
lookup(const char *const *names, size_t n, const char *s, int *out)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], s) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	return -EINVAL;
}

#define LOOKUP(table, s, out) \
	lookup(table, sizeof(table) / sizeof(table[0]), s, out)

int
er_conn_type_parse(enum er_conn_type *out, const char *s)
{
	int v;

	if (strcmp(s, "pass") == 0)
		s = "passthrough";
	if (LOOKUP(type_names, s, &v) < 0)
		return -EINVAL;
	*out = (enum er_conn_type)v;
	return 0;
}

int
er_auto_parse(enum er_auto *out, const char *s)
{
	int v;

	if (strcmp(s, "route") == 0)
		s = "ondemand";
	if (LOOKUP(auto_names, s, &v) < 0)
		return -EINVAL;
	*out = (enum er_auto)v;
	return 0;
}

int
er_negshunt_parse(enum er_negshunt *out, const char *s)
{
	int v;

	/* libreswan 5 spells the hold "drop"; both block while retaining. */
	if (strcmp(s, "drop") == 0)
		s = "hold";
	if (strcmp(s, "passthrough") == 0)
		s = "pass";
	if (LOOKUP(negshunt_names, s, &v) < 0)
		return -EINVAL;
	*out = (enum er_negshunt)v;
	return 0;
}

int
er_failshunt_parse(enum er_failshunt *out, const char *s)
{
	int v;

	if (strcmp(s, "passthrough") == 0)
		s = "pass";
	if (LOOKUP(failshunt_names, s, &v) < 0)
		return -EINVAL;
	*out = (enum er_failshunt)v;
	return 0;
}
