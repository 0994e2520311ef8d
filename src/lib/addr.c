// SPDX-License-Identifier: MIT
/*
 * Addresses and prefixes.  Parsing goes through inet_pton() so the accepted
 * notations are exactly libc's; everything around it (lengths, %any, host
 * bits) is checked here and reported with the input quoted.  Prefix maths is
 * byte-wise over the 16-byte form so one code path serves both families.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eroute/addr.h"

/* Longest text we look at; anything longer cannot be an address. */
#define TEXT_MAX 64

unsigned
er_addr_bits(int family)
{
	switch (family) {
	case AF_INET:
		return 32;
	case AF_INET6:
		return 128;
	default:
		return 0;
	}
}

static void
addr_any(struct er_addr *out, int family)
{
	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)family;
}

int
er_addr_parse(struct er_addr *out, const char *s, struct er_err *err)
{
	struct er_addr a;

	if (s == NULL || *s == '\0')
		return er_err_set(err, -EINVAL, "empty address");
	if (strnlen(s, TEXT_MAX + 1) > TEXT_MAX)
		return er_err_set(err, -EINVAL, "address too long");
	if (strcmp(s, "%any") == 0) {
		addr_any(out, AF_UNSPEC);
		return 0;
	}
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.a) == 1) {
		a.family = AF_INET;
	} else if (inet_pton(AF_INET6, s, a.a) == 1) {
		a.family = AF_INET6;
	} else {
		return er_err_set(err, -EINVAL,
				  "\"%s\": not an IPv4 or IPv6 address", s);
	}
	*out = a;
	return 0;
}

int
er_addr_format(const struct er_addr *a, char *buf, size_t len)
{
	char tmp[ER_ADDR_STRLEN];

	if (a->family != AF_INET && a->family != AF_INET6)
		return snprintf(buf, len, "%%any");
	if (inet_ntop(a->family, a->a, tmp, sizeof(tmp)) == NULL)
		return snprintf(buf, len, "?");
	return snprintf(buf, len, "%s", tmp);
}

void
er_addr_from_v4(struct er_addr *out, uint32_t host_order)
{
	addr_any(out, AF_INET);
	out->a[0] = (uint8_t)(host_order >> 24);
	out->a[1] = (uint8_t)(host_order >> 16);
	out->a[2] = (uint8_t)(host_order >> 8);
	out->a[3] = (uint8_t)host_order;
}

uint32_t
er_addr_v4(const struct er_addr *a)
{
	return (uint32_t)a->a[0] << 24 | (uint32_t)a->a[1] << 16 |
	       (uint32_t)a->a[2] << 8 | a->a[3];
}

bool
er_addr_equal(const struct er_addr *a, const struct er_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, 16) == 0;
}

int
er_addr_cmp(const struct er_addr *a, const struct er_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->a, b->a, 16);
}

bool
er_addr_is_any(const struct er_addr *a)
{
	static const uint8_t zero[16];

	return a->family == AF_UNSPEC || memcmp(a->a, zero, 16) == 0;
}

/* Clear every bit past @len; return true if any was set. */
static bool
clear_host_bits(uint8_t *a, unsigned len)
{
	bool changed = false;

	for (unsigned i = 0; i < 16; i++) {
		unsigned lo = i * 8;
		uint8_t mask;

		if (len >= lo + 8)
			continue;
		mask = len > lo ? (uint8_t)(0xff << (8 - (len - lo))) : 0;
		if (a[i] & ~mask)
			changed = true;
		a[i] &= mask;
	}
	return changed;
}

int
er_prefix_init(struct er_prefix *out, const struct er_addr *a, unsigned len)
{
	struct er_prefix p;

	if (len > er_addr_bits(a->family))
		return -EINVAL;
	p.addr = *a;
	p.len = (uint8_t)len;
	*out = p;
	return clear_host_bits(out->addr.a, len) ? ER_PREFIX_NORMALISED : 0;
}

void
er_prefix_host(struct er_prefix *out, const struct er_addr *a)
{
	out->addr = *a;
	out->len = (uint8_t)er_addr_bits(a->family);
}

void
er_prefix_any(struct er_prefix *out, int family)
{
	addr_any(&out->addr, family);
	out->len = 0;
}

