/// A tensor's bytes in place (inside the mmap'd model file), never copied.
///
/// `dimensions` follow ggml's order: `dimensions[0]` is the innermost (contiguous) length, so a
/// weight matrix with `dimensions == [k, n]` has `n` rows of `k` elements, one row per output.
public struct TensorView: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let dimensions: [Int]
    public let data: UnsafeRawPointer
    public let byteCount: Int

    public init(name: String, type: GGMLType, dimensions: [Int], data: UnsafeRawPointer, byteCount: Int) {
        self.name = name
        self.type = type
        self.dimensions = dimensions
        self.data = data
        self.byteCount = byteCount
    }

    public var elementCount: Int { dimensions.reduce(1, *) }
    /// Elements per row (the innermost dimension).
    public var rowLength: Int { dimensions.first ?? 1 }
    public var rowCount: Int { elementCount / rowLength }
    public var rowBytes: Int { type.byteCount(elements: rowLength) }

    /// Start of row `index`.
    public func row(_ index: Int) -> UnsafeRawPointer { data + index * rowBytes }
}
