#include "CKernels.h"
#include "simd.h"

#if defined(__x86_64__)

// Every output y[m][n] is computed by the same sequence of operations whatever the number of
// rows m processed together and whatever slice of n a thread owns: per full group of 16 blocks
// an exact integer dot product per lane, then acc = fma(float(isum), dw * da, acc) (and for 4-bit
// weights acc = fma(mw, sa, acc)), the tail pairs likewise, and a fixed-order lane sum. That is
// what makes batched prefill, token-by-token decode and any thread count agree bit for bit.

/// Row tile: activation rows processed per pass over a weight row.
#define MT 8

/// Weight rows fetched ahead of use when streaming the weights (decode): far enough ahead to
/// cover memory latency at one activation row. Measured on a 2-core AMD EPYC (Zen 4), three
/// rounds of `popi bench runtime --threads 2` in alternation: decode 364 tok/s with 16 against 337
/// with 32 and 341 with 8.
#define PREFETCH_ROWS 16

// --- 4-bit weights ---------------------------------------------------------------------------

/// Low and high nibbles of 64 packed bytes.
CK_AVX512_TARGET CK_INLINE void unpack_nibbles(__m512i v, __m512i *lo, __m512i *hi) {
    const __m512i mask = _mm512_set1_epi8(0x0F);
    *lo = _mm512_and_si512(v, mask);
    *hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), mask);
}

/// A tail pair's 32 quant bytes [A | B] expanded to [A lo, B lo, A hi, B hi].
CK_AVX512_TARGET CK_INLINE __m512i unpack_tail_q4(const uint8_t *p) {
    const __m256i mask = _mm256_set1_epi8(0x0F);
    __m256i v = _mm256_loadu_si256((const __m256i *)p);
    __m256i lo = _mm256_and_si256(v, mask);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/// Unpacks one weight row (full groups and tail pairs) to bytes in the activations' order.
CK_AVX512_TARGET static void unpack_row_q4(const uint8_t *w, const ck_q4_layout *l, uint8_t *dst) {
    for (int32_t g = 0; g < l->fullGroups; g++) {
        for (int p = 0; p < 4; p++) {
            __m512i lo, hi;
            unpack_nibbles(_mm512_loadu_si512(w + g * 256 + p * 64), &lo, &hi);
            _mm512_store_si512(dst + g * 512 + p * 64, lo);
            _mm512_store_si512(dst + g * 512 + (p + 4) * 64, hi);
        }
    }
    for (int32_t p = 0; p < l->tailPairs; p++) {
        _mm512_store_si512(dst + l->fullGroups * 512 + p * 64,
                           unpack_tail_q4(w + l->fullGroups * 256 + p * 32));
    }
}

/// One weight row against one activation row, unpacking in registers (decode).
CK_AVX512_TARGET static void dot_row_q4(const uint8_t *w, const ck_q4_layout *wl, const uint8_t *a,
                                        const ck_act_layout *al, float *y, int32_t accumulate) {
    const uint16_t *dw = (const uint16_t *)(w + wl->scaleOffset);
    const uint16_t *mw = (const uint16_t *)(w + wl->minOffset);
    const float *da = (const float *)(a + al->scaleOffset);
    const float *sa = (const float *)(a + al->sumOffset);
    __m512 acc = _mm512_setzero_ps();
    for (int32_t g = 0; g < wl->fullGroups; g++) {
        // Two integer accumulators halve the dependency chain; integer sums are exact.
        __m512i isumLo = _mm512_setzero_si512(), isumHi = _mm512_setzero_si512();
        for (int p = 0; p < 4; p++) {
            __m512i lo, hi;
            unpack_nibbles(_mm512_loadu_si512(w + g * 256 + p * 64), &lo, &hi);
            isumLo = _mm512_dpbusd_epi32(isumLo, lo, _mm512_load_si512(a + g * 512 + p * 64));
            isumHi = _mm512_dpbusd_epi32(isumHi, hi, _mm512_load_si512(a + g * 512 + (p + 4) * 64));
        }
        const __m512i isum = _mm512_add_epi32(isumLo, isumHi);
        __m512 s = _mm512_mul_ps(ck_load_f16x16(dw + g * 16), _mm512_loadu_ps(da + g * 16));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), s, acc);
        acc = _mm512_fmadd_ps(ck_load_f16x16(mw + g * 16), _mm512_loadu_ps(sa + g * 16), acc);
    }
    for (int32_t p = 0; p < wl->tailPairs; p++) {
        const int32_t lane0 = (wl->fullGroups + p) * 16;
        const int32_t block0 = wl->fullGroups * 16 + 2 * p;
        __m512i isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(),
                                           unpack_tail_q4(w + wl->fullGroups * 256 + p * 32),
                                           _mm512_load_si512(a + wl->fullGroups * 512 + p * 64));
        __m512 s = _mm512_mul_ps(ck_load_f16_pair(dw + block0), _mm512_loadu_ps(da + lane0));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), s, acc);
        acc = _mm512_fmadd_ps(ck_load_f16_pair(mw + block0), _mm512_loadu_ps(sa + lane0), acc);
    }
    const float r = ck_hsum16(acc);
    *y = accumulate ? *y + r : r;
}

