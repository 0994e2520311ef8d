// SPDX-License-Identifier: MIT
/* Negotiators; see negotiator.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "control.h"
#include "daemon.h"
#include "negotiator.h"
#include "render.h"

struct pending {
	uint64_t id;
	char conn[ER_CONN_NAME_MAX];
	uint64_t deadline;
	json_t *request;		/* external: the line to send */
	bool sent;
	TAILQ_ENTRY(pending) link;
};

TAILQ_HEAD(pending_list, pending);

struct negotiator {
	struct daemon *d;
	bool external;
	struct pending_list pending;
	uint32_t next_spi;
};

struct negotiator *
negotiator_new(struct daemon *d, bool external)
{
	struct negotiator *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->d = d;
	n->external = external;
	TAILQ_INIT(&n->pending);
	/* The sim peer's SPIs: distinct from any we allocate (those are
	 * random); a counter keeps demo output readable. */
	n->next_spi = 0xc0000001;
	return n;
}

static void
pending_free(struct negotiator *n, struct pending *p)
{
	TAILQ_REMOVE(&n->pending, p, link);
	json_decref(p->request);
	free(p);
}

void
negotiator_free(struct negotiator *n)
{
	struct pending *p;

	if (n == NULL)
		return;
	while ((p = TAILQ_FIRST(&n->pending)) != NULL)
		pending_free(n, p);
	free(n);
}

static struct pending *
pending_find(struct negotiator *n, uint64_t id)
{
	struct pending *p;

	TAILQ_FOREACH(p, &n->pending, link) {
		if (p->id == id)
			return p;
	}
	return NULL;
}

static json_t *
request_json(const struct er_event *ev)
{
	char local[ER_ADDR_STRLEN], remote[ER_ADDR_STRLEN];
	json_t *spis = json_array();

	er_addr_format(&ev->local, local, sizeof(local));
	er_addr_format(&ev->remote, remote, sizeof(remote));
	for (unsigned i = 0; i < ev->nspi; i++)
		json_array_append_new(spis, render_spi(ev->spi_in[i]));
	return json_pack("{s:s, s:I, s:s, s:I, s:b, s:s, s:s, s:o, s:o, s:o, "
			 "s:o, s:o, s:o, s:I}",
			 "event", "negotiate", "id", (json_int_t)ev->negotiation,
			 "conn", ev->conn, "attempt", (json_int_t)ev->attempt,
			 "rekey", ev->rekey, "local", local, "remote", remote,
			 "src", render_prefix(&ev->sel.src), "dst",
			 render_prefix(&ev->sel.dst), "proto",
			 render_proto(ev->sel.proto), "sport",
			 render_ports(&ev->sel.sport), "dport",
			 render_ports(&ev->sel.dport), "spi_in", spis, "reqid",
			 (json_int_t)ev->reqid);
}

void
negotiator_on_event(struct negotiator *n, const struct er_event *ev)
{
	struct pending *p;

	if (ev->type == ER_EV_NEGOTIATE_CANCEL) {
		p = pending_find(n, ev->negotiation);
		if (p == NULL)
			return;
		if (n->external && p->sent)
			control_negotiator_send(
				n->d->control,
				json_pack("{s:s, s:I, s:s}", "event",
					  "negotiate-cancel", "id",
					  (json_int_t)p->id, "conn", p->conn));
		pending_free(n, p);
		return;
	}
	if (ev->type != ER_EV_NEGOTIATE)
		return;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return;
	p->id = ev->negotiation;
	snprintf(p->conn, sizeof(p->conn), "%s", ev->conn);
	p->deadline = ev->now + (ev->config != NULL
					 ? ev->config->retransmit_timeout
					 : 60);
	TAILQ_INSERT_TAIL(&n->pending, p, link);
	if (!n->external)
		return;
	p->request = request_json(ev);
	if (control_negotiator_send(n->d->control, json_incref(p->request)) == 0)
		p->sent = true;
}

