// SPDX-License-Identifier: MIT
/*
 * The XFRM codec (see xfrm_codec.h): struct er_policy, er_sa, er_spi_req
 * to NETLINK_XFRM requests, and the kernel's messages back.
 *
 * This module owns the meaning of every byte eroute sends to or accepts
 * from XFRM: the action mapping, the marker, the template eroute
 * synthesises for a trap without one, the port/mask translation and the
 * algorithm names.  It owns no socket and keeps no state.
 *
 * Invariants: an encoder either writes a complete message or fails with
 * -errno; a decoder reads only bytes it has checked are inside both the
 * buffer and the message, through copies of the kernel structures (never
 * a cast of a message pointer), and accepts a message only when its
 * attributes account for every byte after the fixed part.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>

#include "eroute/engine.h"
#include "xfrm_codec.h"

#define ALG_NAME_MAX 64	/* sizeof(struct xfrm_algo.alg_name) */

/* ------------------------------------------------------------------ */
/* Parameters and the marker                                           */

void
er_xfrm_codec_init(struct er_xfrm_codec *c, uint32_t reqid_base,
		   uint32_t reqid_count, uint32_t lifetime_slack)
{
	c->reqid_base = reqid_base ? reqid_base : ER_REQID_BASE;
	c->reqid_count = reqid_count ? reqid_count : ER_REQID_COUNT;
	c->lifetime_slack = lifetime_slack;
}

bool
er_xfrm_reqid_is_ours(const struct er_xfrm_codec *c, uint32_t reqid)
{
	return reqid >= c->reqid_base && reqid - c->reqid_base < c->reqid_count;
}

uint64_t
er_xfrm_marker_encode(enum er_action action, bool persist, uint32_t owner)
{
	return ER_XFRM_MARKER_MAGIC << 40 |
	       (uint64_t)ER_XFRM_MARKER_VERSION << 36 |
	       (uint64_t)((unsigned)action & 7u) << 33 |
	       (uint64_t)(persist ? 1u : 0u) << 32 | owner;
}

int
er_xfrm_marker_decode(uint64_t v, enum er_action *action, bool *persist,
		      uint32_t *owner)
{
	unsigned a = (unsigned)(v >> 33) & 7u;
	int ret = -ENOENT;

	if (v >> 40 != ER_XFRM_MARKER_MAGIC ||
	    ((v >> 36) & 0xfu) != ER_XFRM_MARKER_VERSION ||
	    a >= ER_ACTION_COUNT)
		goto out;
	*action = (enum er_action)a;
	*persist = (v >> 32) & 1u;
	*owner = (uint32_t)v;
	ret = 0;
out:
	return ret;
}

/* ------------------------------------------------------------------ */
/* Small translations                                                  */

static bool
family_ok(int family)
{
	return family == AF_INET || family == AF_INET6;
}

static void
addr_to_xfrm(xfrm_address_t *xa, const struct er_addr *a)
{
	memset(xa, 0, sizeof(*xa));
	if (a->family == AF_INET)
		memcpy(xa, a->a, 4);
	else if (a->family == AF_INET6)
		memcpy(xa, a->a, 16);
}

static void
addr_from_xfrm(struct er_addr *a, const xfrm_address_t *xa, int family)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	memcpy(a->a, xa, family == AF_INET ? 4 : 16);
}

/* A template address: all zero means "from the packet" (%any). */
static void
tmpl_addr_from_xfrm(struct er_addr *a, const xfrm_address_t *xa, int family)
{
	addr_from_xfrm(a, xa, family);
	if (er_addr_is_any(a))
		memset(a, 0, sizeof(*a));
}

static uint8_t
dir_to_xfrm(enum er_dir dir)
{
	return dir == ER_DIR_IN ? XFRM_POLICY_IN
	       : dir == ER_DIR_FWD ? XFRM_POLICY_FWD
				   : XFRM_POLICY_OUT;
}

static int
dir_from_xfrm(uint8_t xdir, enum er_dir *dir)
{
	int ret = 0;

	switch (xdir) {
	case XFRM_POLICY_IN:
		*dir = ER_DIR_IN;
		break;
	case XFRM_POLICY_OUT:
		*dir = ER_DIR_OUT;
		break;
	case XFRM_POLICY_FWD:
		*dir = ER_DIR_FWD;
		break;
	default:
		/* per-socket policies (dir + XFRM_POLICY_MAX) */
		ret = -EOPNOTSUPP;
		break;
	}
	return ret;
}

static bool
proto_is_ipsec(uint8_t proto)
{
	return proto == IPPROTO_ESP || proto == IPPROTO_AH ||
	       proto == IPPROTO_COMP;
}

/* XFRM puts the ICMP type in the source port and the code in the
 * destination port of a selector. */
static bool
proto_has_xfrm_ports(uint8_t proto)
{
	return er_proto_has_ports(proto) || proto == IPPROTO_ICMP ||
	       proto == IPPROTO_ICMPV6;
}

static uint64_t
limit_to_xfrm(uint64_t v)
{
	return v ? v : XFRM_INF;
}

static uint64_t
limit_from_xfrm(uint64_t v)
{
	return v == XFRM_INF ? 0 : v;
}

static void
lft_init(struct xfrm_lifetime_cfg *l)
{
	memset(l, 0, sizeof(*l));
	l->soft_byte_limit = XFRM_INF;
	l->hard_byte_limit = XFRM_INF;
	l->soft_packet_limit = XFRM_INF;
	l->hard_packet_limit = XFRM_INF;
}

/* A port range as XFRM's port/mask: only aligned power-of-two blocks. */
static int
ports_to_xfrm(const struct er_port_range *r, __be16 *port, __be16 *mask)
{
	uint32_t width = (uint32_t)r->hi - r->lo + 1;
	int ret = -EINVAL;

	if (r->lo > r->hi || (width & (width - 1)) != 0 ||
	    (r->lo & (width - 1)) != 0)
		goto out;
	*port = htons(r->lo);
	*mask = htons((uint16_t) ~(width - 1));
	ret = 0;
out:
	return ret;
}

/* port/mask back to a range; a mask with holes (nobody writes one) is
 * widened to its leading run of ones, a range that covers it. */
static void
ports_from_xfrm(struct er_port_range *r, __be16 port, __be16 mask)
{
	uint16_t m = ntohs(mask), lead = 0;
	unsigned i;

	for (i = 0; i < 16 && (m & (0x8000u >> i)) != 0; i++)
		lead = (uint16_t)(lead | (0x8000u >> i));
	r->lo = (uint16_t)(ntohs(port) & lead);
	r->hi = (uint16_t)(r->lo | (uint16_t)~lead);
}

static int
sel_to_xfrm(struct xfrm_selector *xs, const struct er_selector *sel,
	    const char *name, struct er_err *err)
{
	int family = sel->src.addr.family;
	char r[16];
	int ret = -EINVAL;

	memset(xs, 0, sizeof(*xs));
	if (!family_ok(family) || sel->dst.addr.family != family) {
		er_err_set(err, ret, "%s: selector has no single IP family",
			   name);
		goto out;
	}
	xs->family = (uint16_t)family;
	addr_to_xfrm(&xs->saddr, &sel->src.addr);
	addr_to_xfrm(&xs->daddr, &sel->dst.addr);
	xs->prefixlen_s = sel->src.len;
	xs->prefixlen_d = sel->dst.len;
	xs->proto = sel->proto;
	if (!proto_has_xfrm_ports(sel->proto)) {
		if (!er_port_range_is_any(&sel->sport) ||
		    !er_port_range_is_any(&sel->dport)) {
			er_err_set(err, ret,
				   "%s: ports on a protocol without ports",
				   name);
			goto out;
		}
	} else if (ports_to_xfrm(&sel->sport, &xs->sport, &xs->sport_mask) <
		   0) {
		er_port_range_format(&sel->sport, r, sizeof(r));
		er_err_set(err, ret,
			   "%s: XFRM cannot express source ports %s "
			   "(port/mask takes aligned power-of-two blocks)",
			   name, r);
		goto out;
	} else if (ports_to_xfrm(&sel->dport, &xs->dport, &xs->dport_mask) <
		   0) {
		er_port_range_format(&sel->dport, r, sizeof(r));
		er_err_set(err, ret,
			   "%s: XFRM cannot express destination ports %s "
			   "(port/mask takes aligned power-of-two blocks)",
			   name, r);
		goto out;
	}
	ret = 0;
out:
	return ret;
}

