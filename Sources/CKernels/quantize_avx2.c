#include "CKernels.h"
#include "simd_avx2.h"

#if defined(__x86_64__)

/// The nearest half, as a float (see quantize.c).
CK_AVX2_TARGET CK_INLINE float round_f16(float v) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtps_ph(_mm_set_ss(v), _MM_FROUND_TO_NEAREST_INT)));
}

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

CK_AVX2_TARGET void ck_quantize_rows_avx2(const float *x, size_t xStride, int32_t rows, int32_t k,
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
                da[g * 16 + b] = round_f16(d);
                sa[g * 16 + b] = round_f16(d * (float)sum);
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
                    da[lane0 + half * 4 + i] = round_f16(d);
                    da[lane0 + 8 + half * 4 + i] = round_f16(d);
                    sa[lane0 + half * 4 + i] = round_f16(d * (float)sum) * 0.125f;
                    sa[lane0 + 8 + half * 4 + i] = round_f16(d * (float)sum) * 0.125f;
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

void ck_quantize_rows_avx2(const float *x, size_t xStride, int32_t rows, int32_t k,
                           uint8_t *out, size_t outStride) {
    (void)x; (void)xStride; (void)rows; (void)k; (void)out; (void)outStride;
    __builtin_trap();
}

#endif
