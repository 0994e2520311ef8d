// SPDX-License-Identifier: MIT
/*
 * SPI allocation.  Pick a random start in the range, then take the first
 * SPI at or after it that the SAD does not hold for (destination, protocol),
 * wrapping once to the bottom of the range.  The SAD's order makes the walk
 * visit only the used SPIs in between, so a crowded range costs time
 * proportional to the crowd and a full one ends in -ENOSPC.
 */
#include <errno.h>

#include "eroute/spi.h"

/* First SPI in [lo, hi] that (dst, proto) does not use. */
static bool
find_gap(const struct er_sad *sad, const struct er_addr *dst, uint8_t proto,
	 uint32_t lo, uint32_t hi, uint32_t *out)
{
	const struct er_sa *sa = er_sad_ceil(sad, dst, proto, lo);
	uint64_t cand = lo;

	while (cand <= hi) {
		if (sa == NULL || sa->id.proto != proto ||
		    !er_addr_equal(&sa->id.dst, dst) || sa->id.spi > cand) {
			*out = (uint32_t)cand;
			return true;
		}
		cand++;
		sa = er_sad_next(sad, sa);
	}
	return false;
}

int
er_spi_alloc(struct er_sad *sad, struct er_rng *rng,
	     const struct er_spi_req *req, uint32_t *spi, struct er_err *err)
{
	uint32_t min = req->min, max = req->max, start, chosen;
	struct er_sa sa = {0};
	char dst[ER_ADDR_STRLEN];
	int ret;

	if (min == 0 && max == 0) {
		min = ER_SPI_MIN;
		max = ER_SPI_MAX;
	}
	er_addr_format(&req->dst, dst, sizeof(dst));
	if (min > max)
		return er_err_set(err, -EINVAL,
				  "SPI range 0x%x-0x%x is backwards", min, max);
	if (max < ER_SPI_MIN)
		return er_err_set(err, -ENOSPC,
				  "SPI range 0x%x-0x%x lies below 0x100", min,
				  max);
	if (min < ER_SPI_MIN)
		min = ER_SPI_MIN;
	start = (uint32_t)er_rng_range(rng, min, max);
	if (!find_gap(sad, &req->dst, req->proto, start, max, &chosen) &&
	    (start == min ||
	     !find_gap(sad, &req->dst, req->proto, min, start - 1, &chosen)))
		return er_err_set(err, -ENOSPC,
				  "no free SPI in 0x%x-0x%x for %s", min, max,
				  dst);

	sa.id.dst = req->dst;
	sa.id.proto = req->proto;
	sa.id.spi = chosen;
	sa.src = req->src;
	sa.mode = req->mode;
	sa.reqid = req->reqid;
	sa.owner = req->owner;
	sa.state = ER_SA_LARVAL;
	sa.created = req->now;
	sa.larval_expires =
		req->larval_timeout != 0 ? req->now + req->larval_timeout : 0;
	ret = er_sad_add(sad, &sa, NULL);
	if (ret < 0)
		return er_err_set(err, ret, "cannot reserve SPI 0x%08x for %s",
				  chosen, dst);
	*spi = chosen;
	return 0;
}