/* @allow_unspec: an SA's selector may be empty (family 0). */
static int
sel_from_xfrm(struct er_selector *sel, const struct xfrm_selector *xs,
	      bool allow_unspec)
{
	struct er_addr a;
	unsigned bits;
	int ret = -EINVAL;

	memset(sel, 0, sizeof(*sel));
	if (xs->family == AF_UNSPEC && allow_unspec) {
		ret = 0;
		goto out;
	}
	if (!family_ok(xs->family))
		goto out;
	bits = er_addr_bits(xs->family);
	if (xs->prefixlen_s > bits || xs->prefixlen_d > bits)
		goto out;
	addr_from_xfrm(&a, &xs->saddr, xs->family);
	if (er_prefix_init(&sel->src, &a, xs->prefixlen_s) < 0)
		goto out;
	addr_from_xfrm(&a, &xs->daddr, xs->family);
	if (er_prefix_init(&sel->dst, &a, xs->prefixlen_d) < 0)
		goto out;
	sel->proto = xs->proto;
	sel->sport.hi = sel->dport.hi = 0xffff;
	if (proto_has_xfrm_ports(xs->proto)) {
		ports_from_xfrm(&sel->sport, xs->sport, xs->sport_mask);
		ports_from_xfrm(&sel->dport, xs->dport, xs->dport_mask);
	}
	ret = 0;
out:
	return ret;
}

static void
policy_name(char *buf, size_t len, enum er_dir dir,
	    const struct er_selector *sel)
{
	if ((unsigned)dir >= ER_DIR_COUNT)
		snprintf(buf, len, "policy (direction %d)", (int)dir);
	else
		er_policy_describe(dir, sel, buf, len);
}

/* ------------------------------------------------------------------ */
/* Attribute parsing                                                   */

struct attr_rule {
	uint16_t min;	/* payload bytes, at least */
	uint16_t max;	/* at most; 0: no limit */
};

static const struct attr_rule xfrma_rules[XFRMA_MAX + 1] = {
	[XFRMA_ALG_AUTH] = {sizeof(struct xfrm_algo), 0},
	[XFRMA_ALG_CRYPT] = {sizeof(struct xfrm_algo), 0},
	[XFRMA_ALG_COMP] = {sizeof(struct xfrm_algo), 0},
	[XFRMA_ENCAP] = {sizeof(struct xfrm_encap_tmpl), 0},
	[XFRMA_TMPL] = {sizeof(struct xfrm_user_tmpl), 0},
	[XFRMA_SA] = {sizeof(struct xfrm_usersa_info), 0},
	[XFRMA_POLICY] = {sizeof(struct xfrm_userpolicy_info), 0},
	[XFRMA_SEC_CTX] = {sizeof(struct xfrm_user_sec_ctx), 0},
	[XFRMA_LTIME_VAL] = {sizeof(struct xfrm_lifetime_cur), 0},
	[XFRMA_REPLAY_VAL] = {sizeof(struct xfrm_replay_state), 0},
	[XFRMA_REPLAY_THRESH] = {4, 4},
	[XFRMA_ETIMER_THRESH] = {4, 4},
	[XFRMA_SRCADDR] = {sizeof(xfrm_address_t), 0},
	[XFRMA_COADDR] = {sizeof(xfrm_address_t), 0},
	[XFRMA_LASTUSED] = {8, 8},
	[XFRMA_POLICY_TYPE] = {sizeof(struct xfrm_userpolicy_type), 0},
	[XFRMA_ALG_AEAD] = {sizeof(struct xfrm_algo_aead), 0},
	[XFRMA_ALG_AUTH_TRUNC] = {sizeof(struct xfrm_algo_auth), 0},
	[XFRMA_MARK] = {sizeof(struct xfrm_mark), 0},
	[XFRMA_TFCPAD] = {4, 4},
	[XFRMA_REPLAY_ESN_VAL] = {sizeof(struct xfrm_replay_state_esn), 0},
	[XFRMA_SA_EXTRA_FLAGS] = {4, 4},
	[XFRMA_PROTO] = {1, 0},
	[XFRMA_OFFLOAD_DEV] = {sizeof(struct xfrm_user_offload), 0},
	[XFRMA_SET_MARK] = {4, 4},
	[XFRMA_SET_MARK_MASK] = {4, 4},
	[XFRMA_IF_ID] = {4, 4},
};

static const struct attr_rule spd_rules[XFRMA_SPD_MAX + 1] = {
	[XFRMA_SPD_INFO] = {sizeof(struct xfrmu_spdinfo), 0},
	[XFRMA_SPD_HINFO] = {sizeof(struct xfrmu_spdhinfo), 0},
	[XFRMA_SPD_IPV4_HTHRESH] = {sizeof(struct xfrmu_spdhthresh), 0},
	[XFRMA_SPD_IPV6_HTHRESH] = {sizeof(struct xfrmu_spdhthresh), 0},
};

static const struct attr_rule nlmsgerr_rules[NLMSGERR_ATTR_MAX + 1] = {
	[NLMSGERR_ATTR_MSG] = {1, 0},
	[NLMSGERR_ATTR_OFFS] = {4, 4},
};

struct attr_parse {
	const struct nlattr **tb;
	const struct attr_rule *rules;
	uint16_t maxtype;
	const char *end;	/* where the last attribute seen ended */
};

static int
attr_cb(const struct nlattr *attr, void *data)
{
	struct attr_parse *p = data;
	uint16_t type = mnl_attr_get_type(attr);
	uint16_t plen = mnl_attr_get_payload_len(attr);
	int ret = MNL_CB_OK;

	p->end = (const char *)attr + MNL_ALIGN(attr->nla_len);
	/* Newer kernels add attributes: skip what we do not know. */
	if (type > p->maxtype)
		goto out;
	if (plen < p->rules[type].min ||
	    (p->rules[type].max != 0 && plen > p->rules[type].max)) {
		ret = MNL_CB_ERROR;
		goto out;
	}
	p->tb[type] = attr;
out:
	return ret;
}

/*
 * Parse the attributes after @off bytes of fixed payload into @tb.  A
 * message is accepted only when its attributes cover every remaining byte:
 * mnl_attr_parse() just stops at an attribute that does not fit, which
 * would let a truncated message through.
 */
static int
attrs_parse(const struct nlmsghdr *nlh, size_t off,
	    const struct attr_rule *rules, uint16_t maxtype,
	    const struct nlattr **tb)
{
	struct attr_parse p = {tb, rules, maxtype, NULL};
	const char *tail = (const char *)nlh + nlh->nlmsg_len;
	size_t plen = mnl_nlmsg_get_payload_len(nlh);
	int ret = -EBADMSG;

	memset(tb, 0, ((size_t)maxtype + 1) * sizeof(*tb));
	if (plen < off)
		goto out;
	if (MNL_ALIGN(off) >= plen) {
		ret = 0;
		goto out;
	}
	p.end = mnl_nlmsg_get_payload_offset(nlh, off);
	if (mnl_attr_parse(nlh, (unsigned)off, attr_cb, &p) < 0)
		goto out;
	/* Past the tail only by the last attribute's missing padding. */
	if (p.end < tail || p.end - tail >= MNL_ALIGNTO)
		goto out;
	ret = 0;
out:
	return ret;
}

/*
 * The header, checked against the bytes we were given, and the fixed part
 * against the message.  The kernel pads every message to 4 bytes, and
 * libmnl walks attributes up to the padded end: an unpadded length would
 * let it read past the message.
 */
static const struct nlmsghdr *
msg_check(const void *buf, size_t len, size_t fixed)
{
	const struct nlmsghdr *nlh = buf;

	/* mnl_nlmsg_ok() compares the length as an int: a length with the
	 * top bit set would pass it. */
	if (buf == NULL || len > INT32_MAX || len < MNL_NLMSG_HDRLEN ||
	    nlh->nlmsg_len > len || !mnl_nlmsg_ok(nlh, (int)len) ||
	    nlh->nlmsg_len % MNL_ALIGNTO != 0 ||
	    mnl_nlmsg_get_payload_len(nlh) < fixed)
		nlh = NULL;
	return nlh;
}

/* ------------------------------------------------------------------ */
/* Algorithms                                                          */

enum alg_kind {
	ALG_ENC,
	ALG_AEAD,
	ALG_INTEG,
	ALG_COMP,
};

struct alg {
	const char *name;	/* eroute's, canonical */
	const char *kernel;	/* the kernel's crypto name */
	enum alg_kind kind;
	uint16_t bits;		/* ICV (AEAD) or truncation (integrity) */
};

