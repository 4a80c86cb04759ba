// Addressing in the paged KV cache, shared by the attention kernels (internal header): plain
// pointer arithmetic, inlined into either kernel set.
#ifndef CK_KV_VIEW_H
#define CK_KV_VIEW_H

#include "CKernels.h"

/// The key tile (16 positions, dimension-major) holding `position`.
static inline __attribute__((always_inline)) const uint16_t *key_tile(const ck_kv_view *kv, int32_t position) {
    const uint8_t *page = kv->pages[position / kv->pagePositions];
    const int32_t tile = (position % kv->pagePositions) / 16;
    return (const uint16_t *)(page + kv->keyOffset) + (size_t)tile * kv->headDim * 16;
}

/// The value row of `position`.
static inline __attribute__((always_inline)) const uint16_t *value_row(const ck_kv_view *kv, int32_t position) {
    const uint8_t *page = kv->pages[position / kv->pagePositions];
    return (const uint16_t *)(page + kv->valueOffset) + (size_t)(position % kv->pagePositions) * kv->headDim;
}

#endif
