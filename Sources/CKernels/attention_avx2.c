#include "CKernels.h"
#include <math.h>
#include "kv_view.h"
#include "simd_avx2.h"

#if defined(__x86_64__)

// attention.c on 8-lane vectors. Scores and weighted values are sequential sums per position or
// per dimension, independent of the vector width; the softmax sums keep ck_hsum16's 16-lane
// order. Up to 12 accumulators run side by side (16 ymm registers).

/// Query heads handled together (the rest of a larger group in further passes).
#define HEAD_CHUNK 4

/// Scores of `HC` heads against `TC` consecutive tiles of 16 keys starting at `position`.
CK_AVX2_TARGET CK_INLINE void scores_block(const float *q, int32_t hd, const ck_kv_view *kv, int32_t position,
                                            float scale, float *scores, size_t stride, const int HC, const int TC) {
    __m256 acc[HEAD_CHUNK * 8];
    const uint16_t *tiles[4];
    for (int t = 0; t < TC; t++) tiles[t] = key_tile(kv, position + 16 * t);
    for (int i = 0; i < HC * TC * 2; i++) acc[i] = _mm256_setzero_ps();
    for (int32_t d = 0; d < hd; d++) {
        for (int u = 0; u < 2 * TC; u++) {
            __m256 k = ck_load_f16x8(tiles[u / 2] + d * 16 + (u % 2) * 8);
            for (int a = 0; a < HC; a++) {
                acc[a * 2 * TC + u] = _mm256_fmadd_ps(_mm256_broadcast_ss(q + a * hd + d), k, acc[a * 2 * TC + u]);
            }
        }
    }
    const __m256 scalev = _mm256_set1_ps(scale);
    for (int a = 0; a < HC; a++) {
        for (int u = 0; u < 2 * TC; u++) {
            _mm256_storeu_ps(scores + (size_t)a * stride + position + 8 * u, _mm256_mul_ps(acc[a * 2 * TC + u], scalev));
        }
    }
}

#define SCORES_CASE(HC, TC)                                                                                       \
    case HC:                                                                                                      \
        for (; p + 16 * TC <= end16; p += 16 * TC) scores_block(qa, hd, kv, p, scale, sa, stride, HC, TC);     \
        for (; p < end16; p += 16) scores_block(qa, hd, kv, p, scale, sa, stride, HC, 1);                        \
        break;

CK_AVX2_TARGET void ck_attention_scores_avx2(const float *q, int32_t group, const ck_kv_view *kv, int32_t start,
                                             int32_t end, float scale, float *scores, size_t stride) {
    const int32_t hd = kv->headDim;
    const int32_t end16 = start + (end - start + 15) / 16 * 16;
    for (int32_t a0 = 0; a0 < group; a0 += HEAD_CHUNK) {
        const int heads = group - a0 < HEAD_CHUNK ? group - a0 : HEAD_CHUNK;
        const float *qa = q + (size_t)a0 * hd;
        float *sa = scores + (size_t)a0 * stride;
        int32_t p = start;
        // Tiles per block: as many as keep heads * tiles * 2 accumulators within 12.
        switch (heads) {
            SCORES_CASE(1, 4) SCORES_CASE(2, 3) SCORES_CASE(3, 2) SCORES_CASE(4, 1)
        }
    }
}

/// Lanes [0, remaining) of 8 set (for masked loads and stores).
CK_AVX2_TARGET CK_INLINE __m256i lane_mask(int32_t remaining) {
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(remaining), index);
}

/// Lane-wise max of `maxv` and x over the lanes in `mask` (attention.c's masked vmaxps: x where
/// either is NaN), `maxv` elsewhere.
CK_AVX2_TARGET CK_INLINE __m256 masked_max(__m256 maxv, __m256 x, __m256i mask) {
    return _mm256_blendv_ps(maxv, _mm256_max_ps(maxv, x), _mm256_castsi256_ps(mask));
}

/// Maximum of 16 lanes.
CK_AVX2_TARGET CK_INLINE float max16(__m256 lo, __m256 hi) {
    __m256 a = _mm256_max_ps(lo, hi);
    __m128 b = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    b = _mm_max_ps(b, _mm_movehl_ps(b, b));
    b = _mm_max_ss(b, _mm_movehdup_ps(b));
    return _mm_cvtss_f32(b);
}

/// max over x[0 ..< n] and the double sum of exp(x - max) in 16-lane tiles summed in ck_hsum16's
/// order (zero lanes past n). `loadAll`: x may be read up to n rounded up to 16.
CK_AVX2_TARGET CK_INLINE void max_and_sum(const float *x, int32_t n, const int loadAll, float *maximum, double *sum) {
    __m256 maxLo = _mm256_set1_ps(-INFINITY), maxHi = maxLo;
    for (int32_t j = 0; j < n; j += 16) {
        const __m256i mLo = lane_mask(n - j), mHi = lane_mask(n - j - 8);
        const __m256 lo = loadAll ? _mm256_loadu_ps(x + j) : _mm256_maskload_ps(x + j, mLo);
        const __m256 hi = loadAll ? _mm256_loadu_ps(x + j + 8) : _mm256_maskload_ps(x + j + 8, mHi);
        maxLo = masked_max(maxLo, lo, mLo);
        maxHi = masked_max(maxHi, hi, mHi);
    }
    const float m = max16(maxLo, maxHi);
    const __m256 mv = _mm256_set1_ps(m);
    double s = 0;
    for (int32_t j = 0; j < n; j += 16) {
        const __m256i mLo = lane_mask(n - j), mHi = lane_mask(n - j - 8);
        const __m256 lo = loadAll ? _mm256_loadu_ps(x + j) : _mm256_maskload_ps(x + j, mLo);
        const __m256 hi = loadAll ? _mm256_loadu_ps(x + j + 8) : _mm256_maskload_ps(x + j + 8, mHi);
        const __m256 eLo = _mm256_and_ps(ck_exp8(_mm256_sub_ps(lo, mv)), _mm256_castsi256_ps(mLo));
        const __m256 eHi = _mm256_and_ps(ck_exp8(_mm256_sub_ps(hi, mv)), _mm256_castsi256_ps(mHi));
        s += (double)ck_hsum16_avx2(eLo, eHi);
    }
    *maximum = m;
    *sum = s;
}

