// SPDX-License-Identifier: MIT
/*
 * ClassBench lines to rules and packets, and rules to selectors (see
 * classbench.h for the mapping and why it keeps every answer).  The text is
 * split on single spaces as the data README promises; anything else is
 * refused rather than guessed at.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "classbench.h"

#define LINE_MAX_LEN 256
#define FIELDS_MAX 8

/* Split a copy of @line into at most FIELDS_MAX space-separated fields. */
static size_t
split(char *buf, size_t len, const char *line, char **f)
{
	size_t n = 0;
	char *save, *tok;

	if (strlen(line) >= len)
		return 0;
	strcpy(buf, line);
	buf[strcspn(buf, "\r\n")] = '\0';
	for (tok = strtok_r(buf, " ", &save); tok != NULL && n < FIELDS_MAX;
	     tok = strtok_r(NULL, " ", &save))
		f[n++] = tok;
	return tok == NULL ? n : 0;
}

static int
number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *out > max)
		return -EINVAL;
	return 0;
}

static int
range(const char *s, struct er_port_range *r)
{
	char tmp[16], *dash;
	unsigned long lo, hi;

	if (strlen(s) >= sizeof(tmp))
		return -EINVAL;
	strcpy(tmp, s);
	dash = strchr(tmp, '-');
	if (dash == NULL)
		return -EINVAL;
	*dash = '\0';
	if (number(tmp, 65535, &lo) < 0 || number(dash + 1, 65535, &hi) < 0 ||
	    lo > hi)
		return -EINVAL;
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return 0;
}

static int
prefix_v4(const char *s, struct er_prefix *p)
{
	/* A bare address would parse as a host prefix; the format has none. */
	if (strchr(s, '/') == NULL || strchr(s, ':') != NULL)
		return -EINVAL;
	/* Host bits set would be normalised silently: refuse them instead. */
	return er_prefix_parse(p, s, NULL) == 0 ? 0 : -EINVAL;
}

int
cb_rule_parse(struct cb_rule *r, const char *line)
{
	char buf[LINE_MAX_LEN], *f[FIELDS_MAX];
	struct cb_rule t;
	unsigned long proto;
	int ret = -EINVAL;

	if (split(buf, sizeof(buf), line, f) != 5)
		goto out;
	if (prefix_v4(f[0], &t.src) < 0 || prefix_v4(f[1], &t.dst) < 0)
		goto out;
	if (strcmp(f[2], "any") == 0)
		t.proto = CB_PROTO_ANY;
	else if (number(f[2], 255, &proto) == 0)
		t.proto = (int)proto;
	else
		goto out;
	if (range(f[3], &t.sport) < 0 || range(f[4], &t.dport) < 0)
		goto out;
	*r = t;
	ret = 0;
out:
	return ret;
}

int
cb_packet_parse(struct er_packet *p, int32_t *want, const char *line)
{
	char buf[LINE_MAX_LEN], *f[FIELDS_MAX];
	unsigned long proto, sp, dp;
	struct er_packet t;
	long w;
	char *end;
	int ret = -EINVAL;

	memset(&t, 0, sizeof(t));
	if (split(buf, sizeof(buf), line, f) != 6)
		goto out;
	if (er_addr_parse(&t.src, f[0], NULL) < 0 ||
	    er_addr_parse(&t.dst, f[1], NULL) < 0 ||
	    t.src.family != AF_INET || t.dst.family != AF_INET)
		goto out;
	if (number(f[2], 255, &proto) < 0 || number(f[3], 65535, &sp) < 0 ||
	    number(f[4], 65535, &dp) < 0)
		goto out;
	errno = 0;
	w = strtol(f[5], &end, 10);
	if (errno != 0 || *end != '\0' || end == f[5] || w < -1 ||
	    w > INT32_MAX)
		goto out;
	t.proto = (uint8_t)proto;
	t.sport = (uint16_t)sp;
	t.dport = (uint16_t)dp;
	*p = t;
	*want = (int32_t)w;
	ret = 0;
out:
	return ret;
}

void
cb_packet_normalise(struct er_packet *p)
{
	if (!er_proto_has_ports(p->proto))
		p->sport = p->dport = 0;
}

static bool
in_range(const struct er_port_range *r, uint16_t v)
{
	return r->lo <= v && v <= r->hi;
}

bool
cb_rule_matches(const struct cb_rule *r, const struct er_packet *p)
{
	return er_prefix_has(&r->src, &p->src) &&
	       er_prefix_has(&r->dst, &p->dst) &&
	       (r->proto == CB_PROTO_ANY || r->proto == p->proto) &&
	       in_range(&r->sport, p->sport) && in_range(&r->dport, p->dport);
}

int
cb_rule_expand(const struct cb_rule *r, const uint8_t *protos, size_t nprotos,
	       struct er_selector *out)
{
	bool ports = !er_port_range_is_any(&r->sport) ||
		     !er_port_range_is_any(&r->dport);
	int n = 0;

	if (nprotos > CB_EXPAND_MAX)
		return -EINVAL;
	if (r->proto != CB_PROTO_ANY && ports &&
	    !er_proto_has_ports((uint8_t)r->proto))
		return 0;	/* no normalised packet can match it */
	if (r->proto != CB_PROTO_ANY || !ports) {
		uint8_t proto = r->proto == CB_PROTO_ANY ? ER_PROTO_ANY
							 : (uint8_t)r->proto;

		if (er_selector_init(&out[0], &r->src, &r->dst, proto,
				     &r->sport, &r->dport, NULL) < 0)
			return -EINVAL;
		return 1;
	}
	for (size_t i = 0; i < nprotos; i++) {
		if (!er_proto_has_ports(protos[i]))
			return -EINVAL;
		if (er_selector_init(&out[n], &r->src, &r->dst, protos[i],
				     &r->sport, &r->dport, NULL) < 0)
			return -EINVAL;
		n++;
	}
	return n;
}
