/* SPDX-License-Identifier: MIT */
/*
 * The Linux XFRM kernel backend: struct er_kernel_ops over NETLINK_XFRM.
 *
 * It owns three netlink sockets: one for requests (policy and SA changes,
 * ALLOCSPI, SPD settings), one for dumps (so that a dump callback may make
 * requests), and one subscribed to the ACQUIRE, EXPIRE, SA and POLICY
 * multicast groups.  The bytes on the wire are the codec's
 * (src/kernel/xfrm_codec.c); this module only moves them.
 *
 * What eroute's actions become in XFRM, the marker that tells eroute's
 * policies from anyone else's, and what XFRM cannot express are in
 * docs/xfrm.md.  In short: pass is allow without template, drop and
 * reject are block, trap and hold are allow with a template and no state,
 * ipsec is allow with templates; every eroute policy carries a marker in
 * a lifetime field the kernel never enforces for policies.
 *
 * Installs are idempotent, as kernel.h asks: an add that meets EEXIST
 * updates, a delete that meets ENOENT / ESRCH succeeds, and each says
 * which happened.
 *
 * Events: er_kernel_poll_event() drains the multicast socket without
 * blocking.  When the socket overflowed (ENOBUFS), or another process
 * flushed the SPD or the SAD, an ER_KEV_LOST event is returned: the engine
 * resyncs (er_engine_resync(): the dumps, and er_xfrm_larval_dump(), which
 * reports every acquire the kernel is still waiting on as if its ACQUIRE
 * had just arrived).  After a flush of the SPD the backend first puts its
 * ND bypass back.  Messages that fail the codec's checks are logged and
 * skipped.
 *
 * Times: the kernel stamps policies and SAs (added, last used) in
 * wall-clock seconds; dumps report them as CLOCK_BOOTTIME seconds, the
 * clock erouted runs its engine on, so that an engine on that clock can
 * compare them with its own (SHUNT_PATIENCE: a bare shunt's last use).
 */
#ifndef EROUTE_XFRM_H
#define EROUTE_XFRM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/err.h"
#include "eroute/kernel.h"
#include "eroute/spd.h"

#pragma GCC visibility push(default)

/* Defaults for the zero values of struct er_xfrm_config. */
#define ER_XFRM_RCVBUF_DEFAULT (8u << 20)	/* event socket, bytes */

/* The ICMPv6 ND bypass: NS and NA, each out, in and fwd. */
#define ER_XFRM_ND_BYPASS_COUNT 6

/*
 * SPD hash thresholds (XFRM_MSG_NEWSPDINFO): a policy whose local and
 * remote prefixes are at least this long goes into the kernel's hash
 * table, the others into its slower inexact structures.  "Local" is the
 * source of out policies and the destination of in and fwd policies.
 * The kernel's defaults are 32/32 and 128/128: only host-to-host policies
 * are hashed.
 */
struct er_xfrm_thresholds {
	uint8_t v4_lbits, v4_rbits;	/* 0..32 */
	uint8_t v6_lbits, v6_rbits;	/* 0..128 */
};

/* Syslog priorities (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG). */
typedef void er_xfrm_log_cb(void *ctx, int priority, const char *msg);

/* Every field may be left zero for the default. */
struct er_xfrm_config {
	uint32_t rcvbuf;		/* event socket receive buffer, bytes */
	uint32_t reqid_base;		/* eroute's reqids; ER_REQID_BASE */
	uint32_t reqid_count;		/* ER_REQID_COUNT */
	uint32_t lifetime_slack;	/* seconds added to every policy
					   lifetime in the kernel; none by
					   default: the engine's shunt
					   lifetimes carry their margin */
	bool no_events;			/* open no multicast socket */
	bool no_nd_bypass;		/* install no ICMPv6 ND bypass */
	bool no_auto_thresholds;	/* bulk installs keep the kernel's
					   hash thresholds */
	const struct er_xfrm_thresholds *thresholds; /* fixed thresholds for
					   bulk installs; NULL: chosen from
					   the policies installed */
	er_xfrm_log_cb *log;		/* NULL: silent */
	void *log_ctx;
};

struct er_xfrm_stats {
	uint64_t events;	/* kernel events returned */
	uint64_t malformed;	/* messages rejected by the codec */
	uint64_t unsupported;	/* well-formed, but nothing eroute shows */
	uint64_t own;		/* notifications of our own changes */
	uint64_t lost;		/* ENOBUFS seen on the event socket */
};

struct er_xfrm;

/**
 * er_xfrm_new - open the backend in the current network namespace
 * @cfg: settings, copied; NULL for all defaults
 * @err: optional error text
 *
 * Opens the sockets, subscribes to the events and, unless told not to,
 * installs the ICMPv6 neighbour-discovery bypass (six eroute-owned,
 * persistent pass policies: NS and NA in each direction).
 *
 * Return: the backend, or NULL with @err set (-EPERM without
 * CAP_NET_ADMIN, -EPROTONOSUPPORT without XFRM).
 */
