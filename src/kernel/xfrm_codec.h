/* SPDX-License-Identifier: MIT */
/*
 * The XFRM codec: eroute's policies, SAs and SPI requests to NETLINK_XFRM
 * messages, and the kernel's messages back to eroute's structures and
 * events.  Pure: no sockets, no clock, no globals; everything is built in
 * and read from caller buffers with libmnl, so the whole of it is tested by
 * round trip, against golden bytes, and with truncated and corrupted input.
 *
 * Encoders return the length of the message they wrote at the start of
 * @buf (flags NLM_F_REQUEST, the caller adds NLM_F_ACK), or -EINVAL with
 * @err saying what XFRM cannot express, or -EMSGSIZE.
 *
 * Decoders never trust their input: the netlink header against the bytes
 * given, the fixed part against the message length, every attribute
 * through mnl_attr_parse() with a length check per type, and no bytes left
 * over.  They return -EBADMSG for broken framing, -EINVAL for impossible
 * values, and -EOPNOTSUPP for well-formed objects eroute has no words for
 * (socket and sub policies, BEET templates, more than ER_TMPL_MAX
 * templates), which callers skip.  Structures are copied out of the
 * message before use, never read in place: attribute payloads are only
 * 4-byte aligned.
 *
 * The marker (docs/xfrm.md): every policy eroute installs carries, in
 * lft.soft_packet_limit -- a policy limit the kernel stores and dumps but
 * never enforces -- "ero", a version, the eroute action, the persist flag
 * and the owner.  It changes no matching, survives an UPDPOLICY by eroute
 * and is dropped by anyone else's (their message carries their own
 * lifetimes).  eroute's lifetime itself rides in lft.soft_byte_limit, the
 * kernel's timer in hard_add_expires_seconds (lifetime + slack).
 */
#ifndef EROUTE_XFRM_CODEC_H
#define EROUTE_XFRM_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eroute/err.h"
#include "eroute/kernel.h"
#include "eroute/sad.h"
#include "eroute/selector.h"
#include "eroute/spd.h"
#include "eroute/spi.h"
#include "eroute/xfrm.h"

/* Room for any one message eroute builds (an SA with two 128-byte keys is
 * under 1 KiB). */
#define ER_XFRM_MSG_MAX 2048

/* The marker: bits 63..40 "ero", 39..36 version, 35..33 action, 32
 * persist, 31..0 owner. */
#define ER_XFRM_MARKER_MAGIC 0x65726fULL
#define ER_XFRM_MARKER_VERSION 1u

struct er_xfrm_codec {
	uint32_t reqid_base;	/* eroute's reqid range */
	uint32_t reqid_count;
	uint32_t lifetime_slack; /* seconds added to the kernel's timer */
};

/**
 * er_xfrm_codec_init - the reqid range (zeros: ER_REQID_BASE and
 *	ER_REQID_COUNT) and the lifetime slack (0: none)
 */
void er_xfrm_codec_init(struct er_xfrm_codec *c, uint32_t reqid_base,
			uint32_t reqid_count, uint32_t lifetime_slack);

/**
 * er_xfrm_reqid_is_ours - true for a reqid in eroute's range
 */
bool er_xfrm_reqid_is_ours(const struct er_xfrm_codec *c, uint32_t reqid);

/**
 * er_xfrm_marker_encode, er_xfrm_marker_decode - the policy marker
 *
 * decode Return: 0, or -ENOENT when @v is no eroute marker.
 */
uint64_t er_xfrm_marker_encode(enum er_action action, bool persist,
			       uint32_t owner);
int er_xfrm_marker_decode(uint64_t v, enum er_action *action, bool *persist,
			  uint32_t *owner);

/* ------------------------------------------------------------------ */
/* Requests                                                            */

/**
 * er_xfrm_policy_encode - XFRM_MSG_NEWPOLICY or XFRM_MSG_UPDPOLICY
 * @type: which of the two
 *
 * pass: allow, no template; drop and reject: block; trap, hold and ipsec:
 * allow with @pol's templates, or when it has none one ESP transport
 * template with @pol->reqid (the kernel fills the addresses from the
 * packet).  Port ranges must be power-of-two blocks (XFRM takes
 * port/mask); for ICMP and ICMPv6 the source "port" is the type and the
 * destination "port" the code, as in XFRM.
 */
int er_xfrm_policy_encode(const struct er_xfrm_codec *c, void *buf,
			  size_t len, uint16_t type, uint32_t seq,
			  const struct er_policy *pol, struct er_err *err);

/**
 * er_xfrm_policy_id_encode - XFRM_MSG_DELPOLICY or XFRM_MSG_GETPOLICY by
 *	(direction, selector)
 */
int er_xfrm_policy_id_encode(void *buf, size_t len, uint16_t type,
			     uint32_t seq, enum er_dir dir,
			     const struct er_selector *sel,
			     struct er_err *err);

