#include "CKernels.h"
#include "simd.h"

#if defined(__x86_64__)

/// The nearest half, as a float (activation scales are kept at half precision, as in llama.cpp's
/// Q8_0 / Q8_1 blocks, so products match its kernels).
CK_AVX512_TARGET CK_INLINE float ck_round_f16(float v) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtps_ph(_mm_set_ss(v), _MM_FROUND_TO_NEAREST_INT)));
}

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

CK_AVX512_TARGET void ck_quantize_rows_avx512(const float *x, size_t xStride, int32_t rows, int32_t k,
                                              uint8_t *out, size_t outStride) {
    const ck_act_layout l = ck_act_layout_for(k);
    for (int32_t r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * xStride;
        uint8_t *o = out + (size_t)r * outStride;
        float *da = (float *)(o + l.scaleOffset);
        float *sa = (float *)(o + l.sumOffset);
        int32_t *bias = (int32_t *)(o + l.biasOffset);
        int8_t q[32];
        float d;
        int32_t sum;
        for (int32_t g = 0; g < l.fullGroups; g++) {
            for (int32_t b = 0; b < 16; b++) {
                quantize_block(xr + (g * 16 + b) * 32, q, &d, &sum);
                uint8_t *slab = o + g * 512 + b * 4;
                for (int j = 0; j < 8; j++) __builtin_memcpy(slab + j * 64, q + 4 * j, 4);
                da[g * 16 + b] = ck_round_f16(d);
                sa[g * 16 + b] = ck_round_f16(d * (float)sum);
                bias[g * 16 + b] = (int32_t)(128u * (uint32_t)sum);
            }
        }
        const int32_t tailBlocks = l.blocks - l.fullGroups * 16;
        for (int32_t p = 0; p < l.tailPairs; p++) {
            uint8_t *pair = o + l.fullGroups * 512 + p * 64;
            const int32_t lane0 = (l.fullGroups + p) * 16;
            for (int half = 0; half < 2; half++) {
                const int32_t t = 2 * p + half;
                if (t < tailBlocks) {
                    quantize_block(xr + (l.fullGroups * 16 + t) * 32, q, &d, &sum);
                } else {
                    __builtin_memset(q, 0, 32);
                    d = 0;
                    sum = 0;
                }
                __builtin_memcpy(pair + half * 16, q, 16);
                __builtin_memcpy(pair + 32 + half * 16, q + 16, 16);
                for (int i = 0; i < 4; i++) {
                    da[lane0 + half * 4 + i] = ck_round_f16(d);
                    da[lane0 + 8 + half * 4 + i] = ck_round_f16(d);
                    sa[lane0 + half * 4 + i] = ck_round_f16(d * (float)sum) * 0.125f;
                    sa[lane0 + 8 + half * 4 + i] = ck_round_f16(d * (float)sum) * 0.125f;
                }
            }
            for (int lane = 0; lane < 16; lane++) {
                const int8_t *bytes = (const int8_t *)pair + lane * 4;
                bias[lane0 + lane] = 128 * (bytes[0] + bytes[1] + bytes[2] + bytes[3]);
            }
        }
    }
}

#else

void ck_quantize_rows_avx512(const float *x, size_t xStride, int32_t rows, int32_t k,
                             uint8_t *out, size_t outStride) {
    (void)x; (void)xStride; (void)rows; (void)k; (void)out; (void)outStride;
    __builtin_trap();
}

#endif
