#include "CKernels.h"
#include "simd_avx2.h"

#if defined(__x86_64__)

// The AVX-512 kernels (matmul.c) with each 16-lane vector as two 8-lane halves: per lane the
// same exact integer block sum and the same float operations in the same order, so the results
// are bit-identical to them and to ReferenceKernels. Lanes are independent until the final lane
// sum, so the tile kernels run the low half of every group, then the high half, which halves
// the accumulators live at once (16 ymm registers instead of 32 zmm).
//
// Integer dot products without vpdpbusd: vpmaddubsw (u8 x s8 pairs to int16) then vpmaddwd with
// ones (to int32). 4-bit weights (0..15) times int8 activations cannot saturate a pair (2 * 15 *
// 128 = 3840), so a whole group's 8 slabs add up in int16 first (8 * 3840 < 32767).

/// Row tile: activation rows processed per pass over an unpacked weight row (prefill).
#define MT 8

/// Float matmul row tile: 2 * MT_F32 accumulators and a weight vector fit 16 registers.
#define MT_F32 6

/// Weight rows fetched ahead of use when streaming the weights (decode): far enough ahead to
/// cover memory latency at one activation row.
#define PREFETCH_ROWS 32

CK_AVX2_TARGET CK_INLINE void store_result(float *y, float r, int32_t accumulate) {
    *y = accumulate ? *y + r : r;
}

// --- 4-bit weights ---------------------------------------------------------------------------

CK_AVX2_TARGET CK_INLINE __m256i low_nibbles(__m256i v) { return _mm256_and_si256(v, _mm256_set1_epi8(0x0F)); }

CK_AVX2_TARGET CK_INLINE __m256i high_nibbles(__m256i v) {
    return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
}

/// Unpacks one weight row to bytes in the activations' order (matmul.c's unpack_row_q4). A tail
/// pair's [A | B] quant bytes become [A lo, B lo, A hi, B hi]: low nibbles, then high nibbles.
CK_AVX2_TARGET static void unpack_row_q4(const uint8_t *w, const ck_q4_layout *l, uint8_t *dst) {
    for (int32_t g = 0; g < l->fullGroups; g++) {
        for (int p = 0; p < 4; p++) {
            for (int h = 0; h < 2; h++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(w + g * 256 + p * 64 + h * 32));
                _mm256_store_si256((__m256i *)(dst + g * 512 + p * 64 + h * 32), low_nibbles(v));
                _mm256_store_si256((__m256i *)(dst + g * 512 + (p + 4) * 64 + h * 32), high_nibbles(v));
            }
        }
    }
    for (int32_t p = 0; p < l->tailPairs; p++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(w + l->fullGroups * 256 + p * 32));
        _mm256_store_si256((__m256i *)(dst + l->fullGroups * 512 + p * 64), low_nibbles(v));
        _mm256_store_si256((__m256i *)(dst + l->fullGroups * 512 + p * 64 + 32), high_nibbles(v));
    }
}

/// Scale (d) and min (m) of group or tail pair g for lanes 8h..8h+7.
CK_AVX2_TARGET CK_INLINE void q4_scales(const ck_q4_layout *wl, const uint8_t *w, int32_t g, int h, __m256 *dv, __m256 *mv) {
    const uint16_t *dw = (const uint16_t *)(w + wl->scaleOffset);
    const uint16_t *mw = (const uint16_t *)(w + wl->minOffset);
    if (g < wl->fullGroups) {
        *dv = ck_load_f16x8(dw + g * 16 + h * 8);
        *mv = ck_load_f16x8(mw + g * 16 + h * 8);
    } else {
        const int32_t block0 = wl->fullGroups * 16 + 2 * (g - wl->fullGroups);
        *dv = ck_load_f16_pair_avx2(dw + block0);
        *mv = ck_load_f16_pair_avx2(mw + block0);
    }
}

