/// The frozen base model as f32 matrices for training: the exact values the quantized blocks
/// encode (dequantized once), so every product of the training pass runs through OpenBLAS and
/// backward is the exact derivative of forward. Matrices are [outputs, inputs] row-major.
final class DenseLlamaWeights: @unchecked Sendable {
    struct Layer {
        let attentionNorm: [Float]  // (dim)
        let feedForwardNorm: [Float] // (dim)
        /// One matrix per `LoRAProjection`, in its order.
        let projections: [AlignedBuffer]
    }

    let layers: [Layer]
    let outputNorm: [Float]          // (dim)
    let output: AlignedBuffer        // [vocabulary, dim]
    /// Rows of token embeddings are read from the packed matrix as needed.
    let tokenEmbedding: PackedMatrix

    init(_ weights: LlamaWeights, pool: WorkerPool) {
        func dense(_ matrix: PackedMatrix) -> AlignedBuffer {
            let buffer = AlignedBuffer(byteCount: 4 * matrix.rows * matrix.columns)
            let chunks = pool.chunks(for: matrix.rows)
            pool.run(chunks: chunks) { _, c in
                for row in WorkerPool.part(c, of: chunks, count: matrix.rows) {
                    matrix.dequantizeRow(row, into: buffer.floats() + row * matrix.columns)
                }
            }
            return buffer
        }
        layers = weights.layers.map { layer in
            Layer(attentionNorm: layer.attentionNorm, feedForwardNorm: layer.feedForwardNorm,
                  projections: [layer.query, layer.key, layer.value, layer.output, layer.gate, layer.up, layer.down].map(dense))
        }
        outputNorm = weights.outputNorm
        output = dense(weights.output)
        tokenEmbedding = weights.tokenEmbedding
    }

    func matrix(_ layer: Int, _ projection: LoRAProjection) -> UnsafePointer<Float> {
        UnsafePointer(layers[layer].projections[projection.rawValue].floats())
    }
}