static const struct alg algs[] = {
	{"aes-cbc", "cbc(aes)", ALG_ENC, 0},
	{"aes-ctr", "rfc3686(ctr(aes))", ALG_ENC, 0},
	{"3des-cbc", "cbc(des3_ede)", ALG_ENC, 0},
	{"null", "ecb(cipher_null)", ALG_ENC, 0},
	{"aes-gcm-16", "rfc4106(gcm(aes))", ALG_AEAD, 128},
	{"aes-gcm-12", "rfc4106(gcm(aes))", ALG_AEAD, 96},
	{"aes-gcm-8", "rfc4106(gcm(aes))", ALG_AEAD, 64},
	{"aes-ccm-16", "rfc4309(ccm(aes))", ALG_AEAD, 128},
	{"aes-gmac", "rfc4543(gcm(aes))", ALG_AEAD, 128},
	{"chacha20-poly1305", "rfc7539esp(chacha20,poly1305)", ALG_AEAD, 128},
	{"sha1-96", "hmac(sha1)", ALG_INTEG, 96},
	{"sha2-256-128", "hmac(sha256)", ALG_INTEG, 128},
	{"sha2-384-192", "hmac(sha384)", ALG_INTEG, 192},
	{"sha2-512-256", "hmac(sha512)", ALG_INTEG, 256},
	{"md5-96", "hmac(md5)", ALG_INTEG, 96},
	{"aes-xcbc-96", "xcbc(aes)", ALG_INTEG, 96},
	{"aes-cmac-96", "cmac(aes)", ALG_INTEG, 96},
	{"deflate", "deflate", ALG_COMP, 0},
	{"lzs", "lzs", ALG_COMP, 0},
	{"lzjh", "lzjh", ALG_COMP, 0},
};