/// acc = fma(float(isum), dv * da, acc), then acc = fma(mv, sa, acc): lanes 8h..8h+7 of group g.
CK_AVX2_TARGET CK_INLINE __m256 q4_accumulate(__m256 acc, __m256i isum16, __m256 dv, __m256 mv, const uint8_t *a,
                                               const ck_act_layout *al, int32_t g, int h) {
    const __m256i isum = _mm256_madd_epi16(isum16, _mm256_set1_epi16(1));
    const int32_t lane = g * 16 + h * 8;
    __m256 s = _mm256_mul_ps(dv, _mm256_loadu_ps((const float *)(a + al->scaleOffset) + lane));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), s, acc);
    return _mm256_fmadd_ps(mv, _mm256_loadu_ps((const float *)(a + al->sumOffset) + lane), acc);
}

/// One weight row against `count` (<= MT) activation rows, unpacking in registers (decode and
/// small batches, where unpacking through scratch costs more than it saves).
CK_AVX2_TARGET CK_INLINE void dot_rows_q4(const uint8_t *w, const ck_q4_layout *wl, const uint8_t *a, size_t aStride,
                                           const ck_act_layout *al, int count, float *y, size_t yStride,
                                           int32_t accumulate) {
    __m256 acc[2][MT];
    for (int h = 0; h < 2; h++) {
        for (int t = 0; t < count; t++) acc[h][t] = _mm256_setzero_ps();
        for (int32_t g = 0; g < wl->fullGroups + wl->tailPairs; g++) {
            const int full = g < wl->fullGroups;
            __m256 dv, mv;
            q4_scales(wl, w, g, h, &dv, &mv);
            if (full) {
                __m256i lo[4], hi[4];
                for (int p = 0; p < 4; p++) {
                    __m256i v = _mm256_loadu_si256((const __m256i *)(w + g * 256 + p * 64 + h * 32));
                    lo[p] = low_nibbles(v);
                    hi[p] = high_nibbles(v);
                }
                for (int t = 0; t < count; t++) {
                    const uint8_t *at = a + t * aStride + (size_t)g * 512 + h * 32;
                    // Two chains: the low-nibble and the high-nibble slabs.
                    __m256i sumLo = _mm256_maddubs_epi16(lo[0], _mm256_load_si256((const __m256i *)at));
                    __m256i sumHi = _mm256_maddubs_epi16(hi[0], _mm256_load_si256((const __m256i *)(at + 4 * 64)));
                    for (int p = 1; p < 4; p++) {
                        sumLo = _mm256_add_epi16(sumLo, _mm256_maddubs_epi16(lo[p], _mm256_load_si256((const __m256i *)(at + p * 64))));
                        sumHi = _mm256_add_epi16(sumHi, _mm256_maddubs_epi16(hi[p], _mm256_load_si256((const __m256i *)(at + (p + 4) * 64))));
                    }
                    acc[h][t] = q4_accumulate(acc[h][t], _mm256_add_epi16(sumLo, sumHi), dv, mv, a + t * aStride, al, g, h);
                }
            } else {
                const int32_t pair = g - wl->fullGroups;
                __m256i v = _mm256_loadu_si256((const __m256i *)(w + wl->fullGroups * 256 + pair * 32));
                const __m256i wv = h == 0 ? low_nibbles(v) : high_nibbles(v);
                for (int t = 0; t < count; t++) {
                    const uint8_t *at = a + t * aStride + (size_t)wl->fullGroups * 512 + (size_t)pair * 64 + h * 32;
                    __m256i isum = _mm256_maddubs_epi16(wv, _mm256_load_si256((const __m256i *)at));
                    acc[h][t] = q4_accumulate(acc[h][t], isum, dv, mv, a + t * aStride, al, g, h);
                }
            }
        }
    }
    for (int t = 0; t < count; t++) store_result(y + t * yStride, ck_hsum16_avx2(acc[0][t], acc[1][t]), accumulate);
}

/// One weight row against one activation row (decode).
CK_AVX2_TARGET CK_INLINE void dot_row_q4(const uint8_t *w, const ck_q4_layout *wl, const uint8_t *a,
                                          const ck_act_layout *al, float *y, int32_t accumulate) {
    dot_rows_q4(w, wl, a, 0, al, 1, y, 0, accumulate);
}

