// SPDX-License-Identifier: MIT
/*
 * The vector twin of the batch path's hash step: the IPv4 hashes of a
 * chunk, 8 packets per instruction with AVX2 (16 with AVX-512), the same
 * arithmetic as cls_hash4() lane by lane so that both paths find the same
 * buckets.  Everything after hashing (probing, walking groups) is shared
 * with the portable path.  The functions are compiled for their ISA with
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
#endif

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