static const struct {
	const char *alias, *name;
} alg_aliases[] = {
	{"aes", "aes-cbc"},
	{"3des", "3des-cbc"},
	{"aes-gcm", "aes-gcm-16"},
	{"aes-gcm16", "aes-gcm-16"},
	{"aes-gcm12", "aes-gcm-12"},
	{"aes-gcm8", "aes-gcm-8"},
	{"aes-ccm", "aes-ccm-16"},
	{"chacha20poly1305", "chacha20-poly1305"},
	{"sha1", "sha1-96"},
	{"sha256", "sha2-256-128"},
	{"sha2-256", "sha2-256-128"},
	{"sha384", "sha2-384-192"},
	{"sha2-384", "sha2-384-192"},
	{"sha512", "sha2-512-256"},
	{"sha2-512", "sha2-512-256"},
	{"md5", "md5-96"},
	{"aes-xcbc", "aes-xcbc-96"},
	{"aes-cmac", "aes-cmac-96"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Lower case, '_' as '-': "AES_GCM16" and "aes-gcm16" are one name. */
static void
alg_norm(char *out, size_t len, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < len && name[i] != '\0'; i++) {
		char ch = name[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		out[i] = ch == '_' ? '-' : ch;
	}
	out[i] = '\0';
}

static const struct alg *
alg_lookup(const char *name)
{
	char n[ER_SA_ALG_MAX];
	const struct alg *found = NULL;
	size_t i;

	alg_norm(n, sizeof(n), name);
	for (i = 0; i < NELEM(alg_aliases); i++) {
		if (strcmp(n, alg_aliases[i].alias) == 0) {
			alg_norm(n, sizeof(n), alg_aliases[i].name);
			break;
		}
	}
	for (i = 0; i < NELEM(algs) && found == NULL; i++) {
		if (strcmp(n, algs[i].name) == 0)
			found = &algs[i];
	}
	return found;
}

const char *
er_xfrm_alg_kernel_name(const char *name)
{
	const struct alg *a = alg_lookup(name);

	return a != NULL ? a->kernel : NULL;
}

/* The eroute name for a kernel algorithm, or the kernel name itself. */
static void
alg_name_from_kernel(char *out, size_t len, const char *kernel,
		     enum alg_kind kind, uint32_t bits)
{
	const char *name = kernel;
	size_t i;

	for (i = 0; i < NELEM(algs); i++) {
		if (algs[i].kind == kind &&
		    strcmp(algs[i].kernel, kernel) == 0 &&
		    (kind == ALG_ENC || kind == ALG_COMP ||
		     algs[i].bits == bits)) {
			name = algs[i].name;
			break;
		}
	}
	snprintf(out, len, "%s", name);
}

/* An unknown name with parentheses is taken as a kernel crypto name. */
static int
alg_resolve(const char *name, enum alg_kind want, const char **kernel,
	    enum alg_kind *kind, uint16_t *bits)
{
	const struct alg *a = alg_lookup(name);
	size_t i;
	int ret = -EINVAL;

	if (a != NULL) {
		if (a->kind != want &&
		    !(want == ALG_ENC && a->kind == ALG_AEAD))
			goto out;
		*kernel = a->kernel;
		*kind = a->kind;
		*bits = a->bits;
	} else if (strchr(name, '(') != NULL &&
		   strlen(name) < ALG_NAME_MAX) {
		*kernel = name;
		*kind = want;
		if (want == ALG_ENC &&
		    (strncmp(name, "rfc4106(", 8) == 0 ||
		     strncmp(name, "rfc4309(", 8) == 0 ||
		     strncmp(name, "rfc4543(", 8) == 0 ||
		     strncmp(name, "rfc7539esp(", 11) == 0))
			*kind = ALG_AEAD;
		/* The RFC length eroute knows for this kernel algorithm;
		 * else a 16-byte AEAD ICV, and 0 lets the kernel choose
		 * the truncation. */
		*bits = *kind == ALG_AEAD ? 128 : 0;
		for (i = 0; i < NELEM(algs); i++) {
			if (algs[i].kind == *kind &&
			    strcmp(algs[i].kernel, name) == 0) {
				*bits = algs[i].bits;
				break;
			}
		}
	} else {
		goto out;
	}
	ret = 0;
out:
	return ret;
}

/* Put one algorithm attribute: the fixed struct then the key. */
static int
alg_put(struct nlmsghdr *nlh, size_t buflen, enum alg_kind kind,
	const char *kernel, uint16_t bits, const uint8_t *key,
	uint16_t keylen)
{
	union {
		struct xfrm_algo a;
		struct xfrm_algo_auth auth;
		struct xfrm_algo_aead aead;
		uint8_t bytes[sizeof(struct xfrm_algo_auth) + ER_SA_KEY_MAX];
	} u;
	size_t fixed;
	uint16_t type;
	int ret = -EMSGSIZE;

	memset(&u, 0, sizeof(u));
	switch (kind) {
	case ALG_AEAD:
		type = XFRMA_ALG_AEAD;
		fixed = sizeof(u.aead);
		snprintf(u.aead.alg_name, sizeof(u.aead.alg_name), "%s",
			 kernel);
		u.aead.alg_key_len = (unsigned)keylen * 8;
		u.aead.alg_icv_len = bits;
		break;
	case ALG_INTEG:
		type = XFRMA_ALG_AUTH_TRUNC;
		fixed = sizeof(u.auth);
		snprintf(u.auth.alg_name, sizeof(u.auth.alg_name), "%s",
			 kernel);
		u.auth.alg_key_len = (unsigned)keylen * 8;
		u.auth.alg_trunc_len = bits;
		break;
	case ALG_COMP:
	case ALG_ENC:
	default:
		type = kind == ALG_COMP ? XFRMA_ALG_COMP : XFRMA_ALG_CRYPT;
		fixed = sizeof(u.a);
		snprintf(u.a.alg_name, sizeof(u.a.alg_name), "%s", kernel);
		u.a.alg_key_len = (unsigned)keylen * 8;
		break;
	}
	if (keylen != 0)
		memcpy(u.bytes + fixed, key, keylen);
	if (mnl_attr_put_check(nlh, buflen, type, fixed + keylen, &u))
		ret = 0;
	explicit_bzero(&u, sizeof(u));
	return ret;
}

/* Read one algorithm attribute into @name and @key. */
static int
alg_get(const struct nlattr *attr, enum alg_kind kind, char *name,
	size_t namelen, uint8_t *key, uint16_t *keylen)
{
	union {
		struct xfrm_algo a;
		struct xfrm_algo_auth auth;
		struct xfrm_algo_aead aead;
	} u;
	const char *kname;
	size_t fixed, plen = mnl_attr_get_payload_len(attr);
	uint32_t keybits, bits = 0;
	int ret = -EBADMSG;

	fixed = kind == ALG_AEAD    ? sizeof(u.aead)
		: kind == ALG_INTEG ? sizeof(u.auth)
				    : sizeof(u.a);
	if (plen < fixed)
		goto out;
	memcpy(&u, mnl_attr_get_payload(attr), fixed);
	if (kind == ALG_AEAD) {
		kname = u.aead.alg_name;
		keybits = u.aead.alg_key_len;
		bits = u.aead.alg_icv_len;
	} else if (kind == ALG_INTEG) {
		kname = u.auth.alg_name;
		keybits = u.auth.alg_key_len;
		bits = u.auth.alg_trunc_len;
	} else {
		kname = u.a.alg_name;
		keybits = u.a.alg_key_len;
	}
	if (strnlen(kname, ALG_NAME_MAX) == ALG_NAME_MAX ||
	    keybits > 8u * ER_SA_KEY_MAX || plen < fixed + (keybits + 7) / 8) {
		ret = keybits > 8u * ER_SA_KEY_MAX ? -EOPNOTSUPP : -EBADMSG;
		goto out;
	}
	/* The kernel names every algorithm it has; a nameless one would
	 * read as a key that belongs to nothing. */
	if (kname[0] == '\0') {
		ret = -EINVAL;
		goto out;
	}
	alg_name_from_kernel(name, namelen, kname, kind, bits);
	*keylen = (uint16_t)((keybits + 7) / 8);
	memcpy(key, (const uint8_t *)mnl_attr_get_payload(attr) + fixed,
	       *keylen);
	ret = 0;
out:
	explicit_bzero(&u, sizeof(u));
	return ret;
}

/* ------------------------------------------------------------------ */
/* Policies                                                            */

static void
tmpl_synth(struct er_tmpl *t, const struct er_policy *pol)
{
	memset(t, 0, sizeof(*t));
	t->proto = IPPROTO_ESP;
	t->mode = ER_MODE_TRANSPORT;
	t->reqid = pol->reqid;
}

static bool
tmpl_is_synth(const struct er_tmpl *t, const struct er_policy *pol)
{
	return t->proto == IPPROTO_ESP && t->mode == ER_MODE_TRANSPORT &&
	       t->src.family == AF_UNSPEC && t->dst.family == AF_UNSPEC &&
	       t->spi == 0 && t->reqid == pol->reqid;
}

static int
tmpl_to_xfrm(struct xfrm_user_tmpl *ut, const struct er_policy *pol,
	     const struct er_tmpl *t, const char *name, struct er_err *err)
{
	int family = pol->sel.src.addr.family;
	int ret = -EINVAL;

	memset(ut, 0, sizeof(*ut));
	if (!proto_is_ipsec(t->proto)) {
		er_err_set(err, ret, "%s: template protocol %u is not ESP, AH "
				     "or IPCOMP", name, t->proto);
		goto out;
	}
	if (t->mode == ER_MODE_TUNNEL) {
		if (!family_ok(t->dst.family) ||
		    (t->src.family != AF_UNSPEC &&
		     t->src.family != t->dst.family)) {
			er_err_set(err, ret, "%s: tunnel template needs "
					     "endpoints of one family", name);
			goto out;
		}
		family = t->dst.family;
		ut->mode = XFRM_MODE_TUNNEL;
	} else if (t->mode == ER_MODE_TRANSPORT) {
		if ((t->src.family != AF_UNSPEC && t->src.family != family) ||
		    (t->dst.family != AF_UNSPEC && t->dst.family != family)) {
			er_err_set(err, ret, "%s: transport template addresses "
					     "of another family", name);
			goto out;
		}
		ut->mode = XFRM_MODE_TRANSPORT;
	} else {
		er_err_set(err, ret, "%s: bad template mode", name);
		goto out;
	}
	ut->family = (uint16_t)family;
	addr_to_xfrm(&ut->id.daddr, &t->dst);
	addr_to_xfrm(&ut->saddr, &t->src);
	ut->id.spi = htonl(t->spi);
	ut->id.proto = t->proto;
	ut->reqid = t->reqid ? t->reqid : pol->reqid;
	ut->share = XFRM_SHARE_ANY;
	/* Small packets go uncompressed: inbound IPCOMP is optional. */
	ut->optional = t->proto == IPPROTO_COMP && pol->dir != ER_DIR_OUT;
	ut->aalgos = ut->ealgos = ut->calgos = ~0u;
	ret = 0;
out:
	return ret;
}

static int
tmpl_from_xfrm(struct er_tmpl *t, const struct xfrm_user_tmpl *ut)
{
	int ret = -EINVAL;

	memset(t, 0, sizeof(*t));
	if (!family_ok(ut->family))
		goto out;
	ret = -EOPNOTSUPP;
	if (!proto_is_ipsec(ut->id.proto))
		goto out;
	if (ut->mode == XFRM_MODE_TUNNEL)
		t->mode = ER_MODE_TUNNEL;
	else if (ut->mode == XFRM_MODE_TRANSPORT)
		t->mode = ER_MODE_TRANSPORT;
	else
		goto out;
	t->proto = ut->id.proto;
	tmpl_addr_from_xfrm(&t->src, &ut->saddr, ut->family);
	tmpl_addr_from_xfrm(&t->dst, &ut->id.daddr, ut->family);
	t->spi = ntohl(ut->id.spi);
	t->reqid = ut->reqid;
	ret = 0;
out:
	return ret;
}

int
er_xfrm_policy_encode(const struct er_xfrm_codec *c, void *buf, size_t len,
		      uint16_t type, uint32_t seq, const struct er_policy *pol,
		      struct er_err *err)
{
	struct xfrm_userpolicy_info pi;
	struct xfrm_user_tmpl ut[ER_TMPL_MAX];
	struct er_tmpl synth;
	const struct er_tmpl *tmpl = pol->tmpl;
	struct nlmsghdr *nlh;
	char name[ER_SELECTOR_STRLEN + 32];
	unsigned i, ntmpl = pol->ntmpl;
	int ret = -EINVAL;

	/* The name is for error messages only: a bulk encoder asks for
	 * none, and formatting one per policy costs more than encoding. */
	name[0] = '\0';
	if (err != NULL)
		policy_name(name, sizeof(name), pol->dir, &pol->sel);
	if (type != XFRM_MSG_NEWPOLICY && type != XFRM_MSG_UPDPOLICY) {
		er_err_set(err, ret, "%s: not a policy request", name);
		goto out;
	}
	if ((unsigned)pol->dir >= ER_DIR_COUNT ||
	    (unsigned)pol->action >= ER_ACTION_COUNT ||
	    pol->ntmpl > ER_TMPL_MAX) {
		er_err_set(err, ret, "%s: bad direction, action or template "
				     "count", name);
		goto out;
	}
	memset(&pi, 0, sizeof(pi));
	ret = sel_to_xfrm(&pi.sel, &pol->sel, name, err);
	if (ret < 0)
		goto out;
	lft_init(&pi.lft);
	pi.lft.soft_packet_limit =
		er_xfrm_marker_encode(pol->action, pol->persist, pol->owner);
	if (pol->lifetime != 0) {
		pi.lft.soft_byte_limit = pol->lifetime;
		pi.lft.hard_add_expires_seconds =
			pol->lifetime + c->lifetime_slack;
	}
	pi.priority = pol->priority;
	pi.dir = dir_to_xfrm(pol->dir);
	pi.share = XFRM_SHARE_ANY;
	switch (pol->action) {
	case ER_ACTION_DROP:
	case ER_ACTION_REJECT:
		pi.action = XFRM_POLICY_BLOCK;
		break;
	case ER_ACTION_PASS:
	default:
		pi.action = XFRM_POLICY_ALLOW;
		break;
	case ER_ACTION_TRAP:
	case ER_ACTION_HOLD:
	case ER_ACTION_IPSEC:
		pi.action = XFRM_POLICY_ALLOW;
		if (ntmpl == 0) {
			tmpl_synth(&synth, pol);
			tmpl = &synth;
			ntmpl = 1;
		}
		break;
	}
	ret = -EINVAL;
	if (pi.action == XFRM_POLICY_BLOCK || pol->action == ER_ACTION_PASS) {
		if (ntmpl != 0) {
			er_err_set(err, ret, "%s: a %s policy takes no "
					     "templates", name,
				   er_action_name(pol->action));
			goto out;
		}
	}
	for (i = 0; i < ntmpl; i++) {
		ret = tmpl_to_xfrm(&ut[i], pol, &tmpl[i], name, err);
		if (ret < 0)
			goto out;
	}
	ret = -EMSGSIZE;
	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(pi))) {
		er_err_set(err, ret, "%s: buffer too small", name);
		goto out;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(pi)), &pi, sizeof(pi));
	if (ntmpl != 0 && !mnl_attr_put_check(nlh, len, XFRMA_TMPL,
					      ntmpl * sizeof(ut[0]), ut)) {
		er_err_set(err, ret, "%s: buffer too small", name);
		goto out;
	}
	ret = (int)nlh->nlmsg_len;
out:
	return ret;
}

int
er_xfrm_policy_id_encode(void *buf, size_t len, uint16_t type, uint32_t seq,
			 enum er_dir dir, const struct er_selector *sel,
			 struct er_err *err)
{
	struct xfrm_userpolicy_id id;
	struct nlmsghdr *nlh;
	char name[ER_SELECTOR_STRLEN + 32];
	int ret = -EINVAL;

