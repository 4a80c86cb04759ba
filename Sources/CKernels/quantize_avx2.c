#include "CKernels.h"
#include "simd_avx2.h"

#if defined(__x86_64__)

/// quantize.c's quantize_block, bit for bit: cvtps2dq gives INT32_MIN for NaN and out-of-range
/// products, and two saturating packs clamp to int8 as vpmovsdb does.
CK_AVX2_TARGET CK_INLINE void quantize_block(const float *x, int8_t q[32], float *d, int32_t *sum) {
    const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    __m256 v[4];
    for (int i = 0; i < 4; i++) v[i] = _mm256_loadu_ps(x + 8 * i);
    __m256i amaxv = _mm256_max_epu32(_mm256_castps_si256(_mm256_and_ps(v[0], absMask)),
                                     _mm256_castps_si256(_mm256_and_ps(v[1], absMask)));
    amaxv = _mm256_max_epu32(amaxv, _mm256_max_epu32(_mm256_castps_si256(_mm256_and_ps(v[2], absMask)),
                                                     _mm256_castps_si256(_mm256_and_ps(v[3], absMask))));
    __m128i m4 = _mm_max_epu32(_mm256_castsi256_si128(amaxv), _mm256_extracti128_si256(amaxv, 1));
    m4 = _mm_max_epu32(m4, _mm_shuffle_epi32(m4, _MM_SHUFFLE(1, 0, 3, 2)));
    m4 = _mm_max_epu32(m4, _mm_shuffle_epi32(m4, _MM_SHUFFLE(2, 3, 0, 1)));
    const uint32_t amaxBits = (uint32_t)_mm_cvtsi128_si32(m4);
    float amax;
    __builtin_memcpy(&amax, &amaxBits, 4);
    float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    *d = amax / 127.0f;
    const __m256 idv = _mm256_set1_ps(id);
    __m256i qi[4];
    for (int i = 0; i < 4; i++) qi[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], idv));
    // Packs work within 128-bit lanes: bytes come out as 4-element groups 0 2 4 6 1 3 5 7.
    __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(qi[0], qi[1]), _mm256_packs_epi32(qi[2], qi[3]));
    packed = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, packed);
    __m256i s = _mm256_add_epi32(_mm256_add_epi32(qi[0], qi[1]), _mm256_add_epi32(qi[2], qi[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(1, 0, 3, 2)));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(2, 3, 0, 1)));
    *sum = _mm_cvtsi128_si32(s4);
}

#define CK_TARGET CK_AVX2_TARGET
#include "quantize_rows.h"

CK_AVX2_TARGET void ck_quantize_rows_avx2(const float *x, size_t xStride, int32_t rows, int32_t k,
                                          uint8_t *out, size_t outStride) {
    quantize_rows(x, xStride, rows, k, out, outStride);
}

#endif
