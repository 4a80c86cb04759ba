/// Hyperparameters of a Llama-architecture model, read from GGUF metadata (`llama.*` keys) and
/// cross-checked against the token embedding tensor.
///
/// GGUF llama files store the Q and K projection weights permuted for llama.cpp's RoPE layout,
/// which rotates adjacent pairs (x[2i], x[2i+1]) of each head, not the two halves.
public struct LlamaConfig: Sendable, Equatable {
    public static let supportedArchitectures = ["llama"]

    public let architecture: String
    /// Transformer layers (`llama.block_count`).
    public let blockCount: Int
    /// Model width (`llama.embedding_length`).
    public let embeddingLength: Int
    /// Hidden width of the SwiGLU feed-forward (`llama.feed_forward_length`).
    public let feedForwardLength: Int
    /// Query heads (`llama.attention.head_count`).
    public let headCount: Int
    /// Key/value heads (`llama.attention.head_count_kv`, default `headCount`); grouped-query attention when smaller.
    public let headCountKV: Int
    /// Width of one head (`llama.attention.key_length`, default embeddingLength / headCount).
    public let headDimension: Int
    /// RoPE base frequency (`llama.rope.freq_base`, default 10000).
    public let ropeFreqBase: Float
    /// Leading dimensions of each head that RoPE rotates (`llama.rope.dimension_count`, default headDimension).
    public let ropeDimensionCount: Int
    /// RMSNorm epsilon (`llama.attention.layer_norm_rms_epsilon`).
    public let rmsEpsilon: Float
    /// Longest sequence: the training context length (`llama.context_length`), at most
    /// `maxContextLength`.
    public let contextLength: Int
    /// Rows of the token embedding (`llama.vocab_size`, else the tokenizer's token count).
    public let vocabularySize: Int
    /// The output projection reuses `token_embd.weight` (the file has no `output.weight`).
    public let tiedOutput: Bool
    /// Per-pair RoPE frequency divisors from `rope_freqs.weight` (Llama 3.1 style,
    /// ropeDimensionCount / 2 values, each finite and positive), or nil.
    public let ropeFrequencyFactors: [Float]?

    /// Cap on `contextLength` (Llama 3.1's 128K): the run state and each sequence's page table
    /// are sized by the context, so a file claiming more runs with this much.
    public static let maxContextLength = 1 << 17
    /// Widest head the attention kernels take (CKernels.h `ck_kv_view`).
    public static let maxHeadDimension = 256

