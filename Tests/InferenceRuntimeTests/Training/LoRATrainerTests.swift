import Foundation
import Testing
import InferenceRuntime

@Suite(.serialized) struct LoRATrainerTests {
    static let engine = try! InferenceEngine(configuration: EngineConfiguration(modelPath: TestModel.path, threads: 2))

    /// Supervised fine-tuning of a fresh adapter on one short text through the public API
    /// (trainer + AdamW): the mean negative log-likelihood of the text falls by more than 90%, and
    /// the inference engine (its own quantized path) then reproduces the text greedily with the
    /// adapter, and not without it.
    @Test func fineTuningOnOneTextDrivesItsLossDown() throws {
        let text = TestModel.tokenizer.encode("Popi keeps a short summary of what each user prefers, and nothing else.",
                                              mode: .plain)
        let batch = TrainingBatch(groups: [.init(prompt: [text[0]], continuations: [Array(text.dropFirst())])])
        let config = Self.engine.modelConfig
        let adapter = try LoRAAdapter(config: config, rank: 16, alpha: 32, seed: 1)
        let optimizer = try AdamW(layout: adapter.layout, settings: AdamWSettings(
            schedule: LearningRateSchedule(peak: 1e-3, warmupSteps: 10, totalSteps: 300)))
        let trainer = try LoRATrainer(engine: Self.engine, maxTokens: 64)
        let gradients = LoRAGradients(layout: adapter.layout)
        let weights = [Float](repeating: -1 / Float(batch.predictedCount), count: batch.predictedCount)

        var curve: [(step: Int, loss: Double)] = []
        var first = 0.0, last = 0.0
        for step in 0..<300 {
            gradients.zero()
            _ = try trainer.forward(batch, adapter: adapter)
            last = try trainer.backward(weights: weights, into: gradients)
            if step == 0 { first = last }
            curve.append((step, last))
            if last < 0.01 * first { break }
            guard case .applied = try optimizer.step(adapter, gradients: gradients) else {
                Issue.record("step \(step) skipped")
                return
            }
        }
        print("SFT loss (mean NLL per token) by step: " + curve.map { "\($0.step): \(String(format: "%.3f", $0.loss))" }
            .joined(separator: ", ") + "; final \(String(format: "%.4f", last)) after \(optimizer.steps) steps")
        #expect(last < 0.1 * first, "loss \(first) → \(last)")

        let rest = Array(text.dropFirst())
        func greedy(_ adapter: LoRAAdapter?) throws -> [Int32] {
            try Self.engine.generateBlocking(GenerationRequest(
                prompt: .tokens([text[0]]), sampling: SamplingParameters(maxTokens: rest.count, temperature: 0), adapter: adapter))[0].tokens
        }
        #expect(try greedy(adapter) == rest)
        #expect(try greedy(nil) != rest)
    }
}
