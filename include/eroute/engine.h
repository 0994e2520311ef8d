/* SPDX-License-Identifier: MIT */
/*
 * The routing engine: connections, their routing states, and the policies
 * and SAs those states require, kept right in a kernel (reference 001).
 *
 * Inputs are function calls: add and delete connections; route, unroute,
 * up, down; kernel events; negotiation results; and er_engine_tick(), the
 * only clock.  Outputs are kernel operations through a struct er_kernel and
 * events through one callback: negotiation requests, updown hook calls,
 * state changes and log lines.  Nothing here reads a clock, a socket or a
 * file, so every run can be replayed.
 *
 * Routing states of a connection (libreswan 5 calls prospective
 * "routed-ondemand" and the two holds "unrouted-negotiation" and
 * "routed-negotiation"):
 *
 *                      route                acquire / up
 *   unrouted ----------------> prospective ---------------> routed-hold
 *     |  ^  up                   ^  ^   (trap)                 |  (hold)
 *     |  |                       |  |                SA group  |  tries spent
 *     v  | tries spent           |  | shunt expiry   installed |      |
 *   unrouted-hold ---------------+  +----------- failure <-----+------+
 *     | SA group installed          down / SA     (failure shunt)
 *     v                             group gone         ^
 *   tunnel <---------------------------------------+   | SA group gone
 *     (ipsec)  ---------------------------------------+  after a rekey
 *                                                        attempt failed
 *
 *   never-negotiate  routed passthrough / drop / reject connection
 *   eclipsed         routed, but a better claimant holds its selector
 *
 * Claimants: several connections and bare shunts may want the same
 * (direction, selector).  All are kept, ordered by priority; only the best
 * is in the kernel, and changing the best is one replace, never a delete
 * and an add.  Only the last claimant's departure deletes the policy.
 */
#ifndef EROUTE_ENGINE_H
#define EROUTE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/conn.h"
#include "eroute/kernel.h"
#include "eroute/sad.h"
#include "eroute/shunt.h"
#include "eroute/spd.h"

#pragma GCC visibility push(default)

enum er_routing {
	ER_RT_UNROUTED,
	ER_RT_UNROUTED_HOLD,
	ER_RT_PROSPECTIVE,
	ER_RT_ROUTED_HOLD,
	ER_RT_FAILURE,
	ER_RT_TUNNEL,
	ER_RT_NEVER_NEGOTIATE,
	ER_RT_ECLIPSED,
};
#define ER_RT_COUNT 8

const char *er_routing_name(enum er_routing rt);

/* ------------------------------------------------------------------ */
/* Events out of the engine                                            */

enum er_event_type {
	ER_EV_LOG,		/* a line for the log */
	ER_EV_STATE,		/* a connection changed routing state */
	ER_EV_NEGOTIATE,	/* please negotiate an SA group */
	ER_EV_NEGOTIATE_CANCEL,	/* the engine no longer wants that one */
	ER_EV_UPDOWN,		/* run the updown hook */
	ER_EV_CONN_ADDED,	/* an instance (or a connection) appeared */
	ER_EV_CONN_DELETED,	/* ... and went */
};

enum er_log_level {
	ER_LOG_ERROR,
	ER_LOG_WARNING,
	ER_LOG_INFO,
	ER_LOG_DEBUG,
};

enum er_updown_verb {
	ER_UPDOWN_PREPARE,	/* prepare-client */
	ER_UPDOWN_ROUTE,	/* route-client */
	ER_UPDOWN_UNROUTE,	/* unroute-client */
	ER_UPDOWN_UP,		/* up-client */
	ER_UPDOWN_DOWN,		/* down-client */
};

const char *er_updown_verb_name(enum er_updown_verb verb);
const char *er_log_level_name(enum er_log_level level);

#define ER_NEG_SPI_MAX 2

struct er_event {
	enum er_event_type type;
	uint64_t now;
	/* The connection concerned, or NULL / 0. */
	const char *conn;
	uint32_t conn_id;
	const struct er_conn_config *config;	/* borrowed for the call */
	uint32_t reqid;
	/* LOG */
	enum er_log_level level;
	const char *text;
	/* STATE */
	enum er_routing old_state, new_state;
	/* NEGOTIATE, NEGOTIATE_CANCEL */
	uint64_t negotiation;		/* id to answer with */
	unsigned attempt;		/* 1 for the first try */
	struct er_selector sel;		/* what to protect (outbound) */
	struct er_addr local, remote;	/* the peers */
	uint32_t spi_in[ER_NEG_SPI_MAX];	/* reserved inbound SPIs */
	unsigned nspi;
	bool rekey;
	/* UPDOWN */
	enum er_updown_verb verb;
	/* selector above, plus the established SA (up/down) */
	uint32_t spi_out;
};

