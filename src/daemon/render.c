// SPDX-License-Identifier: MIT
/* JSON forms of eroute's objects; see render.h. */
#include <netinet/in.h>
#include <stdio.h>

#include "render.h"

json_t *
render_prefix(const struct er_prefix *p)
{
	char buf[ER_PREFIX_STRLEN];

	er_prefix_format(p, buf, sizeof(buf));
	return json_string(buf);
}

json_t *
render_proto(uint8_t proto)
{
	char buf[16];

	er_proto_format(proto, buf, sizeof(buf));
	return json_string(buf);
}

json_t *
render_ports(const struct er_port_range *r)
{
	char buf[16];

	if (er_port_range_is_any(r))
		return json_null();
	if (r->lo == r->hi)
		return json_integer(r->lo);
	snprintf(buf, sizeof(buf), "%u-%u", r->lo, r->hi);
	return json_string(buf);
}

json_t *
render_spi(uint32_t spi)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "0x%08x", spi);
	return json_string(buf);
}

static json_t *
render_addr(const struct er_addr *a)
{
	char buf[ER_ADDR_STRLEN];

	er_addr_format(a, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
render_tmpl(const struct er_tmpl *t)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:o?, s:I}", "proto",
			 t->proto == IPPROTO_AH	    ? "ah"
			 : t->proto == IPPROTO_COMP ? "comp"
						    : "esp",
			 "mode", er_mode_name(t->mode), "src",
			 render_addr(&t->src), "dst", render_addr(&t->dst),
			 "spi", t->spi ? render_spi(t->spi) : NULL, "reqid",
			 (json_int_t)t->reqid);
}

json_t *
render_policy(const struct er_policy *p, const char *owner)
{
	json_t *o, *tmpls = json_array();

	for (unsigned i = 0; i < p->ntmpl && i < ER_TMPL_MAX; i++)
		json_array_append_new(tmpls, render_tmpl(&p->tmpl[i]));
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:s, s:s?, s:o, "
		      "s:o, s:I, s:I}",
		      "dir", er_dir_name(p->dir), "src",
		      render_prefix(&p->sel.src), "dst",
		      render_prefix(&p->sel.dst), "proto",
		      render_proto(p->sel.proto), "sport",
		      render_ports(&p->sel.sport), "dport",
		      render_ports(&p->sel.dport), "priority",
		      (json_int_t)p->priority, "action",
		      er_action_name(p->action), "owner", owner, "reqid",
		      p->reqid ? json_integer(p->reqid) : json_null(),
		      "templates", tmpls, "use_count",
		      (json_int_t)p->use_count, "lifetime",
		      (json_int_t)p->lifetime);
	return o;
}

static const char *
sa_proto_name(uint8_t proto)
{
	return proto == IPPROTO_AH ? "ah" : proto == IPPROTO_COMP ? "comp"
								 : "esp";
}

json_t *
render_sa(const struct er_sa *sa, const char *owner)
{
	return json_pack("{s:o, s:o, s:s, s:o, s:I, s:s, s:s?, s:s, s:I, "
			 "s:I}",
			 "src", render_addr(&sa->src), "dst",
			 render_addr(&sa->id.dst), "proto",
			 sa_proto_name(sa->id.proto), "spi",
			 render_spi(sa->id.spi), "reqid",
			 (json_int_t)sa->reqid, "state",
			 er_sa_state_name(sa->state), "owner", owner, "mode",
			 er_mode_name(sa->mode), "bytes",
			 (json_int_t)sa->bytes, "packets",
			 (json_int_t)sa->packets);
}

json_t *
render_shunt(const struct er_shunt *s, uint64_t now)
{
	json_t *exp = json_null();

	if (s->expires != 0)
		exp = json_integer(s->expires > now
					   ? (json_int_t)(s->expires - now)
					   : 0);
	return json_pack("{s:o, s:o, s:o, s:s, s:s, s:o, s:I}", "src",
			 render_prefix(&s->sel.src), "dst",
			 render_prefix(&s->sel.dst), "proto",
			 render_proto(s->sel.proto), "action",
			 er_action_name(s->action), "origin", s->origin,
			 "expires_in", exp, "use_count",
			 (json_int_t)s->use_count);
}

