// SPDX-License-Identifier: MIT
/*
 * The vector twins of two steps: the batch path's hash step (the IPv4
 * hashes of a chunk, 8 packets per instruction with AVX2, 16 with AVX-512,
 * the same arithmetic as cls_hash4() lane by lane so that both paths find
 * the same buckets), and the walk of a group's block, single and batch
 * lookups alike (AVX-512).  Everything else (probing slots, walking lists)
 * is shared with the portable path.  The functions are compiled for their ISA with
 * target attributes and chosen at run time from what the CPU reports, so
 * the library needs no -march flag and runs anywhere.
 */
#include "classify_impl.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define CLS_HAVE_X86 1

__attribute__((target("avx2"))) static void
hash_chunk4_avx2(const struct cls_table *t, struct cls_chunk *ch, uint32_t n)
{
	const __m256i sm = _mm256_set1_epi32((int)t->smask[0]);
	const __m256i dm = _mm256_set1_epi32((int)t->dmask[0]);
	const __m256i xm = _mm256_set1_epi32((int)t->xmask);
	const __m256i pm = _mm256_set1_epi32((int)t->pmask);
	const __m256i ks = _mm256_set1_epi32((int)CLS_K_SRC);
	const __m256i kd = _mm256_set1_epi32((int)CLS_K_DST);
	const __m256i kx = _mm256_set1_epi32((int)CLS_K_PORTS);
	const __m256i kp = _mm256_set1_epi32((int)CLS_K_PROTO);
	const __m256i f1 = _mm256_set1_epi32((int)0x85ebca6bu);
	const __m256i f2 = _mm256_set1_epi32((int)0xc2b2ae35u);

	for (uint32_t k = 0; k < n; k += 8) {
		__m256i s = _mm256_loadu_si256((const __m256i *)&ch->src4[k]);
		__m256i d = _mm256_loadu_si256((const __m256i *)&ch->dst4[k]);
		__m256i x = _mm256_loadu_si256((const __m256i *)&ch->ports[k]);
		__m256i p = _mm256_loadu_si256((const __m256i *)&ch->proto[k]);
		__m256i h;

		s = _mm256_mullo_epi32(_mm256_and_si256(s, sm), ks);
		d = _mm256_mullo_epi32(_mm256_and_si256(d, dm), kd);
		x = _mm256_mullo_epi32(_mm256_and_si256(x, xm), kx);
		p = _mm256_mullo_epi32(_mm256_and_si256(p, pm), kp);
		h = _mm256_xor_si256(_mm256_xor_si256(s, d),
		                     _mm256_xor_si256(x, p));
		h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
		h = _mm256_mullo_epi32(h, f1);
		h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 13));
		h = _mm256_mullo_epi32(h, f2);
		h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
		_mm256_storeu_si256((__m256i *)&ch->h[k], h);
	}
}

__attribute__((target("avx512f"))) static void
hash_chunk4_avx512(const struct cls_table *t, struct cls_chunk *ch, uint32_t n)
{
	const __m512i sm = _mm512_set1_epi32((int)t->smask[0]);
	const __m512i dm = _mm512_set1_epi32((int)t->dmask[0]);
	const __m512i xm = _mm512_set1_epi32((int)t->xmask);
	const __m512i pm = _mm512_set1_epi32((int)t->pmask);
	const __m512i ks = _mm512_set1_epi32((int)CLS_K_SRC);
	const __m512i kd = _mm512_set1_epi32((int)CLS_K_DST);
	const __m512i kx = _mm512_set1_epi32((int)CLS_K_PORTS);
	const __m512i kp = _mm512_set1_epi32((int)CLS_K_PROTO);
	const __m512i f1 = _mm512_set1_epi32((int)0x85ebca6bu);
	const __m512i f2 = _mm512_set1_epi32((int)0xc2b2ae35u);

	for (uint32_t k = 0; k < n; k += 16) {
		__m512i s = _mm512_loadu_si512(&ch->src4[k]);
		__m512i d = _mm512_loadu_si512(&ch->dst4[k]);
		__m512i x = _mm512_loadu_si512(&ch->ports[k]);
		__m512i p = _mm512_loadu_si512(&ch->proto[k]);
		__m512i h;

		s = _mm512_mullo_epi32(_mm512_and_si512(s, sm), ks);
		d = _mm512_mullo_epi32(_mm512_and_si512(d, dm), kd);
		x = _mm512_mullo_epi32(_mm512_and_si512(x, xm), kx);
		p = _mm512_mullo_epi32(_mm512_and_si512(p, pm), kp);
		h = _mm512_xor_si512(_mm512_xor_si512(s, d),
		                     _mm512_xor_si512(x, p));
		h = _mm512_xor_si512(h, _mm512_srli_epi32(h, 16));
		h = _mm512_mullo_epi32(h, f1);
		h = _mm512_xor_si512(h, _mm512_srli_epi32(h, 13));
		h = _mm512_mullo_epi32(h, f2);
		h = _mm512_xor_si512(h, _mm512_srli_epi32(h, 16));
		_mm512_storeu_si512(&ch->h[k], h);
	}
}