/// One unpacked weight row (in `u`) against `count` (<= MT) activation rows (prefill).
CK_AVX2_TARGET CK_INLINE void dot_tile_q4(const uint8_t *w, const ck_q4_layout *wl, const uint8_t *u,
                                           const uint8_t *a, size_t aStride, const ck_act_layout *al,
                                           int count, float *y, size_t yStride, int32_t accumulate) {
    __m256 acc[2][MT];
    const int32_t lanes = wl->fullGroups + wl->tailPairs;
    for (int h = 0; h < 2; h++) {
        for (int t = 0; t < count; t++) acc[h][t] = _mm256_setzero_ps();
        for (int32_t g = 0; g < lanes; g++) {
            const int full = g < wl->fullGroups;
            const size_t offset = full ? (size_t)g * 512 : (size_t)wl->fullGroups * 512 + (size_t)(g - wl->fullGroups) * 64;
            const int slabs = full ? 8 : 1;
            __m256i isum[MT];
            for (int t = 0; t < count; t++) isum[t] = _mm256_setzero_si256();
            for (int j = 0; j < slabs; j++) {
                const __m256i wv = _mm256_load_si256((const __m256i *)(u + offset + j * 64 + h * 32));
                for (int t = 0; t < count; t++) {
                    const __m256i av = _mm256_load_si256((const __m256i *)(a + t * aStride + offset + j * 64 + h * 32));
                    isum[t] = _mm256_add_epi16(isum[t], _mm256_maddubs_epi16(wv, av));
                }
            }
            __m256 dv, mv;
            q4_scales(wl, w, g, h, &dv, &mv);
            for (int t = 0; t < count; t++) acc[h][t] = q4_accumulate(acc[h][t], isum[t], dv, mv, a + t * aStride, al, g, h);
        }
    }
    for (int t = 0; t < count; t++) store_result(y + t * yStride, ck_hsum16_avx2(acc[0][t], acc[1][t]), accumulate);
}

#define CK_TARGET CK_AVX2_TARGET
#include "matmul_q4.h"

CK_AVX2_TARGET void ck_matmul_q4_avx2(const uint8_t *w, size_t wStride, int32_t nRows,
                                      const uint8_t *a, size_t aStride, int32_t mRows, int32_t k,
                                      float *y, size_t yStride, int32_t accumulate, uint8_t *scratch) {
    matmul_q4(w, wStride, nRows, a, aStride, mRows, k, y, yStride, accumulate, scratch);
}

// --- 8-bit weights ---------------------------------------------------------------------------
//
// The AVX-512 kernel computes sum(u * a) - bias with bias = 128 * sum(q). Where the activations
// are finite quants (-127..127) that equals sum((u - 128) * a), which vpmaddubsw takes without
// saturating as |u - 128| times a with the sign of u - 128 moved onto a (llama.cpp's trick). A
// block holding -128 quants (only from NaN, infinite or tiny inputs) breaks that identity, and
// its bias may have wrapped; rows with such a block run the exact form instead: sum(u * a) from
// the weights' two nibbles, minus the bias, as vpdpbusd and vpsubd do. Blocks whose scale is
// finite contribute the same either way (a tiny block's scale is zero), so only rows with an
// infinite or NaN scale need it.

/// Whether any activation row has a non-finite block scale.
CK_AVX2_TARGET static int has_nonfinite_scale(const uint8_t *a, size_t aStride, int32_t mRows, const ck_act_layout *al) {
    const int32_t lanes = 16 * (al->fullGroups + al->tailPairs);
    const __m256i exponent = _mm256_set1_epi32(0x7F800000);
    for (int32_t m = 0; m < mRows; m++) {
        const __m256i *da = (const __m256i *)(a + (size_t)m * aStride + al->scaleOffset);
        __m256i found = _mm256_setzero_si256();
        for (int32_t i = 0; i < lanes / 8; i++) {
            const __m256i e = _mm256_and_si256(_mm256_loadu_si256(da + i), exponent);
            found = _mm256_or_si256(found, _mm256_cmpeq_epi32(e, exponent));
        }
        if (!_mm256_testz_si256(found, found)) return 1;
    }
    return 0;
}

