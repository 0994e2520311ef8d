/* SPDX-License-Identifier: MIT */
/*
 * Selectors: which packets a policy applies to.  A selector is a source and
 * a destination prefix of one family, an IP protocol (0 = any) and, for the
 * protocols that have ports, a source and a destination port range.  A
 * packet is the concrete five-tuple a selector is matched against.
 *
 * Invariants of an initialised selector: both prefixes have the same family
 * (AF_INET or AF_INET6); the port ranges are 0-65535 unless the protocol
 * has ports; lo <= hi.
 *
 * The total order er_selector_cmp() is: family; source prefix (longer
 * first, then address); destination prefix (likewise); protocol (specific
 * before any, then by number); source port range (narrower first, then low
 * port); destination port range (likewise).  It breaks ties between
 * policies of equal priority, so lookups never depend on insertion order.
 */
#ifndef EROUTE_SELECTOR_H
#define EROUTE_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/addr.h"
#include "eroute/err.h"

#pragma GCC visibility push(default)

#define ER_PROTO_ANY 0
#define ER_SELECTOR_STRLEN 160

struct er_port_range {
	uint16_t lo, hi;
};

struct er_selector {
	struct er_prefix src, dst;
	uint8_t proto;
	struct er_port_range sport, dport;
};

struct er_packet {
	struct er_addr src, dst;
	uint8_t proto;
	uint16_t sport, dport;	/* 0 for protocols without ports */
};

/**
 * er_proto_has_ports - true for TCP, UDP, DCCP, SCTP and UDP-Lite
 */
bool er_proto_has_ports(uint8_t proto);

/**
 * er_proto_parse - "any", "%any", a name (tcp, udp, icmp, icmpv6, esp, ah,
 *	gre, sctp, dccp, udplite, ipip, ipv6) or a number 0-255
 *
 * Return: 0 or -EINVAL.
 */
int er_proto_parse(uint8_t *out, const char *s, struct er_err *err);

/**
 * er_proto_format - the name if known, else the number; "any" for 0
 */
int er_proto_format(uint8_t proto, char *buf, size_t len);

/**
 * er_port_range_parse - "80", "1000-2000", "%any" or "any" (0-65535)
 *
 * Return: 0 or -EINVAL (not a number, above 65535, lo > hi).
 */
int er_port_range_parse(struct er_port_range *out, const char *s,
			struct er_err *err);

/**
 * er_port_range_format - "80", "1000-2000", or "any"
 */
int er_port_range_format(const struct er_port_range *r, char *buf, size_t len);

/**
 * er_port_range_is_any - true for 0-65535
 */
bool er_port_range_is_any(const struct er_port_range *r);

/**
 * er_selector_init - build and check a selector
 * @sel: the result (untouched on error)
 * @src, @dst: prefixes; a %any side takes the family of the other side
 * @proto: IP protocol, 0 = any
 * @sport, @dport: port ranges, NULL for any
 * @err: optional error text
 *
 * Return: 0, or -EINVAL for mixed families, both sides %any, or ports on a
 * protocol that has none.
 */
int er_selector_init(struct er_selector *sel, const struct er_prefix *src,
		     const struct er_prefix *dst, uint8_t proto,
		     const struct er_port_range *sport,
		     const struct er_port_range *dport, struct er_err *err);

/**
 * er_selector_host - the host-to-host selector of a packet (addresses and
 *	protocol; ports too when @with_ports and the protocol has them)
 */
void er_selector_host(struct er_selector *sel, const struct er_packet *pkt,
		      bool with_ports);

/**
 * er_selector_format - "SRC -> DST" plus " PROTO" and " SPORT -> DPORT"
 *	when they are not "any"
 */
int er_selector_format(const struct er_selector *sel, char *buf, size_t len);

bool er_selector_matches(const struct er_selector *sel,
			 const struct er_packet *pkt);
bool er_selector_equal(const struct er_selector *a,
		       const struct er_selector *b);

/**
 * er_selector_contains - every packet @inner matches, @outer matches too
 */
bool er_selector_contains(const struct er_selector *outer,
			  const struct er_selector *inner);

/**
 * er_selector_overlaps - some packet matches both
 */
bool er_selector_overlaps(const struct er_selector *a,
			  const struct er_selector *b);

/**
 * er_selector_cmp - the stable total order described above
 */
int er_selector_cmp(const struct er_selector *a, const struct er_selector *b);

/**
 * er_selector_is_host - both prefixes are host prefixes
 */
bool er_selector_is_host(const struct er_selector *sel);

/*
 * Specificity: a number that grows with how narrow a selector is, ordered
 * source length first, then destination length, then a specific protocol,
 * then the source port range, then the destination port range:
 *
 *   bits 19..26  source prefix length (0..128)
 *   bits 11..18  destination prefix length (0..128)
 *   bit  10      protocol is specific
 *   bits 5..9    source ports: 16 - floor(log2(width)), 16 for one port
 *   bits 0..4    destination ports: likewise
 */
#define ER_SPECIFICITY_BITS 27

/**
 * er_selector_specificity - the number above; always < 2^27
 */
uint32_t er_selector_specificity(const struct er_selector *sel);

#pragma GCC visibility pop

#endif