/*
 * A block's entries tested all at once: each field of up to 16 entries
 * gathered into one vector (the entries are 28 bytes apart), every test of
 * cls_ent_matches() done lane by lane, and the lanes that pass with a
 * priority not worse than *bp taken in group order, the first one that
 * the rule confirms (IPv6 entries test one word of each prefix) being the
 * group's best.  Lanes past the block's entries are masked off, so no
 * byte past them is read.  Same answers as cls_walk_blk_portable().
 *
 * Six gathers cost more than a few scalar tests: the first entry is tried
 * alone (often its priority is already beaten, or it matches), and blocks
 * of fewer than 8 entries are walked by the portable loop.  Measured in one
 * process, this way round the vector walk gains 7-15 % on the ClassBench
 * random traces at 100k and is even on the generated sets, where gathering
 * every block cost 5-10 %.
 */
__attribute__((target("avx512f"))) static void
walk_blk_avx512(const struct er_cls *c, const struct cls_blk *b, uint32_t from,
                const struct cls_pkt *p, const struct er_cls_rule **best,
                uint64_t *bp)
{
	const struct cls_ent *e0 = &b->e[0];
	const __mmask16 live = (__mmask16)((1u << b->n) - 2);
	const __m512i off = _mm512_mullo_epi32(
	        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
	                          14, 15),
	        _mm512_set1_epi32((int)sizeof(struct cls_ent)));
	const __m512i zero = _mm512_setzero_si512();
	const __m512i ones = _mm512_set1_epi32(-1);
	const __m512i b8 = _mm512_set1_epi32(0xff);
	const __m512i b16 = _mm512_set1_epi32(0xffff);
	const char *base = (const char *)b->e;
	__m512i prio, src, dst, sp, dp, misc, w, ps, pd, t;
	__mmask16 ok, miss;
	uint32_t sport = p->ports >> 16, dport = p->ports & 0xffff;

	if (b->n < 8) {
		cls_walk_blk_portable(c, b, from, p, best, bp);
		return;
	}
	if (from == 0) {
		if (e0->prio > *bp || cls_ent_try(c, e0, p, best, bp))
			return;
	}
	prio = _mm512_mask_i32gather_epi32(zero, live, off, base, 1);
	ok = live;
	if (*bp <= UINT32_MAX)
		ok = _mm512_mask_cmple_epu32_mask(live, prio,
		                                  _mm512_set1_epi32((int)*bp));
	if (ok == 0)
		return;
	src = _mm512_mask_i32gather_epi32(zero, ok, off, base + 8, 1);
	dst = _mm512_mask_i32gather_epi32(zero, ok, off, base + 12, 1);
	sp = _mm512_mask_i32gather_epi32(zero, ok, off, base + 16, 1);
	dp = _mm512_mask_i32gather_epi32(zero, ok, off, base + 20, 1);
	misc = _mm512_mask_i32gather_epi32(zero, ok, off, base + 24, 1);

	/* Addresses: the packet's word each entry tests, against the entry's
	 * word under its prefix bits (a shift by 32 gives 0: no bits). */
	w = _mm512_srli_epi32(misc, 24); /* flags */
	ps = _mm512_permutexvar_epi32(
	        _mm512_and_si512(w, _mm512_set1_epi32(3)),
	        _mm512_broadcast_i32x4(_mm_loadu_si128((const void *)p->src)));
	pd = _mm512_permutexvar_epi32(
	        _mm512_and_si512(_mm512_srli_epi32(w, 2), _mm512_set1_epi32(3)),
	        _mm512_broadcast_i32x4(_mm_loadu_si128((const void *)p->dst)));
	t = _mm512_sllv_epi32(ones,
	                      _mm512_sub_epi32(_mm512_set1_epi32(32),
	                                       _mm512_and_si512(misc, b8)));
	miss = _mm512_test_epi32_mask(_mm512_xor_si512(ps, src), t);
	t = _mm512_sllv_epi32(
	        ones, _mm512_sub_epi32(
	                      _mm512_set1_epi32(32),
	                      _mm512_and_si512(_mm512_srli_epi32(misc, 8), b8)));
	miss |= _mm512_test_epi32_mask(_mm512_xor_si512(pd, dst), t);
	/* Protocol: any (0) or the packet's. */
	t = _mm512_and_si512(_mm512_srli_epi32(misc, 16), b8);
	miss |= _mm512_cmpneq_epi32_mask(t, zero) &
	        _mm512_cmpneq_epi32_mask(t, _mm512_set1_epi32(p->proto));
	/* Ports: port - lo > hi - lo, unsigned, is outside [lo, hi]. */
	t = _mm512_and_si512(sp, b16);
	miss |= _mm512_cmpgt_epu32_mask(
	        _mm512_sub_epi32(_mm512_set1_epi32((int)sport), t),
	        _mm512_sub_epi32(_mm512_srli_epi32(sp, 16), t));
	t = _mm512_and_si512(dp, b16);
	miss |= _mm512_cmpgt_epu32_mask(
	        _mm512_sub_epi32(_mm512_set1_epi32((int)dport), t),
	        _mm512_sub_epi32(_mm512_srli_epi32(dp, 16), t));

	for (uint32_t m = ok & ~miss; m != 0; m &= m - 1) {
		const struct cls_ent *e = &b->e[__builtin_ctz(m)];
		const struct er_cls_rule *r = cls_rule(c, e->idx);

		if ((e->flags & CLS_ENT_PARTIAL) && !cls_rule_matches(r, p))
			continue;
		cls_take(r, e->prio, best, bp);
		return;
	}
	/* No entry matched and none was worse than *bp: the members past a
	 * full block may still. */
	if (b->n == CLS_BLK_MAX && ok == live)
		cls_walk_list(c, cls_rule(c, b->e[CLS_BLK_MAX - 1].idx)->next,
		              p, best, bp);
}
#endif

cls_walk_blk_fn *
cls_simd_walk_blk(void)
{
#ifdef CLS_HAVE_X86
	if (__builtin_cpu_supports("avx512f"))
		return walk_blk_avx512;
#endif
	return NULL;
}

static cls_hash_chunk4_fn *
simd_hash(void)
{
#ifdef CLS_HAVE_X86
	if (__builtin_cpu_supports("avx512f"))
		return hash_chunk4_avx512;
	if (__builtin_cpu_supports("avx2"))
		return hash_chunk4_avx2;
#endif
	return NULL;
}

bool
cls_simd_supported(void)
{
	return simd_hash() != NULL;
}

void
cls_lookup_batch_simd(const struct er_cls *c, const struct er_packet *pkts,
                      size_t n, void **out)
{
	cls_hash_chunk4_fn *fn = simd_hash();

	cls_lookup_batch_with(c, pkts, n, out,
	                      fn != NULL ? fn : cls_hash_chunk4_portable);
}