int
er_prefix_parse(struct er_prefix *out, const char *s, struct er_err *err)
{
	char text[TEXT_MAX + 1];
	char buf[ER_PREFIX_STRLEN];
	struct er_addr a;
	char *slash, *end;
	unsigned long len;
	int ret;

	if (s == NULL || *s == '\0')
		return er_err_set(err, -EINVAL, "empty prefix");
	if (strnlen(s, TEXT_MAX + 1) > TEXT_MAX)
		return er_err_set(err, -EINVAL, "prefix too long");
	if (strcmp(s, "%any") == 0 || strcmp(s, "%any4") == 0 ||
	    strcmp(s, "%any6") == 0) {
		er_prefix_any(out, s[4] == '4' ? AF_INET :
				   s[4] == '6' ? AF_INET6 : AF_UNSPEC);
		return 0;
	}
	strcpy(text, s);
	slash = strchr(text, '/');
	if (slash != NULL)
		*slash = '\0';
	if (er_addr_parse(&a, text, NULL) < 0 || a.family == AF_UNSPEC)
		return er_err_set(err, -EINVAL,
				  "\"%s\": not an IPv4 or IPv6 prefix", s);
	if (slash == NULL) {
		er_prefix_host(out, &a);
		return 0;
	}
	if (slash[1] < '0' || slash[1] > '9')
		return er_err_set(err, -EINVAL,
				  "\"%s\": prefix length is not a number", s);
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (*end != '\0')
		return er_err_set(err, -EINVAL,
				  "\"%s\": prefix length is not a number", s);
	if (errno != 0 || len > er_addr_bits(a.family))
		return er_err_set(err, -EINVAL,
				  "\"%s\": prefix length out of range", s);
	ret = er_prefix_init(out, &a, (unsigned)len);
	if (ret == ER_PREFIX_NORMALISED) {
		er_prefix_format(out, buf, sizeof(buf));
		er_err_set(err, 0, "\"%s\": host bits set, normalised to %s",
			   s, buf);
	}
	return ret;
}

int
er_prefix_format(const struct er_prefix *p, char *buf, size_t len)
{
	char a[ER_ADDR_STRLEN];

	if (p->addr.family != AF_INET && p->addr.family != AF_INET6)
		return snprintf(buf, len, "%%any");
	er_addr_format(&p->addr, a, sizeof(a));
	return snprintf(buf, len, "%s/%u", a, p->len);
}

bool
er_prefix_equal(const struct er_prefix *a, const struct er_prefix *b)
{
	return a->len == b->len && er_addr_equal(&a->addr, &b->addr);
}

int
er_prefix_cmp(const struct er_prefix *a, const struct er_prefix *b)
{
	if (a->addr.family != b->addr.family)
		return a->addr.family < b->addr.family ? -1 : 1;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	/* memcmp()'s order, eight bytes at a time: every tree keyed by a
	 * selector comes here, so this is the engine's hottest compare. */
	for (unsigned i = 0; i < 16; i += 8) {
		uint64_t x, y;

		memcpy(&x, a->addr.a + i, 8);
		memcpy(&y, b->addr.a + i, 8);
		if (x != y)
			return be64toh(x) < be64toh(y) ? -1 : 1;
	}
	return 0;
}

bool
er_prefix_is_host(const struct er_prefix *p)
{
	unsigned bits = er_addr_bits(p->addr.family);

	return bits != 0 && p->len == bits;
}

/* Do the first @len bits of @a and @b agree? */
static bool
bits_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool
er_prefix_has(const struct er_prefix *p, const struct er_addr *a)
{
	return p->addr.family == a->family &&
	       bits_equal(p->addr.a, a->a, p->len);
}

bool
er_prefix_contains(const struct er_prefix *outer, const struct er_prefix *inner)
{
	return outer->addr.family == inner->addr.family &&
	       outer->len <= inner->len &&
	       bits_equal(outer->addr.a, inner->addr.a, outer->len);
}

bool
er_prefix_overlaps(const struct er_prefix *a, const struct er_prefix *b)
{
	unsigned len = a->len < b->len ? a->len : b->len;

	return a->addr.family == b->addr.family &&
	       bits_equal(a->addr.a, b->addr.a, len);
}