typedef void er_engine_event_cb(void *ctx, const struct er_event *ev);

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

struct er_engine_config {
	struct er_kernel kernel;
	er_engine_event_cb *event_cb;	/* may be NULL */
	void *event_ctx;
	uint64_t seed;			/* randomness (SPIs, nothing else) */
	uint64_t now;			/* starting time, seconds */
	uint64_t shunt_lifetime;	/* bare and failure shunts; 900 */
	uint64_t larval_timeout;	/* unkeyed inbound SPI reservation; 30 */
	uint32_t reqid_base;		/* first reqid; default 0x3e800000 */
	uint32_t reqid_count;		/* size of the range; default 2^20 */
	/* Addresses of this host beyond every left=: acquires towards them
	 * are refused. */
	const struct er_addr *local_addrs;
	size_t nlocal_addrs;
};

/* The reqid range eroute uses when nobody says otherwise: a marker that
 * tells eroute's kernel objects from anybody else's. */
#define ER_REQID_BASE 0x3e800000u
#define ER_REQID_COUNT (1u << 20)

/* ------------------------------------------------------------------ */
/* Negotiation results                                                 */

/* What an IKE negotiation (or the peer, as responder) produced. */
struct er_sa_group_spec {
	uint8_t proto;			/* IPPROTO_ESP (default) or AH */
	uint32_t spi_out;		/* the peer's SPI for our outbound SA */
	uint32_t spi_in;		/* ours; 0: use the reserved one, or
					   allocate one (responder) */
	struct er_sa_keys keys_out, keys_in;
	uint64_t lifetime;		/* hard, seconds; 0: the connection's */
	uint64_t soft_lifetime;		/* 0: lifetime - rekeymargin */
	uint64_t bytes, packets;	/* hard byte / packet limits, 0 none */
};

/* ------------------------------------------------------------------ */
/* What the engine tells about a connection                            */

struct er_conn_info {
	uint32_t id;
	const char *name;
	const struct er_conn_config *config;
	enum er_routing routing;
	uint64_t eroute_owner;		/* SA group serial, 0 = nobody */
	bool negotiating;
	unsigned tries;			/* attempts in the current negotiation */
	const char *instance_of;	/* group name, or NULL */
	uint32_t reqid;
	uint64_t failure_expires;	/* failure state: when the shunt ends */
	uint64_t revive_at;		/* auto=start revival, 0 = none */
	size_t ngroups;			/* live SA groups */
};

struct er_engine;

/**
 * er_engine_new - a new engine over a kernel
 *
 * Return: the engine, or NULL with @err set.
 */
struct er_engine *er_engine_new(const struct er_engine_config *cfg,
				struct er_err *err);

/**
 * er_engine_free - free the engine; the kernel is left as it is (call
 *	er_engine_shutdown() first to clean it); accepts NULL
 */
void er_engine_free(struct er_engine *e);

/**
 * er_engine_shutdown - remove every policy and SA the engine installed
 *	(unroute-client for each routed connection), for a clean exit
 */
void er_engine_shutdown(struct er_engine *e);

/**
 * er_engine_conn_add - add a connection and act on its auto=
 *
 * Return: the connection's id (> 0), or -EEXIST (name taken), -EINVAL.
 */
int er_engine_conn_add(struct er_engine *e, const struct er_conn_config *cc,
		       struct er_err *err);

/**
 * er_engine_conn_replace - change a connection's description (a reload):
 *	the new one is added as a claimant beside the old before the old goes,
 *	so its selectors never lack a policy; a connection of that name that
 *	does not exist yet is simply added
 *
 * Return: the new connection's id, or -errno (the old one stays).
 */
int er_engine_conn_replace(struct er_engine *e,
			   const struct er_conn_config *cc, struct er_err *err);

/**
 * er_engine_set_shunt_lifetime - shuntlifetime= for shunts made from now on
 */
void er_engine_set_shunt_lifetime(struct er_engine *e, uint64_t secs);