/// One weight row against `count` (<= MT) activation rows; `exact` as explained above.
CK_AVX2_TARGET CK_INLINE void dot_tile_q8(const uint8_t *w, const ck_q8_layout *wl, const uint8_t *a, size_t aStride,
                                           const ck_act_layout *al, int count, const int exact, float *y,
                                           size_t yStride, int32_t accumulate) {
    const uint16_t *dw = (const uint16_t *)(w + wl->scaleOffset);
    __m256 acc[2][MT];
    const int32_t lanes = wl->fullGroups + wl->tailPairs;
    // With few rows, a second set of integer accumulators (odd slabs) shortens the chains.
    const int split = count <= 4;
    for (int h = 0; h < 2; h++) {
        for (int t = 0; t < count; t++) acc[h][t] = _mm256_setzero_ps();
        for (int32_t g = 0; g < lanes; g++) {
            const int full = g < wl->fullGroups;
            const size_t offset = (full ? (size_t)g * 512 : (size_t)wl->fullGroups * 512 + (size_t)(g - wl->fullGroups) * 64) + h * 32;
            const int slabs = full ? 8 : 1;
            __m256i isum[MT], isumOdd[4];
            for (int t = 0; t < count; t++) isum[t] = _mm256_setzero_si256();
            if (split) for (int t = 0; t < count; t++) isumOdd[t] = _mm256_setzero_si256();
            for (int j = 0; j < slabs; j++) {
                const __m256i wv = _mm256_loadu_si256((const __m256i *)(w + offset + j * 64));
                const __m256i sv = _mm256_xor_si256(wv, _mm256_set1_epi8((char)0x80));
                const __m256i magnitude = _mm256_abs_epi8(sv);
                const __m256i lo = low_nibbles(wv), hi = high_nibbles(wv);
                for (int t = 0; t < count; t++) {
                    const __m256i av = _mm256_load_si256((const __m256i *)(a + t * aStride + offset + j * 64));
                    const __m256i d = exact ? _mm256_add_epi32(ck_dot4(lo, av), _mm256_slli_epi32(ck_dot4(hi, av), 4))
                                            : ck_dot4(magnitude, _mm256_sign_epi8(av, sv));
                    if (split && (j & 1)) isumOdd[t] = _mm256_add_epi32(isumOdd[t], d);
                    else isum[t] = _mm256_add_epi32(isum[t], d);
                }
            }
            if (split) for (int t = 0; t < count; t++) isum[t] = _mm256_add_epi32(isum[t], isumOdd[t]);
            const __m256 dv = full ? ck_load_f16x8(dw + g * 16 + h * 8)
                                   : ck_load_f16_pair_avx2(dw + wl->fullGroups * 16 + 2 * (g - wl->fullGroups));
            for (int t = 0; t < count; t++) {
                const uint8_t *at = a + t * aStride;
                const int32_t lane = g * 16 + h * 8;
                if (exact) isum[t] = _mm256_sub_epi32(isum[t], _mm256_loadu_si256((const __m256i *)((const int32_t *)(at + al->biasOffset) + lane)));
                __m256 s = _mm256_mul_ps(dv, _mm256_loadu_ps((const float *)(at + al->scaleOffset) + lane));
                acc[h][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), s, acc[h][t]);
            }
        }
    }
    for (int t = 0; t < count; t++) store_result(y + t * yStride, ck_hsum16_avx2(acc[0][t], acc[1][t]), accumulate);
}

