/* SPDX-License-Identifier: MIT */
/*
 * The Security Association Database.
 *
 * An SA is identified by (destination, protocol, SPI) and is also found by
 * reqid and by owner.  Its life:
 *
 *   larval --(keys installed: er_sad_update)--> mature
 *   mature --(soft limit)--> dying --(hard limit)--> dead
 *   larval --(larval timeout)--> dead
 *
 * The SAD never deletes on its own: er_sad_expire() moves SAs along and
 * reports each crossing exactly once; the caller decides what to delete.
 * Key material is zeroed before an SA is freed and is never formatted.
 */
#ifndef EROUTE_SAD_H
#define EROUTE_SAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/addr.h"
#include "eroute/selector.h"
#include "eroute/spd.h"

#pragma GCC visibility push(default)

enum er_sa_state {
	ER_SA_LARVAL,
	ER_SA_MATURE,
	ER_SA_DYING,
	ER_SA_DEAD,
};

struct er_sa_id {
	struct er_addr dst;
	uint8_t proto;		/* IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP */
	uint32_t spi;
};

/* A limit of 0 means "none". */
struct er_lifetime {
	uint64_t secs;
	uint64_t bytes;
	uint64_t packets;
};

#define ER_SA_KEY_MAX 128
#define ER_SA_ALG_MAX 32

struct er_sa_keys {
	char enc_alg[ER_SA_ALG_MAX];
	char integ_alg[ER_SA_ALG_MAX];
	uint16_t enc_key_len, integ_key_len;
	uint8_t enc_key[ER_SA_KEY_MAX];
	uint8_t integ_key[ER_SA_KEY_MAX];
};

struct er_sa {
	struct er_sa_id id;
	struct er_addr src;
	enum er_mode mode;
	uint32_t reqid;
	uint32_t owner;		/* connection id, ER_OWNER_FOREIGN, or 0 */
	uint64_t group;		/* SA group serial (the state that owns it) */
	enum er_sa_state state;
	struct er_selector sel;	/* traffic the SA carries (inbound check) */
	struct er_lifetime soft, hard;
	uint64_t created;	/* seconds; lifetimes count from here */
	uint64_t larval_expires; /* larval only: when it dies unkeyed */
	uint64_t bytes, packets;
	struct er_sa_keys keys;
};

enum er_sa_expiry {
	ER_SA_EXPIRE_LARVAL,	/* larval SA timed out without keys */
	ER_SA_EXPIRE_SOFT,	/* time to rekey */
	ER_SA_EXPIRE_HARD,	/* must go */
};

const char *er_sa_state_name(enum er_sa_state state);
const char *er_sa_expiry_name(enum er_sa_expiry kind);

/**
 * er_sa_id_format - "esp.0x12345678@192.0.2.1" for logs
 */
int er_sa_id_format(const struct er_sa_id *id, char *buf, size_t len);

struct er_sad;

struct er_sad *er_sad_new(void);

/**
 * er_sad_free - free every SA (keys zeroed); accepts NULL
 */
void er_sad_free(struct er_sad *sad);

/**
 * er_sad_add - add an SA (copied)
 *
 * Return: 0; -EEXIST if its id is taken; -EINVAL for SPI 0 or a bad family;
 * -ENOMEM.
 */
int er_sad_add(struct er_sad *sad, const struct er_sa *sa,
	       const struct er_sa **out);

/**
 * er_sad_update - overwrite the SA with the same id (keys, lifetimes,
 *	state); counters and creation time are kept unless the SA was larval,
 *	in which case its lifetimes start now (@sa->created)
 *
 * Return: 0, -ENOENT, -EINVAL.
 */
int er_sad_update(struct er_sad *sad, const struct er_sa *sa,
		  const struct er_sa **out);

/**
 * er_sad_del - delete and free (keys zeroed).  Return: 0 or -ENOENT.
 */
int er_sad_del(struct er_sad *sad, const struct er_sa_id *id);

/**
 * er_sad_get - the SA with this id, borrowed, or NULL
 */
const struct er_sa *er_sad_get(const struct er_sad *sad,
			       const struct er_sa_id *id);

/**
 * er_sad_lookup - the SA for (dst, proto, spi), borrowed, or NULL; O(1)
 */
const struct er_sa *er_sad_lookup(const struct er_sad *sad,
				  const struct er_addr *dst, uint8_t proto,
				  uint32_t spi);

/**
 * er_sad_lookup_batch - er_sad_get() for @n ids at once
 * @out: @n answers, out[i] for ids[i] (NULL: no such SA)
 *
 * Faster per id than one lookup at a time: the cache misses of a batch
 * overlap.
 */
void er_sad_lookup_batch(const struct er_sad *sad, const struct er_sa_id *ids,
			 size_t n, const struct er_sa **out);

/**
 * er_sad_account - count traffic on an SA (what the datapath does)
 */
void er_sad_account(struct er_sad *sad, const struct er_sa *sa,
		    uint64_t bytes, uint64_t packets);

/**
 * er_sad_set_state - move an SA to a state
 */
void er_sad_set_state(struct er_sad *sad, const struct er_sa *sa,
		      enum er_sa_state state);

typedef void er_sad_expire_cb(void *ctx, const struct er_sa *sa,
			      enum er_sa_expiry kind);

/**
 * er_sad_expire - report every SA that crossed a limit at time @now
 *
 * Larval SAs past larval_expires become dead (LARVAL); mature SAs past a
 * soft limit become dying (SOFT); any keyed SA past a hard limit becomes
 * dead (HARD).  Each crossing is reported once, in one pass.  The callback
 * must not change the SAD.  Return: how many crossings were reported.
 */
size_t er_sad_expire(struct er_sad *sad, uint64_t now, er_sad_expire_cb *cb,
		     void *ctx);

/**
 * er_sad_expire_sa - er_sad_expire() for one SA (of this SAD): for a
 *	caller that keeps its own deadlines and need not visit every SA
 *
 * Return: 1 when a crossing was reported, else 0.
 */
size_t er_sad_expire_sa(struct er_sad *sad, const struct er_sa *sa,
			uint64_t now, er_sad_expire_cb *cb, void *ctx);

/**
 * er_sad_count - SAs in the database, in any state
 */
size_t er_sad_count(const struct er_sad *sad);

/**
 * er_sad_bytes - heap in use by the SAD: its entries and both indexes
 */
size_t er_sad_bytes(const struct er_sad *sad);

/**
 * er_sad_first, er_sad_next - every SA, ordered by (dst, proto, spi)
 */
const struct er_sa *er_sad_first(const struct er_sad *sad);
const struct er_sa *er_sad_next(const struct er_sad *sad,
				const struct er_sa *sa);

/**
 * er_sad_next_by_reqid, er_sad_next_by_owner - the SAs with a reqid or an
 *	owner: start with @sa = NULL, pass the previous answer to go on
 */
const struct er_sa *er_sad_next_by_reqid(const struct er_sad *sad,
					 uint32_t reqid,
					 const struct er_sa *sa);
const struct er_sa *er_sad_next_by_owner(const struct er_sad *sad,
					 uint32_t owner,
					 const struct er_sa *sa);

/**
 * er_sad_ceil - the first SA whose id is >= (dst, proto, spi), or NULL;
 *	the SPI allocator walks from here to find a free SPI
 */
const struct er_sa *er_sad_ceil(const struct er_sad *sad,
				const struct er_addr *dst, uint8_t proto,
				uint32_t spi);

#pragma GCC visibility pop

#endif