	name[0] = '\0';
	if (err != NULL)
		policy_name(name, sizeof(name), dir, sel);
	if ((type != XFRM_MSG_DELPOLICY && type != XFRM_MSG_GETPOLICY) ||
	    (unsigned)dir >= ER_DIR_COUNT) {
		er_err_set(err, ret, "%s: bad request", name);
		goto out;
	}
	memset(&id, 0, sizeof(id));
	ret = sel_to_xfrm(&id.sel, sel, name, err);
	if (ret < 0)
		goto out;
	id.dir = dir_to_xfrm(dir);
	ret = -EMSGSIZE;
	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(id)))
		goto out;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(id)), &id, sizeof(id));
	ret = (int)nlh->nlmsg_len;
out:
	return ret;
}

/* Is @pol's shape (block / allow / templates) what @action makes? */
static bool
shape_matches(enum er_action action, uint8_t xaction, unsigned ntmpl)
{
	bool ret;

	if (action == ER_ACTION_DROP || action == ER_ACTION_REJECT)
		ret = xaction == XFRM_POLICY_BLOCK;
	else if (action == ER_ACTION_PASS)
		ret = xaction == XFRM_POLICY_ALLOW && ntmpl == 0;
	else
		ret = xaction == XFRM_POLICY_ALLOW && ntmpl > 0;
	return ret;
}

static int
policy_from_info(const struct er_xfrm_codec *c,
		 const struct xfrm_userpolicy_info *pi,
		 const struct nlattr *const *tb, struct er_policy *pol)
{
	struct xfrm_user_tmpl ut;
	struct xfrm_userpolicy_type pt;
	enum er_action maction = ER_ACTION_PASS;
	bool marked, mpersist = false, ours = false;
	uint32_t mowner = 0;
	size_t n = 0, i;
	int ret;

	memset(pol, 0, sizeof(*pol));
	ret = dir_from_xfrm(pi->dir, &pol->dir);
	if (ret < 0)
		goto out;
	ret = -EINVAL;
	if (pi->action != XFRM_POLICY_ALLOW && pi->action != XFRM_POLICY_BLOCK)
		goto out;
	ret = sel_from_xfrm(&pol->sel, &pi->sel, false);
	if (ret < 0)
		goto out;
	if (tb[XFRMA_POLICY_TYPE] != NULL) {
		memcpy(&pt, mnl_attr_get_payload(tb[XFRMA_POLICY_TYPE]),
		       sizeof(pt));
		ret = -EOPNOTSUPP;
		if (pt.type != XFRM_POLICY_TYPE_MAIN)
			goto out;
	}
	if (tb[XFRMA_TMPL] != NULL) {
		ret = -EBADMSG;
		if (mnl_attr_get_payload_len(tb[XFRMA_TMPL]) % sizeof(ut) != 0)
			goto out;
		n = mnl_attr_get_payload_len(tb[XFRMA_TMPL]) / sizeof(ut);
		ret = -EOPNOTSUPP;
		if (n > ER_TMPL_MAX)
			goto out;
	}
	for (i = 0; i < n; i++) {
		memcpy(&ut,
		       (const uint8_t *)mnl_attr_get_payload(tb[XFRMA_TMPL]) +
			       i * sizeof(ut),
		       sizeof(ut));
		ret = tmpl_from_xfrm(&pol->tmpl[i], &ut);
		if (ret < 0)
			goto out;
		if (er_xfrm_reqid_is_ours(c, ut.reqid))
			ours = true;
	}
	pol->ntmpl = (uint8_t)n;
	pol->reqid = n > 0 ? pol->tmpl[0].reqid : 0;
	pol->priority = pi->priority;
	pol->created = pi->curlft.add_time;
	pol->last_used = pi->curlft.use_time;
	/* A mark, an interface id or a security context changes which
	 * packets match: never eroute's, whatever the lifetimes say. */
	marked = tb[XFRMA_MARK] == NULL && tb[XFRMA_IF_ID] == NULL &&
		 tb[XFRMA_SEC_CTX] == NULL &&
		 er_xfrm_marker_decode(pi->lft.soft_packet_limit, &maction,
				       &mpersist, &mowner) == 0 &&
		 shape_matches(maction, pi->action, (unsigned)n);
	if (marked) {
		pol->action = maction;
		pol->owner = mowner;
		pol->persist = mpersist;
		pol->lifetime = limit_from_xfrm(pi->lft.soft_byte_limit);
		if (n == 1 && maction != ER_ACTION_PASS &&
		    tmpl_is_synth(&pol->tmpl[0], pol)) {
			memset(&pol->tmpl[0], 0, sizeof(pol->tmpl[0]));
			pol->ntmpl = 0;
		}
	} else {
		if (pi->action == XFRM_POLICY_BLOCK)
			pol->action = ER_ACTION_DROP;
		else
			pol->action = n == 0 ? ER_ACTION_PASS : ER_ACTION_IPSEC;
		ours = ours && tb[XFRMA_MARK] == NULL &&
		       tb[XFRMA_IF_ID] == NULL && tb[XFRMA_SEC_CTX] == NULL;
		pol->owner = ours ? ER_OWNER_BARE : ER_OWNER_FOREIGN;
		pol->lifetime = pi->lft.hard_add_expires_seconds;
	}
	ret = 0;
out:
	return ret;
}

int
er_xfrm_policy_decode(const struct er_xfrm_codec *c, const void *buf,
		      size_t len, struct er_policy *pol)
{
	const struct nlattr *tb[XFRMA_MAX + 1];
	struct xfrm_userpolicy_info pi;
	const struct nlmsghdr *nlh = msg_check(buf, len, 0);
	size_t fixed;
	int ret = -EBADMSG;

	if (nlh == NULL)
		goto out;
	if (nlh->nlmsg_type == XFRM_MSG_NEWPOLICY ||
	    nlh->nlmsg_type == XFRM_MSG_UPDPOLICY)
		fixed = sizeof(struct xfrm_userpolicy_info);
	else if (nlh->nlmsg_type == XFRM_MSG_DELPOLICY)
		fixed = sizeof(struct xfrm_userpolicy_id);
	else {
		ret = -EINVAL;
		goto out;
	}
	if (mnl_nlmsg_get_payload_len(nlh) < fixed)
		goto out;
	ret = attrs_parse(nlh, fixed, xfrma_rules, XFRMA_MAX, tb);
	if (ret < 0)
		goto out;
	if (nlh->nlmsg_type == XFRM_MSG_DELPOLICY) {
		ret = -EBADMSG;
		if (tb[XFRMA_POLICY] == NULL)
			goto out;
		memcpy(&pi, mnl_attr_get_payload(tb[XFRMA_POLICY]), sizeof(pi));
	} else {
		memcpy(&pi, mnl_nlmsg_get_payload(nlh), sizeof(pi));
	}
	ret = policy_from_info(c, &pi, tb, pol);
out:
	return ret;
}

/* ------------------------------------------------------------------ */
/* SAs                                                                 */

static void
lft_from_er(struct xfrm_lifetime_cfg *l, const struct er_lifetime *soft,
	    const struct er_lifetime *hard)
{
	lft_init(l);
	l->soft_byte_limit = limit_to_xfrm(soft->bytes);
	l->hard_byte_limit = limit_to_xfrm(hard->bytes);
	l->soft_packet_limit = limit_to_xfrm(soft->packets);
	l->hard_packet_limit = limit_to_xfrm(hard->packets);
	l->soft_add_expires_seconds = soft->secs;
	l->hard_add_expires_seconds = hard->secs;
}

static int
sa_algs_put(struct nlmsghdr *nlh, size_t len, const struct er_sa *sa,
	    const char *name, struct er_err *err)
{
	const struct er_sa_keys *k = &sa->keys;
	const char *kernel;
	enum alg_kind kind;
	uint16_t bits;
	bool enc = k->enc_alg[0] != '\0', integ = k->integ_alg[0] != '\0';
	int ret = -EINVAL;

	if (strnlen(k->enc_alg, ER_SA_ALG_MAX) == ER_SA_ALG_MAX ||
	    strnlen(k->integ_alg, ER_SA_ALG_MAX) == ER_SA_ALG_MAX ||
	    k->enc_key_len > ER_SA_KEY_MAX ||
	    k->integ_key_len > ER_SA_KEY_MAX) {
		er_err_set(err, ret, "%s: bad algorithm name or key length",
			   name);
		goto out;
	}
	/* Key material is never dropped on the way to the kernel. */
	if ((k->enc_key_len > 0 &&
	     (!enc || sa->id.proto == IPPROTO_COMP)) ||
	    (k->integ_key_len > 0 && !integ)) {
		er_err_set(err, ret, "%s: a key without an algorithm", name);
		goto out;
	}
	if (sa->id.proto == IPPROTO_COMP) {
		if (integ || (enc && alg_resolve(k->enc_alg, ALG_COMP, &kernel,
						 &kind, &bits) < 0)) {
			er_err_set(err, ret, "%s: unknown compression \"%s\"",
				   name, k->enc_alg);
			goto out;
		}
		if (enc && alg_put(nlh, len, ALG_COMP, kernel, 0, NULL, 0) < 0)
			goto toobig;
		ret = 0;
		goto out;
	}
	if (enc) {
		if (sa->id.proto == IPPROTO_AH ||
		    alg_resolve(k->enc_alg, ALG_ENC, &kernel, &kind, &bits) <
			    0) {
			er_err_set(err, ret, "%s: unknown encryption \"%s\"",
				   name, k->enc_alg);
			goto out;
		}
		if (kind == ALG_AEAD && integ) {
			er_err_set(err, ret, "%s: %s is AEAD, no integrity "
					     "algorithm goes with it",
				   name, k->enc_alg);
			goto out;
		}
		if (alg_put(nlh, len, kind, kernel, bits, k->enc_key,
			    k->enc_key_len) < 0)
			goto toobig;
	}
	if (integ) {
		if (alg_resolve(k->integ_alg, ALG_INTEG, &kernel, &kind,
				&bits) < 0) {
			er_err_set(err, ret, "%s: unknown integrity \"%s\"",
				   name, k->integ_alg);
			goto out;
		}
		if (alg_put(nlh, len, ALG_INTEG, kernel, bits, k->integ_key,
			    k->integ_key_len) < 0)
			goto toobig;
	}
	ret = 0;
	goto out;
toobig:
	ret = er_err_set(err, -EMSGSIZE, "%s: buffer too small", name);
out:
	return ret;
}

