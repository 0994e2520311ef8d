/* SPDX-License-Identifier: MIT */
/*
 * The kernel seam.  Every kernel operation the engine makes goes through one
 * struct er_kernel_ops; the simulated kernel (sim.h) and Linux XFRM are its
 * two implementations, and callers use only the er_kernel_*() wrappers.
 *
 * Installs are idempotent: a policy add that finds the identity present
 * updates it, a replace that finds nothing adds, a delete that finds
 * nothing succeeds.  Each says which happened (ER_KERNEL_UPDATED,
 * ER_KERNEL_ABSENT) so the journal and the logs can tell.
 *
 * Events flow the other way: ACQUIRE when a packet hits a trap, EXPIRE when
 * an SA crosses a lifetime, POLEXPIRE when a policy's lifetime ends, and
 * changes someone else made.  A backend queues them; the owner of the loop
 * drains them with er_kernel_poll_event() and feeds them to the engine, so a
 * backend never calls back into the engine while the engine is calling it.
 */
#ifndef EROUTE_KERNEL_H
#define EROUTE_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "eroute/err.h"
#include "eroute/sad.h"
#include "eroute/selector.h"
#include "eroute/spd.h"
#include "eroute/spi.h"

#pragma GCC visibility push(default)

/* Positive results of installs and deletes. */
#define ER_KERNEL_UPDATED 1	/* add found the identity and updated it */
#define ER_KERNEL_ABSENT 1	/* delete found nothing: already gone */

enum er_kevent_type {
	ER_KEV_ACQUIRE,		/* a packet hit a trap */
	ER_KEV_SA_EXPIRE,	/* an SA crossed a soft or hard lifetime */
	ER_KEV_POLICY_EXPIRE,	/* a policy's lifetime ended; it is gone */
	ER_KEV_POLICY_CHANGED,	/* another process added/changed/deleted a
				   policy (never eroute's own) */
	ER_KEV_SA_CHANGED,	/* likewise for an SA */
	ER_KEV_LOST,		/* events were lost (ENOBUFS) or the kernel
				   was flushed: resync */
};

struct er_kernel_event {
	enum er_kevent_type type;
	/* ACQUIRE: the packet, its narrow selector, the trap it hit. */
	struct er_packet pkt;
	struct er_selector sel;		/* narrow (ACQUIRE) or the policy's */
	enum er_dir dir;
	struct er_selector policy_sel;	/* the trap (ACQUIRE) */
	uint32_t reqid;
	/* SA_EXPIRE, SA_CHANGED */
	struct er_sa_id sa;
	bool hard;
	bool deleted;			/* *_CHANGED: it went away */
};

const char *er_kevent_name(enum er_kevent_type type);

typedef int er_kernel_policy_cb(void *ctx, const struct er_policy *pol);
typedef int er_kernel_event_cb(void *ctx, const struct er_kernel_event *ev);
typedef int er_kernel_sa_cb(void *ctx, const struct er_sa *sa);

struct er_kernel_ops {
	const char *name;	/* "sim", "xfrm" */
	int (*policy_add)(void *ctx, const struct er_policy *pol,
			  struct er_err *err);
	int (*policy_replace)(void *ctx, const struct er_policy *pol,
			      struct er_err *err);
	int (*policy_del)(void *ctx, enum er_dir dir,
			  const struct er_selector *sel, struct er_err *err);
	int (*sa_add)(void *ctx, const struct er_sa *sa, struct er_err *err);
	int (*sa_update)(void *ctx, const struct er_sa *sa,
			 struct er_err *err);
	int (*sa_del)(void *ctx, const struct er_sa_id *id,
		      struct er_err *err);
	int (*spi_alloc)(void *ctx, const struct er_spi_req *req,
			 uint32_t *spi, struct er_err *err);
	int (*policy_dump)(void *ctx, er_kernel_policy_cb *cb, void *cbctx,
			   struct er_err *err);
	int (*sa_dump)(void *ctx, er_kernel_sa_cb *cb, void *cbctx,
		       struct er_err *err);
	int (*poll_event)(void *ctx, struct er_kernel_event *ev);
	/* Optional: many adds (update when present) in as few kernel round
	 * trips as the backend can; results[i] as for policy_add. */
	int (*policy_add_bulk)(void *ctx, const struct er_policy *pols,
			       size_t n, int *results, struct er_err *err);
	/* Optional: the acquires the kernel still holds (XFRM's larval
	 * states, the sim's narrow holds), as ACQUIRE events. */
	int (*acquire_dump)(void *ctx, er_kernel_event_cb *cb, void *cbctx,
			    struct er_err *err);
	/* Optional: how many policies the kernel holds per direction
	 * (indexed by enum er_dir), cheaply (XFRM: one GETSPDINFO). */
	int (*policy_count)(void *ctx, size_t counts[ER_DIR_COUNT],
			    struct er_err *err);
	/* Optional: many deletes by (dir, selector) of pols[i], in as few
	 * round trips as the backend can; a backend may use the priority
	 * to order them.  results[i] as for policy_del. */
	int (*policy_del_bulk)(void *ctx, const struct er_policy *pols,
			       size_t n, int *results, struct er_err *err);
};