json_t *
render_conn(const struct er_conn_info *info, uint64_t now)
{
	const struct er_conn_config *cc = info->config;
	json_t *remotes = json_array();
	json_t *o;

	for (size_t i = 0; i < cc->nremote; i++)
		json_array_append_new(remotes,
				      render_prefix(&cc->remote_clients[i]));
	o = json_pack("{s:s, s:s, s:o, s:b, s:I, s:s?, s:s, s:s, s:o, s:o, "
		      "s:o, s:o, s:I, s:I}",
		      "name", info->name, "routing",
		      er_routing_name(info->routing), "eroute_owner",
		      info->eroute_owner ? json_integer((json_int_t)info->eroute_owner)
					 : json_null(),
		      "negotiating", info->negotiating, "tries",
		      (json_int_t)info->tries, "instance_of", info->instance_of,
		      "type", er_conn_type_name(cc->type), "auto",
		      er_auto_name(cc->autostart), "local",
		      render_addr(&cc->local), "remote",
		      render_addr(&cc->remote), "local_client",
		      render_prefix(&cc->local_client), "remote_clients",
		      remotes, "reqid", (json_int_t)info->reqid, "sa_groups",
		      (json_int_t)info->ngroups);
	if (info->failure_expires > now)
		json_object_set_new(o, "failure_expires_in",
				    json_integer((json_int_t)(info->failure_expires -
							      now)));
	return o;
}

json_t *
render_event(const struct er_event *ev)
{
	json_t *o = NULL;
	char sel[ER_SELECTOR_STRLEN];

	switch (ev->type) {
	case ER_EV_LOG:
		o = json_pack("{s:s, s:s, s:s}", "event", "log", "level",
			      er_log_level_name(ev->level), "text", ev->text);
		break;
	case ER_EV_STATE:
		o = json_pack("{s:s, s:s, s:s}", "event", "state", "old",
			      er_routing_name(ev->old_state), "new",
			      er_routing_name(ev->new_state));
		break;
	case ER_EV_NEGOTIATE:
		er_selector_format(&ev->sel, sel, sizeof(sel));
		o = json_pack("{s:s, s:I, s:I, s:s, s:b}", "event", "negotiate",
			      "id", (json_int_t)ev->negotiation, "attempt",
			      (json_int_t)ev->attempt, "selector", sel, "rekey",
			      ev->rekey);
		break;
	case ER_EV_NEGOTIATE_CANCEL:
		o = json_pack("{s:s, s:I}", "event", "negotiate-cancel", "id",
			      (json_int_t)ev->negotiation);
		break;
	case ER_EV_UPDOWN:
		o = json_pack("{s:s, s:s}", "event", "updown", "verb",
			      er_updown_verb_name(ev->verb));
		break;
	case ER_EV_CONN_ADDED:
		o = json_pack("{s:s}", "event", "instance-added");
		break;
	case ER_EV_CONN_DELETED:
		o = json_pack("{s:s}", "event", "instance-deleted");
		break;
	}
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "time", json_integer((json_int_t)ev->now));
	json_object_set_new(o, "conn",
			    ev->conn ? json_string(ev->conn) : json_null());
	return o;
}

json_t *
render_sim_result(const struct er_sim_result *r, const char *owner)
{
	json_t *pol = r->matched ? render_policy(&r->policy, owner)
				 : json_null();

	return json_pack("{s:s, s:o, s:b, s:o, s:b}", "verdict",
			 er_action_name(r->verdict), "policy", pol, "acquire",
			 r->acquire, "spi",
			 r->spi ? render_spi(r->spi) : json_null(), "bypass",
			 r->bypass);
}
