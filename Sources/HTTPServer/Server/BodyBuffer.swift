/// A request body as it arrives. Its memory grows with the bytes received, never from the length
/// the client declares: a client announcing 1 MiB and sending ten bytes costs a few KiB, not a
/// MiB. Capacity doubles (appends stay amortized O(1)) and never goes beyond `ceiling`.
struct BodyBuffer {
    /// The first reservation: a small JSON body fits, a large one doubles from here.
    static let initialCapacity = 4096

    private var bytes: [UInt8] = []
    /// The most the body may hold: its declared length, or the limit of a chunked body.
    let ceiling: Int

    init(ceiling: Int) {
        self.ceiling = ceiling
    }

    var count: Int { bytes.count }
    /// Bytes reserved now.
    var capacity: Int { bytes.capacity }

    /// Appends `chunk`, reserving more first when needed; returns how much the capacity grew.
    mutating func append(_ chunk: UnsafeRawBufferPointer) -> Int {
        let before = bytes.capacity
        let needed = bytes.count + chunk.count
        if needed > before {
            bytes.reserveCapacity(min(max(needed, 2 * before, Self.initialCapacity), max(needed, ceiling)))
        }
        bytes.append(contentsOf: chunk)
        return bytes.capacity - before
    }

    /// The bytes received, leaving the buffer empty.
    mutating func take() -> [UInt8] {
        defer { bytes = [] }
        return bytes
    }
}
