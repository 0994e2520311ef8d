/* SPDX-License-Identifier: MIT */
/*
 * The Security Policy Database: eroutes.
 *
 * A policy is a selector, a direction, a priority and an action, owned by a
 * connection or bare.  At most one policy exists per (direction, selector):
 * er_spd_add() refuses a second with -EEXIST, er_spd_replace() changes the
 * one there, er_spd_upsert() does whichever is needed (reference 004: EEXIST
 * means "update it").
 *
 * Lookup: among the live policies of a direction whose selector matches the
 * packet, the lowest priority value wins; equal priorities are decided by
 * er_selector_cmp(), so there is never a tie: (priority, selector) is unique
 * within a direction because the selector alone is.  er_spd_lookup_scan() is
 * the obviously-correct ordered scan and stays forever as the oracle that the
 * fast classifier is tested against.
 *
 * Deletion (reference 003): a policy may be referenced (a lookup result a
 * caller holds, a retained packet).  Deleting a referenced policy unlinks it
 * at once -- it never matches again and its (direction, selector) is free for
 * a new policy -- and marks it dead; it is freed when its last reference is
 * dropped with er_spd_unref(), or by er_spd_reap() when references were
 * dropped with er_spd_release().  Flush and reap each visit every entry in a
 * single call.
 */
#ifndef EROUTE_SPD_H
#define EROUTE_SPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/err.h"
#include "eroute/selector.h"

#pragma GCC visibility push(default)

enum er_dir {
	ER_DIR_OUT,
	ER_DIR_IN,
	ER_DIR_FWD,
};
#define ER_DIR_COUNT 3

enum er_action {
	ER_ACTION_PASS,
	ER_ACTION_DROP,
	ER_ACTION_REJECT,
	ER_ACTION_TRAP,
	ER_ACTION_HOLD,
	ER_ACTION_IPSEC,
};
#define ER_ACTION_COUNT 6

enum er_mode {
	ER_MODE_TUNNEL,
	ER_MODE_TRANSPORT,
};

/* An SA template: what an ipsec (or trap) policy asks of the SAD. */
#define ER_TMPL_MAX 3
struct er_tmpl {
	uint8_t proto;		/* IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP */
	enum er_mode mode;
	struct er_addr src, dst; /* tunnel endpoints (tunnel mode) */
	uint32_t spi;		/* 0: any SA with the reqid */
	uint32_t reqid;
};

/* Owners: a connection id, or one of these. */
#define ER_OWNER_BARE 0u
#define ER_OWNER_FOREIGN UINT32_MAX

struct er_policy {
	enum er_dir dir;
	struct er_selector sel;
	uint32_t priority;	/* lower wins */
	enum er_action action;
	uint32_t reqid;		/* planted in trap and ipsec templates */
	uint8_t ntmpl;
	struct er_tmpl tmpl[ER_TMPL_MAX];
	uint32_t owner;
	uint64_t created;	/* seconds, caller's clock */
	uint64_t last_used;
	uint64_t use_count;
	uint64_t lifetime;	/* seconds after created; 0 = none */
	bool persist;		/* flush leaves it alone */
};

/*
 * Default priorities.  Four classes, each a band of 2^28 values; inside a
 * band, more specific selectors (er_selector_specificity()) get lower
 * values, and an opportunistic instance beats a plain connection of the same
 * selector by one:
 *
 *   system   [0x00000000, 0x0fffffff]  IKE and neighbour-discovery bypasses
 *   bare     [0x10000000, 0x1fffffff]  bare shunts beat every connection
 *   instance [0x20000000, 0x2fffffff]  opportunistic instances
 *   conn     [0x20000000, 0x2fffffff]  connections (instance value + 1)
 *
 * An explicit priority= replaces the computed value, whatever its band.
 */
enum er_prio_class {
	ER_PRIO_SYSTEM,
	ER_PRIO_BARE,
	ER_PRIO_INSTANCE,
	ER_PRIO_CONN,
};

/**
 * er_priority_default - the priority of a selector in a class (see above)
 */
uint32_t er_priority_default(const struct er_selector *sel,
			     enum er_prio_class cls);

const char *er_dir_name(enum er_dir dir);
const char *er_action_name(enum er_action action);
const char *er_mode_name(enum er_mode mode);

/**
 * er_dir_parse, er_action_parse - the names above back to values
 *
 * Return: 0 or -EINVAL.
 */
int er_dir_parse(enum er_dir *out, const char *s);
int er_action_parse(enum er_action *out, const char *s);

struct er_spd;

/* Returned (positive) by er_spd_upsert() when it replaced. */
#define ER_SPD_REPLACED 1
/* Returned (positive) by er_spd_del() when the policy was only marked dead. */
#define ER_SPD_DEFERRED 1

struct er_spd *er_spd_new(void);

/**
 * er_spd_free - free the SPD and every policy, referenced or not; accepts NULL
 */
void er_spd_free(struct er_spd *spd);