CK_AVX2_TARGET void ck_softmax_normalizer_avx2(const float *scores, int32_t length, float *maximum, float *inverseSum) {
    double sum;
    max_and_sum(scores, length, 1, maximum, &sum);
    *inverseSum = (float)(1.0 / sum);
}

CK_AVX2_TARGET void ck_softmax_probabilities_avx2(const float *scores, float maximum, float inverseSum,
                                                  int32_t start, int32_t end, float *p) {
    const __m256 mv = _mm256_set1_ps(maximum), inv = _mm256_set1_ps(inverseSum);
    for (int32_t j = start; j < end; j += 8) {
        const __m256i m = lane_mask(end - j);
        __m256 e = ck_exp8(_mm256_sub_ps(_mm256_maskload_ps(scores + j, m), mv));
        __m128i half = _mm256_cvtps_ph(_mm256_mul_ps(e, inv), _MM_FROUND_TO_NEAREST_INT);
        _mm256_maskstore_ps(p + (j - start), m, _mm256_cvtph_ps(half));
    }
}

/// Weighted values of `HC` heads for `SP` 8-wide slices from `slice` on.
CK_AVX2_TARGET CK_INLINE void values_block(const float *p, size_t pStride, const ck_kv_view *kv, int32_t start,
                                            int32_t end, int32_t slice, float *out, const int HC, const int SP) {
    const int32_t hd = kv->headDim;
    __m256 o[12];
    for (int i = 0; i < HC * SP; i++) o[i] = _mm256_setzero_ps();
    for (int32_t j = start; j < end; j++) {
        const uint16_t *row = value_row(kv, j) + slice;
        for (int s = 0; s < SP; s++) {
            __m256 v = ck_load_f16x8(row + 8 * s);
            for (int a = 0; a < HC; a++) {
                o[a * SP + s] = _mm256_fmadd_ps(_mm256_broadcast_ss(p + (size_t)a * pStride + (j - start)), v, o[a * SP + s]);
            }
        }
    }
    for (int a = 0; a < HC; a++) {
        for (int s = 0; s < SP; s++) _mm256_storeu_ps(out + (size_t)a * hd + slice + 8 * s, o[a * SP + s]);
    }
}

#define VALUES_CASE(HC, SP)                                                                                       \
    case HC * 16 + SP:                                                                                            \
        for (; slice + 8 * SP <= hd; slice += 8 * SP) values_block(pa, pStride, kv, start, end, slice, oa, HC, SP); \
        break;

CK_AVX2_TARGET void ck_attention_values_avx2(const float *p, size_t pStride, int32_t group, const ck_kv_view *kv,
                                             int32_t start, int32_t end, float *out) {
    const int32_t hd = kv->headDim;
    for (int32_t a0 = 0; a0 < group; a0 += HEAD_CHUNK) {
        const int heads = group - a0 < HEAD_CHUNK ? group - a0 : HEAD_CHUNK;
        const float *pa = p + (size_t)a0 * pStride;
        float *oa = out + (size_t)a0 * hd;
        // Slices per pass: as many as fit 12 accumulators, a power of two dividing the head.
        int slices = 8;
        while (slices > 1 && (heads * slices > 12 || hd % (8 * slices) != 0)) slices /= 2;
        int32_t slice = 0;
        switch (heads * 16 + slices) {
            VALUES_CASE(1, 1) VALUES_CASE(1, 2) VALUES_CASE(1, 4) VALUES_CASE(1, 8)
            VALUES_CASE(2, 1) VALUES_CASE(2, 2) VALUES_CASE(2, 4)
            VALUES_CASE(3, 1) VALUES_CASE(3, 2) VALUES_CASE(3, 4)
            VALUES_CASE(4, 1) VALUES_CASE(4, 2)
        }
    }
}

CK_AVX2_TARGET double ck_log_sum_exp_avx2(const float *x, int32_t n) {
    float m;
    double sum;
    max_and_sum(x, n, 0, &m, &sum);
    return (double)m + log(sum);
}

CK_AVX2_TARGET void ck_silu_mul_avx2(const float *gate, const float *up, float *out, int32_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int32_t i = 0; i < n; i += 8) {
        const __m256i m = lane_mask(n - i);
        __m256 g = _mm256_maskload_ps(gate + i, m);
        __m256 e = ck_exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
        __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
        _mm256_maskstore_ps(out + i, m, _mm256_mul_ps(silu, _mm256_maskload_ps(up + i, m)));
    }
}

CK_AVX2_TARGET void ck_round_to_half_avx2(float *x, int32_t n) {
    for (int32_t i = 0; i < n; i += 8) {
        const __m256i m = lane_mask(n - i);
        __m128i half = _mm256_cvtps_ph(_mm256_maskload_ps(x + i, m), _MM_FROUND_TO_NEAREST_INT);
        _mm256_maskstore_ps(x + i, m, _mm256_cvtph_ps(half));
    }
}

CK_AVX2_TARGET void ck_f32_to_f16_avx2(const float *x, uint16_t *y, int32_t n) {
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++) {
        y[i] = (uint16_t)_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(x[i]), _MM_FROUND_TO_NEAREST_INT), 0);
    }
}

#endif
