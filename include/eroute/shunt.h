/* SPDX-License-Identifier: MIT */
/*
 * The bare-shunt table: shunts that belong to no connection (reference 001).
 *
 * A trapped packet's narrow hold lives here until a connection claims it; a
 * failed opportunistic instance leaves its failure shunt here when it is
 * deleted (reference 000); acquires no connection covers turn into pass
 * shunts here.  Each has an origin for the user ("acquire", "oe-failure",
 * ...) and, usually, an expiry; at most one shunt exists per selector, and
 * adding another for the same selector replaces it.
 */
#ifndef EROUTE_SHUNT_H
#define EROUTE_SHUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/selector.h"
#include "eroute/spd.h"

#pragma GCC visibility push(default)

#define ER_SHUNT_ORIGIN_MAX 32

struct er_shunt {
	struct er_selector sel;
	enum er_action action;	/* hold, pass, drop or reject */
	char origin[ER_SHUNT_ORIGIN_MAX];
	uint32_t reqid;		/* the trap's reqid, for holds; else 0 */
	uint64_t created;
	uint64_t expires;	/* seconds; 0 = never */
	uint64_t use_count;
	uint64_t last_used;
};

/* Returned (positive) by er_shunt_add() when it replaced a shunt. */
#define ER_SHUNT_REPLACED 1

struct er_shunt_table;

struct er_shunt_table *er_shunt_table_new(void);
void er_shunt_table_free(struct er_shunt_table *t);

/**
 * er_shunt_add - add a shunt (copied), replacing one with the same selector
 *
 * Return: 0 when added, ER_SHUNT_REPLACED, -EINVAL for an action that is
 * not a shunt (trap, ipsec) or a bad selector, -ENOMEM.
 */
int er_shunt_add(struct er_shunt_table *t, const struct er_shunt *s,
		 const struct er_shunt **out);

/**
 * er_shunt_del - remove the shunt with this selector.  Return: 0 or -ENOENT.
 */
int er_shunt_del(struct er_shunt_table *t, const struct er_selector *sel);

/**
 * er_shunt_get - the shunt with exactly this selector, or NULL
 */
const struct er_shunt *er_shunt_get(const struct er_shunt_table *t,
				    const struct er_selector *sel);

/**
 * er_shunt_lookup - the shunt a packet hits (the one with the lowest bare
 *	priority, er_priority_default(sel, ER_PRIO_BARE)), or NULL
 */
const struct er_shunt *er_shunt_lookup(const struct er_shunt_table *t,
				       const struct er_packet *pkt);

/**
 * er_shunt_note_use - count a packet against a shunt
 */
void er_shunt_note_use(struct er_shunt_table *t, const struct er_shunt *s,
		       uint64_t now);

typedef void er_shunt_expire_cb(void *ctx, const struct er_shunt *s);

/**
 * er_shunt_expire - remove every shunt whose expiry is <= @now, in one pass
 *	over those, in order of expiry (then selector)
 * @cb: called with each shunt just before it is freed; may be NULL; must
 *	not change the table
 *
 * Return: how many were removed.
 */
size_t er_shunt_expire(struct er_shunt_table *t, uint64_t now,
		       er_shunt_expire_cb *cb, void *ctx);

/**
 * er_shunt_next_expiry - the earliest expiry of any shunt, or 0 when none
 *	expires; costs no walk over the table
 */
uint64_t er_shunt_next_expiry(const struct er_shunt_table *t);

size_t er_shunt_count(const struct er_shunt_table *t);

/**
 * er_shunt_ceil - the first shunt whose selector is >= @sel in
 *	er_selector_cmp() order, or NULL: shunts with the same source and
 *	destination prefixes are adjacent, so this finds them without a scan
 */
const struct er_shunt *er_shunt_ceil(const struct er_shunt_table *t,
				     const struct er_selector *sel);

/**
 * er_shunt_first, er_shunt_next - every shunt, ordered by selector
 */
const struct er_shunt *er_shunt_first(const struct er_shunt_table *t);
const struct er_shunt *er_shunt_next(const struct er_shunt_table *t,
				     const struct er_shunt *s);

#pragma GCC visibility pop

#endif
