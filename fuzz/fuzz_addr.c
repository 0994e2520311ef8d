// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the text forms of liberoute's values: addresses,
 * prefixes, protocols, port ranges, and the selectors made of them.  The
 * input is up to five lines -- source, destination, protocol, source
 * ports, destination ports -- as a configuration or a control request
 * would give them.  Every line goes to every parser; besides crashes,
 * overreads and undefined behaviour, the target checks that whatever a
 * parser accepts is well formed (families, lengths, host bits, lo <= hi),
 * and that parse -> format -> parse gives the same value and format is
 * stable, for each piece and for the selector built of them, whose text
 * form ("SRC -> DST [PROTO [SPORT -> DPORT]]") is read back here.
 *
 *   make fuzz FUZZ_TARGETS=addr, or by hand:
 *   build-fuzz/fuzz/fuzz_addr build-fuzz/work/addr/corpus
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eroute/addr.h"
#include "eroute/selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS 5

static void
check_addr(const char *s)
{
	char buf[ER_ADDR_STRLEN], again[ER_ADDR_STRLEN];
	static const uint8_t zero[12];
	struct er_addr a, b;
	struct er_err err;
	int n;

	if (er_addr_parse(&a, s, &err) < 0) {
		if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
			abort();
		return;
	}
	if (a.family != AF_INET && a.family != AF_INET6 &&
	    a.family != AF_UNSPEC)
		abort();
	if (a.family == AF_INET && memcmp(a.a + 4, zero, 12) != 0)
		abort();
	n = er_addr_format(&a, buf, sizeof(buf));
	if (n <= 0 || (size_t)n >= sizeof(buf))
		abort();
	if (er_addr_parse(&b, buf, NULL) != 0 || !er_addr_equal(&a, &b) ||
	    er_addr_cmp(&a, &b) != 0)
		abort();
	er_addr_format(&b, again, sizeof(again));
	if (strcmp(buf, again) != 0)
		abort();
}

/* Host bits past @p's length are zero. */
static void
check_normal(const struct er_prefix *p)
{
	struct er_prefix q;

	if (p->len > er_addr_bits(p->addr.family))
		abort();
	if (er_prefix_init(&q, &p->addr, p->len) != 0 ||
	    !er_prefix_equal(&q, p))
		abort();
}

static int
check_prefix(const char *s, struct er_prefix *out)
{
	char buf[ER_PREFIX_STRLEN], again[ER_PREFIX_STRLEN];
	struct er_prefix b;
	struct er_err err;
	int n, r;

	r = er_prefix_parse(out, s, &err);
	if (r < 0)
		goto out;
	if (r != 0 && r != ER_PREFIX_NORMALISED)
		abort();
	check_normal(out);
	n = er_prefix_format(out, buf, sizeof(buf));
	if (n <= 0 || (size_t)n >= sizeof(buf))
		abort();
	/* The text we write is already normal. */
	if (er_prefix_parse(&b, buf, NULL) != 0 || !er_prefix_equal(out, &b) ||
	    er_prefix_cmp(out, &b) != 0)
		abort();
	er_prefix_format(&b, again, sizeof(again));
	if (strcmp(buf, again) != 0)
		abort();
	if (out->addr.family != AF_UNSPEC &&
	    (!er_prefix_contains(out, out) || !er_prefix_overlaps(out, out) ||
	     !er_prefix_has(out, &out->addr)))
		abort();
out:
	return r;
}

static int
check_proto(const char *s, uint8_t *out)
{
	char buf[16], again[16];
	uint8_t b;
	int r = er_proto_parse(out, s, NULL);

	if (r < 0)
		goto out;
	er_proto_format(*out, buf, sizeof(buf));
	if (er_proto_parse(&b, buf, NULL) != 0 || b != *out)
		abort();
	er_proto_format(b, again, sizeof(again));
	if (strcmp(buf, again) != 0)
		abort();
out:
	return r;
}

static int
check_ports(const char *s, struct er_port_range *out)
{
	char buf[16], again[16];
	struct er_port_range b;
	int r = er_port_range_parse(out, s, NULL);

	if (r < 0)
		goto out;
	if (out->lo > out->hi)
		abort();
	er_port_range_format(out, buf, sizeof(buf));
	if (er_port_range_parse(&b, buf, NULL) != 0 || b.lo != out->lo ||
	    b.hi != out->hi)
		abort();
	er_port_range_format(&b, again, sizeof(again));
	if (strcmp(buf, again) != 0)
		abort();
out:
	return r;
}