static void
sa_name(char *buf, size_t len, const struct er_sa_id *id)
{
	char s[96];

	er_sa_id_format(id, s, sizeof(s));
	snprintf(buf, len, "SA %s", s);
}

int
er_xfrm_sa_encode(const struct er_xfrm_codec *c, void *buf, size_t len,
		  uint16_t type, uint32_t seq, const struct er_sa *sa,
		  struct er_err *err)
{
	struct xfrm_usersa_info si;
	struct nlmsghdr *nlh;
	char name[128];
	int family = sa->id.dst.family;
	int ret = -EINVAL;

	(void)c;
	sa_name(name, sizeof(name), &sa->id);
	if (type != XFRM_MSG_NEWSA && type != XFRM_MSG_UPDSA) {
		er_err_set(err, ret, "%s: not an SA request", name);
		goto out;
	}
	if (!family_ok(family) ||
	    (sa->src.family != AF_UNSPEC && sa->src.family != family)) {
		er_err_set(err, ret, "%s: addresses of no single family", name);
		goto out;
	}
	if (!proto_is_ipsec(sa->id.proto) || sa->id.spi == 0 ||
	    (sa->id.proto == IPPROTO_COMP && sa->id.spi > 0xffff)) {
		er_err_set(err, ret, "%s: bad protocol or SPI", name);
		goto out;
	}
	if (sa->mode != ER_MODE_TUNNEL && sa->mode != ER_MODE_TRANSPORT) {
		er_err_set(err, ret, "%s: bad mode", name);
		goto out;
	}
	memset(&si, 0, sizeof(si));
	if (sa->sel.src.addr.family != AF_UNSPEC) {
		ret = sel_to_xfrm(&si.sel, &sa->sel, name, err);
		if (ret < 0)
			goto out;
	}
	addr_to_xfrm(&si.id.daddr, &sa->id.dst);
	si.id.spi = htonl(sa->id.spi);
	si.id.proto = sa->id.proto;
	addr_to_xfrm(&si.saddr, &sa->src);
	lft_from_er(&si.lft, &sa->soft, &sa->hard);
	si.reqid = sa->reqid;
	si.family = (uint16_t)family;
	si.mode = sa->mode == ER_MODE_TUNNEL ? XFRM_MODE_TUNNEL
					     : XFRM_MODE_TRANSPORT;
	si.replay_window = sa->id.proto == IPPROTO_COMP ? 0 : 32;
	/* An inner family other than the outer one (4in6, 6in4). */
	if (si.sel.family != AF_UNSPEC && si.sel.family != family)
		si.flags = XFRM_STATE_AF_UNSPEC;
	ret = -EMSGSIZE;
	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(si))) {
		er_err_set(err, ret, "%s: buffer too small", name);
		goto out;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(si)), &si, sizeof(si));
	ret = sa_algs_put(nlh, len, sa, name, err);
	if (ret < 0) {
		explicit_bzero(buf, len);
		goto out;
	}
	ret = (int)nlh->nlmsg_len;
out:
	return ret;
}

int
er_xfrm_sa_id_encode(void *buf, size_t len, uint16_t type, uint32_t seq,
		     const struct er_sa_id *id, struct er_err *err)
{
	struct xfrm_usersa_id xid;
	struct nlmsghdr *nlh;
	char name[128];
	int ret = -EINVAL;

	sa_name(name, sizeof(name), id);
	if ((type != XFRM_MSG_DELSA && type != XFRM_MSG_GETSA) ||
	    !family_ok(id->dst.family) || !proto_is_ipsec(id->proto)) {
		er_err_set(err, ret, "%s: bad request", name);
		goto out;
	}
	memset(&xid, 0, sizeof(xid));
	addr_to_xfrm(&xid.daddr, &id->dst);
	xid.spi = htonl(id->spi);
	xid.family = id->dst.family;
	xid.proto = id->proto;
	ret = -EMSGSIZE;
	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(xid)))
		goto out;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(xid)), &xid,
	       sizeof(xid));
	ret = (int)nlh->nlmsg_len;
out:
	return ret;
}

int
er_xfrm_spi_encode(void *buf, size_t len, uint32_t seq,
		   const struct er_spi_req *req, struct er_err *err)
{
	struct xfrm_userspi_info us;
	struct er_sa_id id = {req->dst, req->proto, 0};
	struct nlmsghdr *nlh;
	char name[128];
	uint32_t min = req->min, max = req->max;
	int family = req->dst.family;
	int ret = -EINVAL;

	sa_name(name, sizeof(name), &id);
	if (min == 0 && max == 0) {
		min = ER_SPI_MIN;
		max = req->proto == IPPROTO_COMP ? 0xffff : ER_SPI_MAX;
	}
	if (!family_ok(family) ||
	    (req->src.family != AF_UNSPEC && req->src.family != family) ||
	    !proto_is_ipsec(req->proto)) {
		er_err_set(err, ret, "%s: bad SPI request", name);
		goto out;
	}
	if (min < ER_SPI_MIN || min > max ||
	    (req->proto == IPPROTO_COMP && max > 0xffff)) {
		er_err_set(err, ret, "%s: bad SPI range 0x%x-0x%x", name, min,
			   max);
		goto out;
	}
	memset(&us, 0, sizeof(us));
	addr_to_xfrm(&us.info.id.daddr, &req->dst);
	us.info.id.proto = req->proto;
	addr_to_xfrm(&us.info.saddr, &req->src);
	us.info.family = (uint16_t)family;
	us.info.mode = req->mode == ER_MODE_TUNNEL ? XFRM_MODE_TUNNEL
						   : XFRM_MODE_TRANSPORT;
	us.info.reqid = req->reqid;
	lft_init(&us.info.lft);
	us.min = min;
	us.max = max;
	ret = -EMSGSIZE;
	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(us)))
		goto out;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_ALLOCSPI;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(us)), &us, sizeof(us));
	ret = (int)nlh->nlmsg_len;
out:
	return ret;
}

int
er_xfrm_dump_encode(void *buf, size_t len, uint16_t type, uint32_t seq)
{
	struct nlmsghdr *nlh;
	int ret = -EINVAL;

	if (type != XFRM_MSG_GETPOLICY && type != XFRM_MSG_GETSA)
		goto out;
	ret = -EMSGSIZE;
	if (len < MNL_NLMSG_HDRLEN)
		goto out;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	ret = (int)nlh->nlmsg_len;
out:
	return ret;
}

int
er_xfrm_spdinfo_encode(void *buf, size_t len, uint32_t seq,
		       const struct er_xfrm_thresholds *t, struct er_err *err)
{
	struct xfrmu_spdhthresh h4, h6;
	struct nlmsghdr *nlh;
	uint32_t flags = 0;
	int ret = -EINVAL;

	if (t != NULL && (t->v4_lbits > 32 || t->v4_rbits > 32 ||
			  t->v6_lbits > 128 || t->v6_rbits > 128)) {
		er_err_set(err, ret, "SPD hash thresholds %u/%u %u/%u beyond "
				     "the address widths",
			   t->v4_lbits, t->v4_rbits, t->v6_lbits, t->v6_rbits);
		goto out;
	}
	ret = -EMSGSIZE;
	if (len < MNL_NLMSG_HDRLEN + 4 + 2 * MNL_ATTR_HDRLEN + 2 * 4)
		goto out;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = t != NULL ? XFRM_MSG_NEWSPDINFO : XFRM_MSG_GETSPDINFO;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(flags)), &flags,
	       sizeof(flags));
	if (t != NULL) {
		h4.lbits = t->v4_lbits;
		h4.rbits = t->v4_rbits;
		h6.lbits = t->v6_lbits;
		h6.rbits = t->v6_rbits;
		mnl_attr_put(nlh, XFRMA_SPD_IPV4_HTHRESH, sizeof(h4), &h4);
		mnl_attr_put(nlh, XFRMA_SPD_IPV6_HTHRESH, sizeof(h6), &h6);
	}
	ret = (int)nlh->nlmsg_len;
