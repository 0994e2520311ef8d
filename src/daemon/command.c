// SPDX-License-Identifier: MIT
/*
 * The control commands (docs/control-protocol.md).  Each reads its
 * arguments from the request with strict types -- a wrong type is an error
 * naming the field -- and answers with the result the protocol documents.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "daemon.h"
#include "negotiator.h"
#include "render.h"
#ifdef EROUTE_HAVE_XFRM
#include "eroute/xfrm.h"
#endif

#define EROUTE_VERSION "0.1.0"

/* A required string field. */
static int
arg_str(json_t *req, const char *key, const char **out, struct er_err *err)
{
	json_t *v = json_object_get(req, key);

	/* Set on every path: -O3 cannot see that er_err_set() is negative. */
	*out = NULL;
	if (v == NULL)
		return er_err_set(err, -EINVAL, "\"%s\" is missing", key);
	if (!json_is_string(v))
		return er_err_set(err, -EINVAL, "\"%s\" must be a string", key);
	*out = json_string_value(v);
	return 0;
}

/* An optional string field: NULL when absent. */
static int
arg_opt_str(json_t *req, const char *key, const char **out, struct er_err *err)
{
	json_t *v = json_object_get(req, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return er_err_set(err, -EINVAL, "\"%s\" must be a string", key);
	*out = json_string_value(v);
	return 0;
}

static const char *
owner_name(struct daemon *d, const struct er_policy *p)
{
	const struct er_policy *mine;

	if (p->owner == ER_OWNER_FOREIGN)
		return "foreign";
	/* The backend's own (XFRM's ICMPv6 neighbour-discovery bypass). */
	if (p->persist)
		return "eroute";
	if (p->owner != ER_OWNER_BARE)
		return er_engine_conn_name(d->engine, p->owner);
	/* A kernel that cannot store owners: ask our view. */
	mine = er_spd_get(er_engine_spd(d->engine), p->dir, &p->sel);
	if (mine == NULL)
		return strcmp(d->kernel.ops->name, "sim") == 0 ? NULL
							      : "foreign";
	return mine->owner != ER_OWNER_BARE
		       ? er_engine_conn_name(d->engine, mine->owner)
		       : NULL;
}

static int
status_one(void *ctx, const struct er_conn_info *info)
{
	json_t **args = ctx;

	json_array_append_new(args[0],
			      render_conn(info, (uint64_t)json_integer_value(
							    args[1])));
	return 0;
}

static int
cmd_status(struct daemon *d, json_t *req, json_t **result, struct er_err *err)
{
	json_t *conns = json_array();
	json_t *now = json_integer((json_int_t)daemon_now(d));
	json_t *args[2] = {conns, now};
	struct er_sim_stats st;

	(void)req;
	(void)err;
	er_engine_conn_foreach(d->engine, status_one, args);
	json_decref(now);
	*result = json_pack("{s:o, s:s, s:I, s:I, s:I, s:I}", "connections",
			    conns, "kernel", d->kernel.ops->name, "now",
			    (json_int_t)daemon_now(d), "bare_shunts",
			    (json_int_t)er_shunt_count(er_engine_shunts(d->engine)),
			    "uptime", (json_int_t)(daemon_now(d) - d->started),
			    "kernel_retries",
			    (json_int_t)er_engine_retries(d->engine));
#ifdef EROUTE_HAVE_XFRM
	if (d->xfrm != NULL) {
		struct er_xfrm_thresholds t;
		struct er_xfrm_stats xs;

		er_xfrm_stats_get(d->xfrm, &xs);
		json_object_set_new(
			*result, "xfrm",
			json_pack("{s:I, s:I, s:I}", "events",
				  (json_int_t)xs.events, "malformed",
				  (json_int_t)xs.malformed, "lost",
				  (json_int_t)xs.lost));
		if (er_xfrm_thresholds_get(d->xfrm, &t, NULL) == 0)
			json_object_set_new(
				json_object_get(*result, "xfrm"),
				"spd_hash_thresholds",
				json_pack("{s:i, s:i, s:i, s:i}", "v4_lbits",
					  t.v4_lbits, "v4_rbits", t.v4_rbits,
					  "v6_lbits", t.v6_lbits, "v6_rbits",
					  t.v6_rbits));
	}
#endif
	if (d->sim != NULL) {
		er_sim_stats(d->sim, &st);
		json_object_set_new(
			*result, "sim",
			json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "packets",
				  (json_int_t)st.packets, "acquires",
				  (json_int_t)st.acquires, "acquires_lost",
				  (json_int_t)st.acquires_lost,
				  "inbound_policy_drops",
				  (json_int_t)st.inbound_policy_drops, "ops",
				  (json_int_t)st.ops, "ops_failed",
				  (json_int_t)st.ops_failed));
	}
	return 0;
}

