@testable import InferenceRuntime

/// A tiny random Llama written by the test (f32 weights, so the runtime uses them exactly):
/// 2 layers, width 64, 4 query heads and 2 KV heads of 16, feed-forward 96, 48 tokens, tied
/// output. The same values are kept in double for `ReferenceLlama`.
struct TinyLlama {
    static let dim = 64, layers = 2, heads = 4, kvHeads = 2, hidden = 96, vocabulary = 48, context = 64
    static let epsilon: Float = 1e-5

    /// Row-major [rows, columns] tensors by GGUF name.
    var tensors: [String: (rows: Int, columns: Int, values: [Float])] = [:]
    let config: LlamaConfig
    let weights: LlamaWeights
    let file: GGUFFile

    init(seed: UInt64) throws {
        var random = RandomGenerator(seed: seed)
        func uniform(_ count: Int, _ bound: Double, around center: Double = 0) -> [Float] {
            (0..<count).map { _ in Float(center + (2 * random.nextUnit() - 1) * bound) }
        }
        let d = Self.dim, kv = Self.kvHeads * (d / Self.heads)
        var tensors: [String: (Int, Int, [Float])] = [:]
        func matrix(_ name: String, outputs: Int, inputs: Int) {
            tensors[name] = (outputs, inputs, uniform(outputs * inputs, 1 / Double(inputs).squareRoot()))
        }
        tensors["token_embd.weight"] = (Self.vocabulary, d, uniform(Self.vocabulary * d, 1))
        tensors["output_norm.weight"] = (1, d, uniform(d, 0.2, around: 1))
        for l in 0..<Self.layers {
            let p = "blk.\(l)."
            tensors[p + "attn_norm.weight"] = (1, d, uniform(d, 0.2, around: 1))
            tensors[p + "ffn_norm.weight"] = (1, d, uniform(d, 0.2, around: 1))
            matrix(p + "attn_q.weight", outputs: d, inputs: d)
            matrix(p + "attn_k.weight", outputs: kv, inputs: d)
            matrix(p + "attn_v.weight", outputs: kv, inputs: d)
            matrix(p + "attn_output.weight", outputs: d, inputs: d)
            matrix(p + "ffn_gate.weight", outputs: Self.hidden, inputs: d)
            matrix(p + "ffn_up.weight", outputs: Self.hidden, inputs: d)
            matrix(p + "ffn_down.weight", outputs: d, inputs: Self.hidden)
        }
        self.tensors = tensors.mapValues { (rows: $0.0, columns: $0.1, values: $0.2) }

        var writer = GGUFWriter()
        writer.metadata = [
            ("general.architecture", .string("llama")),
            ("llama.block_count", .uint32(UInt32(Self.layers))), ("llama.embedding_length", .uint32(UInt32(d))),
            ("llama.feed_forward_length", .uint32(UInt32(Self.hidden))),
            ("llama.attention.head_count", .uint32(UInt32(Self.heads))),
            ("llama.attention.head_count_kv", .uint32(UInt32(Self.kvHeads))),
            ("llama.attention.layer_norm_rms_epsilon", .float32(Self.epsilon)),
            ("llama.context_length", .uint64(UInt64(Self.context))),
            ("tokenizer.ggml.tokens", .array(.string((0..<Self.vocabulary).map { "t\($0)" }))),
        ]
        writer.tensors = tensors.keys.sorted().map { name in
            let (rows, columns, values) = tensors[name]!
            return GGUFWriter.Tensor(name: name, type: .f32, dimensions: rows == 1 ? [columns] : [columns, rows],
                                     data: values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } })
        }
        file = try GGUFFile(bytes: writer.bytes())
        config = try LlamaConfig(gguf: file)
        weights = try LlamaWeights(gguf: file, config: config, releaseSource: false)
    }
}
