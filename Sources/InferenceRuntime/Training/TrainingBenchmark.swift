import Foundation

/// Forward + backward throughput of a GRPO-shaped batch (one prompt, several continuations that
/// attend to it) with a rank-r adapter on every projection, as `popi bench train` reports it.
public enum TrainingBenchmark {
    public struct Result: Sendable, Codable {
        public var threads: Int
        public var promptTokens: Int
        public var continuations: Int
        public var continuationTokens: Int
        public var rank: Int
        /// Tokens run (prompt once plus every continuation) per second of forward + backward.
        public var tokensPerSecond: Double
        /// Seconds of one step, best of the repeats.
        public var forwardSeconds: Double
        public var backwardSeconds: Double
        public var optimizerSeconds: Double
        /// Peak resident set size of the process so far, MiB.
        public var peakRSSMiB: Double
    }

    public static func run(modelPath: String, threads: Int, repeats: Int, promptTokens: Int = 1500, continuations: Int = 8,
                           continuationTokens: Int = 100, rank: Int = 16) throws -> Result {
        let engine = try InferenceEngine(configuration: EngineConfiguration(modelPath: modelPath, threads: threads))
        defer { engine.shutdown() }
        let config = engine.modelConfig
        let vocabulary = config.vocabularySize
        func tokens(_ count: Int, from start: Int) -> [Int32] {
            (start..<(start + count)).map { RuntimeBenchmark.promptToken($0, vocabularySize: vocabulary) }
        }
        let batch = TrainingBatch(groups: [.init(
            prompt: tokens(promptTokens, from: 0),
            continuations: (0..<continuations).map { tokens(continuationTokens, from: promptTokens + 97 * $0) })])
        let adapter = try LoRAAdapter(config: config, rank: rank, seed: 1)
        let gradients = LoRAGradients(layout: adapter.layout)
        let optimizer = try AdamW(layout: adapter.layout, settings: AdamWSettings(
            schedule: LearningRateSchedule(peak: 1e-4, totalSteps: max(1, repeats))))
        let trainer = try LoRATrainer(engine: engine, maxTokens: batch.tokenCount)
        var weights = [Float](repeating: 0, count: batch.predictedCount)
        for i in weights.indices { weights[i] = i % 3 == 0 ? 0.01 : -0.01 }

        var best = (forward: Double.infinity, backward: Double.infinity, optimizer: Double.infinity)
        for _ in 0..<max(1, repeats) {
            gradients.zero()
            let forward = try RuntimeBenchmark.time { _ = try trainer.forward(batch, adapter: adapter) }
            let backward = try RuntimeBenchmark.time { _ = try trainer.backward(weights: weights, into: gradients) }
            let step = try RuntimeBenchmark.time { _ = try optimizer.step(adapter, gradients: gradients) }
            if forward + backward < best.forward + best.backward { best = (forward, backward, step) }
        }
        return Result(threads: threads, promptTokens: promptTokens, continuations: continuations,
                      continuationTokens: continuationTokens, rank: rank,
                      tokensPerSecond: Double(batch.tokenCount) / (best.forward + best.backward),
                      forwardSeconds: best.forward, backwardSeconds: best.backward, optimizerSeconds: best.optimizer,
                      peakRSSMiB: RuntimeBenchmark.peakResidentMiB())
    }
}