struct dump_ctx {
	struct daemon *d;
	json_t *list;
};

static int
policy_one(void *ctx, const struct er_policy *p)
{
	struct dump_ctx *c = ctx;

	json_array_append_new(c->list, render_policy(p, owner_name(c->d, p)));
	return 0;
}

static int
cmd_policy_list(struct daemon *d, json_t *req, json_t **result,
		struct er_err *err)
{
	struct dump_ctx c = {.d = d, .list = json_array()};
	int ret;

	(void)req;
	ret = er_kernel_policy_dump(&d->kernel, policy_one, &c, err);
	if (ret < 0) {
		json_decref(c.list);
		return ret;
	}
	*result = c.list;
	return 0;
}

static int
sa_one(void *ctx, const struct er_sa *sa)
{
	struct dump_ctx *c = ctx;
	const char *owner = NULL;

	if (sa->owner == ER_OWNER_FOREIGN)
		owner = "foreign";
	else if (sa->owner != 0)
		owner = er_engine_conn_name(c->d->engine, sa->owner);
	else if (er_sad_get(er_engine_sad(c->d->engine), &sa->id) == NULL &&
		 sa->id.spi != 0)
		owner = "foreign";
	if (sa->state == ER_SA_DEAD)
		return 0;
	json_array_append_new(c->list, render_sa(sa, owner));
	return 0;
}

static int
cmd_sa_list(struct daemon *d, json_t *req, json_t **result, struct er_err *err)
{
	struct dump_ctx c = {.d = d, .list = json_array()};
	int ret;

	(void)req;
	ret = er_kernel_sa_dump(&d->kernel, sa_one, &c, err);
	if (ret < 0) {
		json_decref(c.list);
		return ret;
	}
	*result = c.list;
	return 0;
}

static int
cmd_shunt_list(struct daemon *d, json_t *req, json_t **result,
	       struct er_err *err)
{
	const struct er_shunt_table *t = er_engine_shunts(d->engine);
	json_t *list = json_array();

	(void)req;
	(void)err;
	for (const struct er_shunt *s = er_shunt_first(t); s != NULL;
	     s = er_shunt_next(t, s))
		json_array_append_new(list, render_shunt(s, daemon_now(d)));
	*result = list;
	return 0;
}

static int
conn_cmd(struct daemon *d, json_t *req, json_t **result, struct er_err *err,
	 int (*fn)(struct er_engine *, const char *, struct er_err *))
{
	const char *name;
	int ret = arg_str(req, "name", &name, err);

	if (ret < 0)
		return ret;
	ret = fn(d->engine, name, err);
	if (ret < 0)
		return ret;
	*result = json_object();
	return 0;
}

static int
cmd_route(struct daemon *d, json_t *req, json_t **result, struct er_err *err)
{
	return conn_cmd(d, req, result, err, er_engine_route);
}

static int
cmd_unroute(struct daemon *d, json_t *req, json_t **result, struct er_err *err)
{
	return conn_cmd(d, req, result, err, er_engine_unroute);
}

static int
cmd_up(struct daemon *d, json_t *req, json_t **result, struct er_err *err)
{
	return conn_cmd(d, req, result, err, er_engine_up);
}

static int
cmd_down(struct daemon *d, json_t *req, json_t **result, struct er_err *err)
{
	return conn_cmd(d, req, result, err, er_engine_down);
}

static int
cmd_reload(struct daemon *d, json_t *req, json_t **result, struct er_err *err)
{
	void *res = NULL;
	int ret;

	(void)req;
	ret = daemon_reload(d, err, &res);
	if (ret < 0)
		return ret;
	*result = res;
	return 0;
}

