/* SPDX-License-Identifier: MIT */
/*
 * The packet classifier: a set of rules (a selector, a priority and an
 * opaque datum each) that answers "which rule does this packet hit" with
 * exactly the meaning of the SPD's ordered scan: among the rules whose
 * selector matches (er_selector_matches()), the lowest priority value wins;
 * equal priorities go to the smaller selector in er_selector_cmp() order,
 * and rules equal in both to the one added first.  IPv4 and IPv6 rules live
 * in one classifier; a packet never matches a rule of the other family.
 *
 * Adds and deletes are incremental and visible to the next lookup; none of
 * them rebuilds anything or walks the whole set.  Lookups take one packet
 * or a batch; the batch path may use SIMD instructions when the CPU has
 * them (checked at run time) and always has a portable twin.  See
 * docs/classifier.md for the structure.
 *
 * A classifier is not safe for concurrent use: lookups may run in parallel
 * with each other, never with a change.
 */
#ifndef EROUTE_CLASSIFY_H
#define EROUTE_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/selector.h"

#pragma GCC visibility push(default)

struct er_cls;
struct er_cls_rule;

/**
 * er_cls_new - an empty classifier
 *
 * Return: the classifier, or NULL when out of memory.
 */
struct er_cls *er_cls_new(void);

/**
 * er_cls_free - free the classifier and every rule in it; accepts NULL
 */
void er_cls_free(struct er_cls *cls);

/**
 * er_cls_add - add a rule
 * @sel: the selector (copied)
 * @priority: lower wins
 * @data: returned by lookups that hit this rule; not touched
 * @out: optional; the rule's handle, valid until it is deleted or flushed
 *
 * Several rules may have the same selector (and priority); (priority,
 * selector, order of addition) decides between them.
 *
 * Return: 0; -EINVAL for a selector whose prefixes are of different or
 * unknown families or longer than the family allows; -ENOMEM.
 */
int er_cls_add(struct er_cls *cls, const struct er_selector *sel,
               uint32_t priority, void *data, struct er_cls_rule **out);

/**
 * er_cls_del - remove a rule by its handle (from er_cls_add())
 */
void er_cls_del(struct er_cls *cls, struct er_cls_rule *rule);

/**
 * er_cls_lookup - the data of the rule a packet hits, or NULL for none
 */
void *er_cls_lookup(const struct er_cls *cls, const struct er_packet *pkt);

/**
 * er_cls_lookup_batch - er_cls_lookup() for @n packets at once
 * @out: @n answers, out[i] for pkts[i]
 *
 * Faster per packet than single lookups: the packets of a batch share the
 * walk over the classifier's tables and their memory accesses overlap.
 */
void er_cls_lookup_batch(const struct er_cls *cls, const struct er_packet *pkts,
                         size_t n, void **out);

/**
 * er_cls_set_simd - allow or forbid SIMD in lookups
 * @enable: false forces the portable code
 *
 * A new classifier uses SIMD when the CPU supports it: the batch path's
 * hashing with AVX2 or AVX-512, and the walk of large groups in single and
 * batch lookups with AVX-512.  Answers are the same either way.  Return:
 * whether lookups now use SIMD (false when asked not to, or when the CPU
 * has no instructions they can use).
 */
bool er_cls_set_simd(struct er_cls *cls, bool enable);

/**
 * er_cls_flush - remove every rule (handles become invalid); the memory
 *	high-water mark starts again from what is left
 */
void er_cls_flush(struct er_cls *cls);

/**
 * er_cls_count - rules in the classifier
 */
size_t er_cls_count(const struct er_cls *cls);

struct er_cls_stats {
	size_t rules;      /* rules stored */
	size_t tables;     /* hash tables a lookup may visit */
	size_t bytes;      /* heap in use by the classifier now */
	size_t peak_bytes; /* high-water mark since new or flush */
};

/**
 * er_cls_get_stats - sizes of the classifier, for status and benchmarks
 */
void er_cls_get_stats(const struct er_cls *cls, struct er_cls_stats *st);

#pragma GCC visibility pop

#endif