out:
	return ret;
}

static int
sa_from_info(const struct er_xfrm_codec *c,
	     const struct xfrm_usersa_info *si,
	     const struct nlattr *const *tb, struct er_sa *sa)
{
	struct er_sa_keys *k = &sa->keys;
	int ret = -EINVAL;

	memset(sa, 0, sizeof(*sa));
	if (!family_ok(si->family))
		goto out;
	ret = -EOPNOTSUPP;
	if (!proto_is_ipsec(si->id.proto))
		goto out;
	if (si->mode == XFRM_MODE_TUNNEL)
		sa->mode = ER_MODE_TUNNEL;
	else if (si->mode == XFRM_MODE_TRANSPORT)
		sa->mode = ER_MODE_TRANSPORT;
	else
		goto out;
	addr_from_xfrm(&sa->id.dst, &si->id.daddr, si->family);
	sa->id.proto = si->id.proto;
	sa->id.spi = ntohl(si->id.spi);
	addr_from_xfrm(&sa->src, &si->saddr, si->family);
	sa->reqid = si->reqid;
	sa->owner = er_xfrm_reqid_is_ours(c, si->reqid) ? ER_OWNER_BARE
							 : ER_OWNER_FOREIGN;
	ret = sel_from_xfrm(&sa->sel, &si->sel, true);
	if (ret < 0)
		goto out;
	sa->soft.bytes = limit_from_xfrm(si->lft.soft_byte_limit);
	sa->hard.bytes = limit_from_xfrm(si->lft.hard_byte_limit);
	sa->soft.packets = limit_from_xfrm(si->lft.soft_packet_limit);
	sa->hard.packets = limit_from_xfrm(si->lft.hard_packet_limit);
	sa->soft.secs = si->lft.soft_add_expires_seconds;
	sa->hard.secs = si->lft.hard_add_expires_seconds;
	sa->created = si->curlft.add_time;
	sa->bytes = si->curlft.bytes;
	sa->packets = si->curlft.packets;
	ret = 0;
	if (tb[XFRMA_ALG_AEAD] != NULL)
		ret = alg_get(tb[XFRMA_ALG_AEAD], ALG_AEAD, k->enc_alg,
			      sizeof(k->enc_alg), k->enc_key, &k->enc_key_len);
	else if (tb[XFRMA_ALG_CRYPT] != NULL)
		ret = alg_get(tb[XFRMA_ALG_CRYPT], ALG_ENC, k->enc_alg,
			      sizeof(k->enc_alg), k->enc_key, &k->enc_key_len);
	else if (tb[XFRMA_ALG_COMP] != NULL)
		ret = alg_get(tb[XFRMA_ALG_COMP], ALG_COMP, k->enc_alg,
			      sizeof(k->enc_alg), k->enc_key, &k->enc_key_len);
	if (ret < 0)
		goto out;
	if (tb[XFRMA_ALG_AUTH_TRUNC] != NULL)
		ret = alg_get(tb[XFRMA_ALG_AUTH_TRUNC], ALG_INTEG, k->integ_alg,
			      sizeof(k->integ_alg), k->integ_key,
			      &k->integ_key_len);
	else if (tb[XFRMA_ALG_AUTH] != NULL)
		ret = alg_get(tb[XFRMA_ALG_AUTH], ALG_ENC, k->integ_alg,
			      sizeof(k->integ_alg), k->integ_key,
			      &k->integ_key_len);
	if (ret < 0)
		goto out;
	sa->state = k->enc_alg[0] != '\0' || k->integ_alg[0] != '\0'
			    ? ER_SA_MATURE
			    : ER_SA_LARVAL;
out:
	if (ret < 0)
		explicit_bzero(sa, sizeof(*sa));
	return ret;
}

int
er_xfrm_sa_decode(const struct er_xfrm_codec *c, const void *buf, size_t len,
		  struct er_sa *sa)
{
	const struct nlattr *tb[XFRMA_MAX + 1];
	struct xfrm_usersa_info si;
	const struct nlmsghdr *nlh = msg_check(buf, len, 0);
	size_t fixed;
	int ret = -EBADMSG;

	if (nlh == NULL)
		goto out;
	if (nlh->nlmsg_type == XFRM_MSG_NEWSA ||
	    nlh->nlmsg_type == XFRM_MSG_UPDSA)
		fixed = sizeof(struct xfrm_usersa_info);
	else if (nlh->nlmsg_type == XFRM_MSG_DELSA)
		fixed = sizeof(struct xfrm_usersa_id);
	else {
		ret = -EINVAL;
		goto out;
	}
	if (mnl_nlmsg_get_payload_len(nlh) < fixed)
		goto out;
	ret = attrs_parse(nlh, fixed, xfrma_rules, XFRMA_MAX, tb);
	if (ret < 0)
		goto out;
	if (nlh->nlmsg_type == XFRM_MSG_DELSA) {
		ret = -EBADMSG;
		if (tb[XFRMA_SA] == NULL)
			goto out;
		memcpy(&si, mnl_attr_get_payload(tb[XFRMA_SA]), sizeof(si));
	} else {
		memcpy(&si, mnl_nlmsg_get_payload(nlh), sizeof(si));
	}
	ret = sa_from_info(c, &si, tb, sa);
	explicit_bzero(&si, sizeof(si));
out:
	return ret;
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

static uint16_t
range_one(const struct er_port_range *r)
{
	return r->lo == r->hi ? r->lo : 0;
}

/* The packet and narrow selector of an acquire, from the kernel's
 * flow selector (host prefixes, ports when the protocol has them). */
static void
acquire_fill(struct er_kernel_event *ev, const struct er_selector *flow)
{
	ev->type = ER_KEV_ACQUIRE;
	ev->pkt.src = flow->src.addr;
	ev->pkt.dst = flow->dst.addr;
	ev->pkt.proto = flow->proto;
	ev->pkt.sport = range_one(&flow->sport);
	ev->pkt.dport = range_one(&flow->dport);
	/* Addresses and protocol: the narrow hold the sim installs too. */
	er_selector_host(&ev->sel, &ev->pkt, false);
	ev->dir = ER_DIR_OUT;
}

void
er_xfrm_acquire_from_sa(const struct er_sa *sa, struct er_kernel_event *ev)
{
	struct er_selector flow = sa->sel;

	memset(ev, 0, sizeof(*ev));
	if (flow.src.addr.family == AF_UNSPEC) {
		er_prefix_host(&flow.src, &sa->src);
		er_prefix_host(&flow.dst, &sa->id.dst);
		flow.sport.hi = flow.dport.hi = 0xffff;
	}
	acquire_fill(ev, &flow);
	ev->reqid = sa->reqid;
	ev->sa = sa->id;
}

static int
acquire_decode(const struct nlmsghdr *nlh, struct er_kernel_event *ev)
{
	const struct nlattr *tb[XFRMA_MAX + 1];
	struct xfrm_user_acquire ua;
	struct xfrm_user_tmpl ut;
	struct er_selector flow;
	int family, ret = -EBADMSG;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ua))
		goto out;
	ret = attrs_parse(nlh, sizeof(ua), xfrma_rules, XFRMA_MAX, tb);
	if (ret < 0)
		goto out;
	memcpy(&ua, mnl_nlmsg_get_payload(nlh), sizeof(ua));
	ret = sel_from_xfrm(&flow, &ua.sel, false);
	if (ret < 0)
		goto out;
	ret = sel_from_xfrm(&ev->policy_sel, &ua.policy.sel, false);
	if (ret < 0)
		goto out;
	acquire_fill(ev, &flow);
	family = ua.sel.family;
	if (tb[XFRMA_TMPL] != NULL) {
		ret = -EBADMSG;
		if (mnl_attr_get_payload_len(tb[XFRMA_TMPL]) % sizeof(ut) != 0)
			goto out;
		memcpy(&ut, mnl_attr_get_payload(tb[XFRMA_TMPL]), sizeof(ut));
		ret = -EINVAL;
		if (!family_ok(ut.family))
			goto out;
		ev->reqid = ut.reqid;
		family = ut.family;
	}
	addr_from_xfrm(&ev->sa.dst, &ua.id.daddr, family);
	ev->sa.proto = ua.id.proto;
	ret = 1;
out:
	return ret;
}