/* The packet of a trace or sim-packet request. */
static int
arg_packet(json_t *req, struct er_packet *pkt, struct er_err *err)
{
	const char *src = NULL, *dst = NULL, *proto = NULL;
	json_t *sp = json_object_get(req, "sport");
	json_t *dp = json_object_get(req, "dport");
	int ret;

	memset(pkt, 0, sizeof(*pkt));
	ret = arg_str(req, "src", &src, err);
	if (ret == 0)
		ret = arg_str(req, "dst", &dst, err);
	if (ret == 0)
		ret = arg_opt_str(req, "proto", &proto, err);
	if (ret < 0)
		return ret;
	if (er_addr_parse(&pkt->src, src, err) < 0 ||
	    er_addr_parse(&pkt->dst, dst, err) < 0)
		return -EINVAL;
	if (pkt->src.family == AF_UNSPEC || pkt->src.family != pkt->dst.family)
		return er_err_set(err, -EINVAL,
				  "src and dst must be addresses of one "
				  "family");
	if (proto != NULL && er_proto_parse(&pkt->proto, proto, err) < 0)
		return -EINVAL;
	if (pkt->proto == ER_PROTO_ANY)
		pkt->proto = IPPROTO_ICMP;
	if ((sp != NULL && !json_is_null(sp)) ||
	    (dp != NULL && !json_is_null(dp))) {
		if (!er_proto_has_ports(pkt->proto))
			return er_err_set(err, -EINVAL,
					  "ports given for a protocol without "
					  "ports");
		if ((sp != NULL && !json_is_integer(sp)) ||
		    (dp != NULL && !json_is_integer(dp)) ||
		    json_integer_value(sp) < 0 ||
		    json_integer_value(sp) > 65535 ||
		    json_integer_value(dp) < 0 ||
		    json_integer_value(dp) > 65535)
			return er_err_set(err, -EINVAL,
					  "\"sport\" and \"dport\" must be "
					  "numbers 0-65535");
		pkt->sport = (uint16_t)json_integer_value(sp);
		pkt->dport = (uint16_t)json_integer_value(dp);
	}
	return 0;
}

struct trace_ctx {
	struct daemon *d;
	json_t *candidates;
	json_t *winner;
};

static int
trace_one(void *ctx, const struct er_policy *p, bool winner)
{
	struct trace_ctx *t = ctx;
	json_t *o = render_policy(p, owner_name(t->d, p));

	if (winner)
		t->winner = json_incref(o);
	json_array_append_new(t->candidates, o);
	return 0;
}

static int
cmd_trace(struct daemon *d, json_t *req, json_t **result, struct er_err *err)
{
	struct trace_ctx t = {.d = d, .candidates = json_array()};
	struct er_packet pkt;
	const char *dir = NULL;
	enum er_dir dv = ER_DIR_OUT;
	char why[256] = "no policy matches: the packet passes in the clear";
	int ret;

	ret = arg_packet(req, &pkt, err);
	if (ret == 0)
		ret = arg_opt_str(req, "dir", &dir, err);
	if (ret == 0 && dir != NULL && er_dir_parse(&dv, dir) < 0)
		ret = er_err_set(err, -EINVAL, "\"dir\": out, in or fwd");
	if (ret < 0) {
		json_decref(t.candidates);
		return ret;
	}
	er_engine_trace(d->engine, dv, &pkt, trace_one, &t);
	if (t.winner != NULL) {
		size_t n = json_array_size(t.candidates);

		snprintf(why, sizeof(why),
			 "%zu polic%s match; the lowest priority value wins, "
			 "then the narrower selector", n, n == 1 ? "y" : "ies");
	}
	*result = json_pack("{s:o, s:o, s:s}", "policy",
			    t.winner ? t.winner : json_null(), "candidates",
			    t.candidates, "why", why);
	return 0;
}

static int
cmd_version(struct daemon *d, json_t *req, json_t **result, struct er_err *err)
{
	(void)req;
	(void)err;
	*result = json_pack("{s:s, s:s, s:s}", "version", EROUTE_VERSION,
			    "kernel", d->kernel.ops->name, "clock",
			    d->opt.clock == CLOCK_KIND_MANUAL ? "manual"
							      : "real");
	return 0;
}

static int
need_sim(struct daemon *d, struct er_err *err)
{
	if (d->sim == NULL)
		return er_err_set(err, -EOPNOTSUPP,
				  "only with the simulated kernel "
				  "(erouted --kernel sim)");
	return 0;
}

static int
cmd_sim_packet(struct daemon *d, json_t *req, json_t **result,
	       struct er_err *err)
{
	struct er_sim_result r;
	struct er_packet pkt;
	json_t *bytes = json_object_get(req, "bytes");
	int ret;

	ret = need_sim(d, err);
	if (ret == 0)
		ret = arg_packet(req, &pkt, err);
	if (ret < 0)
		return ret;
	if (bytes != NULL && (!json_is_integer(bytes) ||
			      json_integer_value(bytes) < 1 ||
			      json_integer_value(bytes) > 65535))
		return er_err_set(err, -EINVAL,
				  "\"bytes\" must be a number 1-65535");
	er_sim_packet_out(d->sim, &pkt,
			  bytes ? (uint32_t)json_integer_value(bytes) : 100,
			  &r);
	*result = render_sim_result(&r, r.matched ? owner_name(d, &r.policy)
						  : NULL);
	return 0;
}

