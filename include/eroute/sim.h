/* SPDX-License-Identifier: MIT */
/*
 * The simulated kernel: an in-process SPD and SAD with an outbound packet
 * path, behind the same struct er_kernel_ops as Linux XFRM.  It needs no
 * privileges and is fully deterministic: time and randomness come from the
 * caller.
 *
 * Outbound packet path, in order:
 *   1. UDP from a local address with source port 500 or 4500 bypasses
 *      policy (the IKE daemon's own traffic).
 *   2. The best matching out policy decides; none means pass (as XFRM),
 *      or drop with default_drop (XFRM's default-block option).
 *   3. pass / drop / reject do what they say.  trap installs a narrow bare
 *      hold for the packet's addresses and protocol, retains the packet on
 *      it and queues one ACQUIRE.  hold retains the newest packet and drops
 *      the older one.  ipsec counts the packet on the outbound SA its
 *      template names, whose lifetimes raise EXPIRE events.
 * A retained packet is sent through the path again when its hold is
 * replaced or deleted: there might be a tunnel now.
 *
 * Inbound: a decapsulated packet whose addresses do not match its SA's
 * selector is dropped and counted (the inbound policy check KLIPS lacked).
 */
#ifndef EROUTE_SIM_H
#define EROUTE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/kernel.h"
#include "eroute/sad.h"
#include "eroute/spd.h"

#pragma GCC visibility push(default)

struct er_sim_config {
	uint64_t seed;
	uint64_t now;
	bool default_drop;		/* no policy: drop instead of pass */
	uint32_t acquire_drop_permille;	/* lose this share of ACQUIREs */
	uint32_t fail_every;		/* fail every Nth mutating op; 0 off */
	size_t max_events;		/* queue bound; 0 = 65536 */
};

struct er_sim_result {
	enum er_action verdict;		/* what happened to the packet */
	bool matched;			/* a policy decided (else default) */
	bool bypass;			/* IKE bypass */
	struct er_policy policy;	/* the policy, if matched */
	bool acquire;			/* an ACQUIRE was queued */
	uint32_t spi;			/* ipsec: the SA used */
	bool no_sa;			/* ipsec policy but no usable SA */
};

struct er_sim_stats {
	uint64_t packets, passed, dropped, rejected, trapped, held, ipsec;
	uint64_t retained_dropped;	/* older packets a hold replaced */
	uint64_t released;		/* retained packets sent again */
	uint64_t released_ipsec;	/* ... that then went through an SA */
	uint64_t acquires, acquires_lost, events_lost;
	uint64_t inbound_ok, inbound_policy_drops, inbound_no_sa;
	uint64_t bypassed;
	uint64_t ops, ops_failed;	/* mutating kernel operations */
};

struct er_sim;

struct er_sim *er_sim_new(const struct er_sim_config *cfg);
void er_sim_free(struct er_sim *sim);

/**
 * er_sim_kernel - the sim as a struct er_kernel for the engine
 */
struct er_kernel er_sim_kernel(struct er_sim *sim);

/**
 * er_sim_add_local - an address of this host (IKE bypass source)
 */
int er_sim_add_local(struct er_sim *sim, const struct er_addr *a);

/**
 * er_sim_tick - move the sim's clock to @now and expire what is due: SA
 *	lifetimes (soft, hard, larval) and policy lifetimes, each raising
 *	its event.  A jump stops at every deadline on the way, so each
 *	expiry fires once, in time order.
 */
void er_sim_tick(struct er_sim *sim, uint64_t now);

/**
 * er_sim_next_deadline - the earliest time er_sim_tick() has work (an SA
 *	or policy lifetime ends), or 0
 */
uint64_t er_sim_next_deadline(const struct er_sim *sim);

/**
 * er_sim_packet_out - send an outbound packet of @bytes bytes
 */
int er_sim_packet_out(struct er_sim *sim, const struct er_packet *pkt,
		      uint32_t bytes, struct er_sim_result *res);

