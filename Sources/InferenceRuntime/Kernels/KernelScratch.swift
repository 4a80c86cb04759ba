import CKernels

/// Per-thread working memory of the matmul kernels.
final class KernelScratch: @unchecked Sendable {
    /// Weight rows unpacked to bytes (4-bit tile kernel).
    let unpacked: AlignedBuffer
    /// One weight row converted to f32 (file-layout weights).
    let row: AlignedBuffer

    init(maxColumns: Int) {
        unpacked = AlignedBuffer(byteCount: Int(CK_UNPACKED_ROWS) * Int(ck_act_layout_for(Int32(maxColumns)).scaleOffset))
        row = AlignedBuffer(byteCount: 4 * maxColumns)
    }
}
