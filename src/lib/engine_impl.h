/* SPDX-License-Identifier: MIT */
/*
 * Inside the engine: the structures that engine.c (inputs, connections, SA
 * groups, checks), claim.c (claimants and kernel sync) and routing.c (the
 * state machine) share.  Not installed, not part of the ABI.
 */
#ifndef EROUTE_ENGINE_IMPL_H
#define EROUTE_ENGINE_IMPL_H

#include <sys/queue.h>

#include "eroute/engine.h"
#include "eroute/rng.h"

#include "compat/tree.h"
#include "lhash.h"
#include "pool.h"

/* ---- claims ------------------------------------------------------ */

/*
 * A claim is one party's wish for a (direction, selector): a connection or
 * a bare shunt, with the policy it wants.  A claim key gathers every claim
 * on one (direction, selector), best first; the best one's policy is what
 * the kernel should have.  "installed" mirrors what the kernel has (the
 * engine's SPD view); "dirty" marks a key whose kernel operation failed (or
 * a restore that waits a second, resync.c) and is retried on the next tick;
 * "blocked" marks a key another daemon's policy held first, which is never
 * overwritten: its claims wait, uninstalled, until that policy goes.
 */
struct claim_key;

struct claim {
	TAILQ_ENTRY(claim) link;
	struct claim_key *key;
	uint32_t owner;			/* connection id or ER_OWNER_BARE */
	struct er_policy pol;
};

TAILQ_HEAD(claim_list, claim);

struct claim_key {
	RB_ENTRY(claim_key) link;
	TAILQ_ENTRY(claim_key) touched_link;
	TAILQ_ENTRY(claim_key) dirty_link;	/* on e->dirty while dirty */
	enum er_dir dir;
	struct er_selector sel;
	struct claim_list claims;
	bool dirty;
	bool touched;
	bool blocked;
	bool seen;			/* found in a resync's dump */
	uint64_t restored;		/* engine time + 1 of the last restore */
};

RB_HEAD(claim_tree, claim_key);
TAILQ_HEAD(claim_key_list, claim_key);

/* ---- connections ------------------------------------------------- */

struct sa_group;
TAILQ_HEAD(sa_group_list, sa_group);

struct negotiation {
	uint64_t id;
	struct conn *c;
	unsigned attempt;
	bool rekey;
	uint64_t started;
	uint32_t spi_in;		/* reserved larval SPI, 0 if none */
	TAILQ_ENTRY(negotiation) link;
	RB_ENTRY(negotiation) by_id;	/* an answer finds its own */
};

TAILQ_HEAD(negotiation_list, negotiation);
RB_HEAD(negotiation_tree, negotiation);

struct conn {
	uint32_t id;
	struct er_conn_config cfg;	/* remote_clients points below */
	struct er_prefix *remote_clients;
	uint32_t *reqids;		/* one per remote client */
	enum er_routing rt;
	bool routed_by_up;		/* routed because it came up unrouted */
	bool pending_start;		/* auto=start, held until adoption ends */
	struct conn *group;		/* instance_of */
	size_t ninstances;
	struct negotiation *neg;	/* at most one at a time */
	unsigned tries;
	bool rekey_failed;		/* a replacement attempt failed */
	bool kernel_failed;		/* the kernel refused our SAs */
	struct sa_group_list groups;	/* oldest first */
	uint64_t eroute_owner;		/* serial of the group erouted */
	uint64_t failure_expires;
	uint64_t revive_at;
	unsigned revivals;
	/* When tick() has work for it (the failure shunt's end while in
	 * failure, the revival while prospective), 0 for never; on the
	 * engine's timer tree while not 0 (conn_timer_sync). */
	uint64_t timer;
	RB_ENTRY(conn) by_timer;
	RB_ENTRY(conn) by_name;
	RB_ENTRY(conn) by_id;
	TAILQ_ENTRY(conn) route_link;	/* on its route while routed */
	struct route_entry *route;
};

/* The routed connections to one remote client: they share its route
 * (reference 001's route_owner). */
TAILQ_HEAD(conn_list, conn);
struct route_entry {
	struct er_prefix client;
	struct conn_list conns;
	struct lhash_node link;		/* e->routes, by client */
};

RB_HEAD(conn_name_tree, conn);
RB_HEAD(conn_id_tree, conn);
RB_HEAD(conn_timer_tree, conn);
int conn_id_cmp(const struct conn *a, const struct conn *b);
RB_PROTOTYPE(conn_id_tree, conn, by_id, conn_id_cmp)

struct sa_group {
	uint64_t serial;
	struct conn *c;
	struct er_sa_id out, in;
	uint64_t created;
	bool rekey_started;
	TAILQ_ENTRY(sa_group) link;
	RB_ENTRY(sa_group) by_serial;
};

