#include "CKernels.h"

uint32_t ck_cpu_features(void) {
    uint32_t features = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    // __builtin_cpu_supports also checks that the OS saves the AVX / AVX-512 register state.
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    if (avx2) features |= CK_AVX2;
    if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
        features |= CK_AVX512;
    }
#endif
    return features;
}
