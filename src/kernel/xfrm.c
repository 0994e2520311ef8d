// SPDX-License-Identifier: MIT
/*
 * The Linux XFRM backend (see xfrm.h): struct er_kernel_ops over libmnl.
 *
 * This module owns the sockets and the conversation with the kernel:
 * sending a request and reading until its acknowledgement, dumps, the
 * event queue, batching, and turning the kernel's errors into messages
 * that name the object.  What goes into a message and what comes out of
 * one is the codec's business (xfrm_codec.c); nothing here builds or
 * reads a kernel structure.
 *
 * Sockets: requests are answered in order on a blocking socket with
 * extended ACKs on; dumps have their own socket, so that a dump callback
 * may install and delete; events arrive on a non-blocking socket whose
 * own changes (notifications carrying the request socket's port id) are
 * skipped.  Buffers that held key material are zeroed after use.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>

#include "eroute/xfrm.h"
#include "xfrm_codec.h"
#include "../lib/grow.h"

#define RX_SIZE (64u << 10)	/* one datagram: a dump part, an event */
#define REQ_RCVBUF (4u << 20)	/* request socket: room for a batch's
				   errors */
#define BATCH_LIMIT (32u << 10)	/* bytes of requests per sendmsg */
#define EXT_MAX 256		/* the kernel's extended-ACK text */
#define BULK_CHOOSE_MIN 1024	/* fewer policies: inexact inserts are
				   cheap, leave the thresholds alone */

struct er_xfrm {
	struct mnl_socket *req;
	struct mnl_socket *dump;
	struct mnl_socket *ev;
	uint32_t req_portid;
	uint32_t seq;
	struct er_xfrm_codec codec;
	struct er_xfrm_config cfg;
	struct er_xfrm_thresholds fixed;	/* cfg.thresholds, copied */
	bool dumping;
	bool noxfrm_logged;
	bool nd_bypass;			/* installed, and to be kept */
	uint8_t *rx;
	uint8_t *evbuf;
	size_t evlen, evoff;
	struct er_xfrm_stats stats;
};

