// Streaming read bandwidth of this machine (bench/ceilings.sh, bench/runtime-vs-llamacpp.sh): single-stream
// decode reads every weight once per token, so bandwidth / bytes per token bounds its tokens/s.
//
//   memory-bandwidth THREADS [MiB]
//
// Each thread sums its own slice of a buffer far larger than the last-level cache, 10 passes
// after one untimed pass; prints GB/s (10^9 bytes) of the best pass.
#include <pthread.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/// One cache line as a vector (GCC and Clang vector extension).
typedef uint64_t line __attribute__((vector_size(64), aligned(64)));

static uint64_t *buffer;
static size_t words;
static int threadCount;
static pthread_barrier_t barrier;
static volatile uint64_t sink;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double seconds[11];

static void *reader(void *argument) {
    const size_t index = (size_t)argument, part = words / threadCount;
    const uint64_t *p = buffer + index * part;
    for (int pass = 0; pass < 11; pass++) {
        pthread_barrier_wait(&barrier);
        const double start = now();
        // Four independent vector sums of a cache line each, so the loop waits on memory rather
        // than on additions.
        const line *lines = (const line *)p;
        line s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
        for (size_t i = 0; i < part / 8; i += 4) {
            s0 += lines[i];
            s1 += lines[i + 1];
            s2 += lines[i + 2];
            s3 += lines[i + 3];
        }
        const line s = s0 + s1 + s2 + s3;
        for (int j = 0; j < 8; j++) sink += s[j];
        pthread_barrier_wait(&barrier);
        if (index == 0) seconds[pass] = now() - start;
    }
    return NULL;
}

int main(int argc, char **argv) {
    threadCount = argc > 1 ? atoi(argv[1]) : 1;
    const size_t mib = argc > 2 ? (size_t)atoi(argv[2]) : 512;
    if (threadCount < 1 || threadCount > 256 || mib < 64) {
        fprintf(stderr, "usage: memory-bandwidth THREADS [MiB >= 64]\n");
        return 2;
    }
    words = (mib << 20) / 8 / (32 * (size_t)threadCount) * 32 * (size_t)threadCount;
    // 2 MiB aligned and offered to transparent huge pages, as popi's weight arena is.
    const size_t huge = 2u << 20, bytes = (words * 8 + huge - 1) / huge * huge;
    buffer = aligned_alloc(huge, bytes);
    if (buffer) madvise(buffer, bytes, MADV_HUGEPAGE);
    if (!buffer) {
        fprintf(stderr, "memory-bandwidth: cannot allocate %zu MiB\n", mib);
        return 1;
    }
    memset(buffer, 1, words * 8);
    pthread_barrier_init(&barrier, NULL, (unsigned)threadCount);
    pthread_t threads[256];
    for (int i = 1; i < threadCount; i++) pthread_create(&threads[i], NULL, reader, (void *)(size_t)i);
    reader((void *)0);
    for (int i = 1; i < threadCount; i++) pthread_join(threads[i], NULL);
    double best = seconds[1];
    for (int pass = 2; pass < 11; pass++) if (seconds[pass] < best) best = seconds[pass];
    printf("%.2f\n", words * 8.0 / best / 1e9);
    return 0;
}
