import Glibc

/// Owned, page-aligned (so 64-byte aligned, as full-width vector loads want), zero-filled memory
/// from an anonymous mapping: pages become resident only when first written. Unmapped when the
/// buffer is released. With `hugePages`, the memory is 2 MiB aligned and offered to transparent
/// huge pages: weights streamed every token then cost one TLB entry per 2 MiB.
final class AlignedBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int
    private let mapping: UnsafeMutableRawPointer
    private let mappedBytes: Int

    static let hugePageBytes = 2 << 20

    init(byteCount: Int, hugePages: Bool = false) {
        self.byteCount = max(byteCount, 64)
        let slack = hugePages ? Self.hugePageBytes : 0
        mappedBytes = self.byteCount + slack
        guard let mapped = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else {
            fatalError("out of memory allocating \(self.byteCount) bytes")
        }
        mapping = mapped
        if hugePages {
            let aligned = (Int(bitPattern: mapped) + slack - 1) / slack * slack
            pointer = UnsafeMutableRawPointer(bitPattern: aligned)!
            _ = madvise(pointer, self.byteCount, Int32(MADV_HUGEPAGE))
        } else {
            pointer = mapped
        }
    }

    deinit { munmap(mapping, mappedBytes) }

    func floats(at offset: Int = 0) -> UnsafeMutablePointer<Float> {
        (pointer + offset).assumingMemoryBound(to: Float.self)
    }

    func bytes(at offset: Int = 0) -> UnsafeMutablePointer<UInt8> {
        (pointer + offset).assumingMemoryBound(to: UInt8.self)
    }
}
