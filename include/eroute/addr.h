/* SPDX-License-Identifier: MIT */
/*
 * IPv4 and IPv6 addresses and prefixes: parsing, formatting and prefix maths.
 *
 * An address is a family (AF_INET, AF_INET6, or AF_UNSPEC for %any) and 16
 * bytes in network order; IPv4 uses the first 4.  A prefix is an address and
 * a length; a parsed prefix is always normalised (host bits cleared), and the
 * parser says so when it had to clear bits.  %any parses to the unspecified
 * family; a selector later resolves it to 0.0.0.0/0 or ::/0 from its other
 * side.
 */
#ifndef EROUTE_ADDR_H
#define EROUTE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "eroute/err.h"

#pragma GCC visibility push(default)

/* Longest text forms, with the terminating NUL. */
#define ER_ADDR_STRLEN 46
#define ER_PREFIX_STRLEN 50

/* Returned (positive) by er_prefix_parse() when host bits were cleared. */
#define ER_PREFIX_NORMALISED 1

struct er_addr {
	uint8_t family;		/* AF_INET, AF_INET6 or AF_UNSPEC (%any) */
	uint8_t a[16];		/* network order; IPv4 in a[0..3], rest zero */
};

struct er_prefix {
	struct er_addr addr;	/* host bits always zero */
	uint8_t len;		/* 0..32 or 0..128 */
};

/**
 * er_addr_bits - address width of a family: 32, 128, or 0 for AF_UNSPEC
 */
unsigned er_addr_bits(int family);

/**
 * er_addr_parse - parse an IPv4 or IPv6 address, or %any
 * @out: the address
 * @s: text
 * @err: optional error text
 *
 * Return: 0, or -EINVAL with the text quoted in @err.
 */
int er_addr_parse(struct er_addr *out, const char *s, struct er_err *err);

/**
 * er_addr_format - write the usual text form ("%any" for AF_UNSPEC)
 *
 * Return: the length written (excluding the NUL), as snprintf.
 */
int er_addr_format(const struct er_addr *a, char *buf, size_t len);

/**
 * er_addr_from_v4 - an IPv4 address from a host-order 32-bit value
 */
void er_addr_from_v4(struct er_addr *out, uint32_t host_order);

/**
 * er_addr_v4 - the host-order 32-bit value of an IPv4 address
 */
uint32_t er_addr_v4(const struct er_addr *a);

bool er_addr_equal(const struct er_addr *a, const struct er_addr *b);

/**
 * er_addr_cmp - total order: family first, then bytes
 */
int er_addr_cmp(const struct er_addr *a, const struct er_addr *b);

/**
 * er_addr_is_any - true for AF_UNSPEC and for the all-zero address
 */
bool er_addr_is_any(const struct er_addr *a);

/**
 * er_prefix_parse - parse "ADDR/LEN", a bare address (a host prefix),
 *	"%any", "%any4" (0.0.0.0/0) or "%any6" (::/0)
 * @out: the normalised prefix
 * @s: text
 * @err: optional error text; on ER_PREFIX_NORMALISED it holds the notice
 *
 * Return: 0; ER_PREFIX_NORMALISED if host bits were set and have been
 * cleared; -EINVAL for bad text, a bad address or a length out of range.
 */
int er_prefix_parse(struct er_prefix *out, const char *s, struct er_err *err);

/**
 * er_prefix_format - "ADDR/LEN", or "%any" for the unspecified family
 */
int er_prefix_format(const struct er_prefix *p, char *buf, size_t len);

/**
 * er_prefix_init - build a prefix from an address and a length
 *
 * Clears host bits.  Return: 0, ER_PREFIX_NORMALISED, or -EINVAL when @len
 * is longer than the family allows.
 */
int er_prefix_init(struct er_prefix *out, const struct er_addr *a,
		   unsigned len);

/**
 * er_prefix_host - the host prefix (/32 or /128) of an address
 */
void er_prefix_host(struct er_prefix *out, const struct er_addr *a);

/**
 * er_prefix_any - 0.0.0.0/0, ::/0, or %any for AF_UNSPEC
 */
void er_prefix_any(struct er_prefix *out, int family);

bool er_prefix_equal(const struct er_prefix *a, const struct er_prefix *b);

/**
 * er_prefix_cmp - total order: family, longer prefix first, address
 */
int er_prefix_cmp(const struct er_prefix *a, const struct er_prefix *b);

/**
 * er_prefix_is_host - true for a /32 or /128
 */
bool er_prefix_is_host(const struct er_prefix *p);

/**
 * er_prefix_has - true when @a is inside @p (same family)
 */
bool er_prefix_has(const struct er_prefix *p, const struct er_addr *a);

/**
 * er_prefix_contains - true when every address of @inner is in @outer
 */
bool er_prefix_contains(const struct er_prefix *outer,
			const struct er_prefix *inner);

/**
 * er_prefix_overlaps - true when the prefixes share an address
 */
bool er_prefix_overlaps(const struct er_prefix *a, const struct er_prefix *b);

#pragma GCC visibility pop

#endif
