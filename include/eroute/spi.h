/* SPDX-License-Identifier: MIT */
/*
 * SPI allocation (reference 002).
 *
 * Two concurrent negotiations for the same (destination, protocol, reqid)
 * once got the same SPI from the kernel.  Here an SPI is chosen at random in
 * [min, max] among those that no SA in the SAD -- live or larval -- has for
 * the same (destination, protocol), and it is reserved at once by adding a
 * larval SA, so the next allocation cannot return it.  A range with no free
 * SPI left gives -ENOSPC after a bounded walk, never an endless loop.
 */
#ifndef EROUTE_SPI_H
#define EROUTE_SPI_H

#include <stdint.h>

#include "eroute/err.h"
#include "eroute/rng.h"
#include "eroute/sad.h"

#pragma GCC visibility push(default)

/* SPIs 1-255 are reserved by RFC 4303; 0 means "no SPI". */
#define ER_SPI_MIN 0x100u
#define ER_SPI_MAX 0xffffffffu

struct er_spi_req {
	struct er_addr src, dst;
	uint8_t proto;
	enum er_mode mode;
	uint32_t reqid;
	uint32_t owner;
	uint32_t min, max;	/* 0, 0 for the default range */
	uint64_t now;
	uint64_t larval_timeout; /* seconds the reservation lives unkeyed */
};

/**
 * er_spi_alloc - choose a free SPI and reserve it with a larval SA
 * @sad: where to look and where the larval SA goes
 * @rng: caller's randomness
 * @req: destination, protocol, range and the larval SA's details
 * @spi: the SPI chosen
 * @err: optional error text
 *
 * A range reaching below 256 is clamped to start at 256.  Return: 0;
 * -ENOSPC when no SPI in the range is free (a range lying wholly below 256
 * has none); -EINVAL for a backwards range; -ENOMEM.
 */
int er_spi_alloc(struct er_sad *sad, struct er_rng *rng,
		 const struct er_spi_req *req, uint32_t *spi,
		 struct er_err *err);

#pragma GCC visibility pop

#endif