static int
cmd_sim_advance(struct daemon *d, json_t *req, json_t **result,
		struct er_err *err)
{
	json_t *v = json_object_get(req, "seconds");

	if (d->opt.clock != CLOCK_KIND_MANUAL)
		return er_err_set(err, -EOPNOTSUPP,
				  "only with the manual clock "
				  "(erouted --clock manual)");
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 10LL * 365 * 86400)
		return er_err_set(err, -EINVAL,
				  "\"seconds\" must be a number 0-315360000");
	daemon_advance(d, d->manual_now + (uint64_t)json_integer_value(v));
	*result = json_pack("{s:I}", "now", (json_int_t)d->manual_now);
	return 0;
}

/* What a kernel that refuses operations does to the policies: the engine
 * keeps the old ones, logs and retries every second (README: Security). */
static int
cmd_sim_fail(struct daemon *d, json_t *req, json_t **result,
	     struct er_err *err)
{
	json_t *v = json_object_get(req, "every");
	struct er_sim_stats st;

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 1000000)
		return er_err_set(err, -EINVAL,
				  "\"every\" must be a number 0-1000000 "
				  "(0: no failures)");
	er_sim_set_fail_every(d->sim, (uint32_t)json_integer_value(v));
	er_sim_stats(d->sim, &st);
	*result = json_pack("{s:I, s:I, s:I}", "every", json_integer_value(v),
			    "ops", (json_int_t)st.ops, "ops_failed",
			    (json_int_t)st.ops_failed);
	return 0;
}

static int
cmd_sim_negotiate(struct daemon *d, json_t *req, json_t **result,
		  struct er_err *err)
{
	const char *name, *outcome;
	int ret;

	ret = arg_str(req, "name", &name, err);
	if (ret == 0)
		ret = arg_str(req, "result", &outcome, err);
	if (ret < 0)
		return ret;
	if (d->opt.negotiator != NEGOTIATOR_SIM)
		return er_err_set(err, -EOPNOTSUPP,
				  "only with the simulated negotiator "
				  "(erouted --negotiator sim)");
	if (strcmp(outcome, "ok") != 0 && strcmp(outcome, "fail") != 0)
		return er_err_set(err, -EINVAL,
				  "\"result\" must be \"ok\" or \"fail\"");
	ret = negotiator_sim_resolve(d->negotiator, name,
				     strcmp(outcome, "ok") == 0, err);
	if (ret < 0)
		return ret;
	*result = json_object();
	return 0;
}

static int
cmd_negotiation_result(struct daemon *d, json_t *req, json_t **result,
		       struct er_err *err)
{
	struct er_sa_group_spec spec;
	json_t *id = json_object_get(req, "id");
	json_t *ok = json_object_get(req, "ok");
	const char *reason = NULL;
	int ret;

	if (!json_is_integer(id) || json_integer_value(id) <= 0)
		return er_err_set(err, -EINVAL,
				  "\"id\" must be a negotiation id");
	if (!json_is_boolean(ok))
		return er_err_set(err, -EINVAL, "\"ok\" must be true or false");
	if (json_is_false(ok)) {
		ret = arg_opt_str(req, "reason", &reason, err);
		if (ret == 0)
			ret = er_engine_negotiation_failed(
				d->engine, (uint64_t)json_integer_value(id),
				reason, err);
	} else {
		ret = negotiator_spec_parse(req, &spec, err);
		if (ret == 0)
			ret = er_engine_negotiated(
				d->engine, (uint64_t)json_integer_value(id),
				&spec, err);
		explicit_bzero(&spec, sizeof(spec));
	}
	if (ret < 0)
		return ret;
	*result = json_object();
	return 0;
}

static int
cmd_sa_group(struct daemon *d, json_t *req, json_t **result,
	     struct er_err *err)
{
	struct er_sa_group_spec spec;
	const char *name, *peer = NULL;
	struct er_addr a;
	int ret;

	ret = arg_str(req, "name", &name, err);
	if (ret == 0)
		ret = arg_opt_str(req, "peer", &peer, err);
	if (ret == 0 && peer != NULL && er_addr_parse(&a, peer, err) < 0)
		ret = -EINVAL;
	if (ret == 0)
		ret = negotiator_spec_parse(req, &spec, err);
	if (ret < 0)
		return ret;
	ret = er_engine_responder(d->engine, name, peer ? &a : NULL, &spec,
				  err);
	explicit_bzero(&spec, sizeof(spec));
	if (ret < 0)
		return ret;
	*result = json_object();
	return 0;
}

