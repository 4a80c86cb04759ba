#include "CKernels.h"
#include <math.h>
#include "kv_view.h"
#include "simd.h"

#if defined(__x86_64__)

// Each score and each output element is a sequential sum (over dimensions, over positions), so
// throughput comes from running many of them side by side: up to 24 accumulators, several key
// tiles or several 16-wide slices of the head per query head.

/// Query heads handled together (the rest of a larger group in further passes).
#define HEAD_CHUNK 6

/// Scores of `HC` heads against `TC` consecutive tiles of 16 keys starting at `position`.
CK_AVX512_TARGET CK_INLINE void scores_block(const float *q, int32_t hd, const ck_kv_view *kv, int32_t position,
                                              float scale, float *scores, size_t stride, const int HC, const int TC) {
    __m512 acc[HEAD_CHUNK * 4];
    const uint16_t *tiles[4];
    for (int t = 0; t < TC; t++) tiles[t] = key_tile(kv, position + 16 * t);
    for (int i = 0; i < HC * TC; i++) acc[i] = _mm512_setzero_ps();
    for (int32_t d = 0; d < hd; d++) {
        for (int t = 0; t < TC; t++) {
            __m512 k = ck_load_f16x16(tiles[t] + d * 16);
            for (int a = 0; a < HC; a++) acc[a * TC + t] = _mm512_fmadd_ps(_mm512_set1_ps(q[a * hd + d]), k, acc[a * TC + t]);
        }
    }
    const __m512 scalev = _mm512_set1_ps(scale);
    for (int a = 0; a < HC; a++) {
        for (int t = 0; t < TC; t++) _mm512_storeu_ps(scores + (size_t)a * stride + position + 16 * t, _mm512_mul_ps(acc[a * TC + t], scalev));
    }
}

#define SCORES_CASE(HC)                                                                         \
    case HC:                                                                                    \
        for (; p + 64 <= end16; p += 64) scores_block(qa, hd, kv, p, scale, sa, stride, HC, 4); \
        for (; p < end16; p += 16) scores_block(qa, hd, kv, p, scale, sa, stride, HC, 1);       \
        break;

CK_AVX512_TARGET void ck_attention_scores_avx512(const float *q, int32_t group, const ck_kv_view *kv, int32_t start,
                                                 int32_t end, float scale, float *scores, size_t stride) {
    const int32_t hd = kv->headDim;
    const int32_t end16 = start + (end - start + 15) / 16 * 16;
    for (int32_t a0 = 0; a0 < group; a0 += HEAD_CHUNK) {
        const int heads = group - a0 < HEAD_CHUNK ? group - a0 : HEAD_CHUNK;
        const float *qa = q + (size_t)a0 * hd;
        float *sa = scores + (size_t)a0 * stride;
        int32_t p = start;
        switch (heads) {
            SCORES_CASE(1) SCORES_CASE(2) SCORES_CASE(3) SCORES_CASE(4) SCORES_CASE(5) SCORES_CASE(6)
        }
    }
}

CK_AVX512_TARGET CK_INLINE __mmask16 tail_mask(int32_t remaining) {
    return remaining >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << remaining) - 1);
}

CK_AVX512_TARGET void ck_softmax_normalizer_avx512(const float *scores, int32_t length, float *maximum,
                                                   float *inverseSum) {
    __m512 maxv = _mm512_set1_ps(-INFINITY);
    for (int32_t j = 0; j < length; j += 16) {
        maxv = _mm512_mask_max_ps(maxv, tail_mask(length - j), maxv, _mm512_loadu_ps(scores + j));
    }
    const float m = _mm512_reduce_max_ps(maxv);
    const __m512 mv = _mm512_set1_ps(m);
    double sum = 0;
    for (int32_t j = 0; j < length; j += 16) {
        __m512 e = _mm512_maskz_mov_ps(tail_mask(length - j), ck_exp16(_mm512_sub_ps(_mm512_loadu_ps(scores + j), mv)));
        sum += (double)ck_hsum16(e);
    }
    *maximum = m;
    *inverseSum = (float)(1.0 / sum);
}

CK_AVX512_TARGET void ck_softmax_probabilities_avx512(const float *scores, float maximum, float inverseSum,
                                                      int32_t start, int32_t end, float *p) {
    const __m512 mv = _mm512_set1_ps(maximum), inv = _mm512_set1_ps(inverseSum);
    for (int32_t j = start; j < end; j += 16) {
        const __mmask16 m = tail_mask(end - j);
        __m512 e = ck_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, scores + j), mv));
        __m256i half = _mm512_cvtps_ph(_mm512_mul_ps(e, inv), _MM_FROUND_TO_NEAREST_INT);
        _mm512_mask_storeu_ps(p + (j - start), m, _mm512_cvtph_ps(half));
    }
}