/**
 * er_sim_packet_in - receive a decapsulated packet through SA @spi
 *
 * Return: 0 accepted, -ENOENT no such SA, -EPERM it failed the inbound
 * policy check (dropped and counted).
 */
int er_sim_packet_in(struct er_sim *sim, const struct er_addr *sa_dst,
		     uint8_t proto, uint32_t spi, const struct er_packet *pkt,
		     uint32_t bytes);

/**
 * er_sim_set_fail_every - fail every Nth mutating operation (0: never)
 */
void er_sim_set_fail_every(struct er_sim *sim, uint32_t n);

/**
 * er_sim_set_acquire_drop - lose this many ACQUIREs per thousand
 */
void er_sim_set_acquire_drop(struct er_sim *sim, uint32_t permille);

/*
 * Another process changing the kernel (ip xfrm, another IKE daemon): the
 * tables change and the sim queues what a kernel sends its listeners.  One
 * policy added, replaced (as UPDPOLICY: the identity's policy becomes the
 * other process's) or deleted queues an ER_KEV_POLICY_CHANGED; one SA
 * deleted an ER_KEV_SA_CHANGED; a flush an ER_KEV_LOST, which is what
 * backends make of XFRM's FLUSHPOLICY and FLUSHSA.  The operation log does
 * not record them: they are not the engine's.
 */

/**
 * er_sim_external_policy_add - another process adds or replaces a policy;
 *	it becomes ER_OWNER_FOREIGN.  Return: 0 or -errno.
 */
int er_sim_external_policy_add(struct er_sim *sim, const struct er_policy *pol);

/**
 * er_sim_external_policy_del - another process deletes a policy
 *
 * Return: 0, or -ENOENT when there was none.
 */
int er_sim_external_policy_del(struct er_sim *sim, enum er_dir dir,
			       const struct er_selector *sel);

/**
 * er_sim_external_policy_flush - another process flushes the SPD (every
 *	policy that is not persist).  Return: how many went.
 */
size_t er_sim_external_policy_flush(struct er_sim *sim);

/**
 * er_sim_external_sa_del - another process deletes an SA; Return: 0, -ENOENT
 */
int er_sim_external_sa_del(struct er_sim *sim, const struct er_sa_id *id);

/**
 * er_sim_external_sa_flush - another process flushes the SAD, larval SAs
 *	included.  Return: how many went.
 */
size_t er_sim_external_sa_flush(struct er_sim *sim);

const struct er_spd *er_sim_spd(const struct er_sim *sim);
const struct er_sad *er_sim_sad(const struct er_sim *sim);
void er_sim_stats(const struct er_sim *sim, struct er_sim_stats *st);

/*
 * The operation log, for make-before-break checks: every policy add,
 * replace and delete since the last er_sim_oplog_clear(), and every SA
 * delete asked for while a policy still named that SA (the policy is in
 * dir / sel, the SA in sa).
 */
enum er_sim_op {
	ER_SIM_OP_ADD,
	ER_SIM_OP_REPLACE,
	ER_SIM_OP_DEL,
	ER_SIM_OP_SA_DEL_IN_USE,
};

struct er_sim_oprec {
	enum er_sim_op op;
	enum er_dir dir;
	struct er_selector sel;
	enum er_action action;
	struct er_sa_id sa;		/* SA_DEL_IN_USE only */
	/* ADD only: the kernel's own narrow hold, made by a packet that hit
	 * a trap around the selector -- which was therefore covered. */
	bool by_trap;
};

size_t er_sim_oplog(const struct er_sim *sim,
		    const struct er_sim_oprec **recs);
void er_sim_oplog_clear(struct er_sim *sim);

/**
 * er_sim_gaps - windows without protection since the last
 *	er_sim_oplog_clear(): (dir, selector)s that were deleted and then
 *	added again (not counting a trap's narrow hold: a trap covered the
 *	selector meanwhile), and SAs deleted while a policy still sent
 *	traffic to them
 * @first: receives a description of the first one
 */
size_t er_sim_gaps(const struct er_sim *sim, char *first, size_t len);

#pragma GCC visibility pop

#endif
