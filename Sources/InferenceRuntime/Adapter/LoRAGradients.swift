/// Gradients of a loss with respect to every value of a LoRA adapter, in the adapter's layout.
public final class LoRAGradients: @unchecked Sendable {
    public let layout: LoRALayout
    /// `layout.parameterCount` floats.
    public let values: UnsafeMutablePointer<Float>
    private let storage: AlignedBuffer

    public init(layout: LoRALayout) {
        self.layout = layout
        storage = AlignedBuffer(byteCount: 4 * layout.parameterCount)
        values = storage.floats()
    }

    public func a(_ slot: LoRALayout.Slot) -> UnsafeMutablePointer<Float> { values + slot.offset }
    public func b(_ slot: LoRALayout.Slot) -> UnsafeMutablePointer<Float> { values + slot.bOffset }

    public func zero() { values.update(repeating: 0, count: layout.parameterCount) }

    /// Euclidean norm over all values (in double), NaN or infinity if any value is not finite.
    public var norm: Double {
        var sum = 0.0
        for i in 0..<layout.parameterCount { sum += Double(values[i]) * Double(values[i]) }
        return sum.squareRoot()
    }
}
