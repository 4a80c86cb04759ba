/// Training passes on an engine's model: forward and backward run on the engine thread, between
/// its generation and scoring jobs (so sampling with an adapter, scoring with the base and
/// training share one loaded model and one set of threads).
///
/// The first use dequantizes the base weights to f32 (for the default model about 540 MB, held
/// while the trainer lives). A trainer's methods wait for the engine thread: call them from one
/// thread at a time, not from a streaming callback.
public final class LoRATrainer: @unchecked Sendable {
    private let loop: EngineLoop
    private let maxTokens: Int
    /// Made on the engine thread and used only there.
    private var model: TrainingModel?

    /// `maxTokens`: most tokens of one batch (each costs about 11 KB per layer of kept activations).
    public init(engine: InferenceEngine, maxTokens: Int = 4096) throws(InferenceError) {
        guard (1...65536).contains(maxTokens) else {
            throw .invalidParameter(name: "max_tokens", reason: "must be between 1 and 65536, got \(maxTokens)")
        }
        loop = engine.loop
        self.maxTokens = maxTokens
    }

    /// Log-probability of every continuation token of `batch` under the model with `adapter` (nil:
    /// the base model), in (group, continuation, token) order; keeps what `backward` needs.
    public func forward(_ batch: TrainingBatch, adapter: LoRAAdapter?) throws -> [Float] {
        try loop.exclusive { model, _ in try self.trainingModel(model).forward(batch, adapter: adapter) }
    }

    /// Adds to `gradients` the gradient of Σᵢ weights[i] · logprob[i] for the last `forward` (which
    /// must have had an adapter), and returns that sum.
    public func backward(weights: [Float], into gradients: LoRAGradients) throws -> Double {
        try loop.exclusive { model, _ in try self.trainingModel(model).backward(weights: weights, into: gradients) }
    }

    private func trainingModel(_ inference: LlamaModel) -> TrainingModel {
        if let model { return model }
        let made = TrainingModel(config: inference.config, weights: DenseLlamaWeights(inference.weights, pool: inference.pool),
                                 pool: inference.pool, maxTokens: maxTokens)
        model = made
        return made
    }
}
