/// A LoRA adapter on a Llama model: each adapted projection computes
/// y = W·x + scale · B·(A·x), where W is the frozen base weight and A, B are this adapter's f32
/// matrices (see `LoRALayout`); scale = alpha / rank, as llama.cpp applies it (1 when alpha is 0).
///
/// The values live in one flat buffer. An adapter may be read by the engine thread while a
/// trainer updates it only between engine jobs that use it; `copy()` gives a snapshot to serve.
public final class LoRAAdapter: @unchecked Sendable {
    public let layout: LoRALayout
    public let alpha: Float
    /// What its trainer recorded about how it is meant to be used, kept in its file as string
    /// metadata under `popi.` (e.g. `popi.summary_form`); set before the adapter is shared.
    public var labels: [String: String] = [:]
    /// All A and B values, `layout.parameterCount` floats.
    public let parameters: UnsafeMutablePointer<Float>
    private let storage: AlignedBuffer

    /// Every projection of every layer at `rank`: A uniform in ±1/√inputs (PEFT's default
    /// initialisation), seeded; B zero, so the adapter changes nothing until trained.
    public convenience init(config: LlamaConfig, rank: Int = 16, alpha: Float = 32, seed: UInt64) throws(AdapterError) {
        try self.init(layout: LoRALayout(config: config, rank: rank), alpha: alpha)
        var random = RandomGenerator(seed: seed)
        for slot in layout.slots {
            let bound = 1 / Double(slot.inputs).squareRoot()
            let a = parameters + slot.offset
            for i in 0..<slot.aCount { a[i] = Float((2 * random.nextUnit() - 1) * bound) }
        }
    }

    /// All values zero.
    public init(layout: LoRALayout, alpha: Float) throws(AdapterError) {
        guard alpha.isFinite, alpha >= 0 else { throw .invalidAlpha(alpha) }
        self.layout = layout
        self.alpha = alpha
        storage = AlignedBuffer(byteCount: 4 * layout.parameterCount)
        parameters = storage.floats()
    }

    public func scale(_ slot: LoRALayout.Slot) -> Float { alpha == 0 ? 1 : alpha / Float(slot.rank) }

    /// A of `slot`: [rank, inputs].
    public func a(_ slot: LoRALayout.Slot) -> UnsafeMutablePointer<Float> { parameters + slot.offset }
    /// B of `slot`: [outputs, rank].
    public func b(_ slot: LoRALayout.Slot) -> UnsafeMutablePointer<Float> { parameters + slot.bOffset }

    /// An independent copy of the values.
    public func copy() -> LoRAAdapter {
        // The layout and alpha were validated when this adapter was made.
        let copy = try! LoRAAdapter(layout: layout, alpha: alpha)
        copy.parameters.update(from: parameters, count: layout.parameterCount)
        copy.labels = labels
        return copy
    }
}