static void xlog(const struct er_xfrm *x, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
xlog(const struct er_xfrm *x, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (x->cfg.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->cfg.log(x->cfg.log_ctx, prio, msg);
}

/* "NAME: strerror (kernel: EXT)" into @err; returns @code. */
static int
report(struct er_err *err, int code, const char *name, const char *ext)
{
	return er_err_set(err, code, "%s: %s%s%s%s", name, strerror(-code),
			  ext[0] != '\0' ? " (kernel: " : "", ext,
			  ext[0] != '\0' ? ")" : "");
}

/* ------------------------------------------------------------------ */
/* Talking to the kernel                                               */

/* Called for each message answering a request that is not its ACK. */
typedef int reply_cb(struct er_xfrm *x, const struct nlmsghdr *nlh,
		     size_t len, void *data);

/*
 * Send @msg on @s and read until it is answered: the ACK (or error) of a
 * request, NLMSG_DONE of a dump.  @cb sees every other reply; once it
 * returns non-zero it is called no more, the rest is drained, and its
 * value returned.  Return: 0, the kernel's -errno with its text in @ext,
 * @cb's value, or -errno of the socket.
 */
static int
talk(struct er_xfrm *x, struct mnl_socket *s, void *msg, reply_cb *cb,
     void *data, char *ext)
{
	struct nlmsghdr *nlh = msg;
	const struct nlmsghdr *m;
	uint32_t seq = nlh->nlmsg_seq;
	bool done = false;
	int ret = 0, cbret = 0, error, left;
	ssize_t n;

	ext[0] = '\0';
	/* The kernel copies this into the notifications it multicasts:
	 * how the event socket recognises our own changes. */
	nlh->nlmsg_pid = mnl_socket_get_portid(s);
	if (!(nlh->nlmsg_flags & NLM_F_DUMP))
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	while (!done) {
		n = mnl_socket_recvfrom(s, x->rx, RX_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		left = (int)n;
		for (m = (const void *)x->rx; !done && mnl_nlmsg_ok(m, left);
		     m = mnl_nlmsg_next(m, &left)) {
			if (m->nlmsg_seq != seq)
				continue;
			if (m->nlmsg_type == NLMSG_ERROR) {
				if (er_xfrm_ack_decode(m, (size_t)left, &error,
						       ext, EXT_MAX) < 0)
					error = -EBADMSG;
				ret = error;
				done = true;
			} else if (m->nlmsg_type == NLMSG_DONE) {
				/* A dump that failed says so here. */
				if (mnl_nlmsg_get_payload_len(m) >= sizeof(int))
					memcpy(&error, mnl_nlmsg_get_payload(m),
					       sizeof(int));
				else
					error = 0;
				ret = error < 0 ? error : 0;
				done = true;
			} else if (cb != NULL && cbret == 0) {
				cbret = cb(x, m, (size_t)left, data);
			}
		}
		explicit_bzero(x->rx, (size_t)n);
	}
	if (cbret != 0 && ret == 0)
		ret = cbret;
out:
	return ret;
}

static uint32_t
next_seq(struct er_xfrm *x)
{
	if (++x->seq == 0)
		x->seq = 1;
	return x->seq;
}

/* ------------------------------------------------------------------ */
/* Policies                                                            */

/* @asked: false when the codec refused (and named the problem in @err) */
static int
policy_send(struct er_xfrm *x, const struct er_policy *pol, uint16_t type,
	    char *ext, bool *asked, struct er_err *err)
{
	union {
		struct nlmsghdr nlh;
		uint8_t b[ER_XFRM_MSG_MAX];
	} u;
	int ret;

	*asked = false;
	ret = er_xfrm_policy_encode(&x->codec, u.b, sizeof(u), type,
				    next_seq(x), pol, err);
	if (ret < 0)
		goto out;
	*asked = true;
	ret = talk(x, x->req, u.b, NULL, NULL, ext);
	if (ret == -EBADMSG)
		xlog(x, LOG_WARNING, "xfrm: malformed acknowledgement");
out:
	return ret;
}

struct policy_reply {
	struct er_policy pol;
	bool seen;
};

static int
policy_reply_cb(struct er_xfrm *x, const struct nlmsghdr *nlh, size_t len,
		void *data)
{
	struct policy_reply *r = data;

	if (er_xfrm_policy_decode(&x->codec, nlh, len, &r->pol) == 0)
		r->seen = true;
	return 0;
}

/* The kernel's policy at (dir, selector).  Return: 0, -ENOENT, -errno. */
static int
policy_get(struct er_xfrm *x, enum er_dir dir, const struct er_selector *sel,
	   struct er_policy *out)
{
	union {
		struct nlmsghdr nlh;
		uint8_t b[ER_XFRM_MSG_MAX];
	} u;
	struct policy_reply r;
	char ext[EXT_MAX];
	int ret;

	r.seen = false;
	ret = er_xfrm_policy_id_encode(u.b, sizeof(u), XFRM_MSG_GETPOLICY,
				       next_seq(x), dir, sel, NULL);
	if (ret < 0)
		goto out;
	ret = talk(x, x->req, u.b, policy_reply_cb, &r, ext);
	if (ret == 0 && !r.seen)
		ret = -ENOENT;
	if (ret == 0)
		*out = r.pol;
out:
	return ret;
}

/*
 * XFRM has no hold of its own: the kernel's larval acquire state is what
 * holds a trapped flow.  A hold without templates that replaces a policy
 * with templates (the trap) keeps them, so the flows it covers meet the
 * same acquire state and stay held silently, as under the trap; otherwise
 * the codec gives it a transport ESP template with its reqid.
 */
static const struct er_policy *
hold_shape(struct er_xfrm *x, const struct er_policy *pol,
	   struct er_policy *copy)
{
	const struct er_policy *ret = pol;
	struct er_policy cur;
	unsigned i;

	memset(&cur, 0, sizeof(cur));
	if (pol->action != ER_ACTION_HOLD || pol->ntmpl != 0 ||
	    policy_get(x, pol->dir, &pol->sel, &cur) < 0 || cur.ntmpl == 0)
		goto out;
	*copy = *pol;
	copy->ntmpl = cur.ntmpl;
	for (i = 0; i < cur.ntmpl; i++) {
		copy->tmpl[i] = cur.tmpl[i];
		if (pol->reqid != 0)
			copy->tmpl[i].reqid = pol->reqid;
	}
	ret = copy;
out:
	return ret;
}

/* Add, or update when the identity is there: both ops are this. */
static int
policy_install(struct er_xfrm *x, const struct er_policy *want,
	       struct er_err *errp)
{
	char name[ER_SELECTOR_STRLEN + 32], ext[EXT_MAX];
	struct er_err local = {0}, *err = errp != NULL ? errp : &local;
	struct er_policy copy;
	const struct er_policy *pol = hold_shape(x, want, &copy);
	bool asked;
	int ret;

	er_policy_describe(pol->dir, &pol->sel, name, sizeof(name));
	ret = policy_send(x, pol, XFRM_MSG_NEWPOLICY, ext, &asked, err);
	if (ret == -EEXIST) {
		ret = policy_send(x, pol, XFRM_MSG_UPDPOLICY, ext, &asked,
				  err);
		if (ret == 0)
			ret = ER_KERNEL_UPDATED;
	}
	if (ret < 0) {
		/* The codec already named what it could not express. */
		if (asked)
			report(err, ret, name, ext);
		xlog(x, LOG_ERR, "xfrm: %s", err->msg);
	} else {
		xlog(x, LOG_DEBUG, "xfrm: %s %s: %s", name,
		     er_action_name(pol->action),
		     ret == ER_KERNEL_UPDATED ? "updated" : "added");
	}
	return ret;
}

static int
xfrm_policy_add(void *ctx, const struct er_policy *pol, struct er_err *err)
{
	return policy_install(ctx, pol, err);
}

static int
xfrm_policy_replace(void *ctx, const struct er_policy *pol,
		    struct er_err *err)
{
	return policy_install(ctx, pol, err);
}

static int
xfrm_policy_del(void *ctx, enum er_dir dir, const struct er_selector *sel,
		struct er_err *err)
{
	struct er_xfrm *x = ctx;
	union {
		struct nlmsghdr nlh;
		uint8_t b[ER_XFRM_MSG_MAX];
	} u;
	char name[ER_SELECTOR_STRLEN + 32], ext[EXT_MAX];
	int ret;

	ret = er_xfrm_policy_id_encode(u.b, sizeof(u), XFRM_MSG_DELPOLICY,
				       next_seq(x), dir, sel, err);
	if (ret < 0)
		goto out;
	er_policy_describe(dir, sel, name, sizeof(name));
	ret = talk(x, x->req, u.b, NULL, NULL, ext);
	if (ret == -ENOENT) {
		ret = ER_KERNEL_ABSENT;
		xlog(x, LOG_DEBUG, "xfrm: %s: already gone", name);
	} else if (ret < 0) {
		report(err, ret, name, ext);
		xlog(x, LOG_ERR, "xfrm: %s: %s", name, strerror(-ret));
	} else {
		xlog(x, LOG_DEBUG, "xfrm: %s: deleted", name);
	}
out:
	return ret;
}

/* ------------------------------------------------------------------ */
/* SAs                                                                 */

static int
sa_send(struct er_xfrm *x, const struct er_sa *sa, uint16_t type, char *ext,
	bool *asked, struct er_err *err)
{
	union {
		struct nlmsghdr nlh;
		uint8_t b[ER_XFRM_MSG_MAX];
	} u;
	int ret;

	*asked = false;
	ret = er_xfrm_sa_encode(&x->codec, u.b, sizeof(u), type, next_seq(x),
				sa, err);
	if (ret >= 0) {
		*asked = true;
		ret = talk(x, x->req, u.b, NULL, NULL, ext);
	}
	explicit_bzero(&u, sizeof(u));
	return ret;
}

/*
 * A kernel without the protocol's transform (no esp4 / ah4 module) refuses
 * every such SA.  Say so plainly, once in the log; the caller keeps the
 * hold, so the traffic stays protected.
 */
static int
sa_failed(struct er_xfrm *x, const struct er_sa *sa, int code,
	  const char *ext, struct er_err *err)
{
	char name[128], id[96];

	er_sa_id_format(&sa->id, id, sizeof(id));
	snprintf(name, sizeof(name), "SA %s", id);
	if (code == -EPROTONOSUPPORT) {
		er_err_set(err, code,
			   "%s: the kernel has no transform for this protocol "
			   "(%s%s%s); the SA is not installed", name,
			   strerror(-code), ext[0] != '\0' ? ": " : "", ext);
		xlog(x, x->noxfrm_logged ? LOG_DEBUG : LOG_ERR,
		     "xfrm: %s: this kernel refuses IPsec SAs of this "
		     "protocol (%s); no policy is touched: a hold stays a "
		     "hold, so the traffic stays blocked rather than going "
		     "out in the clear", name,
		     ext[0] != '\0' ? ext : strerror(-code));
		x->noxfrm_logged = true;
	} else {
		report(err, code, name, ext);
		xlog(x, LOG_ERR, "xfrm: %s: %s", name, strerror(-code));
	}
	return code;
}

static bool
sa_errno_absent(int code)
{
	return code == -ESRCH || code == -ENOENT;
}

static int
xfrm_sa_add(void *ctx, const struct er_sa *sa, struct er_err *err)
{
	struct er_xfrm *x = ctx;
	char ext[EXT_MAX] = "";
	bool asked;
	int ret;

	ret = sa_send(x, sa, XFRM_MSG_NEWSA, ext, &asked, err);
	if (ret == -EEXIST) {
		/* a larval reservation, or a copy from before a restart */
		ret = sa_send(x, sa, XFRM_MSG_UPDSA, ext, &asked, err);
		if (ret == 0)
			ret = ER_KERNEL_UPDATED;
	}
	if (ret < 0 && asked)
		sa_failed(x, sa, ret, ext, err);
	return ret;
}

static int
xfrm_sa_update(void *ctx, const struct er_sa *sa, struct er_err *err)
{
	struct er_xfrm *x = ctx;
	char ext[EXT_MAX] = "";
	bool asked;
	int ret;

	ret = sa_send(x, sa, XFRM_MSG_UPDSA, ext, &asked, err);
	if (sa_errno_absent(ret) && asked && ext[0] == '\0')
		ret = sa_send(x, sa, XFRM_MSG_NEWSA, ext, &asked, err);
	else if (ret == 0)
		ret = ER_KERNEL_UPDATED;
	if (ret < 0 && asked)
		sa_failed(x, sa, ret, ext, err);
	return ret;
}

static int
xfrm_sa_del(void *ctx, const struct er_sa_id *id, struct er_err *err)
{
	struct er_xfrm *x = ctx;
	union {
		struct nlmsghdr nlh;
		uint8_t b[ER_XFRM_MSG_MAX];
	} u;
	char name[128], s[96], ext[EXT_MAX];
	int ret;

	ret = er_xfrm_sa_id_encode(u.b, sizeof(u), XFRM_MSG_DELSA,
				   next_seq(x), id, err);
	if (ret < 0)
		goto out;
	er_sa_id_format(id, s, sizeof(s));
	snprintf(name, sizeof(name), "SA %s", s);
	ret = talk(x, x->req, u.b, NULL, NULL, ext);
	if (sa_errno_absent(ret))
		ret = ER_KERNEL_ABSENT;
	else if (ret < 0)
		report(err, ret, name, ext);
out:
	return ret;
}

struct spi_reply {
	uint32_t spi;
	bool seen;
};

static int
spi_reply_cb(struct er_xfrm *x, const struct nlmsghdr *nlh, size_t len,
	     void *data)
{
	struct spi_reply *r = data;
	struct er_sa sa;

	if (er_xfrm_sa_decode(&x->codec, nlh, len, &sa) == 0) {
		r->spi = sa.id.spi;
		r->seen = true;
	} else {
		x->stats.malformed++;
	}
	explicit_bzero(&sa, sizeof(sa));
	return 0;
}

static int
xfrm_spi_alloc(void *ctx, const struct er_spi_req *req, uint32_t *spi,
	       struct er_err *err)
{
	struct er_xfrm *x = ctx;
	union {
		struct nlmsghdr nlh;
		uint8_t b[ER_XFRM_MSG_MAX];
	} u;
	struct spi_reply r = {0, false};
	struct er_sa_id id = {req->dst, req->proto, 0};
	char name[128], s[96], ext[EXT_MAX];
	int ret;

	ret = er_xfrm_spi_encode(u.b, sizeof(u), next_seq(x), req, err);
	if (ret < 0)
		goto out;
	er_sa_id_format(&id, s, sizeof(s));
	snprintf(name, sizeof(name), "SPI for %s", s);
	ret = talk(x, x->req, u.b, spi_reply_cb, &r, ext);
	if (ret == 0 && (!r.seen || r.spi == 0))
		ret = -EPROTO;
	if (ret < 0) {
		report(err, ret, name, ext);
		goto out;
	}
	*spi = r.spi;
	xlog(x, LOG_DEBUG, "xfrm: %s: 0x%08x reserved", name, r.spi);
out:
	return ret;
}

/* ------------------------------------------------------------------ */
/* Dumps                                                               */

struct dump {
	er_kernel_policy_cb *pcb;
	er_kernel_sa_cb *scb;
	void *cbctx;
	int64_t offset;		/* clock_offset() when the dump began */
};

static int
decode_failed(struct er_xfrm *x, const struct nlmsghdr *nlh, int code,
	      const char *what)
{
	if (code == -EOPNOTSUPP) {
		x->stats.unsupported++;
		xlog(x, LOG_DEBUG, "xfrm: %s (message type %u) has no eroute "
				   "form, not shown", what, nlh->nlmsg_type);
	} else {
		x->stats.malformed++;
		xlog(x, LOG_WARNING, "xfrm: malformed %s (type %u, %u bytes): "
				     "%s, skipped", what, nlh->nlmsg_type,
		     nlh->nlmsg_len, strerror(-code));
	}
	return 0;
}

/*
 * Wall-clock seconds minus CLOCK_BOOTTIME seconds, now: the kernel stamps
 * use and addition with the first, the engine counts in the second.
 */
static int64_t
clock_offset(void)
{
	struct timespec real, boot;

	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	return (int64_t)real.tv_sec - (int64_t)boot.tv_sec;
}

/* A kernel stamp on the engine's clock; 0 (never) stays 0, and a stamp
 * from before a clock step backwards is as old as it can be. */
static uint64_t
stamp_to_boottime(uint64_t t, int64_t offset)
{
	if (t == 0)
		return 0;
	return (int64_t)t > offset ? (uint64_t)((int64_t)t - offset) : 1;
}

static int
dump_cb(struct er_xfrm *x, const struct nlmsghdr *nlh, size_t len,
	void *data)
{
	struct dump *d = data;
	struct er_policy pol;
	struct er_sa sa;
	int ret;

	if (d->pcb != NULL) {
		ret = er_xfrm_policy_decode(&x->codec, nlh, len, &pol);
		if (ret == 0) {
			pol.created = stamp_to_boottime(pol.created,
							d->offset);
			pol.last_used = stamp_to_boottime(pol.last_used,
							  d->offset);
		}
		ret = ret < 0 ? decode_failed(x, nlh, ret, "policy")
			      : d->pcb(d->cbctx, &pol);
	} else {
		ret = er_xfrm_sa_decode(&x->codec, nlh, len, &sa);
		if (ret == 0)
			sa.created = stamp_to_boottime(sa.created, d->offset);
		ret = ret < 0 ? decode_failed(x, nlh, ret, "SA")
			      : d->scb(d->cbctx, &sa);
		explicit_bzero(&sa, sizeof(sa));
	}
	return ret;
}

static int
dump_run(struct er_xfrm *x, uint16_t type, struct dump *d,
	 struct er_err *err)
{
	union {
		struct nlmsghdr nlh;
		uint8_t b[MNL_NLMSG_HDRLEN];
	} u;
	char ext[EXT_MAX];
	int ret = -EBUSY;

	if (x->dumping) {
		er_err_set(err, ret, "xfrm: a dump is already running");
		goto out;
	}
	x->dumping = true;
	d->offset = clock_offset();
	er_xfrm_dump_encode(u.b, sizeof(u), type, next_seq(x));
	ret = talk(x, x->dump, u.b, dump_cb, d, ext);
	x->dumping = false;
	if (ret < 0)
		report(err, ret,
		       type == XFRM_MSG_GETPOLICY ? "policy dump" : "SA dump",
		       ext);
out:
	return ret;
}

static int
xfrm_policy_dump(void *ctx, er_kernel_policy_cb *cb, void *cbctx,
		 struct er_err *err)
{
	struct dump d = {cb, NULL, cbctx, 0};

	return dump_run(ctx, XFRM_MSG_GETPOLICY, &d, err);
}

static int
xfrm_sa_dump(void *ctx, er_kernel_sa_cb *cb, void *cbctx, struct er_err *err)
{
	struct dump d = {NULL, cb, cbctx, 0};

	return dump_run(ctx, XFRM_MSG_GETSA, &d, err);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

static bool
is_change_notification(uint16_t type)
{
	return type == XFRM_MSG_NEWPOLICY || type == XFRM_MSG_UPDPOLICY ||
	       type == XFRM_MSG_DELPOLICY || type == XFRM_MSG_FLUSHPOLICY ||
	       type == XFRM_MSG_NEWSA || type == XFRM_MSG_UPDSA ||
	       type == XFRM_MSG_DELSA || type == XFRM_MSG_FLUSHSA;
}

/* Decode the next message already read; 1 with @ev, 0 when none left. */
static int
event_next_queued(struct er_xfrm *x, struct er_kernel_event *ev)
{
	const struct nlmsghdr *m;
	size_t left, step;
	int ret = 0, r;

	while (ret == 0 && x->evoff < x->evlen) {
		m = (const void *)(x->evbuf + x->evoff);
		left = x->evlen - x->evoff;
		if (left < MNL_NLMSG_HDRLEN || m->nlmsg_len > left ||
		    !mnl_nlmsg_ok(m, (int)left)) {
			x->stats.malformed++;
			xlog(x, LOG_WARNING, "xfrm: truncated kernel event "
					     "(%zu bytes), skipped", left);
			x->evoff = x->evlen;
			break;
		}
		step = MNL_ALIGN(m->nlmsg_len);
		x->evoff += step < left ? step : left;
		if (m->nlmsg_pid == x->req_portid &&
		    is_change_notification(m->nlmsg_type)) {
			x->stats.own++;
			continue;
		}
		/* Someone flushed the SPD: the ND bypass is the backend's to
		 * put back (the engine resyncs the rest). */
		if (m->nlmsg_type == XFRM_MSG_FLUSHPOLICY && x->nd_bypass) {
			xlog(x, LOG_WARNING, "xfrm: another process flushed "
					     "the SPD; putting the ICMPv6 "
					     "neighbour-discovery bypass back");
			er_xfrm_nd_bypass_install(x, NULL);
		}
		r = er_xfrm_event_decode(&x->codec, m, m->nlmsg_len, ev);
		if (r == 1) {
			x->stats.events++;
			ret = 1;
		} else if (r < 0) {
			decode_failed(x, m, r, "kernel event");
		}
	}
	explicit_bzero(x->evbuf, x->evoff);
	return ret;
}

static int
xfrm_poll_event(void *ctx, struct er_kernel_event *ev)
{
	struct er_xfrm *x = ctx;
	ssize_t n;
	int ret = 0;

	if (x->ev == NULL)
		goto out;
	for (;;) {
		ret = event_next_queued(x, ev);
		if (ret != 0)
			break;
		x->evlen = x->evoff = 0;
		n = mnl_socket_recvfrom(x->ev, x->evbuf, RX_SIZE);
		if (n >= 0) {
			x->evlen = (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			ret = 0;
		} else if (errno == ENOBUFS) {
			/* The kernel dropped events for us: ACQUIREs lost. */
			x->stats.lost++;
			memset(ev, 0, sizeof(*ev));
			ev->type = ER_KEV_LOST;
			x->stats.events++;
			xlog(x, LOG_WARNING, "xfrm: event socket overflowed "
					     "(ENOBUFS): events lost, resync");
			ret = 1;
		} else {
			ret = -errno;
		}
		break;
	}
out:
	return ret;
}

/* ------------------------------------------------------------------ */
/* Larval acquires                                                     */

/* What the larval dump needs of an out policy with a reqid. */
struct trap {
	struct er_selector sel;
	uint32_t priority;
	uint32_t reqid[ER_TMPL_MAX + 1];
};

struct larval_walk {
	struct er_kernel_event *ev;
	size_t n, cap;
	struct trap *traps;
	size_t ntraps, trapcap;
};

static int
larval_sa_cb(void *ctx, const struct er_sa *sa)
{
	struct larval_walk *w = ctx;
	struct er_kernel_event *ev;

	if (sa->id.spi != 0 || sa->state != ER_SA_LARVAL)
		return 0;
	ev = er_grow(w->ev, &w->cap, w->n, sizeof(*ev), 64);
	if (ev == NULL)
		return -ENOMEM;
	w->ev = ev;
	er_xfrm_acquire_from_sa(sa, &w->ev[w->n++]);
	return 0;
}

static int
larval_policy_cb(void *ctx, const struct er_policy *pol)
{
	struct larval_walk *w = ctx;
	struct trap *t;
	unsigned i;
	int ret = 0;

	if (pol->dir != ER_DIR_OUT || pol->reqid == 0)
		goto out;
	t = er_grow(w->traps, &w->trapcap, w->ntraps, sizeof(*t), 64);
	if (t == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	w->traps = t;
	t = &w->traps[w->ntraps++];
	memset(t, 0, sizeof(*t));
	t->sel = pol->sel;
	t->priority = pol->priority;
	t->reqid[0] = pol->reqid;
	for (i = 0; i < pol->ntmpl; i++)
		t->reqid[i + 1] = pol->tmpl[i].reqid;
out:
	return ret;
}

static bool
trap_has_reqid(const struct trap *t, uint32_t reqid)
{
	bool ret = false;
	unsigned i;

	for (i = 0; i < ER_TMPL_MAX + 1 && !ret; i++)
		ret = reqid != 0 && t->reqid[i] == reqid;
	return ret;
}

int
er_xfrm_larval_dump(struct er_xfrm *x, er_xfrm_acquire_cb *cb, void *ctx,
		    struct er_err *err)
{
	struct larval_walk w;
	const struct trap *best;
	size_t i, j;
	int ret;

	memset(&w, 0, sizeof(w));
	ret = xfrm_sa_dump(x, larval_sa_cb, &w, err);
	if (ret < 0 || w.n == 0)
		goto out;
	ret = xfrm_policy_dump(x, larval_policy_cb, &w, err);
	if (ret < 0)
		goto out;
	for (i = 0; i < w.n && ret == 0; i++) {
		best = NULL;
		for (j = 0; j < w.ntraps; j++) {
			if (trap_has_reqid(&w.traps[j], w.ev[i].reqid) &&
			    er_selector_matches(&w.traps[j].sel,
						&w.ev[i].pkt) &&
			    (best == NULL ||
			     w.traps[j].priority < best->priority))
				best = &w.traps[j];
		}
		if (best != NULL)
			w.ev[i].policy_sel = best->sel;
		ret = cb(ctx, &w.ev[i]);
	}
	xlog(x, LOG_INFO, "xfrm: %zu larval acquire state(s) reported", w.n);
out:
	free(w.ev);
	free(w.traps);
	return ret;
}

/* ------------------------------------------------------------------ */
/* SPD hash thresholds and bulk installs                               */

struct spdinfo_reply {
	struct er_xfrm_thresholds t;
	uint32_t counts[ER_DIR_COUNT];
	bool seen;
};

static int
spdinfo_cb(struct er_xfrm *x, const struct nlmsghdr *nlh, size_t len,
	   void *data)
{
	struct spdinfo_reply *r = data;

	if (er_xfrm_spdinfo_decode(nlh, len, &r->t, r->counts) == 0)
		r->seen = true;
	else
		x->stats.malformed++;
	return 0;
}

static int
spdinfo_get(struct er_xfrm *x, struct spdinfo_reply *r, struct er_err *err)
{
	union {
		struct nlmsghdr nlh;
		uint8_t b[256];
	} u;
	char ext[EXT_MAX];
	int ret;

	memset(r, 0, sizeof(*r));
	ret = er_xfrm_spdinfo_encode(u.b, sizeof(u), next_seq(x), NULL, err);
	if (ret < 0)
		goto out;
	ret = talk(x, x->req, u.b, spdinfo_cb, r, ext);
	if (ret == 0 && !r->seen)
		ret = -EPROTO;
	if (ret < 0)
		report(err, ret, "xfrm: SPD info", ext);
out:
	return ret;
}

int
er_xfrm_thresholds_get(struct er_xfrm *x, struct er_xfrm_thresholds *t,
		       struct er_err *err)
{
	struct spdinfo_reply r;
	int ret = spdinfo_get(x, &r, err);

	if (ret == 0)
		*t = r.t;
	return ret;
}

static int
xfrm_policy_count(void *ctx, size_t counts[ER_DIR_COUNT], struct er_err *err)
{
	struct spdinfo_reply r;
	int ret = spdinfo_get(ctx, &r, err);

	for (int d = 0; ret == 0 && d < ER_DIR_COUNT; d++)
		counts[d] = r.counts[d];
	return ret;
}

int
er_xfrm_thresholds_set(struct er_xfrm *x, const struct er_xfrm_thresholds *t,
		       struct er_err *err)
{
	union {
		struct nlmsghdr nlh;
		uint8_t b[256];
	} u;
	char ext[EXT_MAX];
	int ret;

	ret = er_xfrm_spdinfo_encode(u.b, sizeof(u), next_seq(x), t, err);
	if (ret < 0)
		goto out;
	ret = talk(x, x->req, u.b, NULL, NULL, ext);
	if (ret < 0) {
		report(err, ret, "xfrm: SPD hash thresholds", ext);
		goto out;
	}
	xlog(x, LOG_INFO, "xfrm: SPD hash thresholds IPv4 %u/%u, IPv6 %u/%u",
	     t->v4_lbits, t->v4_rbits, t->v6_lbits, t->v6_rbits);
out:
	return ret;
}

/* One pass of a bulk install: send @type for every policy whose result
 * is @want, in batches, and store each outcome (@ok on success). */
struct batch {
	struct er_xfrm *x;
	const struct er_policy *pols;
	const size_t *order;	/* position i is pols[order[i]]; NULL: i */
	int *res;
	uint32_t base;		/* seq of position 0 */
	size_t first, last;	/* index range in the batch now */
	bool lost;		/* replies lost: outcomes unknown */
};

static int
batch_reply_scan(struct batch *b, const uint8_t *buf, int left, int ok,
		 uint32_t ackseq, bool *done)
{
	const struct nlmsghdr *m;
	char ext[EXT_MAX];
	size_t idx;
	int error, ret = 0;

	for (m = (const void *)buf; mnl_nlmsg_ok(m, left);
	     m = mnl_nlmsg_next(m, &left)) {
		if (m->nlmsg_type != NLMSG_ERROR ||
		    m->nlmsg_seq - b->base < b->first ||
		    m->nlmsg_seq - b->base > b->last)
			continue;
		if (er_xfrm_ack_decode(m, (size_t)left, &error, ext,
				       sizeof(ext)) < 0) {
			ret = -EBADMSG;
			continue;
		}
		idx = m->nlmsg_seq - b->base;
		b->res[idx] = error == 0 ? ok : error;
		if (m->nlmsg_seq == ackseq)
			*done = true;
	}
	return ret;
}

/* Send the batch and read its answers: errors name their message, the
 * ACK on @last ends it, silence means success. */
static void
batch_flush(struct batch *b, struct mnl_nlmsg_batch *mb,
	    struct nlmsghdr *last, int want, int ok)
{
	struct er_xfrm *x = b->x;
	bool done = false;
	size_t i;
	ssize_t n;

	last->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(x->req, mnl_nlmsg_batch_head(mb),
			      mnl_nlmsg_batch_size(mb)) < 0) {
		b->lost = true;
		goto out;
	}
	while (!done) {
		n = mnl_socket_recvfrom(x->req, x->rx, RX_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* ENOBUFS: some answers are gone */
			b->lost = true;
			break;
		}
		if (batch_reply_scan(b, x->rx, (int)n, ok, last->nlmsg_seq,
				     &done) < 0)
			b->lost = true;
	}
	for (i = b->first; i <= b->last && !b->lost; i++) {
		if (b->res[i] == want)
			b->res[i] = ok;
	}
out:
	return;
}

/* The policy at position @i of a pass. */
static const struct er_policy *
batch_pol(const struct batch *b, size_t i)
{
	return &b->pols[b->order != NULL ? b->order[i] : i];
}

static int xfrm_policy_del(void *ctx, enum er_dir dir,
			   const struct er_selector *sel, struct er_err *err);

/* Outcomes unknown: do them again one by one, idempotently. */
static void
batch_redo(struct batch *b, uint16_t type, int want)
{
	const struct er_policy *p;
	size_t i;

	for (i = b->first; i <= b->last; i++) {
		if (b->res[i] != want)
			continue;
		p = batch_pol(b, i);
		b->res[i] = type == XFRM_MSG_DELPOLICY
				    ? xfrm_policy_del(b->x, p->dir, &p->sel,
						      NULL)
				    : policy_install(b->x, p, NULL);
	}
}

static void
bulk_pass(struct er_xfrm *x, const struct er_policy *pols,
	  const size_t *order, size_t n, int *res, uint16_t type, int want,
	  int ok)
{
	static const size_t bufsize = 2 * BATCH_LIMIT + ER_XFRM_MSG_MAX;
	struct batch b = {x, pols, order, res, 0, 0, 0, false};
	const struct er_policy *p;
	struct mnl_nlmsg_batch *mb = NULL;
	struct nlmsghdr *cur, *last = NULL;
	uint8_t *buf;
	size_t i;
	int r;

	buf = malloc(bufsize);
	if (buf == NULL)
		goto out;
	mb = mnl_nlmsg_batch_start(buf, BATCH_LIMIT);
	b.base = x->seq + 1;
	x->seq += (uint32_t)n + 1;
	for (i = 0; i < n; i++) {
		if (res[i] != want)
			continue;
		cur = mnl_nlmsg_batch_current(mb);
		p = batch_pol(&b, i);
		if (type == XFRM_MSG_DELPOLICY)
			r = er_xfrm_policy_id_encode(cur, ER_XFRM_MSG_MAX, type,
						     b.base + (uint32_t)i,
						     p->dir, &p->sel, NULL);
		else
			r = er_xfrm_policy_encode(&x->codec, cur,
						  ER_XFRM_MSG_MAX, type,
						  b.base + (uint32_t)i, p,
						  NULL);
		if (r < 0) {
			res[i] = r;
			continue;
		}
		cur->nlmsg_pid = x->req_portid;
		if (last == NULL)
			b.first = i;
		if (mnl_nlmsg_batch_next(mb)) {
			last = cur;
			b.last = i;
			continue;
		}
		/* @cur did not fit: send what came before it. */
		batch_flush(&b, mb, last, want, ok);
		if (b.lost)
			batch_redo(&b, type, want);
		b.lost = false;
		mnl_nlmsg_batch_reset(mb);
		last = mnl_nlmsg_batch_head(mb);
		b.first = b.last = i;
	}
	if (last != NULL && !mnl_nlmsg_batch_is_empty(mb)) {
		batch_flush(&b, mb, last, want, ok);
		if (b.lost)
			batch_redo(&b, type, want);
	}
out:
	if (mb != NULL)
		mnl_nlmsg_batch_stop(mb);
	free(buf);
}

/* Marks a policy not yet sent in a bulk pass. */
#define BULK_PENDING INT32_MIN

static int
priority_desc(const void *a, const void *b, void *ctx)
{
	const struct er_policy *pols = ctx;
	uint32_t x = pols[*(const size_t *)a].priority;
	uint32_t y = pols[*(const size_t *)b].priority;

	return x > y ? -1 : x < y;
}

/*
 * Send the policies worst priority first.  The kernel keeps each chain and
 * bin sorted by priority and inserts a policy after the last one of equal
 * or better priority: in ascending order every insert walks to the end of
 * its list (100k mixed policies: 22 s on a 6.18 kernel), in descending
 * order it stops at once (1 s).
 */
static void
bulk_ordered(struct er_xfrm *x, const struct er_policy *pols, size_t n,
	     int *res)
{
	size_t *idx = malloc(n * sizeof(*idx));
	int *ores = malloc(n * sizeof(*ores));
	size_t i;

	if (idx == NULL || ores == NULL) {
		/* No room to reorder: the given order works, more slowly. */
		for (i = 0; i < n; i++)
			res[i] = BULK_PENDING;
		bulk_pass(x, pols, NULL, n, res, XFRM_MSG_NEWPOLICY,
			  BULK_PENDING, 0);
		bulk_pass(x, pols, NULL, n, res, XFRM_MSG_UPDPOLICY, -EEXIST,
			  ER_KERNEL_UPDATED);
		goto out;
	}
	for (i = 0; i < n; i++) {
		idx[i] = i;
		ores[i] = BULK_PENDING;
	}
	qsort_r(idx, n, sizeof(*idx), priority_desc, (void *)(uintptr_t)pols);
	bulk_pass(x, pols, idx, n, ores, XFRM_MSG_NEWPOLICY, BULK_PENDING, 0);
	bulk_pass(x, pols, idx, n, ores, XFRM_MSG_UPDPOLICY, -EEXIST,
		  ER_KERNEL_UPDATED);
	for (i = 0; i < n; i++)
		res[idx[i]] = ores[i];
out:
	free(idx);
	free(ores);
}

int
er_xfrm_policy_install_bulk(struct er_xfrm *x, const struct er_policy *pols,
			    size_t n, int *results, struct er_err *err)
{
	struct er_xfrm_thresholds want, now;
	char name[ER_SELECTOR_STRLEN + 32];
	int *res = results;
	size_t i, updated = 0;
	int ret = 0;

	if (n == 0)
		goto out;
	if (res == NULL) {
		res = calloc(n, sizeof(*res));
		if (res == NULL) {
			ret = er_err_set(err, -ENOMEM, "xfrm: bulk install");
			goto out;
		}
	}
	if (!x->cfg.no_auto_thresholds &&
	    (x->cfg.thresholds != NULL || n >= BULK_CHOOSE_MIN)) {
		if (x->cfg.thresholds != NULL)
			want = x->fixed;
		else
			er_xfrm_thresholds_choose(pols, n, &want);
		if (er_xfrm_thresholds_get(x, &now, NULL) < 0 ||
		    memcmp(&now, &want, sizeof(now)) != 0) {
			if (er_xfrm_thresholds_set(x, &want, NULL) == 0)
				/* the kernel rehashes in a work queue: let
				 * it run before the inserts */
				usleep(20000);
		}
	}
	bulk_ordered(x, pols, n, res);
	for (i = 0; i < n; i++) {
		if (res[i] == BULK_PENDING)
			res[i] = -EIO;
		if (res[i] == ER_KERNEL_UPDATED)
			updated++;
		if (res[i] < 0 && ret == 0) {
			ret = res[i];
			er_policy_describe(pols[i].dir, &pols[i].sel, name,
					   sizeof(name));
			er_err_set(err, ret, "%s: %s", name, strerror(-ret));
		}
	}
	xlog(x, LOG_INFO, "xfrm: bulk install of %zu policies: %zu added, "
			  "%zu updated%s", n, n - updated, updated,
	     ret < 0 ? ", some failed" : "");
out:
	if (res != results)
		free(res);
	return ret;
}

/*
 * Where the kernel (5.0 and later) keeps a policy, by the thresholds: in
 * the hash, or in one of the inexact lists -- both addresses coarse
 * (shorter than /16, /48 for IPv6: one list for all of them), only the
 * source fine, only the destination fine, both.  A delete walks, besides
 * its own list, the lists of the other kinds that cover its addresses,
 * each to the end; so that these are short, the long coarse list goes
 * first, and inside each kind ascending priority -- the lists' own order
 * -- finds each policy at the head of its list.  100k mixed policies:
 * 4.8 s one by one in their given order, under 1 s this way.
 */
enum spd_place {
	SPD_HASHED,
	SPD_ANY_ANY,
	SPD_SRC_ONLY,
	SPD_DST_ONLY,
	SPD_BOTH,
};

static bool
prefix_coarse(const struct er_prefix *p)
{
	static const uint8_t zero[16];
	bool v6 = p->addr.family == AF_INET6;

	return p->len < (v6 ? 48 : 16) ||
	       memcmp(p->addr.a, zero, v6 ? 16 : 4) == 0;
}

static enum spd_place
spd_place(const struct er_policy *p, const struct er_xfrm_thresholds *t)
{
	bool v6 = p->sel.src.addr.family == AF_INET6;
	unsigned lbits = v6 ? t->v6_lbits : t->v4_lbits;
	unsigned rbits = v6 ? t->v6_rbits : t->v4_rbits;
	/* out: the destination is remote; in and fwd: local */
	unsigned dbits = p->dir == ER_DIR_OUT ? rbits : lbits;
	unsigned sbits = p->dir == ER_DIR_OUT ? lbits : rbits;
	bool s = prefix_coarse(&p->sel.src), d = prefix_coarse(&p->sel.dst);

	if (p->sel.dst.len >= dbits && p->sel.src.len >= sbits)
		return SPD_HASHED;
	if (s && d)
		return SPD_ANY_ANY;
	if (d)
		return SPD_SRC_ONLY;
	return s ? SPD_DST_ONLY : SPD_BOTH;
}

struct del_order {
	uint64_t key;		/* place, then priority */
	size_t i;
};

static int
del_order_cmp(const void *a, const void *b)
{
	const struct del_order *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

int
er_xfrm_policy_delete_bulk(struct er_xfrm *x, const struct er_policy *pols,
			   size_t n, int *results, struct er_err *err)
{
	struct er_xfrm_thresholds t = {32, 32, 128, 128};
	struct del_order *ord = NULL;
	size_t *sorted = NULL;
	int *res = NULL;
	char name[ER_SELECTOR_STRLEN + 32];
	size_t i, gone = 0, absent = 0;
	int ret = 0;

	if (n == 0)
		goto out;
	ord = malloc(n * sizeof(*ord));
	sorted = malloc(n * sizeof(*sorted));
	res = malloc(n * sizeof(*res));
	if (ord == NULL || sorted == NULL || res == NULL) {
		ret = er_err_set(err, -ENOMEM, "xfrm: bulk delete: out of "
					       "memory");
		for (i = 0; i < n; i++)
			results[i] = ret;
		goto out;
	}
	/* Unknown thresholds (an old kernel): the order is only slower. */
	er_xfrm_thresholds_get(x, &t, NULL);
	for (i = 0; i < n; i++) {
		ord[i].key = (uint64_t)spd_place(&pols[i], &t) << 32 |
			     pols[i].priority;
		ord[i].i = i;
	}
	qsort(ord, n, sizeof(*ord), del_order_cmp);
	for (i = 0; i < n; i++) {
		sorted[i] = ord[i].i;
		res[i] = BULK_PENDING;
	}
	bulk_pass(x, pols, sorted, n, res, XFRM_MSG_DELPOLICY, BULK_PENDING,
		  0);
	for (i = 0; i < n; i++) {
		int r = res[i];
		const struct er_policy *p = &pols[ord[i].i];

		if (r == BULK_PENDING)
			r = -EIO;
		else if (r == -ENOENT)
			r = ER_KERNEL_ABSENT;
		results[ord[i].i] = r;
		if (r == ER_KERNEL_ABSENT)
			absent++;
		else if (r >= 0)
			gone++;
		if (r < 0 && ret == 0) {
			ret = r;
			er_policy_describe(p->dir, &p->sel, name,
					   sizeof(name));
			er_err_set(err, ret, "%s: %s", name, strerror(-ret));
		}
	}
	xlog(x, LOG_INFO, "xfrm: bulk delete of %zu policies: %zu deleted, "
			  "%zu already gone%s", n, gone, absent,
	     ret < 0 ? ", some failed" : "");
out:
	free(ord);
	free(sorted);
	free(res);
	return ret;
}

/* ------------------------------------------------------------------ */
/* The ND bypass                                                       */

int
er_xfrm_nd_bypass_install(struct er_xfrm *x, struct er_err *err)
{
	struct er_policy pols[ER_XFRM_ND_BYPASS_COUNT];
	size_t i;
	int ret = 0, r;

	er_xfrm_nd_bypass_policies(pols);
	for (i = 0; i < ER_XFRM_ND_BYPASS_COUNT; i++) {
		r = policy_install(x, &pols[i], ret == 0 ? err : NULL);
		if (r < 0 && ret == 0)
			ret = r;
	}
	x->nd_bypass = true;
	return ret;
}

int
er_xfrm_nd_bypass_remove(struct er_xfrm *x, struct er_err *err)
{
	struct er_policy pols[ER_XFRM_ND_BYPASS_COUNT];
	size_t i;
	int ret = 0, r;

	er_xfrm_nd_bypass_policies(pols);
	x->nd_bypass = false;
	for (i = 0; i < ER_XFRM_ND_BYPASS_COUNT; i++) {
		r = xfrm_policy_del(x, pols[i].dir, &pols[i].sel,
				    ret == 0 ? err : NULL);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* Life                                                                */

static int
xfrm_acquire_dump(void *ctx, er_kernel_event_cb *cb, void *cbctx,
		  struct er_err *err)
{
	return er_xfrm_larval_dump(ctx, cb, cbctx, err);
}

static int
xfrm_policy_add_bulk(void *ctx, const struct er_policy *pols, size_t n,
		     int *results, struct er_err *err)
{
	return er_xfrm_policy_install_bulk(ctx, pols, n, results, err);
}

static int
xfrm_policy_del_bulk(void *ctx, const struct er_policy *pols, size_t n,
		     int *results, struct er_err *err)
{
	return er_xfrm_policy_delete_bulk(ctx, pols, n, results, err);
}

static const struct er_kernel_ops xfrm_ops = {
	.name = "xfrm",
	.policy_add = xfrm_policy_add,
	.policy_replace = xfrm_policy_replace,
	.policy_del = xfrm_policy_del,
	.sa_add = xfrm_sa_add,
	.sa_update = xfrm_sa_update,
	.sa_del = xfrm_sa_del,
	.spi_alloc = xfrm_spi_alloc,
	.policy_dump = xfrm_policy_dump,
	.sa_dump = xfrm_sa_dump,
	.poll_event = xfrm_poll_event,
	.acquire_dump = xfrm_acquire_dump,
	.policy_add_bulk = xfrm_policy_add_bulk,
	.policy_count = xfrm_policy_count,
	.policy_del_bulk = xfrm_policy_del_bulk,
};

static struct mnl_socket *
sock_open(int flags, struct er_err *err)
{
	struct mnl_socket *s = mnl_socket_open2(NETLINK_XFRM,
						flags | SOCK_CLOEXEC);

	if (s == NULL) {
		er_err_set(err, -errno, "xfrm: cannot open a NETLINK_XFRM "
					"socket: %s", strerror(errno));
	} else if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		er_err_set(err, -errno, "xfrm: cannot bind a NETLINK_XFRM "
					"socket: %s", strerror(errno));
		mnl_socket_close(s);
		s = NULL;
	}
	return s;
}

/* SO_RCVBUFFORCE passes rmem_max (we have CAP_NET_ADMIN); else the
 * capped SO_RCVBUF. */
static void
sock_rcvbuf(struct mnl_socket *s, uint32_t bytes)
{
	int fd = mnl_socket_get_fd(s), v = (int)(bytes > INT32_MAX / 2
							 ? INT32_MAX / 2
							 : bytes);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

static int
events_open(struct er_xfrm *x, struct er_err *err)
{
	static const int groups[] = {XFRMNLGRP_ACQUIRE, XFRMNLGRP_EXPIRE,
				     XFRMNLGRP_SA, XFRMNLGRP_POLICY};
	size_t i;
	int ret = 0;

	x->ev = sock_open(SOCK_NONBLOCK, err);
	if (x->ev == NULL) {
		ret = err != NULL ? err->code : -EIO;
		goto out;
	}
	sock_rcvbuf(x->ev,
		    x->cfg.rcvbuf ? x->cfg.rcvbuf : ER_XFRM_RCVBUF_DEFAULT);
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (mnl_socket_setsockopt(x->ev, NETLINK_ADD_MEMBERSHIP,
					  (void *)(uintptr_t)&groups[i],
					  sizeof(groups[i])) < 0) {
			ret = er_err_set(err, -errno, "xfrm: cannot join "
						      "multicast group %d: %s",
					 groups[i], strerror(errno));
			goto out;
		}
	}
out:
	return ret;
}

struct er_xfrm *
er_xfrm_new(const struct er_xfrm_config *cfg, struct er_err *err)
{
	static const struct er_xfrm_config defaults;
	struct er_xfrm_thresholds t;
	struct er_xfrm *x;
	int one = 1, ret = -ENOMEM;

	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		er_err_set(err, ret, "xfrm: out of memory");
		goto out;
	}
	x->cfg = cfg != NULL ? *cfg : defaults;
	if (x->cfg.thresholds != NULL) {
		x->fixed = *x->cfg.thresholds;
		x->cfg.thresholds = &x->fixed;
	}
	er_xfrm_codec_init(&x->codec, x->cfg.reqid_base, x->cfg.reqid_count,
			   x->cfg.lifetime_slack);
	x->rx = malloc(RX_SIZE);
	x->evbuf = malloc(RX_SIZE);
	if (x->rx == NULL || x->evbuf == NULL) {
		er_err_set(err, ret, "xfrm: out of memory");
		goto out;
	}
	ret = -EIO;
	x->req = sock_open(0, err);
	x->dump = x->req != NULL ? sock_open(0, err) : NULL;
	if (x->dump == NULL)
		goto out;
	x->req_portid = mnl_socket_get_portid(x->req);
	mnl_socket_setsockopt(x->req, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(x->req, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(x->dump, NETLINK_EXT_ACK, &one, sizeof(one));
	sock_rcvbuf(x->req, REQ_RCVBUF);
	/* Every XFRM request needs CAP_NET_ADMIN, even a read: ask now. */
	ret = er_xfrm_thresholds_get(x, &t, err);
	if (ret == -EPERM)
		er_err_set(err, ret, "xfrm: %s: XFRM needs CAP_NET_ADMIN",
			   strerror(-ret));
	if (ret < 0)
		goto out;
	if (!x->cfg.no_events) {
		ret = events_open(x, err);
		if (ret < 0)
			goto out;
	}
	if (!x->cfg.no_nd_bypass && er_xfrm_nd_bypass_install(x, NULL) < 0)
		xlog(x, LOG_WARNING, "xfrm: the ICMPv6 neighbour-discovery "
				     "bypass is not installed: IPv6 traps "
				     "over on-link addresses will swallow it");
	ret = 0;
out:
	if (ret < 0) {
		er_xfrm_free(x);
		x = NULL;
	}
	return x;
}

void
er_xfrm_free(struct er_xfrm *x)
{
	if (x == NULL)
		return;
	if (x->ev != NULL)
		mnl_socket_close(x->ev);
	if (x->dump != NULL)
		mnl_socket_close(x->dump);
	if (x->req != NULL)
		mnl_socket_close(x->req);
	free(x->rx);
	free(x->evbuf);
	free(x);
}

struct er_kernel
er_xfrm_kernel(struct er_xfrm *x)
{
	struct er_kernel k = {&xfrm_ops, x};

	return k;
}

int
er_xfrm_event_fd(const struct er_xfrm *x)
{
	return x->ev != NULL ? mnl_socket_get_fd(x->ev) : -1;
}

void
er_xfrm_stats_get(const struct er_xfrm *x, struct er_xfrm_stats *st)
{
	*st = x->stats;
}
