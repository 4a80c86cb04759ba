/// A linear projection of a Llama block that a LoRA adapter can adapt (not the token embedding
/// nor the output head).
public enum LoRAProjection: Int, CaseIterable, Sendable {
    case query, key, value, output, gate, up, down

    /// The base tensor's name within a block, as in `blk.N.<name>.weight`.
    public var tensorName: String {
        switch self {
        case .query: return "attn_q"
        case .key: return "attn_k"
        case .value: return "attn_v"
        case .output: return "attn_output"
        case .gate: return "ffn_gate"
        case .up: return "ffn_up"
        case .down: return "ffn_down"
        }
    }

    public init?(tensorName: String) {
        guard let match = Self.allCases.first(where: { $0.tensorName == tensorName }) else { return nil }
        self = match
    }

    /// Width of the projection's input.
    public func inputs(_ config: LlamaConfig) -> Int {
        switch self {
        case .query, .key, .value, .gate, .up: return config.embeddingLength
        case .output: return config.headCount * config.headDimension
        case .down: return config.feedForwardLength
        }
    }

    /// Width of the projection's output.
    public func outputs(_ config: LlamaConfig) -> Int {
        switch self {
        case .query: return config.headCount * config.headDimension
        case .key, .value: return config.kvDimension
        case .output, .down: return config.embeddingLength
        case .gate, .up: return config.feedForwardLength
        }
    }
}
