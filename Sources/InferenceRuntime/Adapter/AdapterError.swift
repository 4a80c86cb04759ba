/// A LoRA adapter that cannot be made, loaded or written; descriptions name the tensor or key at
/// fault. Names read from a file are clipped and control characters hidden, so descriptions are
/// safe to show.
public enum AdapterError: Error, Equatable, CustomStringConvertible {
    case invalidRank(tensor: String, rank: Int, maximum: Int)
    case invalidAlpha(Float)
    case layerOutOfRange(tensor: String, layers: Int)
    case duplicateTensor(String)
    case cannotOpen(path: String, reason: String)
    /// Not a well-formed GGUF file (truncated, out-of-bounds tensor, ...).
    case invalidFile(GGUFError)
    /// `general.type` is not "adapter" (nil: absent).
    case notAnAdapter(generalType: String?)
    /// `adapter.type` is not "lora" (nil: absent).
    case notLoRA(adapterType: String?)
    case invalidMetadata(key: String, reason: String)
    case architectureMismatch(adapter: String, base: String)
    /// `adapter.alora.invocation_tokens`: an activated LoRA, applied only after an invocation
    /// sequence, which popi does not implement.
    case activatedLoRA
    /// Not `blk.N.<projection>.weight.lora_a` or `.lora_b`.
    case unknownTensor(String)
    /// A LoRA of the token embedding or the output head, which llama.cpp accepts but popi does
    /// not adapt.
    case unadaptedTarget(tensor: String)
    case missingPair(tensor: String, missing: String)
    case unsupportedType(tensor: String, type: GGMLType)
    case notAMatrix(tensor: String, dimensions: [Int])
    /// Dimension `index` of the tensor differs from the base model's `expected`.
    case shapeMismatch(tensor: String, dimensions: [Int], index: Int, expected: Int)
    /// lora_a's second dimension and lora_b's first (both the rank) differ.
    case rankMismatch(a: String, aDimensions: [Int], b: String, bDimensions: [Int])
    case nonFiniteValue(tensor: String, index: Int, value: Float)
    case cannotWrite(path: String, reason: String)
    /// The adapter was made for a model with another number of layers.
    case layerCountMismatch(adapter: Int, model: Int)
    /// A slot's [inputs, outputs] differ from the model's projection.
    case modelShapeMismatch(tensor: String, adapter: [Int], model: [Int])

    public var description: String {
        switch self {
        case .invalidRank(let tensor, let rank, let maximum):
            return "LoRA rank \(rank) for \(tensor) must be between 1 and \(maximum) (the projection's narrower side)"
        case .invalidAlpha(let alpha):
            return "LoRA alpha must be a finite number >= 0, not \(alpha)"
        case .layerOutOfRange(let tensor, let layers):
            return "adapter tensor \(tensor) names a layer the base model does not have (it has \(layers))"
        case .duplicateTensor(let name):
            return "adapter tensor \(name) appears more than once"
        case let .cannotOpen(path, reason):
            return "cannot open adapter file \(path): \(reason)"
        case .invalidFile(let error):
            return "invalid adapter file: \(error)"
        case .notAnAdapter(let type):
            return "not an adapter file: general.type is \(Self.show(type)), expected \"adapter\""
        case .notLoRA(let type):
            return "not a LoRA adapter: adapter.type is \(Self.show(type)), expected \"lora\""
        case let .invalidMetadata(key, reason):
            return "adapter metadata key \(clip(key)) \(reason)"
        case let .architectureMismatch(adapter, base):
            return "adapter is for architecture \(clip(adapter)), the base model is \(base)"
        case .activatedLoRA:
            return "adapter.alora.invocation_tokens is set: activated LoRA adapters are not supported"
        case .unknownTensor(let name):
            return "adapter tensor \(clip(name)) is not a LoRA matrix of a block projection "
                + "(expected blk.N.<\(LoRAProjection.allCases.map(\.tensorName).joined(separator: "|"))>.weight.lora_a or .lora_b)"
        case .unadaptedTarget(let tensor):
            return "adapter tensor \(clip(tensor)) adapts the token embedding or output head; "
                + "popi adapts only the block projections (blk.N.attn_*/ffn_*)"
        case let .missingPair(tensor, missing):
            return "adapter tensor \(clip(tensor)) has no matching \(clip(missing)) (each lora_a needs its lora_b)"
        case let .unsupportedType(tensor, type):
            return "adapter tensor \(clip(tensor)) is \(type); adapter tensors must be F32, F16, BF16 or Q8_0"
        case let .notAMatrix(tensor, dimensions):
            return "adapter tensor \(clip(tensor)) has shape \(dimensions); it must be a matrix"
        case let .shapeMismatch(tensor, dimensions, index, expected):
            return "adapter tensor \(clip(tensor)) has shape \(dimensions), dimension \(index) must be \(expected) "
                + "for this base model (lora_a is [inputs, rank] and lora_b [rank, outputs], in ggml order)"
        case let .rankMismatch(a, aDimensions, b, bDimensions):
            return "adapter tensors \(clip(a)) \(aDimensions) and \(clip(b)) \(bDimensions) disagree on the rank "
                + "(lora_a is [inputs, rank] and lora_b [rank, outputs], in ggml order; transposed?)"
        case let .nonFiniteValue(tensor, index, value):
            return "adapter tensor \(clip(tensor)) element \(index) is \(value); values must be finite"
        case let .cannotWrite(path, reason):
            return "cannot write adapter file \(path): \(reason)"
        case .layerCountMismatch(let adapter, let model):
            return "the adapter was made for a model with \(adapter) layers, but this model has \(model)"
        case .modelShapeMismatch(let tensor, let adapter, let model):
            return "the adapter's \(tensor) is \(adapter) ([inputs, outputs]), but this model's is \(model)"
        }
    }

    private static func show(_ value: String?) -> String {
        value.map { "\"\(clip($0))\"" } ?? "missing"
    }
}
