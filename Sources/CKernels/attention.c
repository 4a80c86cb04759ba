#include "CKernels.h"
#include <math.h>
#include "simd.h"

#if defined(__x86_64__)

#define MAX_GROUP 8

CK_AVX512_TARGET CK_INLINE const uint16_t *key_tile(const ck_kv_view *kv, int32_t position) {
    const uint8_t *page = kv->pages[position / kv->pagePositions];
    const int32_t tile = (position % kv->pagePositions) / 16;
    return (const uint16_t *)(page + kv->keyOffset) + (size_t)tile * kv->headDim * 16;
}

CK_AVX512_TARGET CK_INLINE const uint16_t *value_row(const ck_kv_view *kv, int32_t position) {
    const uint8_t *page = kv->pages[position / kv->pagePositions];
    return (const uint16_t *)(page + kv->valueOffset) + (size_t)(position % kv->pagePositions) * kv->headDim;
}

/// Scores of up to MAX_GROUP heads against one tile of 16 keys: sequential over dimensions.
CK_AVX512_TARGET static void tile_scores(const float *q, int32_t heads, int32_t headDim, const uint16_t *tile,
                                         __m512 *acc) {
    for (int a = 0; a < heads; a++) acc[a] = _mm512_setzero_ps();
    for (int32_t d = 0; d < headDim; d++) {
        __m512 k = ck_load_f16x16(tile + d * 16);
        for (int a = 0; a < heads; a++) {
            acc[a] = _mm512_fmadd_ps(_mm512_set1_ps(q[a * headDim + d]), k, acc[a]);
        }
    }
}

CK_AVX512_TARGET void ck_attention_scores_avx512(const float *q, int32_t group, const ck_kv_view *kv, int32_t start,
                                                 int32_t end, float scale, float *scores, size_t stride) {
    const int32_t hd = kv->headDim;
    const __m512 scalev = _mm512_set1_ps(scale);
    for (int32_t a0 = 0; a0 < group; a0 += MAX_GROUP) {
        const int heads = group - a0 < MAX_GROUP ? group - a0 : MAX_GROUP;
        __m512 acc[MAX_GROUP];
        for (int32_t p = start; p < end; p += 16) {
            tile_scores(q + (size_t)a0 * hd, heads, hd, key_tile(kv, p), acc);
            for (int a = 0; a < heads; a++) _mm512_storeu_ps(scores + (size_t)(a0 + a) * stride + p, _mm512_mul_ps(acc[a], scalev));
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

CK_AVX512_TARGET void ck_attention_values_avx512(const float *p, size_t pStride, int32_t group, const ck_kv_view *kv,
                                                 int32_t start, int32_t end, float *out) {
    const int32_t hd = kv->headDim;
    for (int32_t a0 = 0; a0 < group; a0 += MAX_GROUP) {
        const int heads = group - a0 < MAX_GROUP ? group - a0 : MAX_GROUP;
        for (int32_t slice = 0; slice < hd; slice += 16) {
            __m512 o[MAX_GROUP];
            for (int a = 0; a < heads; a++) o[a] = _mm512_setzero_ps();
            for (int32_t j = start; j < end; j++) {
                __m512 v = ck_load_f16x16(value_row(kv, j) + slice);
                for (int a = 0; a < heads; a++) {
                    o[a] = _mm512_fmadd_ps(_mm512_set1_ps(p[(size_t)(a0 + a) * pStride + (j - start)]), v, o[a]);
                }
            }
            for (int a = 0; a < heads; a++) _mm512_storeu_ps(out + (size_t)(a0 + a) * hd + slice, o[a]);
        }
    }
}

CK_AVX512_TARGET void ck_exp_avx512(const float *x, float *y, int32_t n) {
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, ck_exp16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, ck_exp16(_mm512_maskz_loadu_ps(m, x + i)));
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

CK_AVX512_TARGET void ck_f32_to_f16_avx512(const float *x, uint16_t *y, int32_t n) {
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_si256((__m256i *)(y + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++) {
        y[i] = (uint16_t)_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(x[i]), _MM_FROUND_TO_NEAREST_INT), 0);
    }
}

#else

void ck_attention_scores_avx512(const float *q, int32_t group, const ck_kv_view *kv, int32_t start, int32_t end,
                                float scale, float *scores, size_t stride) {
    (void)q; (void)group; (void)kv; (void)start; (void)end; (void)scale; (void)scores; (void)stride;
    __builtin_trap();
}
void ck_softmax_normalizer_avx512(const float *scores, int32_t length, float *maximum, float *inverseSum) {
    (void)scores; (void)length; (void)maximum; (void)inverseSum;
    __builtin_trap();
}
void ck_softmax_probabilities_avx512(const float *scores, float maximum, float inverseSum, int32_t start,
                                     int32_t end, float *p) {
    (void)scores; (void)maximum; (void)inverseSum; (void)start; (void)end; (void)p;
    __builtin_trap();
}
void ck_attention_values_avx512(const float *p, size_t pStride, int32_t group, const ck_kv_view *kv, int32_t start,
                                int32_t end, float *out) {
    (void)p; (void)pStride; (void)group; (void)kv; (void)start; (void)end; (void)out;
    __builtin_trap();
}
void ck_exp_avx512(const float *x, float *y, int32_t n) { (void)x; (void)y; (void)n; __builtin_trap(); }
void ck_f32_to_f16_avx512(const float *x, uint16_t *y, int32_t n) { (void)x; (void)y; (void)n; __builtin_trap(); }
double ck_log_sum_exp_avx512(const float *x, int32_t n) { (void)x; (void)n; __builtin_trap(); }
void ck_silu_mul_avx512(const float *gate, const float *up, float *out, int32_t n) {
    (void)gate; (void)up; (void)out; (void)n;
    __builtin_trap();
}

#endif
