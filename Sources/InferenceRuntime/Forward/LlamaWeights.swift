/// The weights of a Llama model, as the kernels read them (see PackedMatrix), checked against
/// the configuration's shapes. Matrices have one row per output: `[inputs, outputs]` in ggml's
/// dimension order.
final class LlamaWeights: @unchecked Sendable {
    struct Layer {
        let attentionNorm: [Float]   // (dim)
        let query: PackedMatrix      // (qDim rows, dim)
        let key: PackedMatrix        // (kvDim rows, dim)
        let value: PackedMatrix      // (kvDim rows, dim)
        let output: PackedMatrix     // (dim rows, qDim)
        let feedForwardNorm: [Float] // (dim)
        let gate: PackedMatrix       // (hidden rows, dim)
        let up: PackedMatrix         // (hidden rows, dim)
        let down: PackedMatrix       // (dim rows, hidden)
    }

    let tokenEmbedding: PackedMatrix // (vocab rows, dim)
    let outputNorm: [Float]          // (dim)
    let output: PackedMatrix         // (vocab rows, dim); the embedding itself when tied
    let layers: [Layer]
    /// Per-pair RoPE frequency divisors (ropeDimensionCount / 2), or nil.
    let ropeFrequencyFactors: [Float]?

    /// `releaseSource`: drop the file pages of repacked tensors (only for a file-backed mapping).
    init(gguf: GGUFFile, config c: LlamaConfig, releaseSource: Bool) throws {
        let qDim = c.headCount * c.headDimension
        func tensor(_ name: String, _ shape: [Int]) throws -> TensorView {
            guard let view = gguf.tensors[name] else { throw ModelConfigError.missingTensor(name) }
            guard view.dimensions == shape else {
                throw ModelConfigError.tensorShapeMismatch(tensor: name, expected: shape, found: view.dimensions)
            }
            return view
        }
        let matrixNames = ["token_embd.weight"] + (c.tiedOutput ? [] : ["output.weight"])
            + (0..<c.blockCount).flatMap { i in
                ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"].map { "blk.\(i).\($0).weight" }
            }
        let arena = WeightArena(byteCount: WeightArena.capacity(
            for: matrixNames.compactMap { gguf.tensors[$0] }.map(PackedMatrix.packedByteCount)))
        func matrix(_ name: String, inputs: Int, outputs: Int) throws -> PackedMatrix {
            try PackedMatrix(tensor(name, [inputs, outputs]), releaseSource: releaseSource, arena: arena)
        }
        func vector(_ name: String, _ count: Int) throws -> [Float] {
            let view = try tensor(name, [count])
            var values = [Float](repeating: 0, count: count)
            try values.withUnsafeMutableBufferPointer { try view.dequantizeRow(0, into: $0.baseAddress!) }
            return values
        }
        tokenEmbedding = try matrix("token_embd.weight", inputs: c.embeddingLength, outputs: c.vocabularySize)
        outputNorm = try vector("output_norm.weight", c.embeddingLength)
        output = c.tiedOutput ? tokenEmbedding
            : try matrix("output.weight", inputs: c.embeddingLength, outputs: c.vocabularySize)
        layers = try (0..<c.blockCount).map { i in
            let p = "blk.\(i)."
            return Layer(
                attentionNorm: try vector(p + "attn_norm.weight", c.embeddingLength),
                query: try matrix(p + "attn_q.weight", inputs: c.embeddingLength, outputs: qDim),
                key: try matrix(p + "attn_k.weight", inputs: c.embeddingLength, outputs: c.kvDimension),
                value: try matrix(p + "attn_v.weight", inputs: c.embeddingLength, outputs: c.kvDimension),
                output: try matrix(p + "attn_output.weight", inputs: qDim, outputs: c.embeddingLength),
                feedForwardNorm: try vector(p + "ffn_norm.weight", c.embeddingLength),
                gate: try matrix(p + "ffn_gate.weight", inputs: c.embeddingLength, outputs: c.feedForwardLength),
                up: try matrix(p + "ffn_up.weight", inputs: c.embeddingLength, outputs: c.feedForwardLength),
                down: try matrix(p + "ffn_down.weight", inputs: c.feedForwardLength, outputs: c.embeddingLength))
        }
        ropeFrequencyFactors = c.ropeFrequencyFactors
    }
}