struct er_xfrm *er_xfrm_new(const struct er_xfrm_config *cfg,
			    struct er_err *err);

/**
 * er_xfrm_free - close the sockets; kernel objects stay; accepts NULL
 */
void er_xfrm_free(struct er_xfrm *x);

/**
 * er_xfrm_kernel - the backend as a struct er_kernel for the engine
 */
struct er_kernel er_xfrm_kernel(struct er_xfrm *x);

/**
 * er_xfrm_event_fd - the event socket, for poll(); -1 with no_events
 *
 * When it is readable, call er_kernel_poll_event() until it returns 0.
 */
int er_xfrm_event_fd(const struct er_xfrm *x);

/**
 * er_xfrm_larval_dump - report every acquire the kernel is waiting on
 * @cb: called with an ER_KEV_ACQUIRE event for each larval acquire state
 *	(SPI 0), filled as the ACQUIRE message would have been: the packet,
 *	its narrow selector, the reqid and the trap policy it hit (found in
 *	a policy dump: the best out policy with that reqid covering the
 *	packet); a non-zero return stops the walk and is returned
 *
 * For recovery after ER_KEV_LOST: the daemon treats each acquire it has
 * no record of as if it had just arrived.  Return: 0, @cb's value, or
 * -errno.
 */
typedef int er_xfrm_acquire_cb(void *ctx, const struct er_kernel_event *ev);
int er_xfrm_larval_dump(struct er_xfrm *x, er_xfrm_acquire_cb *cb,
			void *ctx, struct er_err *err);

/**
 * er_xfrm_thresholds_set - set the SPD hash thresholds
 *
 * The kernel rehashes every policy (in a work queue, shortly after).
 * Return: 0 or -errno (-EINVAL for bits beyond the family).
 */
int er_xfrm_thresholds_set(struct er_xfrm *x,
			   const struct er_xfrm_thresholds *t,
			   struct er_err *err);

/**
 * er_xfrm_thresholds_get - the kernel's SPD hash thresholds now
 */
int er_xfrm_thresholds_get(struct er_xfrm *x, struct er_xfrm_thresholds *t,
			   struct er_err *err);

/**
 * er_xfrm_thresholds_choose - thresholds that suit a set of policies
 * @pols: the policies about to be installed (any mix of families, dirs)
 * @n: how many
 * @out: the choice; a family without policies keeps the kernel default
 *
 * Pure.  Each candidate (lbits, rbits) pair is scored by the work the
 * kernel's inserts would do: the square of the number of policies left to
 * the inexact structures plus, for the hashed ones, the sum of the squares
 * of the number that share a hash key; the cheapest wins, ties going to
 * the longer prefixes.  Large sets are scored on a sample.
 */
void er_xfrm_thresholds_choose(const struct er_policy *pols, size_t n,
			       struct er_xfrm_thresholds *out);

/**
 * er_xfrm_policy_delete_bulk - delete many policies quickly
 * @pols: the policies, by (dir, sel); the priority orders the deletes
 * @results: @n entries: 0, ER_KERNEL_ABSENT, or -errno
 *
 * Messages go to the kernel in batches with one acknowledgement per batch,
 * in the order that keeps the kernel's list walks short (the coarse
 * inexact list first, each list from its head).  Return: 0 when every
 * policy is gone, else the first -errno, named in @err.
 */
int er_xfrm_policy_delete_bulk(struct er_xfrm *x, const struct er_policy *pols,
			       size_t n, int *results, struct er_err *err);

/**
 * er_xfrm_policy_install_bulk - install many policies quickly
 * @pols: the policies, each with add semantics (an existing identity is
 *	updated)
 * @n: how many
 * @results: optional, @n entries: 0 added, ER_KERNEL_UPDATED, or -errno
 * @err: the first failure, named
 *
 * First sets the SPD hash thresholds fixed by the configuration or, for
 * 1024 policies or more, chosen for @pols (er_xfrm_thresholds_choose()),
 * unless no_auto_thresholds.  Messages go to the kernel in batches with one
 * acknowledgement per batch; those that meet EEXIST are sent again as
 * updates.  Return: 0 when every policy is in, else the first -errno.
 */
int er_xfrm_policy_install_bulk(struct er_xfrm *x,
				const struct er_policy *pols, size_t n,
				int *results, struct er_err *err);

/**
 * er_xfrm_nd_bypass_install, er_xfrm_nd_bypass_remove - the ICMPv6
 *	neighbour-discovery bypass (done by er_xfrm_new() unless
 *	no_nd_bypass); remove is for a clean uninstall
 */
int er_xfrm_nd_bypass_install(struct er_xfrm *x, struct er_err *err);
int er_xfrm_nd_bypass_remove(struct er_xfrm *x, struct er_err *err);

/**
 * er_xfrm_stats_get - counters since er_xfrm_new()
 */
void er_xfrm_stats_get(const struct er_xfrm *x, struct er_xfrm_stats *st);

#pragma GCC visibility pop

#endif
