// SIMD kernels for InferenceRuntime: the few loops where Swift SIMD cannot reach the machine's
// int8 dot-product and half-float instructions. Every inference function here has a Swift
// reference implementation in Sources/InferenceRuntime/Kernels/ReferenceKernels.swift that the
// tests compare against. Functions ending in _avx512 require ck_cpu_features() & CK_AVX512; each
// has an _avx2 twin (declared after it) that requires CK_AVX2 and computes the same bits. The
// training loops (ck_train_*) are plain C that runs on any CPU.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// AVX-512 F/BW/VL/VNNI with F16C and FMA, enabled by the OS.
#define CK_AVX512 1u
/// AVX2 with FMA and F16C (x86-64-v3), enabled by the OS.
#define CK_AVX2 2u

uint32_t ck_cpu_features(void);

/// Spin-wait hint for busy loops.
static inline void ck_pause(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

// ---------------------------------------------------------------------------------------------
// Packed layouts. Weights and activations are regrouped once (weights at load, activations once
// per matmul input) so that one 32-bit lane of a 512-bit register holds the integer dot product
// of one whole 32-element block: "full groups" of 16 blocks. The blocks left over at the end of
// a row ("tail") are handled two per register in their natural order.
//
// Full group g, activation slab j (0..7), lane b (0..15): bytes 4j..4j+3 of block 16g+b.
// Tail pair p (blocks A, B): 64 bytes [A 0..15, B 0..15, A 16..31, B 16..31]; lanes 0-3 and
// 8-11 belong to A, 4-7 and 12-15 to B.
// ---------------------------------------------------------------------------------------------

typedef struct {
    int32_t blocks;       // k / 32
    int32_t fullGroups;   // blocks / 16
    int32_t tailPairs;    // ceil((blocks % 16) / 2)
    int32_t scaleOffset;  // float da[16 per group or pair]
    int32_t sumOffset;    // float sa[...]: d * sum(q) per block (tail lanes: / 8)
    int32_t biasOffset;   // int32 128 * sum(q) per block (tail lanes: per 4 bytes)
    int32_t rowBytes;     // multiple of 64
} ck_act_layout;

static inline int32_t ck_round_up(int32_t x, int32_t m) { return (x + m - 1) / m * m; }

/// Splits a row of k elements (a multiple of 32) into blocks of 32: full groups of 16 blocks, then
/// the rest in tail pairs. Returns the block count rounded up to whole pairs (per-block arrays).
static inline int32_t ck_split_blocks(int32_t k, int32_t *blocks, int32_t *fullGroups, int32_t *tailPairs) {
    *blocks = k / 32;
    *fullGroups = *blocks / 16;
    *tailPairs = (*blocks % 16 + 1) / 2;
    return *fullGroups * 16 + *tailPairs * 2;
}

static inline ck_act_layout ck_act_layout_for(int32_t k) {
    ck_act_layout l;
    ck_split_blocks(k, &l.blocks, &l.fullGroups, &l.tailPairs);
    int32_t lanes = 16 * (l.fullGroups + l.tailPairs);
    l.scaleOffset = ck_round_up(l.fullGroups * 512 + l.tailPairs * 64, 64);
    l.sumOffset = l.scaleOffset + lanes * 4;
    l.biasOffset = l.sumOffset + lanes * 4;
    l.rowBytes = ck_round_up(l.biasOffset + lanes * 4, 64);
    return l;
}

/// Packed 4-bit weights (from Q4_0 or Q4_1): value = d * q + m with q in 0...15.
/// Full group: 4 slabs of 64 bytes; slab p lane b byte i holds element 4p+i of block 16g+b in its
/// low nibble and element 16+4p+i in its high nibble. Tail pair: the two blocks' 16 quant bytes
/// (A then B, zero for a missing B). Then f16 d and f16 m per block (count rounded up to even).
typedef struct {
    int32_t blocks, fullGroups, tailPairs;
    int32_t scaleOffset;  // f16 d[paddedBlocks]
    int32_t minOffset;    // f16 m[paddedBlocks]
    int32_t rowBytes;
} ck_q4_layout;

static inline ck_q4_layout ck_q4_layout_for(int32_t k) {
    ck_q4_layout l;
    int32_t padded = ck_split_blocks(k, &l.blocks, &l.fullGroups, &l.tailPairs);
    l.scaleOffset = l.fullGroups * 256 + l.tailPairs * 32;
    l.minOffset = l.scaleOffset + padded * 2;
    l.rowBytes = l.minOffset + padded * 2;
    return l;
}

/// Packed 8-bit weights (from Q8_0): value = d * (u - 128) with u in 0...255.
/// Full group: 8 slabs of 64 bytes like the activations. Tail pair: 64 bytes in the activations'
/// tail order (128 where B is missing). Then f16 d per block (count rounded up to even).
typedef struct {
    int32_t blocks, fullGroups, tailPairs;
    int32_t scaleOffset;
    int32_t rowBytes;
} ck_q8_layout;

static inline ck_q8_layout ck_q8_layout_for(int32_t k) {
    ck_q8_layout l;
    int32_t padded = ck_split_blocks(k, &l.blocks, &l.fullGroups, &l.tailPairs);
    l.scaleOffset = l.fullGroups * 512 + l.tailPairs * 64;
    l.rowBytes = l.scaleOffset + padded * 2;
    return l;
}

/// Quantizes `rows` rows of k floats (k a multiple of 32) to packed int8 activations:
/// per block d = amax / 127, q = round-half-even(x * (127 / amax)).
void ck_quantize_rows_avx512(const float *x, size_t xStride, int32_t rows, int32_t k,
                             uint8_t *out, size_t outStride);
void ck_quantize_rows_avx2(const float *x, size_t xStride, int32_t rows, int32_t k,
                           uint8_t *out, size_t outStride);

/// Weight rows unpacked together by the 4-bit kernel: each tile of activation rows is run
/// against all of them while it is in L1.
#define CK_UNPACKED_ROWS 16

/// y[m * yStride + n] = dot(weight row n, activation row m) for n < nRows, m < mRows; with
/// `accumulate`, y[m * yStride + n] += that (a residual connection). `scratch` holds
/// CK_UNPACKED_ROWS * ck_act_layout_for(k).scaleOffset bytes, 64-byte aligned.
void ck_matmul_q4_avx512(const uint8_t *w, size_t wStride, int32_t nRows,
                         const uint8_t *a, size_t aStride, int32_t mRows, int32_t k,
                         float *y, size_t yStride, int32_t accumulate, uint8_t *scratch);
void ck_matmul_q4_avx2(const uint8_t *w, size_t wStride, int32_t nRows,
                       const uint8_t *a, size_t aStride, int32_t mRows, int32_t k,
                       float *y, size_t yStride, int32_t accumulate, uint8_t *scratch);
void ck_matmul_q8_avx512(const uint8_t *w, size_t wStride, int32_t nRows,
                         const uint8_t *a, size_t aStride, int32_t mRows, int32_t k,
                         float *y, size_t yStride, int32_t accumulate);
void ck_matmul_q8_avx2(const uint8_t *w, size_t wStride, int32_t nRows,
                       const uint8_t *a, size_t aStride, int32_t mRows, int32_t k,
                       float *y, size_t yStride, int32_t accumulate);

/// `count` elements of a row of ggml type `type` (its GGUF number) as f32, exactly as
/// RowDequantizer does; returns 0 for a type it does not handle.
int32_t ck_dequantize_row_avx512(uint32_t type, const void *source, float *y, int32_t count);
int32_t ck_dequantize_row_avx2(uint32_t type, const void *source, float *y, int32_t count);

/// Float weights and activations: y[m][n] = dot(w row n, x row m), 16 lanes over k (k % 16 == 0),
/// lanes summed pairwise (8, 4, 2, 1).
void ck_matmul_f32_avx512(const float *w, size_t wStride, int32_t nRows,
                          const float *x, size_t xStride, int32_t mRows, int32_t k,
                          float *y, size_t yStride, int32_t accumulate);
void ck_matmul_f32_avx2(const float *w, size_t wStride, int32_t nRows,
                        const float *x, size_t xStride, int32_t mRows, int32_t k,
                        float *y, size_t yStride, int32_t accumulate);

// ---------------------------------------------------------------------------------------------
// Attention over a paged f16 KV cache.
// A page holds `pagePositions` positions (a multiple of 16). For one layer and KV head, keys are
// stored in tiles of 16 positions, dimension-major (element (d, j) of a tile at d * 16 + j), so
// one 512-bit load gives one dimension of 16 keys; values are stored one row per position.
// ---------------------------------------------------------------------------------------------

typedef struct {
    const uint8_t *const *pages;  // base of each page of the sequence, in position order
    int32_t pagePositions;
    int32_t headDim;              // multiple of 16, at most 256
    size_t keyOffset;             // bytes from a page base to this layer and head's key tiles
    size_t valueOffset;           // ... and to its value rows
} ck_kv_view;

/// Positions per chunk of the weighted value sum (the unit of work when one token's attention
/// is split over threads). Chunks start at position 0, so they depend only on the position.
#define CK_ATTENTION_CHUNK 256

/// Scaled scores of `group` query heads (q: group rows of headDim floats) against the keys at
/// positions [start, end) (start a multiple of 16): scores[a * stride + j] for j in [start, end)
/// (up to the next multiple of 16 is written; entries past `end` are meaningless).
void ck_attention_scores_avx512(const float *q, int32_t group, const ck_kv_view *kv, int32_t start, int32_t end,
                                float scale, float *scores, size_t stride);
void ck_attention_scores_avx2(const float *q, int32_t group, const ck_kv_view *kv, int32_t start, int32_t end,
                              float scale, float *scores, size_t stride);

/// Softmax normalizer of scores[0 ..< length]: *maximum, and *inverseSum = 1 / sum(exp(s - max))
/// (the sum in double, 16 lanes at a time, as llama.cpp does).
void ck_softmax_normalizer_avx512(const float *scores, int32_t length, float *maximum, float *inverseSum);
void ck_softmax_normalizer_avx2(const float *scores, int32_t length, float *maximum, float *inverseSum);

/// p[j - start] = exp(scores[j] - maximum) * inverseSum rounded to half precision (llama.cpp
/// multiplies f16 probabilities with the f16 values), for j in [start, end).
void ck_softmax_probabilities_avx512(const float *scores, float maximum, float inverseSum, int32_t start,
                                     int32_t end, float *p);
void ck_softmax_probabilities_avx2(const float *scores, float maximum, float inverseSum, int32_t start,
                                   int32_t end, float *p);

/// out[a * headDim + d] = sum over j in [start, end) of p[a * pStride + j - start] * value_j[d],
/// sequential over j, for each of `group` heads.
void ck_attention_values_avx512(const float *p, size_t pStride, int32_t group, const ck_kv_view *kv, int32_t start,
                                int32_t end, float *out);
void ck_attention_values_avx2(const float *p, size_t pStride, int32_t group, const ck_kv_view *kv, int32_t start,
                              int32_t end, float *out);

/// log(sum(exp(x[i]))) over n floats: the maximum plus the log of a double sum of exponentials.
double ck_log_sum_exp_avx512(const float *x, int32_t n);
double ck_log_sum_exp_avx2(const float *x, int32_t n);

/// out[i] = silu(gate[i]) * up[i] with silu(g) = g / (1 + exp(-g)) and the kernels' exp.
void ck_silu_mul_avx512(const float *gate, const float *up, float *out, int32_t n);
void ck_silu_mul_avx2(const float *gate, const float *up, float *out, int32_t n);

/// Rounds n floats to the nearest half precision value in place (llama.cpp's f16 matmul converts
/// the queries so; attention scores see the same values).
void ck_round_to_half_avx512(float *x, int32_t n);
void ck_round_to_half_avx2(float *x, int32_t n);

/// Converts n floats to IEEE half (round to nearest even).
void ck_f32_to_f16_avx512(const float *x, uint16_t *y, int32_t n);
void ck_f32_to_f16_avx2(const float *x, uint16_t *y, int32_t n);


// ---------------------------------------------------------------------------------------------
// Training (f32 throughout; vectorized for the CPU the program runs on). Rows of `stride` floats.
// ---------------------------------------------------------------------------------------------

/// Causal softmax of each row over its first valid[i] columns: lse[i] = log(sum(exp(s))), then
/// s = exp(s - lse[i]) there and 0 over [valid[i], columns).
void ck_train_softmax(float *s, size_t stride, int32_t rows, const int32_t *valid, int32_t columns, float *lse);

/// The same probabilities from scores and a known lse (backward recomputes them).
void ck_train_softmax_recompute(float *s, size_t stride, int32_t rows, const int32_t *valid, int32_t columns,
                                const float *lse);

/// Gradient of the scores: dp = scale * p * (dp - d[i]) in place (d[i] = dot(dO, O) of the row).
void ck_train_softmax_backward(float *dp, const float *p, size_t stride, int32_t rows, int32_t columns,
                               const float *d, float scale);

/// h = silu(gate) * up.
void ck_train_swiglu(const float *gate, const float *up, float *h, int32_t n);

/// From dh: gate becomes d gate and up becomes d up, in place.
void ck_train_swiglu_backward(float *gate, float *up, const float *dh, int32_t n);

#ifdef __cplusplus
}
#endif

#endif
