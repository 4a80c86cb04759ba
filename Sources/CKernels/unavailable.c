#include "CKernels.h"

// Off x86-64 there are no SIMD kernels: ck_cpu_features() reports neither set, so KernelSet never
// picks them, but the Swift dispatch names them, so each set's functions link to a trap.

#if !defined(__x86_64__)

/// The AVX-512 and AVX2 entry points of one kernel, both trapping.
#define CK_UNAVAILABLE(type, name, ...)                       \
    type name##_avx512(__VA_ARGS__) { __builtin_trap(); } \
    type name##_avx2(__VA_ARGS__) { __builtin_trap(); }

CK_UNAVAILABLE(void, ck_quantize_rows, const float *x, size_t xStride, int32_t rows, int32_t k, uint8_t *out,
               size_t outStride)
CK_UNAVAILABLE(void, ck_matmul_q4, const uint8_t *w, size_t wStride, int32_t nRows, const uint8_t *a, size_t aStride,
               int32_t mRows, int32_t k, float *y, size_t yStride, int32_t accumulate, uint8_t *scratch)
CK_UNAVAILABLE(void, ck_matmul_q8, const uint8_t *w, size_t wStride, int32_t nRows, const uint8_t *a, size_t aStride,
               int32_t mRows, int32_t k, float *y, size_t yStride, int32_t accumulate)
CK_UNAVAILABLE(int32_t, ck_dequantize_row, uint32_t type, const void *source, float *y, int32_t count)
CK_UNAVAILABLE(void, ck_matmul_f32, const float *w, size_t wStride, int32_t nRows, const float *x, size_t xStride,
               int32_t mRows, int32_t k, float *y, size_t yStride, int32_t accumulate)
CK_UNAVAILABLE(void, ck_attention_scores, const float *q, int32_t group, const ck_kv_view *kv, int32_t start,
               int32_t end, float scale, float *scores, size_t stride)
CK_UNAVAILABLE(void, ck_softmax_normalizer, const float *scores, int32_t length, float *maximum, float *inverseSum)
CK_UNAVAILABLE(void, ck_softmax_probabilities, const float *scores, float maximum, float inverseSum, int32_t start,
               int32_t end, float *p)
CK_UNAVAILABLE(void, ck_attention_values, const float *p, size_t pStride, int32_t group, const ck_kv_view *kv,
               int32_t start, int32_t end, float *out)
CK_UNAVAILABLE(double, ck_log_sum_exp, const float *x, int32_t n)
CK_UNAVAILABLE(void, ck_silu_mul, const float *gate, const float *up, float *out, int32_t n)
CK_UNAVAILABLE(void, ck_round_to_half, float *x, int32_t n)
CK_UNAVAILABLE(void, ck_f32_to_f16, const float *x, uint16_t *y, int32_t n)

#endif