/**
 * er_engine_conn_del - delete a connection in whatever state it is in
 *	(its instances too).  An opportunistic instance's failure shunt
 *	becomes a bare shunt; everything else is removed.
 */
int er_engine_conn_del(struct er_engine *e, const char *name,
		       struct er_err *err);

int er_engine_route(struct er_engine *e, const char *name, struct er_err *err);
int er_engine_unroute(struct er_engine *e, const char *name,
		      struct er_err *err);
int er_engine_up(struct er_engine *e, const char *name, struct er_err *err);
int er_engine_down(struct er_engine *e, const char *name, struct er_err *err);

/**
 * er_engine_kernel_event - feed one kernel event
 */
int er_engine_kernel_event(struct er_engine *e,
			   const struct er_kernel_event *ev,
			   struct er_err *err);

/**
 * er_engine_negotiated - negotiation @id produced an SA group
 */
int er_engine_negotiated(struct er_engine *e, uint64_t id,
			 const struct er_sa_group_spec *spec,
			 struct er_err *err);

/**
 * er_engine_negotiation_failed - negotiation @id failed (one attempt)
 */
int er_engine_negotiation_failed(struct er_engine *e, uint64_t id,
				 const char *reason, struct er_err *err);

/**
 * er_engine_responder - the peer initiated and an SA group arrived for
 *	connection @name; for an opportunistic group @peer names the peer and
 *	an instance is created (or reused) for it
 */
int er_engine_responder(struct er_engine *e, const char *name,
			const struct er_addr *peer,
			const struct er_sa_group_spec *spec,
			struct er_err *err);

/**
 * er_engine_oldest_negotiation - the oldest pending negotiation of a
 *	connection or instance, for the simulated negotiator
 *
 * Return: its id, or 0 when none is pending.
 */
uint64_t er_engine_oldest_negotiation(const struct er_engine *e,
				      const char *name);

/**
 * er_engine_rescan - find acquires whose events were lost (the event socket
 *	overflowed) among what the kernel holds, and handle each as if its
 *	ACQUIRE had arrived; a flow already being handled is absorbed, so
 *	this is safe to run at any time.  Also drop bare pass shunts no
 *	packet used for @patience seconds (0: keep them to their expiry).
 *
 * Return: how many acquires were fed, or -errno.
 */
int er_engine_rescan(struct er_engine *e, uint64_t patience,
		     struct er_err *err);

/**
 * er_engine_resync - after lost events (ER_KEV_LOST: an overflowed event
 *	socket, a flush by another process): rescan the acquires, find the
 *	SAs that vanished (each is its group's hard expiry), and sort the
 *	kernel's policies against the engine's view as a restart does:
 *	missing ones are put back, different or overwritten ones replaced,
 *	eroute's unwanted ones deleted, foreign ones left alone.  One policy
 *	dump and one SA dump; er_engine_kernel_event() calls it for
 *	ER_KEV_LOST, a daemon that coalesces many may call it once.
 *
 * Return: 0, or -errno (kernel operations that failed are retried).
 */
int er_engine_resync(struct er_engine *e, struct er_err *err);

/**
 * er_engine_verify - the cheap periodic check: the kernel's policy count
 *	per direction (one call, no dump) against the engine's view and the
 *	foreign set, as they stood at the last resync; a difference means
 *	something was missed, and a resync runs
 *
 * Return: 1 when a resync ran, 0 when the counts agreed or the backend
 * cannot count, or -errno.
 */
int er_engine_verify(struct er_engine *e, struct er_err *err);

/**
 * er_engine_tick - let time pass to @now: expire bare and failure shunts,
 *	revive auto=start connections, retry failed kernel operations.
 *	However far @now jumps, each expiry on the way fires once, in time
 *	order, with the engine's clock at its deadline (so what it starts is
 *	timed from then); the clock ends at @now.
 */
void er_engine_tick(struct er_engine *e, uint64_t now);

/**
 * er_engine_now - the engine's clock (the last tick)
 */
uint64_t er_engine_now(const struct er_engine *e);

/**
 * er_engine_next_deadline - the earliest time tick() has work, or 0
 */
uint64_t er_engine_next_deadline(const struct er_engine *e);

