#include "CKernels.h"
#include "simd.h"

#if defined(__x86_64__)

/// One block of 32 floats: q = round-half-even(x * 127 / amax), d = amax / 127.
/// Non-finite blocks, and blocks so small that 127 / amax overflows, give defined bits the Swift
/// reference reproduces: amax is the largest bit pattern of |x| (the float maximum for finite
/// values; NaN above infinity), a NaN or out-of-range product converts to INT32_MIN and
/// saturates to -128, and `sum` (of the int32 values) wraps.
CK_AVX512_TARGET CK_INLINE void quantize_block(const float *x, int8_t q[32], float *d, int32_t *sum) {
    __m512 lo = _mm512_loadu_ps(x), hi = _mm512_loadu_ps(x + 16);
    __m512i amaxv = _mm512_max_epu32(_mm512_castps_si512(_mm512_abs_ps(lo)), _mm512_castps_si512(_mm512_abs_ps(hi)));
    const uint32_t amaxBits = _mm512_reduce_max_epu32(amaxv);
    float amax;
    __builtin_memcpy(&amax, &amaxBits, 4);
    float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    *d = amax / 127.0f;
    __m512 idv = _mm512_set1_ps(id);
    __m512i qlo = _mm512_cvtps_epi32(_mm512_mul_ps(lo, idv));
    __m512i qhi = _mm512_cvtps_epi32(_mm512_mul_ps(hi, idv));
    _mm_storeu_si128((__m128i *)q, _mm512_cvtsepi32_epi8(qlo));
    _mm_storeu_si128((__m128i *)(q + 16), _mm512_cvtsepi32_epi8(qhi));
    *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(qlo, qhi));
}

#define CK_TARGET CK_AVX512_TARGET
#include "quantize_rows.h"

CK_AVX512_TARGET void ck_quantize_rows_avx512(const float *x, size_t xStride, int32_t rows, int32_t k,
                                              uint8_t *out, size_t outStride) {
    quantize_rows(x, xStride, rows, k, out, outStride);
}

#endif
