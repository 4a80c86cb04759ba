// The row loop of the activation quantizers (internal header): quantize.c and quantize_avx2.c
// each include it after their own quantize_block, with CK_TARGET set to their target attribute.
// Only the block quantizer differs between the kernel sets; the packed layout is written once.

/// The nearest half, as a float (activation scales are kept at half precision, as in llama.cpp's
/// Q8_0 / Q8_1 blocks, so products match its kernels).
CK_TARGET CK_INLINE float round_f16(float v) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtps_ph(_mm_set_ss(v), _MM_FROUND_TO_NEAREST_INT)));
}

/// ck_quantize_rows (CKernels.h) with the including file's quantize_block.
CK_TARGET CK_INLINE void quantize_rows(const float *x, size_t xStride, int32_t rows, int32_t k, uint8_t *out,
                                      size_t outStride) {
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