/// dot_tile_q8 for `count` (1...MT) rows with the count and `exact` as constants.
CK_AVX2_TARGET static void dot_tile_q8_n(const uint8_t *w, const ck_q8_layout *wl, const uint8_t *a, size_t aStride,
                                         const ck_act_layout *al, int count, int exact, float *y, size_t yStride,
                                         int32_t accumulate) {
#define Q8_CASE(N)                                                                                               \
    case N:                                                                                                      \
        if (exact) dot_tile_q8(w, wl, a, aStride, al, N, 1, y, yStride, accumulate);                             \
        else dot_tile_q8(w, wl, a, aStride, al, N, 0, y, yStride, accumulate);                                   \
        break;
    switch (count) {
        Q8_CASE(1) Q8_CASE(2) Q8_CASE(3) Q8_CASE(4) Q8_CASE(5) Q8_CASE(6) Q8_CASE(7) Q8_CASE(8)
    }
#undef Q8_CASE
}

CK_AVX2_TARGET void ck_matmul_q8_avx2(const uint8_t *w, size_t wStride, int32_t nRows,
                                      const uint8_t *a, size_t aStride, int32_t mRows, int32_t k,
                                      float *y, size_t yStride, int32_t accumulate) {
    const ck_q8_layout wl = ck_q8_layout_for(k);
    const ck_act_layout al = ck_act_layout_for(k);
    const int exact = has_nonfinite_scale(a, aStride, mRows, &al);
    if (mRows <= MT) {
        // Decode and small batches stream the weights once: fetch a few rows ahead.
        prefetch_first(w, wStride, nRows);
        for (int32_t n = 0; n < nRows; n++) {
            const uint8_t *wn = w + (size_t)n * wStride;
            prefetch_ahead(w, wStride, n, nRows);
            dot_tile_q8_n(wn, &wl, a, aStride, &al, mRows, exact, y + n, yStride, accumulate);
        }
        return;
    }
    for (int32_t n0 = 0; n0 < nRows; n0 += CK_UNPACKED_ROWS) {
        const int32_t rows = nRows - n0 < CK_UNPACKED_ROWS ? nRows - n0 : CK_UNPACKED_ROWS;
        int32_t m = 0;
        for (; m + MT <= mRows; m += MT) {
            for (int32_t i = 0; i < rows; i++) {
                dot_tile_q8_n(w + (size_t)(n0 + i) * wStride, &wl, a + m * aStride, aStride, &al, MT, exact,
                              y + m * yStride + n0 + i, yStride, accumulate);
            }
        }
        if (m < mRows) {
            for (int32_t i = 0; i < rows; i++) {
                const uint8_t *wi = w + (size_t)(n0 + i) * wStride;
                prefetch_ahead(w, wStride, n0 + i, nRows);
                dot_tile_q8_n(wi, &wl, a + m * aStride, aStride, &al, mRows - m, exact, y + m * yStride + n0 + i,
                              yStride, accumulate);
            }
        }
    }
}

// --- float weights ---------------------------------------------------------------------------

CK_AVX2_TARGET void ck_matmul_f32_avx2(const float *w, size_t wStride, int32_t nRows,
                                       const float *x, size_t xStride, int32_t mRows, int32_t k,
                                       float *y, size_t yStride, int32_t accumulate) {
    for (int32_t n = 0; n < nRows; n++) {
        const float *wn = w + (size_t)n * wStride;
        for (int32_t m0 = 0; m0 < mRows; m0 += MT_F32) {
            const int count = mRows - m0 < MT_F32 ? mRows - m0 : MT_F32;
            __m256 lo[MT_F32], hi[MT_F32];
            for (int t = 0; t < count; t++) lo[t] = hi[t] = _mm256_setzero_ps();
            for (int32_t i = 0; i < k; i += 16) {
                const __m256 wl = _mm256_loadu_ps(wn + i), wh = _mm256_loadu_ps(wn + i + 8);
                for (int t = 0; t < count; t++) {
                    const float *xt = x + (size_t)(m0 + t) * xStride + i;
                    lo[t] = _mm256_fmadd_ps(wl, _mm256_loadu_ps(xt), lo[t]);
                    hi[t] = _mm256_fmadd_ps(wh, _mm256_loadu_ps(xt + 8), hi[t]);
                }
            }
            for (int t = 0; t < count; t++) store_result(y + (size_t)(m0 + t) * yStride + n, ck_hsum16_avx2(lo[t], hi[t]), accumulate);
        }
    }
}

#endif
