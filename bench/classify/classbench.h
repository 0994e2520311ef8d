/* SPDX-License-Identifier: MIT */
/*
 * The ClassBench text format of ../shared/bench-data/classbench (see its
 * README) and its mapping onto eroute's selectors and packets.  Pure: no
 * files, no allocation, so tests/unit/test_classbench.c checks it alone.
 *
 * A ClassBench rule may have a port range with protocol any; an er_selector
 * cannot (only protocols with ports have ports), so such a rule becomes one
 * selector per port-carrying protocol the traces use, all with the rule's
 * index and priority.  Packets of protocols without ports carry port 0 in
 * eroute: ClassBench traces give them corner ports, which only port-any
 * rules can match in these sets (checked by the oracle), so zeroing them
 * keeps every answer.
 */
#ifndef BENCH_CLASSIFY_CLASSBENCH_H
#define BENCH_CLASSIFY_CLASSBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/selector.h"

#define CB_PROTO_ANY (-1)
/* Most selectors one rule expands into. */
#define CB_EXPAND_MAX 8

struct cb_rule {
	struct er_prefix src, dst;
	int proto;		/* 0-255 or CB_PROTO_ANY */
	struct er_port_range sport, dport;
};

/**
 * cb_rule_parse - "SRC/LEN DST/LEN PROTO SLO-SHI DLO-DHI"
 *
 * Return: 0 or -EINVAL.
 */
int cb_rule_parse(struct cb_rule *r, const char *line);

/**
 * cb_packet_parse - "SRC DST PROTO SPORT DPORT EXPECTED"; the ports are
 *	kept as written (see cb_packet_normalise())
 *
 * Return: 0 or -EINVAL.
 */
int cb_packet_parse(struct er_packet *p, int32_t *want, const char *line);

/**
 * cb_packet_normalise - zero the ports of a protocol that has none
 */
void cb_packet_normalise(struct er_packet *p);

/**
 * cb_rule_matches - ClassBench's own meaning, on a packet as written
 */
bool cb_rule_matches(const struct cb_rule *r, const struct er_packet *p);

/**
 * cb_rule_expand - the selectors of a rule
 * @protos: the port-carrying protocols the traces use (for proto any with
 *	ports), at most CB_EXPAND_MAX
 * @out: room for CB_EXPAND_MAX selectors
 *
 * Return: how many selectors were written (0 when the rule cannot match a
 * normalised packet: ports on a protocol without ports, or proto any with
 * ports and no port protocol given), or -EINVAL.
 */
int cb_rule_expand(const struct cb_rule *r, const uint8_t *protos,
		   size_t nprotos, struct er_selector *out);

#endif
