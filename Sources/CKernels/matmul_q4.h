// How the 4-bit product walks weight rows and activation tiles (internal header): matmul.c and
// matmul_avx2.c each include it after their own kernels (dot_row_q4 for decode, dot_rows_q4 for
// small batches, unpack_row_q4 and dot_tile_q4 for prefill) and MT, PREFETCH_ROWS, with
// CK_TARGET set to their target attribute. Only those kernels differ between the sets.

/// Fetches weight row n (wStride bytes) into L2.
CK_INLINE void prefetch_row(const uint8_t *w, size_t wStride, int32_t n) {
    const char *row = (const char *)(w + (size_t)n * wStride);
    for (size_t line = 0; line < wStride; line += 64) _mm_prefetch(row + line, _MM_HINT_T1);
}

/// Fetches weight row n + PREFETCH_ROWS of a slice of nRows into L2 while row n is used, across
/// page boundaries where the hardware prefetcher stops; rows past the slice are left to the thread
/// that owns them.
CK_INLINE void prefetch_ahead(const uint8_t *w, size_t wStride, int32_t n, int32_t nRows) {
    if (n + PREFETCH_ROWS < nRows) prefetch_row(w, wStride, n + PREFETCH_ROWS);
}

/// Fetches the first PREFETCH_ROWS weight rows of a slice into L2 before they are used: the
/// stream of prefetch_ahead starts there, and without this each job's slice begins with that many
/// rows' worth of memory latency (150 jobs per decoded token).
CK_INLINE void prefetch_first(const uint8_t *w, size_t wStride, int32_t nRows) {
    for (int32_t n = 0; n < PREFETCH_ROWS && n < nRows; n++) prefetch_row(w, wStride, n);
}

/// ck_matmul_q4 (CKernels.h) with the including file's row and tile kernels.
CK_TARGET CK_INLINE void matmul_q4(const uint8_t *w, size_t wStride, int32_t nRows, const uint8_t *a, size_t aStride,
                                   int32_t mRows, int32_t k, float *y, size_t yStride, int32_t accumulate,
                                   uint8_t *scratch) {
    const ck_q4_layout wl = ck_q4_layout_for(k);
    const ck_act_layout al = ck_act_layout_for(k);
    if (mRows <= MT) prefetch_first(w, wStride, nRows);
    if (mRows == 1) {
        for (int32_t n = 0; n < nRows; n++) {
            // Decode streams the weights once.
            prefetch_ahead(w, wStride, n, nRows);
            dot_row_q4(w + (size_t)n * wStride, &wl, a, &al, y + n, accumulate);
        }
        return;
    }
    if (mRows <= MT) {
        for (int32_t n = 0; n < nRows; n++) {
            const uint8_t *wn = w + (size_t)n * wStride;
            // Small batches (batched decode) stream the weights once too.
            prefetch_ahead(w, wStride, n, nRows);
            // A constant row count keeps the accumulators in registers.
            switch (mRows) {
            case 2: dot_rows_q4(wn, &wl, a, aStride, &al, 2, y + n, yStride, accumulate); break;
            case 3: dot_rows_q4(wn, &wl, a, aStride, &al, 3, y + n, yStride, accumulate); break;
            case 4: dot_rows_q4(wn, &wl, a, aStride, &al, 4, y + n, yStride, accumulate); break;
            case 5: dot_rows_q4(wn, &wl, a, aStride, &al, 5, y + n, yStride, accumulate); break;
            case 6: dot_rows_q4(wn, &wl, a, aStride, &al, 6, y + n, yStride, accumulate); break;
            case 7: dot_rows_q4(wn, &wl, a, aStride, &al, 7, y + n, yStride, accumulate); break;
            default: dot_rows_q4(wn, &wl, a, aStride, &al, 8, y + n, yStride, accumulate); break;
            }
        }
        return;
    }
    const size_t unpacked = (size_t)al.scaleOffset;
    for (int32_t n0 = 0; n0 < nRows; n0 += CK_UNPACKED_ROWS) {
        const int32_t rows = nRows - n0 < CK_UNPACKED_ROWS ? nRows - n0 : CK_UNPACKED_ROWS;
        for (int32_t i = 0; i < rows; i++) unpack_row_q4(w + (size_t)(n0 + i) * wStride, &wl, scratch + i * unpacked);
        int32_t m = 0;
        for (; m + MT <= mRows; m += MT) {
            for (int32_t i = 0; i < rows; i++) {
                dot_tile_q4(w + (size_t)(n0 + i) * wStride, &wl, scratch + i * unpacked, a + m * aStride, aStride, &al,
                            MT, y + m * yStride + n0 + i, yStride, accumulate);
            }
        }
        if (m < mRows) {
            for (int32_t i = 0; i < rows; i++) {
                const uint8_t *wi = w + (size_t)(n0 + i) * wStride, *ui = scratch + i * unpacked;
                float *yi = y + m * yStride + n0 + i;
                switch (mRows - m) {
                case 1: dot_tile_q4(wi, &wl, ui, a + m * aStride, aStride, &al, 1, yi, yStride, accumulate); break;
                case 2: dot_tile_q4(wi, &wl, ui, a + m * aStride, aStride, &al, 2, yi, yStride, accumulate); break;
                case 3: dot_tile_q4(wi, &wl, ui, a + m * aStride, aStride, &al, 3, yi, yStride, accumulate); break;
                case 4: dot_tile_q4(wi, &wl, ui, a + m * aStride, aStride, &al, 4, yi, yStride, accumulate); break;
                case 5: dot_tile_q4(wi, &wl, ui, a + m * aStride, aStride, &al, 5, yi, yStride, accumulate); break;
                case 6: dot_tile_q4(wi, &wl, ui, a + m * aStride, aStride, &al, 6, yi, yStride, accumulate); break;
                default: dot_tile_q4(wi, &wl, ui, a + m * aStride, aStride, &al, 7, yi, yStride, accumulate); break;
                }
            }
        }
    }
}
