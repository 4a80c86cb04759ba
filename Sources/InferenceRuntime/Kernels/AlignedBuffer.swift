/// Owned, 64-byte aligned, zero-filled memory (kernel operands must be aligned for full-width
/// vector loads). Freed when the buffer is released.
final class AlignedBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = max(byteCount, 64)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: self.byteCount, alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: self.byteCount)
    }

    deinit { pointer.deallocate() }

    func floats(at offset: Int = 0) -> UnsafeMutablePointer<Float> {
        (pointer + offset).assumingMemoryBound(to: Float.self)
    }

    func bytes(at offset: Int = 0) -> UnsafeMutablePointer<UInt8> {
        (pointer + offset).assumingMemoryBound(to: UInt8.self)
    }
}