void
negotiator_external_attached(struct negotiator *n)
{
	struct pending *p;

	TAILQ_FOREACH(p, &n->pending, link) {
		if (p->request != NULL &&
		    control_negotiator_send(n->d->control,
					    json_incref(p->request)) == 0)
			p->sent = true;
	}
}

void
negotiator_tick(struct negotiator *n, uint64_t now)
{
	struct pending *p, *next;

	/* An external negotiator keeps its own timers. */
	if (n->external)
		return;
	for (p = TAILQ_FIRST(&n->pending); p != NULL; p = next) {
		uint64_t id = p->id;

		next = TAILQ_NEXT(p, link);
		if (p->deadline > now)
			continue;
		pending_free(n, p);
		er_engine_negotiation_failed(n->d->engine, id,
					     "retransmit timeout: the peer "
					     "does not answer",
					     NULL);
		/* The engine may have started and cancelled others. */
		next = TAILQ_FIRST(&n->pending);
	}
}

uint64_t
negotiator_next_deadline(const struct negotiator *n)
{
	const struct pending *p;
	uint64_t best = 0;

	if (n->external)
		return 0;
	TAILQ_FOREACH(p, &n->pending, link) {
		if (best == 0 || p->deadline < best)
			best = p->deadline;
	}
	return best;
}

int
negotiator_sim_resolve(struct negotiator *n, const char *name, bool ok,
		       struct er_err *err)
{
	struct er_sa_group_spec spec = {0};
	uint64_t id = er_engine_oldest_negotiation(n->d->engine, name);
	struct pending *p;

	if (id == 0 && !ok)
		return er_err_set(err, -ENOENT,
				  "%s: no negotiation pending", name);
	spec.proto = IPPROTO_ESP;
	spec.spi_out = n->next_spi++;
	/* AES-GCM-16 with a 256-bit key and its 4-byte salt.  The sim
	 * peer's keys are a pattern, not a secret: nothing is protected. */
	snprintf(spec.keys_out.enc_alg, sizeof(spec.keys_out.enc_alg),
		 "aes-gcm-16");
	spec.keys_out.enc_key_len = 36;
	for (int i = 0; i < 36; i++)
		spec.keys_out.enc_key[i] = (uint8_t)i;
	spec.keys_in = spec.keys_out;
	if (id == 0)
		return er_engine_responder(n->d->engine, name, NULL, &spec,
					   err);
	p = pending_find(n, id);
	if (p != NULL)
		pending_free(n, p);
	if (ok)
		return er_engine_negotiated(n->d->engine, id, &spec, err);
	return er_engine_negotiation_failed(n->d->engine, id,
					    "the peer refused (sim)", err);
}

/* The value of a hex digit, or -1. */
static int
hex_digit(char c)
{
	int v = -1;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	return v;
}

/* Key bytes from hex digits and nothing else: sscanf("%2x") would take
 * a sign, blanks or "0x" too and make key bytes of them. */
static int
hex_key(json_t *v, uint8_t *out, uint16_t *len, const char *what,
	struct er_err *err)
{
	const char *s;
	size_t n;

	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return er_err_set(err, -EINVAL, "%s: a hex string", what);
	s = json_string_value(v);
	n = strlen(s);
	if (n % 2 != 0 || n / 2 > ER_SA_KEY_MAX)
		return er_err_set(err, -EINVAL,
				  "%s: an even number of hex digits, at most "
				  "%d bytes", what, ER_SA_KEY_MAX);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return er_err_set(err, -EINVAL, "%s: not hex", what);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = (uint16_t)(n / 2);
	return 0;
}

static int
spi_field(json_t *req, const char *key, bool required, uint32_t *out,
	  struct er_err *err)
{
	json_t *v = json_object_get(req, key);
	unsigned long long x;
	const char *s;
	char *end;
	bool hex;