struct er_kernel {
	const struct er_kernel_ops *ops;
	void *ctx;
};

/**
 * er_kernel_policy_add - install a policy (update it if present)
 *
 * Return: 0 added, ER_KERNEL_UPDATED, or -errno with the policy named in
 * @err ("policy out 10.1.0.0/16 -> 10.2.0.0/16: File exists").
 */
int er_kernel_policy_add(const struct er_kernel *k, const struct er_policy *pol,
			 struct er_err *err);

/**
 * er_kernel_policy_add_bulk - install many policies (each updated if
 *	present), in batches where the backend can (XFRM: one netlink
 *	round trip per batch, hash thresholds sized for the set)
 * @results: @n entries: 0 added, ER_KERNEL_UPDATED, or -errno
 *
 * Return: 0 when all went in, else the first -errno (@err names it).
 */
int er_kernel_policy_add_bulk(const struct er_kernel *k,
			      const struct er_policy *pols, size_t n,
			      int *results, struct er_err *err);

/**
 * er_kernel_policy_replace - change a policy in place (add if missing)
 *
 * Return: 0 added, ER_KERNEL_UPDATED, or -errno.
 */
int er_kernel_policy_replace(const struct er_kernel *k,
			     const struct er_policy *pol, struct er_err *err);

/**
 * er_kernel_policy_del - delete a policy; Return: 0, ER_KERNEL_ABSENT, -errno
 */
int er_kernel_policy_del(const struct er_kernel *k, enum er_dir dir,
			 const struct er_selector *sel, struct er_err *err);

/**
 * er_kernel_policy_del_bulk - delete many policies by (pols[i].dir,
 *	pols[i].sel), in batches where the backend can (XFRM: one netlink
 *	round trip per batch, in the order its lists make cheapest)
 * @results: @n entries: 0, ER_KERNEL_ABSENT, or -errno
 *
 * Return: 0 when every one is gone, else the first -errno (@err names it).
 */
int er_kernel_policy_del_bulk(const struct er_kernel *k,
			      const struct er_policy *pols, size_t n,
			      int *results, struct er_err *err);

int er_kernel_sa_add(const struct er_kernel *k, const struct er_sa *sa,
		     struct er_err *err);
int er_kernel_sa_update(const struct er_kernel *k, const struct er_sa *sa,
			struct er_err *err);
int er_kernel_sa_del(const struct er_kernel *k, const struct er_sa_id *id,
		     struct er_err *err);

/**
 * er_kernel_spi_alloc - reserve an inbound SPI (a larval SA in the kernel)
 */
int er_kernel_spi_alloc(const struct er_kernel *k,
			const struct er_spi_req *req, uint32_t *spi,
			struct er_err *err);

/**
 * er_kernel_policy_dump, er_kernel_sa_dump - the kernel's view, every
 *	object including ones eroute does not own; @cb returning non-zero
 *	stops the walk and is returned
 */
int er_kernel_policy_dump(const struct er_kernel *k, er_kernel_policy_cb *cb,
			  void *cbctx, struct er_err *err);
int er_kernel_sa_dump(const struct er_kernel *k, er_kernel_sa_cb *cb,
		      void *cbctx, struct er_err *err);

/**
 * er_kernel_policy_count - how many policies the kernel holds in each
 *	direction, every owner's, without a dump
 *
 * Return: 0, or -EOPNOTSUPP when the backend cannot tell, or -errno.
 */
int er_kernel_policy_count(const struct er_kernel *k,
			   size_t counts[ER_DIR_COUNT], struct er_err *err);

/**
 * er_kernel_acquire_dump - every acquire the kernel holds, as an ACQUIRE
 *	event: how acquires lost to an overflowing event socket are found
 *	again (reference 001's orphaned holds).  -EOPNOTSUPP when the backend
 *	cannot tell.
 */
int er_kernel_acquire_dump(const struct er_kernel *k, er_kernel_event_cb *cb,
			   void *cbctx, struct er_err *err);

/**
 * er_kernel_flush - delete every policy and SA of eroute's that the kernel
 *	holds (owner other than ER_OWNER_FOREIGN), in one call: traps first,
 *	so packets that deleted holds release are not trapped again, then
 *	the other policies, then the SAs.  Other daemons' objects stay.
 *	Built on the dump and delete operations, so every backend has it.
 *
 * Return: how many objects were deleted, or -errno when a dump failed or
 * nothing could be deleted; every deletable object is tried regardless.
 */
int er_kernel_flush(const struct er_kernel *k, struct er_err *err);

/**
 * er_kernel_poll_event - take the next queued kernel event
 *
 * Return: 1 with @ev filled, 0 when the queue is empty, or -errno.
 */
int er_kernel_poll_event(const struct er_kernel *k, struct er_kernel_event *ev);

/**
 * er_policy_describe - "policy out 10.1.0.0/16 -> 10.2.0.0/16" for messages
 */
int er_policy_describe(enum er_dir dir, const struct er_selector *sel,
		       char *buf, size_t len);

#pragma GCC visibility pop

#endif