/// One unpacked weight row (in `u`) against `count` (<= MT) activation rows.
CK_AVX512_TARGET CK_INLINE void dot_tile_q4(const uint8_t *w, const ck_q4_layout *wl, const uint8_t *u,
                                             const uint8_t *a, size_t aStride, const ck_act_layout *al,
                                             int count, float *y, size_t yStride, int32_t accumulate) {
    const uint16_t *dw = (const uint16_t *)(w + wl->scaleOffset);
    const uint16_t *mw = (const uint16_t *)(w + wl->minOffset);
    __m512 acc[MT];
    for (int t = 0; t < count; t++) acc[t] = _mm512_setzero_ps();
    const int32_t lanes = wl->fullGroups + wl->tailPairs;
    for (int32_t g = 0; g < lanes; g++) {
        const int full = g < wl->fullGroups;
        __m512i isum[MT];
        for (int t = 0; t < count; t++) isum[t] = _mm512_setzero_si512();
        const uint8_t *ug = full ? u + g * 512 : u + wl->fullGroups * 512 + (g - wl->fullGroups) * 64;
        const size_t aOffset = (size_t)(ug - u);
        const int slabs = full ? 8 : 1;
        for (int j = 0; j < slabs; j++) {
            __m512i wv = _mm512_load_si512(ug + j * 64);
            for (int t = 0; t < count; t++) {
                isum[t] = _mm512_dpbusd_epi32(isum[t], wv,
                                              _mm512_load_si512(a + t * aStride + aOffset + j * 64));
            }
        }
        __m512 dv, mv;
        if (full) {
            dv = ck_load_f16x16(dw + g * 16);
            mv = ck_load_f16x16(mw + g * 16);
        } else {
            const int32_t block0 = wl->fullGroups * 16 + 2 * (g - wl->fullGroups);
            dv = ck_load_f16_pair(dw + block0);
            mv = ck_load_f16_pair(mw + block0);
        }
        for (int t = 0; t < count; t++) {
            const uint8_t *at = a + t * aStride;
            __m512 s = _mm512_mul_ps(dv, _mm512_loadu_ps((const float *)(at + al->scaleOffset) + g * 16));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), s, acc[t]);
            acc[t] = _mm512_fmadd_ps(mv, _mm512_loadu_ps((const float *)(at + al->sumOffset) + g * 16), acc[t]);
        }
    }
    for (int t = 0; t < count; t++) {
        const float r = ck_hsum16(acc[t]);
        y[t * yStride] = accumulate ? y[t * yStride] + r : r;
    }
}

