import CKernels

/// y = x · Wᵀ (or y += x · Wᵀ with `accumulate`, a residual connection) for a slice of W's rows:
/// `y[m * yStride + n]` for every input row m and every n in `rows`. Each output is computed in an order that depends on neither the slice nor the number
/// of input rows.
enum MatMul {
    static func multiply(_ w: PackedMatrix, rows: Range<Int>, input: MatMulInput,
                         y: UnsafeMutablePointer<Float>, yStride: Int, accumulate: Bool = false,
                         scratch: KernelScratch, kernels: KernelSet) {
        guard !rows.isEmpty, input.rows > 0 else { return }
        let k = w.columns
        let out = y + rows.lowerBound
        switch w.format {
        case .q4, .q8:
            let a = input.quantized!
            guard kernels != .portable else {
                let product = w.format == .q4 ? ReferenceKernels.matmulQ4 : ReferenceKernels.matmulQ8
                product(w.row(rows.lowerBound), w.rowStride, rows.count, a.base, a.rowStride, input.rows, k, out, yStride, accumulate)
                return
            }
            // The C kernels take the same arguments; here the set is AVX-512 or AVX2, so `_` below is
            // AVX2 (and .q8 where the format is left open).
            let wq = w.row(rows.lowerBound).assumingMemoryBound(to: UInt8.self), aq = a.base.assumingMemoryBound(to: UInt8.self)
            let n = Int32(rows.count), m = Int32(input.rows), depth = Int32(k), add: Int32 = accumulate ? 1 : 0
            switch (w.format, kernels) {
            case (.q4, .avx512):
                ck_matmul_q4_avx512(wq, w.rowStride, n, aq, a.rowStride, m, depth, out, yStride, add, scratch.unpacked.bytes())
            case (.q4, _):
                ck_matmul_q4_avx2(wq, w.rowStride, n, aq, a.rowStride, m, depth, out, yStride, add, scratch.unpacked.bytes())
            case (_, .avx512):
                ck_matmul_q8_avx512(wq, w.rowStride, n, aq, a.rowStride, m, depth, out, yStride, add)
            default:
                ck_matmul_q8_avx2(wq, w.rowStride, n, aq, a.rowStride, m, depth, out, yStride, add)
            }
        case .rows(let type):
            for n in rows {
                let weights: UnsafePointer<Float>
                if type == .f32 {
                    weights = w.row(n).assumingMemoryBound(to: Float.self)
                } else {
                    if !simdDequantize(type, w.row(n), scratch.row.floats(), k, kernels) {
                        RowDequantizer.dequantize(type, from: w.row(n), count: k, into: scratch.row.floats())
                    }
                    weights = UnsafePointer(scratch.row.floats())
                }
                floatProduct(weights, input: input, k: k, y: y + n, yStride: yStride, accumulate: accumulate, kernels: kernels)
            }
        }
    }

    /// Converts one file-layout row with the C kernels; false where they do not handle the type
    /// (or run the portable set).
    private static func simdDequantize(_ type: GGMLType, _ source: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>,
                                       _ count: Int, _ kernels: KernelSet) -> Bool {
        switch kernels {
        case .avx512: return ck_dequantize_row_avx512(type.rawValue, source, y, Int32(count)) != 0
        case .avx2: return ck_dequantize_row_avx2(type.rawValue, source, y, Int32(count)) != 0
        case .portable: return false
        }
    }

    private static func floatProduct(_ w: UnsafePointer<Float>, input: MatMulInput, k: Int,
                                     y: UnsafeMutablePointer<Float>, yStride: Int, accumulate: Bool, kernels: KernelSet) {
        multiplyFloats(w, wStride: k, nRows: 1, input.floats, xStride: input.floatStride, mRows: input.rows, k: k,
                       y: y, yStride: yStride, accumulate: accumulate, kernels: kernels)
    }

    /// Float weights and activations: y[m * yStride + n] = dot(w row n, x row m) (or += with
    /// `accumulate`) for `nRows` rows of w and `mRows` rows of x, k floats each, in 16 lanes of
    /// fused multiply-adds summed pairwise. An output depends only on its two rows, whatever the
    /// other rows and the kernel set, so slices and batches of any shape give the same bits. The
    /// SIMD kernel takes whole tiles of 16: other widths run the portable one, whose last tile
    /// has zero lanes.
    static func multiplyFloats(_ w: UnsafePointer<Float>, wStride: Int, nRows: Int,
                               _ x: UnsafePointer<Float>, xStride: Int, mRows: Int, k: Int,
                               y: UnsafeMutablePointer<Float>, yStride: Int, accumulate: Bool, kernels: KernelSet) {
        guard nRows > 0, mRows > 0 else { return }
        switch kernels {
        case .avx512 where k % 16 == 0:
            ck_matmul_f32_avx512(w, wStride, Int32(nRows), x, xStride, Int32(mRows), Int32(k), y, yStride, accumulate ? 1 : 0)
        case .avx2 where k % 16 == 0:
            ck_matmul_f32_avx2(w, wStride, Int32(nRows), x, xStride, Int32(mRows), Int32(k), y, yStride, accumulate ? 1 : 0)
        default:
            ReferenceKernels.matmulF32(w, wStride: wStride, nRows: nRows, x, xStride: xStride, mRows: mRows, k: k,
                                       y, yStride: yStride, accumulate: accumulate)
        }
    }

    /// Whether `w` reads int8-quantized activations.
    static func readsQuantized(_ w: PackedMatrix) -> Bool {
        switch w.format {
        case .q4, .q8: return true
        case .rows: return false
        }
    }
}