static int
expire_decode(const struct er_xfrm_codec *c, const struct nlmsghdr *nlh,
	      struct er_kernel_event *ev)
{
	const struct nlattr *tb[XFRMA_MAX + 1];
	struct xfrm_user_expire ue;
	struct er_sa sa;
	int ret = -EBADMSG;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ue))
		goto out;
	ret = attrs_parse(nlh, sizeof(ue), xfrma_rules, XFRMA_MAX, tb);
	if (ret < 0)
		goto out;
	memcpy(&ue, mnl_nlmsg_get_payload(nlh), sizeof(ue));
	ret = sa_from_info(c, &ue.state, tb, &sa);
	if (ret < 0)
		goto out;
	ev->type = ER_KEV_SA_EXPIRE;
	ev->sa = sa.id;
	ev->reqid = sa.reqid;
	ev->sel = sa.sel;
	ev->hard = ue.hard != 0;
	explicit_bzero(&sa, sizeof(sa));
	ret = 1;
out:
	return ret;
}

static int
polexpire_decode(const struct er_xfrm_codec *c, const struct nlmsghdr *nlh,
		 struct er_kernel_event *ev)
{
	const struct nlattr *tb[XFRMA_MAX + 1];
	struct xfrm_user_polexpire upe;
	struct er_policy pol;
	int ret = -EBADMSG;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(upe))
		goto out;
	ret = attrs_parse(nlh, sizeof(upe), xfrma_rules, XFRMA_MAX, tb);
	if (ret < 0)
		goto out;
	memcpy(&upe, mnl_nlmsg_get_payload(nlh), sizeof(upe));
	ret = policy_from_info(c, &upe.pol, tb, &pol);
	if (ret < 0)
		goto out;
	/* A soft expiry leaves the policy in place: nothing to do. */
	ret = 0;
	if (!upe.hard)
		goto out;
	ev->type = ER_KEV_POLICY_EXPIRE;
	ev->sel = pol.sel;
	ev->dir = pol.dir;
	ev->reqid = pol.reqid;
	ev->hard = true;
	ev->deleted = true;
	ret = 1;
out:
	return ret;
}

int
er_xfrm_event_decode(const struct er_xfrm_codec *c, const void *buf,
		     size_t len, struct er_kernel_event *ev)
{
	const struct nlmsghdr *nlh = msg_check(buf, len, 0);
	struct er_policy pol;
	struct er_sa sa;
	int ret = -EBADMSG;

	memset(ev, 0, sizeof(*ev));
	if (nlh == NULL)
		goto out;
	switch (nlh->nlmsg_type) {
	case XFRM_MSG_ACQUIRE:
		ret = acquire_decode(nlh, ev);
		break;
	case XFRM_MSG_EXPIRE:
		ret = expire_decode(c, nlh, ev);
		break;
	case XFRM_MSG_POLEXPIRE:
		ret = polexpire_decode(c, nlh, ev);
		break;
	case XFRM_MSG_NEWPOLICY:
	case XFRM_MSG_UPDPOLICY:
	case XFRM_MSG_DELPOLICY:
		ret = er_xfrm_policy_decode(c, buf, len, &pol);
		if (ret < 0)
			break;
		ev->type = ER_KEV_POLICY_CHANGED;
		ev->sel = pol.sel;
		ev->dir = pol.dir;
		ev->reqid = pol.reqid;
		ev->deleted = nlh->nlmsg_type == XFRM_MSG_DELPOLICY;
		ret = 1;
		break;
	case XFRM_MSG_NEWSA:
	case XFRM_MSG_UPDSA:
	case XFRM_MSG_DELSA:
		ret = er_xfrm_sa_decode(c, buf, len, &sa);
		if (ret < 0)
			break;
		ev->type = ER_KEV_SA_CHANGED;
		ev->sa = sa.id;
		ev->reqid = sa.reqid;
		ev->sel = sa.sel;
		ev->deleted = nlh->nlmsg_type == XFRM_MSG_DELSA;
		explicit_bzero(&sa, sizeof(sa));
		ret = 1;
		break;
	case XFRM_MSG_FLUSHPOLICY:
	case XFRM_MSG_FLUSHSA:
		/* Everything may be gone: the same answer as lost events. */
		ev->type = ER_KEV_LOST;
		ret = 1;
		break;
	default:
		ret = 0;
		break;
	}
out:
	return ret;
}

int
er_xfrm_ack_decode(const void *buf, size_t len, int *error, char *msg,
		   size_t msglen)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	const struct nlmsghdr *nlh = msg_check(buf, len, 0);
	struct nlmsgerr e;
	size_t off = sizeof(e);
	const char *s;
	int ret = -EBADMSG;

	if (msglen > 0)
		msg[0] = '\0';
	if (nlh == NULL || nlh->nlmsg_type != NLMSG_ERROR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(e))
		goto out;
	memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
	if (e.error > 0 || e.error < -4095)
		goto out;
	*error = e.error;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
			if (e.msg.nlmsg_len < NLMSG_HDRLEN)
				goto out;
			off += e.msg.nlmsg_len - NLMSG_HDRLEN;
		}
		ret = attrs_parse(nlh, off, nlmsgerr_rules, NLMSGERR_ATTR_MAX,
				  tb);
		if (ret < 0)
			goto out;
		ret = -EBADMSG;
		if (tb[NLMSGERR_ATTR_MSG] != NULL) {
			if (mnl_attr_validate(tb[NLMSGERR_ATTR_MSG],
					      MNL_TYPE_NUL_STRING) < 0)
				goto out;
			s = mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]);
			if (msglen > 0)
				snprintf(msg, msglen, "%s", s);
		}
	}
	ret = 0;
out:
	return ret;
}

int
er_xfrm_spdinfo_decode(const void *buf, size_t len,
		       struct er_xfrm_thresholds *t,
		       uint32_t counts[ER_DIR_COUNT])
{
	const struct nlattr *tb[XFRMA_SPD_MAX + 1];
	const struct nlmsghdr *nlh = msg_check(buf, len, 4);
	struct xfrmu_spdhthresh h;
	struct xfrmu_spdinfo si;
	int ret = -EBADMSG;

	if (nlh == NULL || nlh->nlmsg_type != XFRM_MSG_NEWSPDINFO)
		goto out;
	ret = attrs_parse(nlh, 4, spd_rules, XFRMA_SPD_MAX, tb);
	if (ret < 0)
		goto out;
	ret = -EBADMSG;
	if (tb[XFRMA_SPD_IPV4_HTHRESH] == NULL ||
	    tb[XFRMA_SPD_IPV6_HTHRESH] == NULL)
		goto out;
	memcpy(&h, mnl_attr_get_payload(tb[XFRMA_SPD_IPV4_HTHRESH]),
	       sizeof(h));
	t->v4_lbits = h.lbits;
	t->v4_rbits = h.rbits;
	memcpy(&h, mnl_attr_get_payload(tb[XFRMA_SPD_IPV6_HTHRESH]),
	       sizeof(h));
	t->v6_lbits = h.lbits;
	t->v6_rbits = h.rbits;
	if (counts != NULL) {
		/* Main policies only: the socket ones are not dumped. */
		ret = -EBADMSG;
		if (tb[XFRMA_SPD_INFO] == NULL)
			goto out;
		memcpy(&si, mnl_attr_get_payload(tb[XFRMA_SPD_INFO]),
		       sizeof(si));
		counts[ER_DIR_IN] = si.incnt;
		counts[ER_DIR_OUT] = si.outcnt;
		counts[ER_DIR_FWD] = si.fwdcnt;
	}
	ret = 0;
out:
	return ret;
}

/* ------------------------------------------------------------------ */
/* The ND bypass                                                       */

void
er_xfrm_nd_bypass_policies(struct er_policy out[ER_XFRM_ND_BYPASS_COUNT])
{
	static const uint8_t types[] = {135, 136};	/* NS, NA */
	static const enum er_dir dirs[] = {ER_DIR_OUT, ER_DIR_IN, ER_DIR_FWD};
	struct er_policy *p;
	size_t t, d;

	for (t = 0; t < NELEM(types); t++) {
		for (d = 0; d < NELEM(dirs); d++) {
			p = &out[t * NELEM(dirs) + d];
			memset(p, 0, sizeof(*p));
			p->dir = dirs[d];
			er_prefix_any(&p->sel.src, AF_INET6);
			er_prefix_any(&p->sel.dst, AF_INET6);
			p->sel.proto = IPPROTO_ICMPV6;
			p->sel.sport.lo = p->sel.sport.hi = types[t];
			p->sel.dport.hi = 0xffff;
			p->priority =
				er_priority_default(&p->sel, ER_PRIO_SYSTEM);
			p->action = ER_ACTION_PASS;
			p->owner = ER_OWNER_BARE;
			p->persist = true;
		}
	}
}
