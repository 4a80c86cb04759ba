// Core cycles per output of popi's AVX-512 4-bit and 8-bit matrix products (Sources/CKernels),
// for one activation row (decode) and eight (batched decode), with the weights in cache: what a
// product costs when memory is not what it waits on. bench/kernel-cycles.sh builds and runs it.
//
// Prints, per matrix shape of SmolLM2-135M, microseconds per product and cycles per output at the
// clock measured first (a chain of dependent integer additions, one per cycle). The head (49152
// rows, 30 MB) does not fit in cache, so its figure includes reading it from memory.
#include "CKernels.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/// Cycles per second: 4 dependent additions per iteration, each one cycle.
static double clock_hz(void) {
    uint64_t x = 0;
    const long iterations = 200000000;
    const double start = now();
    for (long i = 0; i < iterations; i++) {
        __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(x));
    }
    return 4.0 * iterations / (now() - start);
}

int main(void) {
    if (!(ck_cpu_features() & CK_AVX512)) {
        fprintf(stderr, "kernel-cycles: this CPU has no AVX-512 (VNNI); popi runs its AVX2 kernels here\n");
        return 1;
    }
    const double hz = clock_hz();
    printf("clock %.2f GHz\n", hz / 1e9);
    // Rows x columns: q and o, k and v, gate and up, down, the tied output head (8-bit).
    const struct { const char *name; int n, k, q8; } shapes[] = {
        {"q, o", 576, 576, 0}, {"k, v", 192, 576, 0}, {"gate, up", 1536, 576, 0}, {"down", 576, 1536, 0},
        {"head (8-bit)", 49152, 576, 1}};
    srand(1);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int n = shapes[s].n, k = shapes[s].k, q8 = shapes[s].q8;
        const size_t wStride = q8 ? (size_t)ck_q8_layout_for(k).rowBytes : (size_t)ck_q4_layout_for(k).rowBytes;
        const ck_act_layout al = ck_act_layout_for(k);
        uint8_t *w = aligned_alloc(64, (wStride * n + 63) / 64 * 64);
        // Small bytes keep every f16 scale finite; the products' speed does not depend on values.
        for (size_t i = 0; i < wStride * n; i++) w[i] = (uint8_t)(rand() & 0x3f);
        float *x = malloc(sizeof(float) * k * 8);
        for (int i = 0; i < k * 8; i++) x[i] = (float)((double)rand() / RAND_MAX - 0.5);
        uint8_t *a = aligned_alloc(64, (size_t)al.rowBytes * 8);
        ck_quantize_rows_avx512(x, k, 8, k, a, al.rowBytes);
        float *y = malloc(sizeof(float) * 8 * n);
        uint8_t *scratch = aligned_alloc(64, CK_UNPACKED_ROWS * (size_t)al.scaleOffset + 64);
        for (int m = 1; m <= 8; m += 7) {
            const int repeats = q8 ? 10 : 400;
            double best = 1e9;
            for (int round = 0; round < 5; round++) {
                const double start = now();
                for (int r = 0; r < repeats; r++) {
                    if (q8) ck_matmul_q8_avx512(w, wStride, n, a, al.rowBytes, m, k, y, n, 0);
                    else ck_matmul_q4_avx512(w, wStride, n, a, al.rowBytes, m, k, y, n, 0, scratch);
                }
                const double seconds = (now() - start) / repeats;
                if (seconds < best) best = seconds;
            }
            printf("%-13s %5d x %4d, %d row%s: %8.1f us, %5.1f cycles per output\n", shapes[s].name, n, k, m,
                   m == 1 ? " " : "s", best * 1e6, best * hz / ((double)n * m));
        }
        free(w); free(x); free(a); free(y); free(scratch);
    }
    return 0;
}
