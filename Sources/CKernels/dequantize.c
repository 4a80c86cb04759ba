#include "CKernels.h"
#include "simd.h"
#include "simd_avx2.h"
#include <string.h>

// Row conversion of the file's own tensor types to f32 for the float matmul path: ggml's block
// layouts and formulas, the same operations as RowDequantizer.swift (so the same bits). One body,
// built for AVX2 + F16C, serves both kernel sets (AVX-512 includes those features).

#if defined(__x86_64__)

CK_AVX2_TARGET CK_INLINE float half_at(const uint8_t *p) {
    uint16_t bits;
    memcpy(&bits, p, 2);
    return _cvtsh_ss(bits);
}

CK_AVX2_TARGET CK_INLINE void scale_min(int j, const uint8_t *s, float *scale, float *min) {
    if (j < 4) {
        *scale = (float)(s[j] & 63);
        *min = (float)(s[j + 4] & 63);
    } else {
        *scale = (float)((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
        *min = (float)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

CK_AVX2_TARGET CK_INLINE int32_t dequantize_row(uint32_t type, const void *source, float *y, int32_t count) {
    const uint8_t *x = (const uint8_t *)source;
    switch (type) {
    case 0:  // F32
        memcpy(y, x, (size_t)count * 4);
        return 1;
    case 1:  // F16
        for (int32_t i = 0; i + 8 <= count; i += 8) _mm256_storeu_ps(y + i, ck_load_f16x8(x + 2 * i));
        for (int32_t i = count / 8 * 8; i < count; i++) y[i] = half_at(x + 2 * i);
        return 1;
    case 30:  // BF16
        for (int32_t i = 0; i < count; i++) {
            uint16_t bits;
            memcpy(&bits, x + 2 * i, 2);
            uint32_t wide = (uint32_t)bits << 16;
            memcpy(y + i, &wide, 4);
        }
        return 1;
    case 8:  // Q8_0
        for (int32_t b = 0; b < count / 32; b++, x += 34, y += 32) {
            const float d = half_at(x);
            for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)x[2 + j] * d;
        }
        return 1;
    case 2:  // Q4_0
        for (int32_t b = 0; b < count / 32; b++, x += 18, y += 32) {
            const float d = half_at(x);
            for (int j = 0; j < 16; j++) {
                y[j] = (float)((x[2 + j] & 0x0F) - 8) * d;
                y[j + 16] = (float)((x[2 + j] >> 4) - 8) * d;
            }
        }
        return 1;
    case 3:  // Q4_1
        for (int32_t b = 0; b < count / 32; b++, x += 20, y += 32) {
            const float d = half_at(x), m = half_at(x + 2);
            for (int j = 0; j < 16; j++) {
                y[j] = (float)(x[4 + j] & 0x0F) * d + m;
                y[j + 16] = (float)(x[4 + j] >> 4) * d + m;
            }
        }
        return 1;
    case 6:  // Q5_0
    case 7:  // Q5_1
        for (int32_t b = 0; b < count / 32; b++, y += 32) {
            const int hasMin = type == 7;
            const float d = half_at(x), m = hasMin ? half_at(x + 2) : 0;
            uint32_t qh;
            memcpy(&qh, x + (hasMin ? 4 : 2), 4);
            const uint8_t *qs = x + (hasMin ? 8 : 6);
            for (int j = 0; j < 16; j++) {
                const int low = (qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
                const int high = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
                if (hasMin) {
                    y[j] = (float)low * d + m;
                    y[j + 16] = (float)high * d + m;
                } else {
                    y[j] = (float)(low - 16) * d;
                    y[j + 16] = (float)(high - 16) * d;
                }
            }
            x += hasMin ? 24 : 22;
        }
        return 1;
    case 12:  // Q4_K
    case 13:  // Q5_K
        for (int32_t b = 0; b < count / 256; b++, y += 256) {
            const int five = type == 13;
            const float d = half_at(x), dmin = half_at(x + 2);
            const uint8_t *scales = x + 4, *qh = x + 16, *ql = x + (five ? 48 : 16);
            for (int pair = 0; pair < 4; pair++) {
                float s1, m1, s2, m2;
                scale_min(2 * pair, scales, &s1, &m1);
                scale_min(2 * pair + 1, scales, &s2, &m2);
                const float d1 = d * s1, min1 = dmin * m1, d2 = d * s2, min2 = dmin * m2;
                const uint8_t lowBit = (uint8_t)(1u << (2 * pair)), highBit = (uint8_t)(2u << (2 * pair));
                const uint8_t *q = ql + 32 * pair;
                float *out = y + 64 * pair;
                for (int l = 0; l < 32; l++) {
                    const int extraLow = five && (qh[l] & lowBit) ? 16 : 0;
                    const int extraHigh = five && (qh[l] & highBit) ? 16 : 0;
                    out[l] = d1 * (float)((q[l] & 0x0F) + extraLow) - min1;
                    out[l + 32] = d2 * (float)((q[l] >> 4) + extraHigh) - min2;
                }
            }
            x += five ? 176 : 144;
        }
        return 1;
    case 14:  // Q6_K
        for (int32_t b = 0; b < count / 256; b++, x += 210, y += 256) {
            const float d = half_at(x + 208);
            for (int half = 0; half < 2; half++) {
                const uint8_t *ql = x + 64 * half, *qh = x + 128 + 32 * half;
                const int8_t *sc = (const int8_t *)(x + 192 + 8 * half);
                float *out = y + 128 * half;
                for (int l = 0; l < 32; l++) {
                    const int s = l / 16;
                    const int q1 = ((ql[l] & 0x0F) | ((qh[l] >> 0) & 3) << 4) - 32;
                    const int q2 = ((ql[l + 32] & 0x0F) | ((qh[l] >> 2) & 3) << 4) - 32;
                    const int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                    const int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                    out[l] = d * (float)sc[s] * (float)q1;
                    out[l + 32] = d * (float)sc[s + 2] * (float)q2;
                    out[l + 64] = d * (float)sc[s + 4] * (float)q3;
                    out[l + 96] = d * (float)sc[s + 6] * (float)q4;
                }
            }
        }
        return 1;
    default:
        return 0;
    }
}

CK_AVX512_TARGET int32_t ck_dequantize_row_avx512(uint32_t type, const void *source, float *y, int32_t count) {
    return dequantize_row(type, source, y, count);
}

CK_AVX2_TARGET int32_t ck_dequantize_row_avx2(uint32_t type, const void *source, float *y, int32_t count) {
    return dequantize_row(type, source, y, count);
}

#endif