/**
 * er_xfrm_sa_encode - XFRM_MSG_NEWSA or XFRM_MSG_UPDSA
 *
 * Algorithms are eroute names (docs/xfrm.md: "aes-cbc", "aes-gcm-16",
 * "sha256", "deflate", ...) or kernel crypto names ("cbc(aes)").
 */
int er_xfrm_sa_encode(const struct er_xfrm_codec *c, void *buf, size_t len,
		      uint16_t type, uint32_t seq, const struct er_sa *sa,
		      struct er_err *err);

/**
 * er_xfrm_sa_id_encode - XFRM_MSG_DELSA or XFRM_MSG_GETSA
 */
int er_xfrm_sa_id_encode(void *buf, size_t len, uint16_t type, uint32_t seq,
			 const struct er_sa_id *id, struct er_err *err);

/**
 * er_xfrm_spi_encode - XFRM_MSG_ALLOCSPI for @req's range (0, 0: the
 *	default, [256, 2^32 - 1], or [256, 65535] for IPCOMP)
 */
int er_xfrm_spi_encode(void *buf, size_t len, uint32_t seq,
		       const struct er_spi_req *req, struct er_err *err);

/**
 * er_xfrm_dump_encode - a GETPOLICY or GETSA dump request
 */
int er_xfrm_dump_encode(void *buf, size_t len, uint16_t type, uint32_t seq);

/**
 * er_xfrm_spdinfo_encode - XFRM_MSG_NEWSPDINFO setting @t, or
 *	XFRM_MSG_GETSPDINFO when @t is NULL
 */
int er_xfrm_spdinfo_encode(void *buf, size_t len, uint32_t seq,
			   const struct er_xfrm_thresholds *t,
			   struct er_err *err);

/* ------------------------------------------------------------------ */
/* Kernel messages                                                     */

/**
 * er_xfrm_policy_decode - a policy from NEWPOLICY / UPDPOLICY (a dump
 *	entry or a notification) or DELPOLICY (its XFRMA_POLICY)
 *
 * Owner and action: a policy with a valid eroute marker whose shape
 * agrees with it is eroute's, with the marker's action and owner; a
 * policy without one but with a template reqid in eroute's range is
 * eroute's, owner ER_OWNER_BARE, its action read from its shape; anything
 * else is ER_OWNER_FOREIGN with the action its shape gives (block: drop;
 * allow without template: pass; with templates: ipsec).  A template that
 * is exactly the one er_xfrm_policy_encode() synthesised is not reported.
 */
int er_xfrm_policy_decode(const struct er_xfrm_codec *c, const void *buf,
			  size_t len, struct er_policy *pol);

/**
 * er_xfrm_sa_decode - an SA from NEWSA / UPDSA (a dump entry, an ALLOCSPI
 *	reply or a notification) or DELSA (its XFRMA_SA)
 *
 * An SA without algorithms is larval.  Key material is copied: the caller
 * zeroes it.
 */
int er_xfrm_sa_decode(const struct er_xfrm_codec *c, const void *buf,
		      size_t len, struct er_sa *sa);

/**
 * er_xfrm_event_decode - any multicast message to an engine input
 *
 * ACQUIRE, EXPIRE (SA_EXPIRE), hard POLEXPIRE (POLICY_EXPIRE), NEW / UPD /
 * DEL POLICY (POLICY_CHANGED), NEW / UPD / DEL SA (SA_CHANGED), and FLUSH
 * of either (LOST: everything may have changed, resync).  Return: 1 with
 * @ev filled, 0 for a message that is no event (soft POLEXPIRE, other
 * types), or -errno for a bad one.
 */
int er_xfrm_event_decode(const struct er_xfrm_codec *c, const void *buf,
			 size_t len, struct er_kernel_event *ev);

/**
 * er_xfrm_acquire_from_sa - the ACQUIRE event a larval acquire state
 *	stands for (no trap selector: the caller finds it)
 */
void er_xfrm_acquire_from_sa(const struct er_sa *sa,
			     struct er_kernel_event *ev);

/**
 * er_xfrm_ack_decode - an NLMSG_ERROR: the error (0 for an ACK) and the
 *	kernel's extended-ACK message, if any, into @msg
 */
int er_xfrm_ack_decode(const void *buf, size_t len, int *error, char *msg,
		       size_t msglen);

/**
 * er_xfrm_spdinfo_decode - a NEWSPDINFO reply: thresholds and, unless
 *	@counts is NULL, the main policies per direction (enum er_dir)
 */
int er_xfrm_spdinfo_decode(const void *buf, size_t len,
			   struct er_xfrm_thresholds *t,
			   uint32_t counts[ER_DIR_COUNT]);

/**
 * er_xfrm_nd_bypass_policies - the six ICMPv6 neighbour-discovery bypass
 *	policies: pass, persist, owner ER_OWNER_BARE, system priority
 */
void er_xfrm_nd_bypass_policies(struct er_policy out[ER_XFRM_ND_BYPASS_COUNT]);

/**
 * er_xfrm_alg_kernel_name - the kernel crypto name of an eroute algorithm
 *	name; NULL when unknown
 */
const char *er_xfrm_alg_kernel_name(const char *name);

#endif