	if (v == NULL) {
		if (required)
			return er_err_set(err, -EINVAL, "\"%s\" is missing",
					  key);
		return 0;
	}
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 ||
		    json_integer_value(v) > 0xffffffffLL)
			return er_err_set(err, -EINVAL, "\"%s\" out of range",
					  key);
		*out = (uint32_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return er_err_set(err, -EINVAL,
				  "\"%s\" must be a number or \"0x...\"", key);
	/* Decimal digits, or 0x and hex digits; strtoull() alone would take
	 * blanks, a sign, octal, a second 0x, or nothing at all for 0. */
	s = json_string_value(v);
	hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	if (hex)
		s += 2;
	if (s[0] == '\0')
		return er_err_set(err, -EINVAL, "\"%s\": bad SPI", key);
	for (const char *t = s; *t != '\0'; t++) {
		if (hex ? hex_digit(*t) < 0 : *t < '0' || *t > '9')
			return er_err_set(err, -EINVAL, "\"%s\": bad SPI",
					  key);
	}
	errno = 0;
	x = strtoull(s, &end, hex ? 16 : 10);
	if (*end != '\0' || errno != 0 || x > 0xffffffffULL)
		return er_err_set(err, -EINVAL, "\"%s\": bad SPI", key);
	*out = (uint32_t)x;
	return 0;
}

int
negotiator_spec_parse(json_t *req, struct er_sa_group_spec *spec,
		      struct er_err *err)
{
	json_t *v;
	int ret;

	memset(spec, 0, sizeof(*spec));
	ret = spi_field(req, "spi_out", true, &spec->spi_out, err);
	if (ret == 0)
		ret = spi_field(req, "spi_in", false, &spec->spi_in, err);
	if (ret < 0)
		return ret;
	v = json_object_get(req, "proto");
	if (v != NULL) {
		if (json_is_string(v) && strcmp(json_string_value(v), "esp") == 0)
			spec->proto = IPPROTO_ESP;
		else if (json_is_string(v) &&
			 strcmp(json_string_value(v), "ah") == 0)
			spec->proto = IPPROTO_AH;
		else
			return er_err_set(err, -EINVAL,
					  "\"proto\" must be \"esp\" or \"ah\"");
	}
	v = json_object_get(req, "lifetime");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return er_err_set(err, -EINVAL,
					  "\"lifetime\" must be a positive "
					  "number of seconds");
		spec->lifetime = (uint64_t)json_integer_value(v);
	}
	v = json_object_get(req, "enc_alg");
	if (json_is_string(v))
		snprintf(spec->keys_out.enc_alg, ER_SA_ALG_MAX, "%s",
			 json_string_value(v));
	v = json_object_get(req, "integ_alg");
	if (json_is_string(v))
		snprintf(spec->keys_out.integ_alg, ER_SA_ALG_MAX, "%s",
			 json_string_value(v));
	memcpy(spec->keys_in.enc_alg, spec->keys_out.enc_alg, ER_SA_ALG_MAX);
	memcpy(spec->keys_in.integ_alg, spec->keys_out.integ_alg,
	       ER_SA_ALG_MAX);
	ret = hex_key(json_object_get(req, "enc_key_out"),
		      spec->keys_out.enc_key, &spec->keys_out.enc_key_len,
		      "enc_key_out", err);
	if (ret == 0)
		ret = hex_key(json_object_get(req, "enc_key_in"),
			      spec->keys_in.enc_key, &spec->keys_in.enc_key_len,
			      "enc_key_in", err);
	if (ret == 0)
		ret = hex_key(json_object_get(req, "integ_key_out"),
			      spec->keys_out.integ_key,
			      &spec->keys_out.integ_key_len, "integ_key_out",
			      err);
	if (ret == 0)
		ret = hex_key(json_object_get(req, "integ_key_in"),
			      spec->keys_in.integ_key,
			      &spec->keys_in.integ_key_len, "integ_key_in",
			      err);
	return ret;
}
