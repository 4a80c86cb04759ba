// Shared helpers for the AVX-512 kernels (internal header).
#ifndef CK_SIMD_H
#define CK_SIMD_H

#if defined(__x86_64__)
#include <immintrin.h>
#include "simd_avx2.h"

#define CK_AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,f16c,fma")))
#define CK_INLINE static inline __attribute__((always_inline))

/// Sum of 16 lanes in a fixed order: l + l+8, then + l+4, + l+2, + l+1 (the Swift reference does
/// the same, so results are bit-identical): ck_hsum16_avx2 of the two halves.
CK_AVX512_TARGET CK_INLINE float ck_hsum16(__m512 v) {
    return ck_hsum16_avx2(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/// 16 half floats from memory.
CK_AVX512_TARGET CK_INLINE __m512 ck_load_f16x16(const void *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

/// Two half floats (blocks A, B of a tail pair) spread to the tail lane pattern A A A A B B B B ...:
/// ck_load_f16_pair_avx2 in both halves.
CK_AVX512_TARGET CK_INLINE __m512 ck_load_f16_pair(const void *p) {
    const __m256 half = ck_load_f16_pair_avx2(p);
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(half)), _mm256_castps_pd(half), 1));
}

/// exp(x) with the approximation llama.cpp uses for softmax and SiLU (Arm's optimized-routines
/// expf: x = n ln2 + b, a degree-5 polynomial in b, scaled by 2^n; max error ~1.5 ulp), so the
/// two runtimes round alike. Below -103.97 the result is 0, above 88.38 infinity.
CK_AVX512_TARGET CK_INLINE __m512 ck_exp16(__m512 x) {
    const __m512 shift = _mm512_set1_ps(0x1.8p23f);
    const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), shift);
    const __m512 n = _mm512_sub_ps(z, shift);
    __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x);
    b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f), b);
    const __m512 u = _mm512_mul_ps(b, b);
    const __m512 high = _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
                                        _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f)));
    const __m512 j = _mm512_fmadd_ps(high, u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
    const __m512 result = _mm512_scalef_ps(j, n);
    const __mmask16 outside = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192), _CMP_GT_OQ);
    if (!outside) return result;
    const __m512 limit = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ),
                                              _mm512_set1_ps(__builtin_inff()), _mm512_setzero_ps());
    return _mm512_mask_blend_ps(outside, result, limit);
}

#endif
#endif
