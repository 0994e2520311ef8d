// SPDX-License-Identifier: MIT
/*
 * Selectors.  Everything here is value maths on struct er_selector; no
 * allocation.  The specificity number and the total order are the two things
 * other modules rely on for deterministic lookups: see selector.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eroute/selector.h"

static const struct {
	const char *name;
	uint8_t proto;
} proto_names[] = {
	{"icmp", IPPROTO_ICMP},     {"ipip", IPPROTO_IPIP},
	{"tcp", IPPROTO_TCP},       {"udp", IPPROTO_UDP},
	{"dccp", IPPROTO_DCCP},     {"ipv6", IPPROTO_IPV6},
	{"gre", IPPROTO_GRE},       {"esp", IPPROTO_ESP},
	{"ah", IPPROTO_AH},         {"icmpv6", IPPROTO_ICMPV6},
	{"sctp", IPPROTO_SCTP},     {"udplite", IPPROTO_UDPLITE},
	{"comp", IPPROTO_COMP},
};

static const struct er_port_range any_ports = {0, 65535};

bool
er_proto_has_ports(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_DCCP:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		return true;
	default:
		return false;
	}
}

int
er_proto_parse(uint8_t *out, const char *s, struct er_err *err)
{
	unsigned long n;
	char *end;

	if (s == NULL || *s == '\0')
		return er_err_set(err, -EINVAL, "empty protocol");
	if (strcasecmp(s, "any") == 0 || strcmp(s, "%any") == 0) {
		*out = ER_PROTO_ANY;
		return 0;
	}
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]);
	     i++) {
		if (strcasecmp(s, proto_names[i].name) == 0) {
			*out = proto_names[i].proto;
			return 0;
		}
	}
	if (*s < '0' || *s > '9' || strlen(s) > 3)
		return er_err_set(err, -EINVAL, "\"%.32s\": unknown protocol",
				  s);
	n = strtoul(s, &end, 10);
	if (*end != '\0' || n > 255)
		return er_err_set(err, -EINVAL,
				  "\"%.32s\": protocol out of range 0-255", s);
	*out = (uint8_t)n;
	return 0;
}

int
er_proto_format(uint8_t proto, char *buf, size_t len)
{
	if (proto == ER_PROTO_ANY)
		return snprintf(buf, len, "any");
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]);
	     i++) {
		if (proto_names[i].proto == proto)
			return snprintf(buf, len, "%s", proto_names[i].name);
	}
	return snprintf(buf, len, "%u", proto);
}

static int
port_parse(const char *s, const char *whole, uint16_t *out, struct er_err *err)
{
	unsigned long n;
	char *end;

	if (*s < '0' || *s > '9')
		return er_err_set(err, -EINVAL, "\"%.32s\": port is not a number",
				  whole);
	n = strtoul(s, &end, 10);
	if (*end != '\0')
		return er_err_set(err, -EINVAL, "\"%.32s\": port is not a number",
				  whole);
	if (n > 65535 || end - s > 5)
		return er_err_set(err, -EINVAL,
				  "\"%.32s\": port out of range 0-65535", whole);
	*out = (uint16_t)n;
	return 0;
}

int
er_port_range_parse(struct er_port_range *out, const char *s,
		    struct er_err *err)
{
	char buf[16];
	char *dash;
	struct er_port_range r;
	int ret;

	if (s == NULL || *s == '\0')
		return er_err_set(err, -EINVAL, "empty port");
	if (strcasecmp(s, "any") == 0 || strcmp(s, "%any") == 0) {
		*out = any_ports;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		return er_err_set(err, -EINVAL, "\"%.32s\": not a port or range",
				  s);
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash == NULL) {
		ret = port_parse(buf, s, &r.lo, err);
		if (ret < 0)
			return ret;
		r.hi = r.lo;
	} else {
		*dash = '\0';
		ret = port_parse(buf, s, &r.lo, err);
		if (ret == 0)
			ret = port_parse(dash + 1, s, &r.hi, err);
		if (ret < 0)
			return ret;
		if (r.lo > r.hi)
			return er_err_set(err, -EINVAL,
					  "\"%s\": port range is backwards", s);
	}
	*out = r;
	return 0;
}

int
er_port_range_format(const struct er_port_range *r, char *buf, size_t len)
{
	if (er_port_range_is_any(r))
		return snprintf(buf, len, "any");
	if (r->lo == r->hi)
		return snprintf(buf, len, "%u", r->lo);
	return snprintf(buf, len, "%u-%u", r->lo, r->hi);
}

bool
er_port_range_is_any(const struct er_port_range *r)
{
	return r->lo == 0 && r->hi == 65535;
}

int
er_selector_init(struct er_selector *sel, const struct er_prefix *src,
		 const struct er_prefix *dst, uint8_t proto,
		 const struct er_port_range *sport,
		 const struct er_port_range *dport, struct er_err *err)
{
	struct er_selector s;
	int family;

	memset(&s, 0, sizeof(s));
	if (src->addr.family == AF_UNSPEC && dst->addr.family == AF_UNSPEC)
		return er_err_set(err, -EINVAL,
				  "selector %%any -> %%any: cannot tell the "
				  "address family; use %%any4 or %%any6");
	family = src->addr.family != AF_UNSPEC ? src->addr.family
					       : dst->addr.family;
	if (src->addr.family != AF_UNSPEC && dst->addr.family != AF_UNSPEC &&
	    src->addr.family != dst->addr.family) {
		char a[ER_PREFIX_STRLEN], b[ER_PREFIX_STRLEN];

		er_prefix_format(src, a, sizeof(a));
		er_prefix_format(dst, b, sizeof(b));
		return er_err_set(err, -EINVAL,
				  "selector %s -> %s mixes IPv4 and IPv6", a,
				  b);
	}
	s.src = *src;
	s.dst = *dst;
	if (s.src.addr.family == AF_UNSPEC)
		er_prefix_any(&s.src, family);
	if (s.dst.addr.family == AF_UNSPEC)
		er_prefix_any(&s.dst, family);
	s.proto = proto;
	s.sport = sport != NULL ? *sport : any_ports;
	s.dport = dport != NULL ? *dport : any_ports;
	if (s.sport.lo > s.sport.hi || s.dport.lo > s.dport.hi)
		return er_err_set(err, -EINVAL, "port range is backwards");
	if (!er_proto_has_ports(proto) &&
	    (!er_port_range_is_any(&s.sport) ||
	     !er_port_range_is_any(&s.dport))) {
		char p[16];

		er_proto_format(proto, p, sizeof(p));
		return er_err_set(err, -EINVAL,
				  "protocol %s has no ports; a port was given",
				  p);
	}
	*sel = s;
	return 0;
}

void
er_selector_host(struct er_selector *sel, const struct er_packet *pkt,
		 bool with_ports)
{
	memset(sel, 0, sizeof(*sel));
	er_prefix_host(&sel->src, &pkt->src);
	er_prefix_host(&sel->dst, &pkt->dst);
	sel->proto = pkt->proto;
	sel->sport = any_ports;
	sel->dport = any_ports;
	if (with_ports && er_proto_has_ports(pkt->proto)) {
		sel->sport.lo = sel->sport.hi = pkt->sport;
		sel->dport.lo = sel->dport.hi = pkt->dport;
	}
}

int
er_selector_format(const struct er_selector *sel, char *buf, size_t len)
{
	char src[ER_PREFIX_STRLEN], dst[ER_PREFIX_STRLEN];
	char proto[16], sp[16], dp[16];

	er_prefix_format(&sel->src, src, sizeof(src));
	er_prefix_format(&sel->dst, dst, sizeof(dst));
	if (sel->proto == ER_PROTO_ANY)
		return snprintf(buf, len, "%s -> %s", src, dst);
	er_proto_format(sel->proto, proto, sizeof(proto));
	if (er_port_range_is_any(&sel->sport) &&
	    er_port_range_is_any(&sel->dport))
		return snprintf(buf, len, "%s -> %s %s", src, dst, proto);
	er_port_range_format(&sel->sport, sp, sizeof(sp));
	er_port_range_format(&sel->dport, dp, sizeof(dp));
	return snprintf(buf, len, "%s -> %s %s %s -> %s", src, dst, proto, sp,
			dp);
}

static bool
range_has(const struct er_port_range *r, uint16_t port)
{
	return r->lo <= port && port <= r->hi;
}

bool
er_selector_matches(const struct er_selector *sel, const struct er_packet *pkt)
{
	if (!er_prefix_has(&sel->src, &pkt->src) ||
	    !er_prefix_has(&sel->dst, &pkt->dst))
		return false;
	if (sel->proto == ER_PROTO_ANY)
		return true;
	if (sel->proto != pkt->proto)
		return false;
	return range_has(&sel->sport, pkt->sport) &&
	       range_has(&sel->dport, pkt->dport);
}

bool
er_selector_equal(const struct er_selector *a, const struct er_selector *b)
{
	return er_selector_cmp(a, b) == 0;
}

static bool
range_contains(const struct er_port_range *o, const struct er_port_range *i)
{
	return o->lo <= i->lo && i->hi <= o->hi;
}

static bool
range_overlaps(const struct er_port_range *a, const struct er_port_range *b)
{
	return a->lo <= b->hi && b->lo <= a->hi;
}

bool
er_selector_contains(const struct er_selector *outer,
		     const struct er_selector *inner)
{
	if (!er_prefix_contains(&outer->src, &inner->src) ||
	    !er_prefix_contains(&outer->dst, &inner->dst))
		return false;
	if (outer->proto == ER_PROTO_ANY)
		return true;
	return outer->proto == inner->proto &&
	       range_contains(&outer->sport, &inner->sport) &&
	       range_contains(&outer->dport, &inner->dport);
}

bool
er_selector_overlaps(const struct er_selector *a, const struct er_selector *b)
{
	if (!er_prefix_overlaps(&a->src, &b->src) ||
	    !er_prefix_overlaps(&a->dst, &b->dst))
		return false;
	if (a->proto == ER_PROTO_ANY || b->proto == ER_PROTO_ANY)
		return true;
	return a->proto == b->proto && range_overlaps(&a->sport, &b->sport) &&
	       range_overlaps(&a->dport, &b->dport);
}

static int
range_cmp(const struct er_port_range *a, const struct er_port_range *b)
{
	unsigned wa = (unsigned)a->hi - a->lo, wb = (unsigned)b->hi - b->lo;

	if (wa != wb)
		return wa < wb ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

int
er_selector_cmp(const struct er_selector *a, const struct er_selector *b)
{
	int c;

	c = er_prefix_cmp(&a->src, &b->src);
	if (c != 0)
		return c;
	c = er_prefix_cmp(&a->dst, &b->dst);
	if (c != 0)
		return c;
	if (a->proto != b->proto) {
		/* Specific protocols sort before "any" (0). */
		unsigned pa = a->proto ? a->proto : 256;
		unsigned pb = b->proto ? b->proto : 256;

		return pa < pb ? -1 : 1;
	}
	c = range_cmp(&a->sport, &b->sport);
	if (c != 0)
		return c;
	return range_cmp(&a->dport, &b->dport);
}

bool
er_selector_is_host(const struct er_selector *sel)
{
	return er_prefix_is_host(&sel->src) && er_prefix_is_host(&sel->dst);
}

/* 16 for a single port, 0 for the full range. */
static uint32_t
range_specificity(const struct er_port_range *r)
{
	uint32_t width = (uint32_t)r->hi - r->lo + 1;

	return 16 - (uint32_t)(31 - __builtin_clz(width));
}

uint32_t
er_selector_specificity(const struct er_selector *sel)
{
	return (uint32_t)sel->src.len << 19 | (uint32_t)sel->dst.len << 11 |
	       (uint32_t)(sel->proto != ER_PROTO_ANY) << 10 |
	       range_specificity(&sel->sport) << 5 |
	       range_specificity(&sel->dport);
}
