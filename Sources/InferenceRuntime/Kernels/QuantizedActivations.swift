import CKernels

/// Activation rows quantized to int8 blocks in the packed layout the 4-bit and 8-bit kernels
/// read (CKernels.h): one buffer per matmul input, filled once and shared by every matrix that
/// reads that input.
final class QuantizedActivations: @unchecked Sendable {
    let columns: Int
    let capacity: Int
    /// Bytes per row (a multiple of 64).
    let rowStride: Int
    private let buffer: AlignedBuffer

    init(columns: Int, capacity: Int) {
        precondition(columns % 32 == 0, "activation width \(columns) is not a multiple of 32")
        self.columns = columns
        self.capacity = capacity
        rowStride = Int(ck_act_layout_for(Int32(columns)).rowBytes)
        buffer = AlignedBuffer(byteCount: rowStride * capacity)
    }

    var base: UnsafeRawPointer { UnsafeRawPointer(buffer.pointer) }

    /// Quantizes `count` rows of `columns` floats starting at row `first` of `x` (row stride
    /// `xStride` floats) into rows `first..<first+count`.
    func quantize(_ x: UnsafePointer<Float>, xStride: Int, rows first: Int, count: Int, kernels: KernelSet) {
        precondition(first + count <= capacity)
        let out = buffer.pointer + first * rowStride
        let source = x + first * xStride
        switch kernels {
        case .avx512:
            ck_quantize_rows_avx512(source, xStride, Int32(count), Int32(columns), out.assumingMemoryBound(to: UInt8.self), rowStride)
        case .avx2:
            ck_quantize_rows_avx2(source, xStride, Int32(count), Int32(columns), out.assumingMemoryBound(to: UInt8.self), rowStride)
        case .portable:
            ReferenceKernels.quantizeRows(source, xStride: xStride, rows: count, k: columns, out: out, outStride: rowStride)
        }
    }
}