/**
 * er_engine_retries - kernel operations that failed and wait for the next
 *	tick to try again: policies to add, replace or delete (the old policy
 *	stays in the meantime) and SAs to delete.  While this is not 0,
 *	er_engine_next_deadline() is at most a second away.
 */
size_t er_engine_retries(const struct er_engine *e);

/**
 * er_engine_check - verify every invariant (reference 001 and README)
 * @buf: receives a description of the first violation
 *
 * Return: 0 when all hold, -1 otherwise.
 */
int er_engine_check(const struct er_engine *e, char *buf, size_t len);

/**
 * er_engine_conn_info - a connection's state by name.  Return: 0, -ENOENT.
 */
int er_engine_conn_info(const struct er_engine *e, const char *name,
			struct er_conn_info *info);

/**
 * er_engine_conn_foreach - every connection and instance, in order of id
 */
typedef int er_engine_conn_cb(void *ctx, const struct er_conn_info *info);
int er_engine_conn_foreach(const struct er_engine *e, er_engine_conn_cb *cb,
			   void *ctx);

/**
 * er_engine_spd, er_engine_sad, er_engine_shunts - the engine's view of
 *	what it installed, and its bare shunts (borrowed, read-only)
 */
const struct er_spd *er_engine_spd(const struct er_engine *e);
const struct er_sad *er_engine_sad(const struct er_engine *e);
const struct er_shunt_table *er_engine_shunts(const struct er_engine *e);

/**
 * er_engine_conn_name - the name of a connection id, or NULL
 */
const char *er_engine_conn_name(const struct er_engine *e, uint32_t id);

/**
 * er_engine_reqid_reserve - make a selector's reqid what it was before
 *	a restart (from the journal); call before adding connections
 */
int er_engine_reqid_reserve(struct er_engine *e, const struct er_selector *sel,
			    uint32_t reqid);

/*
 * Restart (reference 004).  A restarted daemon finds its previous run's
 * policies and SAs still in the kernel.  Between er_engine_adopt_begin()
 * and er_engine_adopt_finish() the engine reads what the kernel holds and
 * takes the connections as usual, but makes no kernel call; then, in the
 * manner of BIRD's kernel sync, it sorts every kernel object into adopted
 * (wanted and as it is: nothing done, no window), updated (wanted but
 * different: replaced in place), added (wanted and missing), deleted (ours
 * and no longer wanted) and foreign (another daemon's: left alone).  SAs
 * of a connection are adopted as its SA groups, so that their expiry
 * starts a rekey; reqids found in the kernel are kept.
 */
struct er_adopt_stats {
	size_t adopted, updated, added, deleted, foreign;
	size_t sa_adopted, sa_deleted, larval_deleted;
};

/* Is a policy found in the kernel eroute's?  The default answer is "yes
 * unless the backend says ER_OWNER_FOREIGN". */
typedef bool er_engine_ours_cb(void *ctx, const struct er_policy *pol);

/**
 * er_engine_adopt_begin - dump the kernel into the engine's view
 * @ours: optional ownership test (the daemon's), else the backend's owner
 *	field decides; kept, and asked again by every er_engine_resync()
 */
int er_engine_adopt_begin(struct er_engine *e, er_engine_ours_cb *ours,
			  void *ctx, struct er_err *err);

/**
 * er_engine_adopt_finish - reconcile: see above; @stats may be NULL
 */
int er_engine_adopt_finish(struct er_engine *e, struct er_adopt_stats *stats,
			   struct er_err *err);

/**
 * er_engine_foreign_note - another daemon added (@present) or removed a
 *	policy: eroute will not route a connection over it
 *
 * Changes other processes make at run time arrive as ER_KEV_POLICY_CHANGED
 * and are sorted by the engine itself: an identity eroute holds is put
 * back (src/lib/resync.c), any other goes through this.
 */
void er_engine_foreign_note(struct er_engine *e, enum er_dir dir,
			    const struct er_selector *sel, bool present);

/**
 * er_engine_trace - which policy a packet would hit in the engine's view,
 *	and every policy that matches it in lookup order; no side effects
 * @cb: called for each candidate, the winner first
 */
typedef int er_engine_trace_cb(void *ctx, const struct er_policy *pol,
			       bool winner);
int er_engine_trace(const struct er_engine *e, enum er_dir dir,
		    const struct er_packet *pkt, er_engine_trace_cb *cb,
		    void *ctx);

#pragma GCC visibility pop

#endif
