#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owned, page-aligned (so 64-byte aligned, as full-width vector loads want), zero-filled memory
/// from an anonymous mapping: pages become resident only when first written. Unmapped when the
/// buffer is released.
final class AlignedBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = max(byteCount, 64)
        guard let mapped = mmap(nil, self.byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else {
            fatalError("out of memory allocating \(self.byteCount) bytes")
        }
        pointer = mapped
    }

    deinit { munmap(pointer, byteCount) }

    func floats(at offset: Int = 0) -> UnsafeMutablePointer<Float> {
        (pointer + offset).assumingMemoryBound(to: Float.self)
    }

    func bytes(at offset: Int = 0) -> UnsafeMutablePointer<UInt8> {
        (pointer + offset).assumingMemoryBound(to: UInt8.self)
    }
}