RB_HEAD(group_tree, sa_group);

/* ---- reqids ------------------------------------------------------ */

struct reqid_entry {
	struct er_selector sel;
	uint32_t reqid;
	unsigned users;
	struct lhash_node by_sel, by_num;
};

/* ---- restart and other daemons ---------------------------------- */

/* The owner of a policy found in the kernel at a restart, until a claimant
 * takes it (er_engine_adopt_*). */
#define ER_OWNER_ADOPTED (UINT32_MAX - 1)

/* Policies of another IKE daemon: never overwritten. */
struct foreign_key {
	RB_ENTRY(foreign_key) link;
	enum er_dir dir;
	struct er_selector sel;
	bool seen;			/* found in a resync's dump */
};

RB_HEAD(foreign_tree, foreign_key);

/* ---- local addresses ------------------------------------------- */

/* The left= addresses of configured connections, counted: an acquire
 * towards this host is refused without a walk over every connection and
 * every opportunistic instance. */
struct local_ref {
	RB_ENTRY(local_ref) link;
	struct er_addr addr;
	unsigned users;
};

RB_HEAD(local_tree, local_ref);

/* ---- the engine -------------------------------------------------- */

struct er_engine {
	struct er_engine_config cfg;
	struct er_addr *local_addrs;
	uint64_t now;
	struct er_rng rng;
	struct er_spd *view;		/* what the kernel has, as we know it */
	struct kbatch *kbatch;		/* open: policy deletes coalesced
					   (kbatch.c), cfg.kernel wraps */
	struct er_sad *sad;		/* SAs we installed or reserved */
	struct er_shunt_table *shunts;
	struct claim_tree claims;
	/* Where connections, claims and claim keys come from. */
	struct pool conn_pool, claim_pool, key_pool;
	struct claim_key_list touched;
	struct conn_name_tree conns_by_name;
	struct conn_id_tree conns_by_id;
	/* Connections with a timer, soonest first: tick() visits the ones
	 * that are due, not every connection and instance. */
	struct conn_timer_tree timers;
	uint32_t next_conn_id;
	struct negotiation_list negs;
	struct negotiation_tree negs_by_id;
	uint64_t next_neg_id;
	struct group_tree groups;
	uint64_t next_group;
	struct lhash reqid_by_sel, reqid_by_num;
	size_t ndirty;
	struct claim_key_list dirty;	/* the dirty keys, ndirty of them */
	/* Out keys that stopped being dirty since the last settle, while
	 * acquire holds were kept (kept_holds_release()). */
	struct er_selector *settled;
	size_t nsettled, settled_cap;
	bool stopped;			/* er_engine_shutdown() ran */
	struct foreign_tree foreign;
	struct lhash routes;		/* route_entry by remote client */
	struct local_tree locals;	/* configured connections' left= */
	bool adopting;			/* between adopt_begin and _finish */
	struct er_adopt_stats *adopt_stats; /* counting, during _finish */
	er_engine_ours_cb *ours;	/* adopt_begin's, for resyncs too */
	void *ours_ctx;
	size_t nforeign[ER_DIR_COUNT];
	/* The kernel's policy count minus the view's and the foreign set's,
	 * per direction, at the last resync (resync.c, er_engine_verify). */
	long long count_extra[ER_DIR_COUNT];
	bool count_known;
	/* SAs to delete from the kernel, no longer the engine's: a policy
	 * still named them (its replace failed) or their delete failed.
	 * Each tick tries again (engine_sa_remove()). */
	struct er_sa_id *doomed;
	size_t ndoomed, doomed_cap;
	/* Acquire holds kept because their connection's policy is not in
	 * the kernel yet (on_acquire()); engine_settle() lets them go. */
	struct er_selector *kept;	/* their selectors */
	size_t nkept, kept_cap;

};

