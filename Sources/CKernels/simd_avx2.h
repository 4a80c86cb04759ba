// Shared helpers for the AVX2 kernels (internal header). The kernels keep the AVX-512 kernels'
// 16-lane layout with each 512-bit vector held as two 256-bit halves (lanes 0-7 and 8-15), and do
// every floating-point operation lane by lane in the same order, so all three kernel sets give
// the same bits.
#ifndef CK_SIMD_AVX2_H
#define CK_SIMD_AVX2_H

#if defined(__x86_64__)
#include <immintrin.h>

#define CK_AVX2_TARGET __attribute__((target("avx2,fma,f16c")))
#define CK_INLINE static inline __attribute__((always_inline))

/// Sum of 16 lanes (lanes 0-7 in `lo`, 8-15 in `hi`) in ck_hsum16's order: l + l+8, then + l+4,
/// + l+2, + l+1.
CK_AVX2_TARGET CK_INLINE float ck_hsum16_avx2(__m256 lo, __m256 hi) {
    __m256 a = _mm256_add_ps(lo, hi);
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
    __m128 d = _mm_add_ss(c, _mm_movehdup_ps(c));
    return _mm_cvtss_f32(d);
}

/// 8 half floats from memory.
CK_AVX2_TARGET CK_INLINE __m256 ck_load_f16x8(const void *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/// Two half floats (blocks A, B of a tail pair) spread to A A A A B B B B: the pattern of either
/// half of a tail pair's 16 lanes.
CK_AVX2_TARGET CK_INLINE __m256 ck_load_f16_pair_avx2(const void *p) {
    uint32_t bits;
    __builtin_memcpy(&bits, p, 4);
    __m128 two = _mm_cvtph_ps(_mm_cvtsi32_si128((int)bits));
    return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(two), _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
}

/// Integer sums of 4 adjacent bytes of u * s (u unsigned, s signed), as vpdpbusd adds them, for
/// products whose pairs cannot saturate an int16 (|u * s| <= 16383).
CK_AVX2_TARGET CK_INLINE __m256i ck_dot4(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/// vscalefps's j * 2^n for the lanes where ck_exp8's exponent-bit scaling does not apply (|n| >
/// 126 or NaN), one rounding as vscalefps does (the product is exact in double); lanes where
/// |n| > 192 take ck_exp16's limits. Rare: arguments beyond about ±87.
CK_AVX2_TARGET __attribute__((noinline, cold, unused)) static __m256 ck_exp8_outside(__m256 j, __m256 n, __m256 result) {
    float jv[8], nv[8], r[8];
    _mm256_storeu_ps(jv, j);
    _mm256_storeu_ps(nv, n);
    _mm256_storeu_ps(r, result);
    for (int l = 0; l < 8; l++) {
        const float e = nv[l];
        if (e != e) {
            r[l] = jv[l] + e;  // NaN argument: NaN, as vscalefps gives
        } else if (__builtin_fabsf(e) > 192) {
            r[l] = e <= 0 ? 0.0f : __builtin_inff();
        } else if (__builtin_fabsf(e) > 126) {
            r[l] = (float)__builtin_ldexp((double)jv[l], (int)e);
        }
    }
    return _mm256_loadu_ps(r);
}

/// ck_exp16 on 8 lanes, bit for bit: the same polynomial, and the scaling by 2^n that
/// _mm512_scalef_ps does made from exponent bits (exact for |n| <= 126: one rounding of j * 2^n).
CK_AVX2_TARGET CK_INLINE __m256 ck_exp8(__m256 x) {
    const __m256 shift = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift);
    const __m256 n = _mm256_sub_ps(z, shift);
    __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x);
    b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f), b);
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 high = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f)));
    const __m256 j = _mm256_fmadd_ps(high, u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f)));
    // n + 127 in the exponent field is 2^n, a normal float for |n| <= 126.
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
    const __m256 result = _mm256_mul_ps(j, _mm256_castsi256_ps(bits));
    const __m256 abs = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
    const __m256 inside = _mm256_cmp_ps(abs, _mm256_set1_ps(126), _CMP_LE_OQ);
    if (_mm256_movemask_ps(inside) == 0xFF) return result;
    return ck_exp8_outside(j, n, result);
}

#endif
#endif
