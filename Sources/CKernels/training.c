#include "CKernels.h"
#include <math.h>
#include <string.h>

// Element-wise loops of the training pass, written so the compiler vectorizes them (16 lanes of
// accumulators, no branches in the inner loops); built for AVX2 + FMA and for any x86-64/ARM
// CPU, the variant chosen when the program loads.

#if defined(__x86_64__)
#define CK_TRAINING_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CK_TRAINING_CLONES
#endif

/// exp(x) for x <= 88.7 (the kernels' polynomial, ck_exp16); below -87.3 the result is at most
/// the smallest normal float, not exactly exp(x).
static inline float train_exp(float x) {
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.7f ? 88.7f : x;
    const float shift = 0x1.8p23f;
    const float z = x * 0x1.715476p+0f + shift;
    const float n = z - shift;
    float b = x - n * 0x1.62e4p-1f;
    b = b - n * 0x1.7f7d1cp-20f;
    const float u = b * b;
    const float high = (0x1.fffdb6p-2f + 0x1.555e66p-3f * b) + (0x1.573e2ep-5f + 0x1.0e4020p-7f * b) * u;
    const float j = (1.0f + 0x1.ffffecp-1f * b) + high * u;
    int32_t jb, zb, sb;
    memcpy(&jb, &j, 4);
    memcpy(&zb, &z, 4);
    const float s = shift;
    memcpy(&sb, &s, 4);
    const int32_t r = jb + ((zb - sb) << 23);
    float out;
    memcpy(&out, &r, 4);
    return out;
}

static inline float row_max(const float *s, int32_t n) {
    float m[16];
    for (int l = 0; l < 16; l++) m[l] = -INFINITY;
    int32_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) m[l] = s[j + l] > m[l] ? s[j + l] : m[l];
    float best = -INFINITY;
    for (int l = 0; l < 16; l++) best = m[l] > best ? m[l] : best;
    for (; j < n; j++) best = s[j] > best ? s[j] : best;
    return best;
}

/// Writes p = exp(s - shift) over [0, n) and 0 over [n, columns); returns the sum of p (16 lane
/// sums added in double).
static inline double exp_row(float *s, int32_t n, int32_t columns, float shift) {
    float acc[16] = {0};
    int32_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) {
            const float e = train_exp(s[j + l] - shift);
            s[j + l] = e;
            acc[l] += e;
        }
    double sum = 0;
    for (; j < n; j++) {
        s[j] = train_exp(s[j] - shift);
        sum += s[j];
    }
    for (int l = 0; l < 16; l++) sum += acc[l];
    for (j = n; j < columns; j++) s[j] = 0;
    return sum;
}

CK_TRAINING_CLONES
void ck_train_softmax(float *s, size_t stride, int32_t rows, const int32_t *valid, int32_t columns, float *lse) {
    for (int32_t i = 0; i < rows; i++) {
        float *row = s + (size_t)i * stride;
        const float m = row_max(row, valid[i]);
        const double sum = exp_row(row, valid[i], columns, m);
        const float l = m + (float)log(sum);
        lse[i] = l;
        const float inverse = (float)(1.0 / sum);
        for (int32_t j = 0; j < valid[i]; j++) row[j] *= inverse;
    }
}

CK_TRAINING_CLONES
void ck_train_softmax_recompute(float *s, size_t stride, int32_t rows, const int32_t *valid, int32_t columns,
                                const float *lse) {
    for (int32_t i = 0; i < rows; i++) exp_row(s + (size_t)i * stride, valid[i], columns, lse[i]);
}

CK_TRAINING_CLONES
void ck_train_softmax_backward(float *dp, const float *p, size_t stride, int32_t rows, int32_t columns,
                               const float *d, float scale) {
    for (int32_t i = 0; i < rows; i++) {
        float *g = dp + (size_t)i * stride;
        const float *pr = p + (size_t)i * stride;
        const float di = d[i];
        for (int32_t j = 0; j < columns; j++) g[j] = scale * pr[j] * (g[j] - di);
    }
}

CK_TRAINING_CLONES
void ck_train_swiglu(const float *gate, const float *up, float *h, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        const float g = gate[i];
        h[i] = g / (1.0f + train_exp(-g)) * up[i];
    }
}

CK_TRAINING_CLONES
void ck_train_swiglu_backward(float *gate, float *up, const float *dh, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        const float g = gate[i], u = up[i];
        const float sigma = 1.0f / (1.0f + train_exp(-g));
        const float silu = g * sigma;
        gate[i] = dh[i] * u * sigma * (1.0f + g * (1.0f - sigma));
        up[i] = dh[i] * silu;
    }
}