/* Read er_selector_format()'s text back: "SRC -> DST [PROTO [SP -> DP]]". */
static int
selector_reparse(struct er_selector *out, char *text)
{
	char *w[8];
	size_t n = 0;
	struct er_prefix src, dst;
	struct er_port_range sp, dp;
	uint8_t proto = ER_PROTO_ANY;
	int ret = -1;

	for (char *t = strtok(text, " "); t != NULL && n < 8;
	     t = strtok(NULL, " "))
		w[n++] = t;
	if ((n != 3 && n != 4 && n != 7) || strcmp(w[1], "->") != 0)
		goto out;
	if (er_prefix_parse(&src, w[0], NULL) != 0 ||
	    er_prefix_parse(&dst, w[2], NULL) != 0)
		goto out;
	if (n >= 4 && er_proto_parse(&proto, w[3], NULL) != 0)
		goto out;
	if (n == 7 && (strcmp(w[5], "->") != 0 ||
		       er_port_range_parse(&sp, w[4], NULL) != 0 ||
		       er_port_range_parse(&dp, w[6], NULL) != 0))
		goto out;
	ret = er_selector_init(out, &src, &dst, proto, n == 7 ? &sp : NULL,
			       n == 7 ? &dp : NULL, NULL);
out:
	return ret;
}

static void
check_selector(const struct er_prefix *src, const struct er_prefix *dst,
	       uint8_t proto, const struct er_port_range *sp,
	       const struct er_port_range *dp)
{
	char buf[ER_SELECTOR_STRLEN], again[ER_SELECTOR_STRLEN];
	struct er_selector sel, back, host;
	struct er_packet pkt;
	struct er_err err;
	int n;

	if (er_selector_init(&sel, src, dst, proto, sp, dp, &err) < 0)
		return;
	if (sel.src.addr.family != sel.dst.addr.family ||
	    (sel.src.addr.family != AF_INET &&
	     sel.src.addr.family != AF_INET6) ||
	    sel.sport.lo > sel.sport.hi || sel.dport.lo > sel.dport.hi)
		abort();
	if (!er_proto_has_ports(sel.proto) &&
	    (!er_port_range_is_any(&sel.sport) ||
	     !er_port_range_is_any(&sel.dport)))
		abort();
	check_normal(&sel.src);
	check_normal(&sel.dst);
	if (er_selector_cmp(&sel, &sel) != 0 ||
	    !er_selector_contains(&sel, &sel) ||
	    !er_selector_overlaps(&sel, &sel) ||
	    er_selector_specificity(&sel) >= 1u << ER_SPECIFICITY_BITS)
		abort();
	n = er_selector_format(&sel, buf, sizeof(buf));
	if (n <= 0 || (size_t)n >= sizeof(buf))
		abort();
	memcpy(again, buf, sizeof(buf));
	if (selector_reparse(&back, again) != 0 ||
	    !er_selector_equal(&sel, &back))
		abort();
	er_selector_format(&back, again, sizeof(again));
	if (strcmp(buf, again) != 0)
		abort();
	/* The packet at the low corner matches, and its host selector is
	 * inside. */
	memset(&pkt, 0, sizeof(pkt));
	pkt.src = sel.src.addr;
	pkt.dst = sel.dst.addr;
	pkt.proto = sel.proto;
	if (er_proto_has_ports(sel.proto)) {
		pkt.sport = sel.sport.lo;
		pkt.dport = sel.dport.lo;
	}
	er_selector_host(&host, &pkt, true);
	if (!er_selector_matches(&sel, &pkt) ||
	    !er_selector_contains(&sel, &host) ||
	    !er_selector_overlaps(&sel, &host) || !er_selector_is_host(&host))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *field[FIELDS] = {NULL};
	struct er_prefix src, dst;
	struct er_port_range sp, dp;
	uint8_t proto = ER_PROTO_ANY;
	const uint8_t *s = data, *end = data + size;
	size_t n = 0;
	int rs = -1, rd = -1, rp = 0, rsp = 0, rdp = 0;

	while (n < FIELDS && s <= end) {
		const uint8_t *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = (size_t)((nl != NULL ? nl : end) - s);

		/* Exactly the line on the heap: ASan sees overreads. */
		field[n] = malloc(len + 1);
		if (field[n] == NULL)
			goto out;
		memcpy(field[n], s, len);
		field[n][len] = '\0';
		n++;
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct er_prefix p;
		struct er_port_range r;
		uint8_t pr;

		check_addr(field[i]);
		check_prefix(field[i], &p);
		check_proto(field[i], &pr);
		check_ports(field[i], &r);
	}
	if (n > 0)
		rs = check_prefix(field[0], &src);
	if (n > 1)
		rd = check_prefix(field[1], &dst);
	if (n > 2)
		rp = check_proto(field[2], &proto);
	if (n > 3)
		rsp = check_ports(field[3], &sp);
	if (n > 4)
		rdp = check_ports(field[4], &dp);
	if (rs >= 0 && rd >= 0 && rp >= 0 && rsp >= 0 && rdp >= 0)
		check_selector(&src, &dst, proto, n > 3 ? &sp : NULL,
			       n > 4 ? &dp : NULL);
out:
	for (size_t i = 0; i < n; i++)
		free(field[i]);
	return 0;
}
