// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the XFRM codec's decoders: the input is one
 * netlink message as the kernel (or anyone on a multicast group) could
 * send it, given to every decoder.  Besides crashes, out-of-bounds reads
 * and undefined behaviour, it checks what a decoder promises about what it
 * accepts: a direction, an action and a template count eroute has, prefix
 * lengths inside the family, NUL-terminated names, keys that fit; and that
 * an accepted policy or SA encodes again and decodes to the same.
 *
 *   make fuzz FUZZ_TARGETS=xfrm_codec, or by hand:
 *   build-fuzz/fuzz/fuzz_xfrm_codec -max_len=4096 DIR
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/xfrm.h>

#include "xfrm_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_policy(const struct er_xfrm_codec *c, const struct er_policy *p)
{
	uint8_t buf[ER_XFRM_MSG_MAX];
	struct er_policy q;
	int len;

	if ((unsigned)p->dir >= ER_DIR_COUNT ||
	    (unsigned)p->action >= ER_ACTION_COUNT || p->ntmpl > ER_TMPL_MAX ||
	    p->sel.src.len > er_addr_bits(p->sel.src.addr.family) ||
	    p->sel.dst.len > er_addr_bits(p->sel.dst.addr.family))
		abort();
	/* What eroute read it can write, unless XFRM's own port masks
	 * with holes were widened into a range no mask can say. */
	len = er_xfrm_policy_encode(c, buf, sizeof(buf), XFRM_MSG_NEWPOLICY,
				    1, p, NULL);
	if (len < 0)
		return;
	if (er_xfrm_policy_decode(c, buf, (size_t)len, &q) != 0 ||
	    q.dir != p->dir || !er_selector_equal(&q.sel, &p->sel) ||
	    q.priority != p->priority || q.action != p->action ||
	    q.owner != p->owner)
		abort();
}

/* What eroute read of an SA it can write back and read again the same,
 * unless it is something eroute itself never writes. */
static void
check_sa(const struct er_xfrm_codec *c, const struct er_sa *sa)
{
	uint8_t buf[ER_XFRM_MSG_MAX];
	struct er_sa q;
	int len;

	if (sa->keys.enc_key_len > ER_SA_KEY_MAX ||
	    sa->keys.integ_key_len > ER_SA_KEY_MAX ||
	    memchr(sa->keys.enc_alg, 0, sizeof(sa->keys.enc_alg)) == NULL ||
	    memchr(sa->keys.integ_alg, 0, sizeof(sa->keys.integ_alg)) == NULL)
		abort();
	len = er_xfrm_sa_encode(c, buf, sizeof(buf), XFRM_MSG_NEWSA, 1, sa,
				NULL);
	if (len < 0)
		return;
	if (er_xfrm_sa_decode(c, buf, (size_t)len, &q) != 0 ||
	    !er_addr_equal(&q.id.dst, &sa->id.dst) ||
	    q.id.proto != sa->id.proto || q.id.spi != sa->id.spi ||
	    !er_addr_equal(&q.src, &sa->src) || q.mode != sa->mode ||
	    q.reqid != sa->reqid ||
	    q.keys.enc_key_len != sa->keys.enc_key_len ||
	    q.keys.integ_key_len != sa->keys.integ_key_len ||
	    memcmp(q.keys.enc_key, sa->keys.enc_key,
		   sa->keys.enc_key_len) != 0 ||
	    memcmp(q.keys.integ_key, sa->keys.integ_key,
		   sa->keys.integ_key_len) != 0)
		abort();
	explicit_bzero(&q, sizeof(q));
	explicit_bzero(buf, sizeof(buf));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct er_xfrm_codec c;
	struct er_xfrm_thresholds t;
	struct er_kernel_event ev;
	struct er_policy p;
	struct er_sa sa;
	uint8_t *copy;
	char msg[128];
	int error;

	/* exactly @size bytes on the heap: ASan sees any read past them */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	er_xfrm_codec_init(&c, 0, 0, 0);
	if (er_xfrm_policy_decode(&c, copy, size, &p) == 0)
		check_policy(&c, &p);
	if (er_xfrm_sa_decode(&c, copy, size, &sa) == 0)
		check_sa(&c, &sa);
	if (er_xfrm_event_decode(&c, copy, size, &ev) == 1 &&
	    (unsigned)ev.type > ER_KEV_LOST)
		abort();
	if (er_xfrm_ack_decode(copy, size, &error, msg, sizeof(msg)) == 0 &&
	    (error > 0 || memchr(msg, 0, sizeof(msg)) == NULL))
		abort();
	(void)er_xfrm_spdinfo_decode(copy, size, &t, NULL);
	free(copy);
	return 0;
}