/// One weight row against `count` (<= MT) activation rows, unpacking in registers: for small
/// batches (batched decode), where unpacking through scratch costs more than it saves.
CK_AVX512_TARGET CK_INLINE void dot_rows_q4(const uint8_t *w, const ck_q4_layout *wl, const uint8_t *a, size_t aStride,
                                             const ck_act_layout *al, int count, float *y, size_t yStride,
                                             int32_t accumulate) {
    const uint16_t *dw = (const uint16_t *)(w + wl->scaleOffset);
    const uint16_t *mw = (const uint16_t *)(w + wl->minOffset);
    __m512 acc[MT];
    for (int t = 0; t < count; t++) acc[t] = _mm512_setzero_ps();
    for (int32_t g = 0; g < wl->fullGroups + wl->tailPairs; g++) {
        const int full = g < wl->fullGroups;
        __m512i wv[8];
        size_t aOffset;
        __m512 dv, mv;
        if (full) {
            for (int p = 0; p < 4; p++) unpack_nibbles(_mm512_loadu_si512(w + g * 256 + p * 64), &wv[p], &wv[p + 4]);
            aOffset = (size_t)g * 512;
            dv = ck_load_f16x16(dw + g * 16);
            mv = ck_load_f16x16(mw + g * 16);
        } else {
            const int32_t pair = g - wl->fullGroups;
            wv[0] = unpack_tail_q4(w + wl->fullGroups * 256 + pair * 32);
            aOffset = (size_t)wl->fullGroups * 512 + (size_t)pair * 64;
            dv = ck_load_f16_pair(dw + wl->fullGroups * 16 + 2 * pair);
            mv = ck_load_f16_pair(mw + wl->fullGroups * 16 + 2 * pair);
        }
        const int slabs = full ? 8 : 1;
        for (int t = 0; t < count; t++) {
            const uint8_t *at = a + t * aStride;
            __m512i isum = _mm512_setzero_si512();
            for (int j = 0; j < slabs; j++) isum = _mm512_dpbusd_epi32(isum, wv[j], _mm512_load_si512(at + aOffset + j * 64));
            __m512 s = _mm512_mul_ps(dv, _mm512_loadu_ps((const float *)(at + al->scaleOffset) + g * 16));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), s, acc[t]);
            acc[t] = _mm512_fmadd_ps(mv, _mm512_loadu_ps((const float *)(at + al->sumOffset) + g * 16), acc[t]);
        }
    }
    for (int t = 0; t < count; t++) {
        const float r = ck_hsum16(acc[t]);
        y[t * yStride] = accumulate ? y[t * yStride] + r : r;
    }
}

#define CK_TARGET CK_AVX512_TARGET
#include "matmul_q4.h"

CK_AVX512_TARGET void ck_matmul_q4_avx512(const uint8_t *w, size_t wStride, int32_t nRows,
                                          const uint8_t *a, size_t aStride, int32_t mRows, int32_t k,
                                          float *y, size_t yStride, int32_t accumulate, uint8_t *scratch) {
    matmul_q4(w, wStride, nRows, a, aStride, mRows, k, y, yStride, accumulate, scratch);
}

// --- 8-bit weights ---------------------------------------------------------------------------