    public init(gguf: GGUFFile) throws {
        guard let architecture = try gguf.string("general.architecture") else {
            throw ModelConfigError.missingKey("general.architecture")
        }
        guard Self.supportedArchitectures.contains(architecture) else {
            throw ModelConfigError.unsupportedArchitecture(architecture, supported: Self.supportedArchitectures)
        }
        self.architecture = architecture
        let p = architecture + "."

        func required(_ key: String) throws -> Int {
            guard let v = try gguf.integer(p + key) else { throw ModelConfigError.missingKey(p + key) }
            return v
        }
        func positive(_ key: String, _ value: Int, max: Int = 1 << 24) throws -> Int {
            guard value >= 1, value <= max else {
                throw ModelConfigError.invalidValue(key: p + key, value: "\(value)", reason: "must be between 1 and \(max)")
            }
            return value
        }

        blockCount = try positive("block_count", required("block_count"), max: 4096)
        embeddingLength = try positive("embedding_length", required("embedding_length"))
        feedForwardLength = try positive("feed_forward_length", required("feed_forward_length"))
        // The int8 matmuls read their inputs (model, query and feed-forward widths) in blocks of 32.
        for (key, width) in [("embedding_length", embeddingLength), ("feed_forward_length", feedForwardLength)] where width % 32 != 0 {
            throw ModelConfigError.invalidValue(key: p + key, value: "\(width)", reason: "must be a multiple of 32")
        }
        headCount = try positive("attention.head_count", required("attention.head_count"), max: 4096)
        headCountKV = try positive("attention.head_count_kv", gguf.integer(p + "attention.head_count_kv") ?? headCount, max: 4096)
        guard headCount % headCountKV == 0 else {
            throw ModelConfigError.invalidValue(key: p + "attention.head_count_kv", value: "\(headCountKV)",
                                                reason: "must divide the head count \(headCount)")
        }
        let keyLength = try gguf.integer(p + "attention.key_length")
        if let keyLength {
            headDimension = try positive("attention.key_length", keyLength)
        } else {
            guard embeddingLength % headCount == 0 else {
                throw ModelConfigError.invalidValue(key: p + "embedding_length", value: "\(embeddingLength)",
                                                    reason: "not a multiple of the head count \(headCount)")
            }
            headDimension = embeddingLength / headCount
        }
        // The attention kernels work on 16-wide slices of a head.
        guard headDimension % 16 == 0, headDimension <= Self.maxHeadDimension else {
            let (key, value) = keyLength != nil ? ("attention.key_length", headDimension) : ("attention.head_count", headCount)
            throw ModelConfigError.invalidValue(key: p + key, value: "\(value)",
                                                reason: "gives a head dimension of \(headDimension), which must be a multiple of 16 "
                                                    + "and at most \(Self.maxHeadDimension)")
        }
        guard (headCount * headDimension) % 32 == 0 else {
            throw ModelConfigError.invalidValue(key: p + "attention.head_count", value: "\(headCount)",
                                                reason: "times the head dimension \(headDimension) gives a query width of "
                                                    + "\(headCount * headDimension), which must be a multiple of 32")
        }
        if let valueLength = try gguf.integer(p + "attention.value_length"), valueLength != headDimension {
            throw ModelConfigError.invalidValue(key: p + "attention.value_length", value: "\(valueLength)",
                                                reason: "differs from the key length \(headDimension)")
        }
        ropeDimensionCount = try positive("rope.dimension_count", gguf.integer(p + "rope.dimension_count") ?? headDimension)
        guard ropeDimensionCount <= headDimension, ropeDimensionCount % 2 == 0 else {
            throw ModelConfigError.invalidValue(key: p + "rope.dimension_count", value: "\(ropeDimensionCount)",
                                                reason: "must be even and at most the head dimension \(headDimension)")
        }
        let base = try gguf.number(p + "rope.freq_base") ?? 10000
        guard base.isFinite, base > 1 else {
            throw ModelConfigError.invalidValue(key: p + "rope.freq_base", value: "\(base)", reason: "must be greater than 1")
        }
        ropeFreqBase = Float(base)
        guard let epsilon = try gguf.number(p + "attention.layer_norm_rms_epsilon") else {
            throw ModelConfigError.missingKey(p + "attention.layer_norm_rms_epsilon")
        }
        guard epsilon.isFinite, epsilon > 0, epsilon < 1 else {
            throw ModelConfigError.invalidValue(key: p + "attention.layer_norm_rms_epsilon", value: "\(epsilon)",
                                                reason: "must be between 0 and 1")
        }
        rmsEpsilon = Float(epsilon)
        contextLength = try min(positive("context_length", required("context_length"), max: 1 << 24), Self.maxContextLength)

        guard let embedding = gguf.tensors["token_embd.weight"] else { throw ModelConfigError.missingTensor("token_embd.weight") }
        let vocabulary: Int
        if let v = try gguf.integer(p + "vocab_size") {
            vocabulary = try positive("vocab_size", v)
        } else if let tokens = try gguf.array("tokenizer.ggml.tokens") {
            vocabulary = tokens.count
        } else {
            vocabulary = embedding.dimensions.count == 2 ? embedding.dimensions[1] : 0
        }
        vocabularySize = vocabulary
        guard embedding.dimensions == [embeddingLength, vocabularySize] else {
            throw ModelConfigError.tensorShapeMismatch(tensor: "token_embd.weight", expected: [embeddingLength, vocabularySize],
                                                       found: embedding.dimensions)
        }
        if let output = gguf.tensors["output.weight"] {
            guard output.dimensions == [embeddingLength, vocabularySize] else {
                throw ModelConfigError.tensorShapeMismatch(tensor: "output.weight", expected: [embeddingLength, vocabularySize],
                                                           found: output.dimensions)
            }
            tiedOutput = false
        } else {
            tiedOutput = true
        }
        ropeFrequencyFactors = try Self.ropeFrequencyFactors(gguf, count: ropeDimensionCount / 2)
    }

    /// `rope_freqs.weight`, checked: RoPE divides each angle by its factor.
    private static func ropeFrequencyFactors(_ gguf: GGUFFile, count: Int) throws -> [Float]? {
        let name = "rope_freqs.weight"
        guard let view = gguf.tensors[name] else { return nil }
        guard view.dimensions == [count] else {
            throw ModelConfigError.tensorShapeMismatch(tensor: name, expected: [count], found: view.dimensions)
        }
        var factors = [Float](repeating: 0, count: count)
        try factors.withUnsafeMutableBufferPointer { try view.dequantizeRow(0, into: $0.baseAddress!) }
        if let i = factors.firstIndex(where: { !$0.isFinite || $0 <= 0 }) {
            throw ModelConfigError.invalidTensorValue(tensor: name, index: i, value: "\(factors[i])",
                                                      reason: "must be finite and greater than 0")
        }
        return factors
    }

    /// The file has `rope_freqs.weight`.
    public var hasRopeFrequencyFactors: Bool { ropeFrequencyFactors != nil }

    /// Width of the key (and value) projection output: headCountKV × headDimension.
    public var kvDimension: Int { headCountKV * headDimension }
    /// Query heads sharing one key/value head.
    public var groupSize: Int { headCount / headCountKV }
}