/// Weighted values of `HC` heads for `SP` 16-wide slices from `slice` on.
CK_AVX512_TARGET CK_INLINE void values_block(const float *p, size_t pStride, const ck_kv_view *kv, int32_t start,
                                              int32_t end, int32_t slice, float *out, const int HC, const int SP) {
    const int32_t hd = kv->headDim;
    __m512 o[HEAD_CHUNK * 8];
    for (int i = 0; i < HC * SP; i++) o[i] = _mm512_setzero_ps();
    for (int32_t j = start; j < end; j++) {
        const uint16_t *row = value_row(kv, j) + slice;
        for (int s = 0; s < SP; s++) {
            __m512 v = ck_load_f16x16(row + 16 * s);
            for (int a = 0; a < HC; a++) {
                o[a * SP + s] = _mm512_fmadd_ps(_mm512_set1_ps(p[(size_t)a * pStride + (j - start)]), v, o[a * SP + s]);
            }
        }
    }
    for (int a = 0; a < HC; a++) {
        for (int s = 0; s < SP; s++) _mm512_storeu_ps(out + (size_t)a * hd + slice + 16 * s, o[a * SP + s]);
    }
}

#define VALUES_CASE(HC, SP)                                                                          \
    case HC * 16 + SP:                                                                               \
        for (; slice + 16 * SP <= hd; slice += 16 * SP) values_block(pa, pStride, kv, start, end, slice, oa, HC, SP); \
        break;

CK_AVX512_TARGET void ck_attention_values_avx512(const float *p, size_t pStride, int32_t group, const ck_kv_view *kv,
                                                 int32_t start, int32_t end, float *out) {
    const int32_t hd = kv->headDim;
    for (int32_t a0 = 0; a0 < group; a0 += HEAD_CHUNK) {
        const int heads = group - a0 < HEAD_CHUNK ? group - a0 : HEAD_CHUNK;
        const float *pa = p + (size_t)a0 * pStride;
        float *oa = out + (size_t)a0 * hd;
        // Slices per pass: as many as fit 24 accumulators, a power of two dividing the head.
        int slices = 8;
        while (slices > 1 && (heads * slices > 24 || hd % (16 * slices) != 0)) slices /= 2;
        int32_t slice = 0;
        switch (heads * 16 + slices) {
            VALUES_CASE(1, 1) VALUES_CASE(1, 2) VALUES_CASE(1, 4) VALUES_CASE(1, 8)
            VALUES_CASE(2, 1) VALUES_CASE(2, 2) VALUES_CASE(2, 4) VALUES_CASE(2, 8)
            VALUES_CASE(3, 1) VALUES_CASE(3, 2) VALUES_CASE(3, 4) VALUES_CASE(3, 8)
            VALUES_CASE(4, 1) VALUES_CASE(4, 2) VALUES_CASE(4, 4)
            VALUES_CASE(5, 1) VALUES_CASE(5, 2) VALUES_CASE(5, 4)
            VALUES_CASE(6, 1) VALUES_CASE(6, 2) VALUES_CASE(6, 4)
        }
    }
}

CK_AVX512_TARGET double ck_log_sum_exp_avx512(const float *x, int32_t n) {
    __m512 maxv = _mm512_set1_ps(-INFINITY);
    for (int32_t i = 0; i < n; i += 16) {
        const __mmask16 k = tail_mask(n - i);
        maxv = _mm512_mask_max_ps(maxv, k, maxv, _mm512_maskz_loadu_ps(k, x + i));
    }
    const float m = _mm512_reduce_max_ps(maxv);
    const __m512 mv = _mm512_set1_ps(m);
    double sum = 0;
    for (int32_t i = 0; i < n; i += 16) {
        const __mmask16 k = tail_mask(n - i);
        sum += (double)ck_hsum16(_mm512_maskz_mov_ps(k, ck_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), mv))));
    }
    return (double)m + log(sum);
}

CK_AVX512_TARGET void ck_silu_mul_avx512(const float *gate, const float *up, float *out, int32_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    int32_t i = 0;
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        __m512 e = ck_exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
        __m512 silu = _mm512_div_ps(g, _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(m, up + i)));
    }
}

CK_AVX512_TARGET void ck_round_to_half_avx512(float *x, int32_t n) {
    for (int32_t i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask(n - i);
        __m256i half = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm512_mask_storeu_ps(x + i, m, _mm512_cvtph_ps(half));
    }
}

CK_AVX512_TARGET void ck_f32_to_f16_avx512(const float *x, uint16_t *y, int32_t n) {
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_si256((__m256i *)(y + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++) {
        y[i] = (uint16_t)_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(x[i]), _MM_FROUND_TO_NEAREST_INT), 0);
    }
}

#endif