/// One weight row against `count` (<= MT) activation rows.
CK_AVX512_TARGET CK_INLINE void dot_tile_q8(const uint8_t *w, const ck_q8_layout *wl,
                                             const uint8_t *a, size_t aStride, const ck_act_layout *al,
                                             int count, float *y, size_t yStride, int32_t accumulate) {
    const uint16_t *dw = (const uint16_t *)(w + wl->scaleOffset);
    __m512 acc[MT];
    for (int t = 0; t < count; t++) acc[t] = _mm512_setzero_ps();
    const int32_t lanes = wl->fullGroups + wl->tailPairs;
    for (int32_t g = 0; g < lanes; g++) {
        const int full = g < wl->fullGroups;
        // With few rows, a second set of integer accumulators (odd slabs) shortens the chains.
        const int split = count <= 4;
        __m512i isum[MT], isumOdd[4];
        for (int t = 0; t < count; t++) isum[t] = _mm512_setzero_si512();
        if (split) for (int t = 0; t < count; t++) isumOdd[t] = _mm512_setzero_si512();
        const size_t offset = full ? (size_t)g * 512 : (size_t)wl->fullGroups * 512 + (size_t)(g - wl->fullGroups) * 64;
        const int slabs = full ? 8 : 1;
        for (int j = 0; j < slabs; j++) {
            __m512i wv = _mm512_loadu_si512(w + offset + j * 64);
            for (int t = 0; t < count; t++) {
                __m512i av = _mm512_load_si512(a + t * aStride + offset + j * 64);
                if (split && (j & 1)) isumOdd[t] = _mm512_dpbusd_epi32(isumOdd[t], wv, av);
                else isum[t] = _mm512_dpbusd_epi32(isum[t], wv, av);
            }
        }
        if (split) for (int t = 0; t < count; t++) isum[t] = _mm512_add_epi32(isum[t], isumOdd[t]);
        __m512 dv = full ? ck_load_f16x16(dw + g * 16)
                         : ck_load_f16_pair(dw + wl->fullGroups * 16 + 2 * (g - wl->fullGroups));
        for (int t = 0; t < count; t++) {
            const uint8_t *at = a + t * aStride;
            __m512i bias = _mm512_load_si512((const int32_t *)(at + al->biasOffset) + g * 16);
            __m512 s = _mm512_mul_ps(dv, _mm512_loadu_ps((const float *)(at + al->scaleOffset) + g * 16));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(isum[t], bias)), s, acc[t]);
        }
    }
    for (int t = 0; t < count; t++) {
        const float r = ck_hsum16(acc[t]);
        y[t * yStride] = accumulate ? y[t * yStride] + r : r;
    }
}

CK_AVX512_TARGET void ck_matmul_q8_avx512(const uint8_t *w, size_t wStride, int32_t nRows,
                                          const uint8_t *a, size_t aStride, int32_t mRows, int32_t k,
                                          float *y, size_t yStride, int32_t accumulate) {
    const ck_q8_layout wl = ck_q8_layout_for(k);
    const ck_act_layout al = ck_act_layout_for(k);
    if (mRows <= MT) prefetch_first(w, wStride, nRows);
    for (int32_t n0 = 0; n0 < nRows; n0 += CK_UNPACKED_ROWS) {
        const int32_t rows = nRows - n0 < CK_UNPACKED_ROWS ? nRows - n0 : CK_UNPACKED_ROWS;
        int32_t m = 0;
        // A batch of at most MT rows (decode) takes the prefetching loop below, as it streams the
        // weights once.
        for (; mRows > MT && m + MT <= mRows; m += MT) {
            for (int32_t i = 0; i < rows; i++) {
                dot_tile_q8(w + (size_t)(n0 + i) * wStride, &wl, a + m * aStride, aStride, &al, MT,
                            y + m * yStride + n0 + i, yStride, accumulate);
            }
        }
        if (m < mRows) {
            for (int32_t i = 0; i < rows; i++) {
                const uint8_t *wi = w + (size_t)(n0 + i) * wStride;
                prefetch_ahead(w, wStride, n0 + i, nRows);
                float *yi = y + m * yStride + n0 + i;
                switch (mRows - m) {
                case 1: dot_tile_q8(wi, &wl, a + m * aStride, aStride, &al, 1, yi, yStride, accumulate); break;
                case 2: dot_tile_q8(wi, &wl, a + m * aStride, aStride, &al, 2, yi, yStride, accumulate); break;
                case 3: dot_tile_q8(wi, &wl, a + m * aStride, aStride, &al, 3, yi, yStride, accumulate); break;
                case 4: dot_tile_q8(wi, &wl, a + m * aStride, aStride, &al, 4, yi, yStride, accumulate); break;
                case 5: dot_tile_q8(wi, &wl, a + m * aStride, aStride, &al, 5, yi, yStride, accumulate); break;
                case 6: dot_tile_q8(wi, &wl, a + m * aStride, aStride, &al, 6, yi, yStride, accumulate); break;
                case 7: dot_tile_q8(wi, &wl, a + m * aStride, aStride, &al, 7, yi, yStride, accumulate); break;
                default: dot_tile_q8(wi, &wl, a + m * aStride, aStride, &al, MT, yi, yStride, accumulate); break;
                }
            }
        }
    }
}