static int
cmd_sim(struct daemon *d, json_t *req, json_t **result, struct er_err *err,
	command_fn *fn)
{
	int ret = need_sim(d, err);

	return ret < 0 ? ret : fn(d, req, result, err);
}

static int
cmd_sim_advance_checked(struct daemon *d, json_t *req, json_t **result,
			struct er_err *err)
{
	return cmd_sim(d, req, result, err, cmd_sim_advance);
}

static int
cmd_sim_fail_checked(struct daemon *d, json_t *req, json_t **result,
		     struct er_err *err)
{
	return cmd_sim(d, req, result, err, cmd_sim_fail);
}

static const struct command commands[] = {
	{"status", cmd_status, false, "connections and their routing states"},
	{"policy-list", cmd_policy_list, false, "the kernel's SPD"},
	{"sa-list", cmd_sa_list, false, "the kernel's SAD"},
	{"shunt-list", cmd_shunt_list, false, "bare shunts"},
	{"trace", cmd_trace, false, "which policy a packet would hit"},
	{"version", cmd_version, false, "versions"},
	{"monitor", NULL, false, "stream events until disconnected"},
	{"route", cmd_route, true, "install a connection's trap"},
	{"unroute", cmd_unroute, true, "remove a connection's policies"},
	{"up", cmd_up, true, "negotiate now"},
	{"down", cmd_down, true, "tear SA groups down"},
	{"reload", cmd_reload, true, "re-read the configuration"},
	{"sim-packet", cmd_sim_packet, true, "send a packet (sim kernel)"},
	{"sim-advance", cmd_sim_advance_checked, true,
	 "move the manual clock"},
	{"sim-negotiate", cmd_sim_negotiate, true,
	 "resolve a negotiation (sim negotiator)"},
	{"sim-fail", cmd_sim_fail_checked, true,
	 "fail every Nth kernel operation (sim kernel)"},
	{"negotiator-register", NULL, true,
	 "become the external negotiator"},
	{"negotiation-result", cmd_negotiation_result, true,
	 "answer a negotiation"},
	{"sa-group", cmd_sa_group, true,
	 "an SA group the peer initiated (responder)"},
};

const struct command *
command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

int
command_request_parse(const char *line, size_t len, bool privileged,
		      unsigned uid, json_t **req, const struct command **cmd,
		      struct er_err *err)
{
	json_error_t jerr;
	json_t *r;
	const char *name;
	int ret = -EINVAL;

	*req = NULL;
	*cmd = NULL;
	r = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (r == NULL) {
		er_err_set(err, ret, "malformed request: %s", jerr.text);
		goto out;
	}
	if (!json_is_object(r) || !json_is_string(json_object_get(r, "cmd"))) {
		er_err_set(err, ret,
			   "a request is a JSON object with a string \"cmd\"");
		goto out;
	}
	name = json_string_value(json_object_get(r, "cmd"));
	*cmd = command_find(name);
	if (*cmd == NULL) {
		ret = er_err_set(err, -EOPNOTSUPP, "unknown command \"%.64s\"",
				 name);
		goto out;
	}
	if ((*cmd)->privileged && !privileged) {
		ret = er_err_set(err, -EPERM,
				 "%s: permission denied (uid %u is not root "
				 "and not in the socket's group)",
				 (*cmd)->name, uid);
		*cmd = NULL;
		goto out;
	}
	*req = r;
	r = NULL;
	ret = 0;
out:
	json_decref(r);
	return ret;
}

json_t *
command_answer(int ret, json_t *result, const struct er_err *err)
{
	const char *code;
	json_t *a = NULL;

	if (ret == 0) {
		a = json_pack("{s:b, s:o}", "ok", 1, "result",
			      result != NULL ? result : json_object());
		result = NULL;
		if (a != NULL)
			return a;
		ret = -EIO;
		err = NULL;
	}
	json_decref(result);
	code = strerrorname_np(-ret);
	code = code != NULL ? code : "EINVAL";
	a = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code,
		      "message",
		      err != NULL && err->msg[0] != '\0' ? err->msg
							 : strerror(-ret));
	/* A message jansson refuses (not UTF-8) must not cost the client its
	 * answer: it would wait for ever. */
	if (a == NULL)
		a = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code",
			      code, "message", "(the message is not text)");
	return a;
}
