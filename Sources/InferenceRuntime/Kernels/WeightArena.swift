/// One huge-page-backed allocation for all of a model's regrouped weights, handed out in 64-byte
/// aligned slices: the layers' matrices are each smaller than a huge page.
final class WeightArena: @unchecked Sendable {
    private let buffer: AlignedBuffer
    private var used = 0

    init(byteCount: Int) {
        buffer = AlignedBuffer(byteCount: byteCount, hugePages: true)
    }

    /// Bytes an arena needs for slices of these sizes.
    static func capacity(for sizes: [Int]) -> Int {
        sizes.reduce(0) { $0 + ($1 + 63) / 64 * 64 }
    }

    func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        let start = used
        used += (bytes + 63) / 64 * 64
        precondition(used <= buffer.byteCount, "weight arena too small")
        return buffer.pointer + start
    }
}