// --- float weights ---------------------------------------------------------------------------

/// The lane sums of 16 accumulators, lane r holding acc[r]'s, each summed in ck_hsum16's order
/// (l + l+8, then + l+4, + l+2, + l+1), so the bits are those of 16 ck_hsum16 calls. The sums of
/// all 16 go down the tree together (a transpose as it reduces): about two shuffles and one add
/// per output instead of a whole horizontal sum each, which dominates when k is as short as a
/// LoRA rank.
CK_AVX512_TARGET static inline __m512 hsum16x16(const __m512 acc[16]) {
    __m512 s[8], t[4], u[2];
    for (int j = 0; j < 8; j++) {
        // Rows 2j, 2j+1: lanes l and l+8 of each.
        s[j] = _mm512_add_ps(_mm512_shuffle_f32x4(acc[2 * j], acc[2 * j + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_f32x4(acc[2 * j], acc[2 * j + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    }
    for (int q = 0; q < 4; q++) {
        // Chunk c: row 4q+c, lanes l and l+4.
        t[q] = _mm512_add_ps(_mm512_shuffle_f32x4(s[2 * q], s[2 * q + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(s[2 * q], s[2 * q + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    }
    for (int p = 0; p < 2; p++) {
        // Chunk c: rows 8p+c and 8p+4+c, lanes l and l+2.
        u[p] = _mm512_add_ps(_mm512_shuffle_ps(t[2 * p], t[2 * p + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(t[2 * p], t[2 * p + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    }
    // Lane 4c+j: row c+4j, lanes 0 and 1; then each row to its own lane.
    const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(u[0], u[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_ps(u[0], u[1], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), r);
}

CK_AVX512_TARGET void ck_matmul_f32_avx512(const float *w, size_t wStride, int32_t nRows,
                                           const float *x, size_t xStride, int32_t mRows, int32_t k,
                                           float *y, size_t yStride, int32_t accumulate) {
    int32_t n0 = 0;
    // Whole blocks of 16 weight rows: each activation row against all 16 at once, the sums
    // reduced together.
    for (; n0 + 16 <= nRows; n0 += 16) {
        for (int32_t m = 0; m < mRows; m++) {
            const float *xm = x + (size_t)m * xStride;
            __m512 acc[16];
            for (int r = 0; r < 16; r++) acc[r] = _mm512_setzero_ps();
            for (int32_t i = 0; i < k; i += 16) {
                const __m512 xv = _mm512_loadu_ps(xm + i);
                for (int r = 0; r < 16; r++) {
                    acc[r] = _mm512_fmadd_ps(_mm512_loadu_ps(w + (size_t)(n0 + r) * wStride + i), xv, acc[r]);
                }
            }
            float *out = y + (size_t)m * yStride + n0;
            const __m512 sums = hsum16x16(acc);
            _mm512_storeu_ps(out, accumulate ? _mm512_add_ps(_mm512_loadu_ps(out), sums) : sums);
        }
    }
    for (int32_t n = n0; n < nRows; n++) {
        const float *wn = w + (size_t)n * wStride;
        for (int32_t m0 = 0; m0 < mRows; m0 += MT) {
            const int count = mRows - m0 < MT ? mRows - m0 : MT;
            __m512 acc[MT];
            for (int t = 0; t < count; t++) acc[t] = _mm512_setzero_ps();
            for (int32_t i = 0; i < k; i += 16) {
                __m512 wv = _mm512_loadu_ps(wn + i);
                for (int t = 0; t < count; t++) {
                    acc[t] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + (size_t)(m0 + t) * xStride + i), acc[t]);
                }
            }
            for (int t = 0; t < count; t++) {
                const float r = ck_hsum16(acc[t]);
                float *out = y + (size_t)(m0 + t) * yStride + n;
                *out = accumulate ? *out + r : r;
            }
        }
    }
}

#endif