/* engine.c */
void engine_log(struct er_engine *e, enum er_log_level level,
		const struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void engine_emit(struct er_engine *e, struct er_event *ev,
		 const struct conn *c);
struct conn *engine_conn_by_id(const struct er_engine *e, uint32_t id);
struct conn *conn_by_name(const struct er_engine *e, const char *name);
void conn_timer_sync(struct er_engine *e, struct conn *c);
struct sa_group *group_by_serial(const struct er_engine *e, uint64_t serial);
struct sa_group *group_new(struct er_engine *e, struct conn *c);
void group_link(struct er_engine *e, struct sa_group *g);
void conn_local_addr(const struct conn *c, struct er_addr *out);
void conn_remote_addr(const struct conn *c, struct er_addr *out);
struct conn *instance_get(struct er_engine *e, struct conn *grp,
			  const struct er_addr *peer, bool *created,
			  struct er_err *err);
void engine_settle(struct er_engine *e);
void route_follow(struct er_engine *e, struct conn *c, bool routed);
struct conn *route_sharer(const struct er_engine *e, const struct conn *c);
void route_free_all(struct er_engine *e);
bool foreign_has(const struct er_engine *e, enum er_dir dir,
		 const struct er_selector *sel);
void foreign_free_all(struct er_engine *e);
void engine_sa_gone(struct er_engine *e, const struct er_sa_id *id);
void engine_sa_remove(struct er_engine *e, const struct conn *c,
		      const struct er_sa_id *id);

/* adopt.c */
void foreign_seen(struct er_engine *e, enum er_dir dir,
		  const struct er_selector *sel);
void foreign_sweep(struct er_engine *e, bool drop_unseen);
bool adopt_is_ours(const struct er_engine *e, const struct er_policy *pol);
int adopt_delete_unclaimed(struct er_engine *e, struct er_err *err);

/* resync.c */
void resync_policy_changed(struct er_engine *e,
			   const struct er_kernel_event *ev);
void resync_sa_changed(struct er_engine *e, const struct er_kernel_event *ev);
void resync_count_calibrate(struct er_engine *e);

/* claim.c */
int claim_tree_cmp(const struct claim_key *a, const struct claim_key *b);
RB_PROTOTYPE(claim_tree, claim_key, link, claim_tree_cmp)
struct claim_key *claim_key_find(const struct er_engine *e, enum er_dir dir,
				 const struct er_selector *sel);
struct claim *claim_find(const struct er_engine *e, enum er_dir dir,
			 const struct er_selector *sel, uint32_t owner);
int claim_set(struct er_engine *e, uint32_t owner,
	      const struct er_policy *pol);
int claim_adopt(struct er_engine *e, uint32_t owner,
		const struct er_policy *pol);
void claim_drop(struct er_engine *e, enum er_dir dir,
		const struct er_selector *sel, uint32_t owner);
bool claim_is_best(const struct claim *cl);
void claim_retry_dirty(struct er_engine *e);
int claim_sync(struct er_engine *e, struct claim_key *k);
int claim_restore(struct er_engine *e, struct claim_key *k);
void claim_mark_dirty(struct er_engine *e, struct claim_key *k);
int claim_orphan(struct er_engine *e, enum er_dir dir,
		 const struct er_selector *sel);
void claim_free_all(struct er_engine *e);
int claim_sync_all(struct er_engine *e);

/* kbatch.c: while open, consecutive policy deletes go to the kernel as
 * one bulk call (the shutdown). */
struct kbatch;
int kbatch_begin(struct er_engine *e);
void kbatch_end(struct er_engine *e);
bool policy_same(const struct er_policy *a, const struct er_policy *b);

/* routing.c */
enum conn_event {
	CEV_ROUTE,
	CEV_UNROUTE,
	CEV_UP,
	CEV_DOWN,
	CEV_ACQUIRE,
	CEV_SA_UP,
	CEV_NEG_FAIL,
	CEV_SHUNT_EXPIRE,
	CEV_SA_GONE,
	CEV_ECLIPSE,
	CEV_UNECLIPSE,
	CEV_DELETE,
};
#define CEV_COUNT 12

struct conn_event_args {
	struct sa_group *group;		/* SA_UP */
	bool spent;			/* NEG_FAIL: tries are spent */
	bool rekey;			/* NEG_FAIL: it was a rekey */
};

const char *conn_event_name(enum conn_event ev);
bool conn_event_allowed(enum er_routing rt, enum conn_event ev);
int conn_transition(struct er_engine *e, struct conn *c, enum conn_event ev,
		    const struct conn_event_args *args, struct er_err *err);

/* engine.c services the state machine uses */
void conn_claims_set(struct er_engine *e, struct conn *c,
		     enum er_routing for_state);
void conn_claims_drop(struct er_engine *e, struct conn *c);
bool conn_is_routed_state(enum er_routing rt);
void conn_route_updown(struct er_engine *e, struct conn *c, bool route);
void conn_updown(struct er_engine *e, struct conn *c, enum er_updown_verb verb);
int negotiation_start(struct er_engine *e, struct conn *c, bool rekey);
void negotiation_cancel(struct er_engine *e, struct conn *c);
void groups_delete_all(struct er_engine *e, struct conn *c);
void bare_shunts_clear_covered(struct er_engine *e, struct conn *c,
			       bool holds_and_drops_only);
void instance_to_bare(struct er_engine *e, struct conn *c);
enum er_routing conn_resume_state(const struct conn *c);

#endif