/**
 * er_spd_add - add a policy (copied)
 * @out: optional; the stored policy, borrowed
 *
 * Return: 0; -EEXIST if (dir, selector) is taken; -EINVAL for a bad
 * direction, action or template count, or a selector of mixed or unknown
 * families or a prefix longer than its family; -ENOMEM.
 */
int er_spd_add(struct er_spd *spd, const struct er_policy *pol,
	       const struct er_policy **out);

/**
 * er_spd_replace - overwrite the policy with the same (dir, selector)
 *
 * The stored object keeps its identity (references stay valid) and its
 * use counters; everything else, the creation time included, comes from
 * @pol (as in XFRM, a replaced policy is a new policy).  Return: 0,
 * -ENOENT, -EINVAL, -ENOMEM (nothing changed).
 */
int er_spd_replace(struct er_spd *spd, const struct er_policy *pol,
		   const struct er_policy **out);

/**
 * er_spd_upsert - add, or replace when (dir, selector) is taken
 *
 * Return: 0 when added, ER_SPD_REPLACED when replaced, or -errno.
 */
int er_spd_upsert(struct er_spd *spd, const struct er_policy *pol,
		  const struct er_policy **out);

/**
 * er_spd_del - delete the policy with this (dir, selector)
 *
 * Return: 0 when freed, ER_SPD_DEFERRED when it was referenced and is now
 * dead, -ENOENT when there is none.
 */
int er_spd_del(struct er_spd *spd, enum er_dir dir,
	       const struct er_selector *sel);

/**
 * er_spd_get - the live policy with exactly this (dir, selector), or NULL
 */
const struct er_policy *er_spd_get(const struct er_spd *spd, enum er_dir dir,
				   const struct er_selector *sel);

/**
 * er_spd_lookup - the policy a packet hits in a direction, or NULL
 *
 * The fast path; same answer as er_spd_lookup_scan() always.
 */
const struct er_policy *er_spd_lookup(const struct er_spd *spd,
				      enum er_dir dir,
				      const struct er_packet *pkt);

/**
 * er_spd_lookup_batch - er_spd_lookup() for @n packets at once
 * @out: @n answers, out[i] for pkts[i] (NULL: no policy)
 *
 * Faster per packet than one lookup at a time (see er_cls_lookup_batch()).
 */
void er_spd_lookup_batch(const struct er_spd *spd, enum er_dir dir,
			 const struct er_packet *pkts, size_t n,
			 const struct er_policy **out);

/**
 * er_spd_lookup_scan - the reference lookup: walk the policies in
 *	(priority, selector) order and return the first that matches
 */
const struct er_policy *er_spd_lookup_scan(const struct er_spd *spd,
					   enum er_dir dir,
					   const struct er_packet *pkt);

/**
 * er_spd_note_use - count a packet against a policy at time @now
 */
void er_spd_note_use(struct er_spd *spd, const struct er_policy *pol,
		     uint64_t now);

/**
 * er_spd_ref - take a reference on a stored policy (live or dead)
 */
void er_spd_ref(struct er_spd *spd, const struct er_policy *pol);

/**
 * er_spd_unref - drop a reference; frees a dead policy at its last one
 */
void er_spd_unref(struct er_spd *spd, const struct er_policy *pol);

/**
 * er_spd_release - drop a reference without freeing, for contexts where a
 *	free is unsafe (an iteration in progress); er_spd_reap() frees later
 */
void er_spd_release(struct er_spd *spd, const struct er_policy *pol);

/**
 * er_spd_is_dead - true once the policy was deleted while referenced
 */
bool er_spd_is_dead(const struct er_policy *pol);

struct er_spd_filter {
	bool match_owner;
	uint32_t owner;
	bool match_dir;
	enum er_dir dir;
};

/**
 * er_spd_flush - delete every matching policy that is not persist
 * @filter: NULL for all
 *
 * Unreferenced policies are freed, referenced ones marked dead.  One call
 * visits every entry.  Return: how many were deleted.
 */
size_t er_spd_flush(struct er_spd *spd, const struct er_spd_filter *filter);

/**
 * er_spd_reap - free every dead policy that has no reference left, in one
 *	pass.  Return: how many were freed.
 */
size_t er_spd_reap(struct er_spd *spd);

/**
 * er_spd_count - live policies in a direction
 */
size_t er_spd_count(const struct er_spd *spd, enum er_dir dir);

/**
 * er_spd_dead_count - dead policies not yet freed
 */
size_t er_spd_dead_count(const struct er_spd *spd);

/**
 * er_spd_first, er_spd_next - live policies of a direction in lookup order
 *
 * The SPD must not change during the walk.
 */
const struct er_policy *er_spd_first(const struct er_spd *spd,
				     enum er_dir dir);
const struct er_policy *er_spd_next(const struct er_spd *spd,
				    const struct er_policy *pol);

#pragma GCC visibility pop

#endif
