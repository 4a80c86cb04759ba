import Foundation
import Testing
@testable import InferenceRuntime

@Suite struct TrainingModelTests {
    static let tiny = try! TinyLlama(seed: 7)

    /// Two groups sharing prompts, a few dozen tokens.
    static let batch = TrainingBatch(groups: [
        .init(prompt: [1, 5, 9, 14, 3, 22, 7], continuations: [[4, 17, 30, 2, 11], [8, 8, 41, 19, 6, 25], [33, 12, 5, 0]]),
        .init(prompt: [44, 2, 18, 27, 9], continuations: [[13, 36, 21, 40, 1, 16]]),
    ])

    static func model(threads: Int = 2, queryBlock: Int = 4) -> TrainingModel {
        let pool = WorkerPool(threads: threads)
        return TrainingModel(config: tiny.config, weights: DenseLlamaWeights(tiny.weights, pool: pool), pool: pool,
                             queryBlock: queryBlock)
    }

    /// Rank 4 with random A and B (B = 0 would make every gradient of A zero).
    static func adapter(seed: UInt64) throws -> LoRAAdapter {
        let adapter = try LoRAAdapter(config: tiny.config, rank: 4, alpha: 8, seed: seed)
        var random = RandomGenerator(seed: seed ^ 0xB)
        for slot in adapter.layout.slots {
            for i in 0..<slot.bCount { adapter.b(slot)[i] = Float((2 * random.nextUnit() - 1) * 0.3) }
        }
        return adapter
    }

    @Test func forwardMatchesADoublePrecisionReference() throws {
        let adapter = try Self.adapter(seed: 3)
        var reference = ReferenceLlama(Self.tiny)
        reference.setAdapter(adapter)
        let expected = reference.logprobs(Self.batch)
        for queryBlock in [4, 64] {
            let got = try Self.model(queryBlock: queryBlock).forward(Self.batch, adapter: adapter)
            #expect(got.count == expected.count)
            let worst = zip(got, expected).map { abs(Double($0) - $1) }.max()!
            #expect(worst < 1e-4, "query block \(queryBlock): max |Δ logprob| = \(worst)")
        }
    }

    @Test func anAdapterWithZeroBChangesNoBit() throws {
        let model = Self.model()
        let base = try model.forward(Self.batch, adapter: nil)
        let fresh = try LoRAAdapter(config: Self.tiny.config, rank: 4, alpha: 8, seed: 1)
        let adapted = try model.forward(Self.batch, adapter: fresh)
        #expect(base.map(\.bitPattern) == adapted.map(\.bitPattern))
    }

    /// Every adapter matrix's gradient against central differences of the double-precision
    /// reference (coordinates sampled per matrix): relative error of the sampled vector < 1e-3.
    @Test func gradientsAgreeWithFiniteDifferencesInDoublePrecision() throws {
        let adapter = try Self.adapter(seed: 5)
        var random = RandomGenerator(seed: 11)
        let weights = (0..<Self.batch.predictedCount).map { _ in Float(2 * random.nextUnit() - 1) }
        let model = Self.model()
        _ = try model.forward(Self.batch, adapter: adapter)
        let gradients = LoRAGradients(layout: adapter.layout)
        gradients.zero()
        let loss = try model.backward(weights: weights, into: gradients)

        var reference = ReferenceLlama(Self.tiny)
        func referenceLoss() -> Double {
            reference.setAdapter(adapter)
            return zip(reference.logprobs(Self.batch), weights).reduce(0) { $0 + $1.0 * Double($1.1) }
        }
        #expect(abs(referenceLoss() - loss) < 1e-4 * max(1, abs(loss)))

        let epsilon: Float = 1e-2
        var worst = 0.0
        for slot in adapter.layout.slots {
            for (name, offset, count) in [("A", slot.offset, slot.aCount), ("B", slot.bOffset, slot.bCount)] {
                var difference = 0.0, norm = 0.0
                for _ in 0..<12 {
                    let i = offset + Int(random.next() % UInt64(count))
                    let saved = adapter.parameters[i]
                    adapter.parameters[i] = saved + epsilon
                    let plus = referenceLoss()
                    adapter.parameters[i] = saved - epsilon
                    let minus = referenceLoss()
                    adapter.parameters[i] = saved
                    // The perturbation as stored in f32, so the quotient is the reference's slope.
                    let step = Double(saved + epsilon) - Double(saved - epsilon)
                    let numeric = (plus - minus) / step
                    difference += (Double(gradients.values[i]) - numeric) * (Double(gradients.values[i]) - numeric)
                    norm += numeric * numeric
                }
                let relative = (difference / max(norm, 1e-30)).squareRoot()
                worst = max(worst, relative)
                #expect(relative < 1e-3, "\(slot.baseTensorName) \(name): relative error \(relative)")
            }
        }
        print("gradient check (tiny Llama, double-precision central differences): worst relative error per matrix \(worst)")
    }

    @Test func backwardWithoutAnAdapterOrWithWrongWeightsIsAnError() throws {
        let model = Self.model()
        let adapter = try Self.adapter(seed: 2)
        let gradients = LoRAGradients(layout: adapter.layout)
        _ = try model.forward(Self.batch, adapter: nil)
        #expect(throws: InferenceError.self) { try model.backward(weights: [], into: gradients) }
        _ = try model.forward(Self.batch, adapter: adapter)
        #expect(throws: InferenceError.self) { try model.backward(weights: [1], into: gradients) }
    }
}

@Suite struct TrainingModelRealModelTests {
    static let config = try! LlamaConfig(gguf: TestModel.file)

    /// Central differences of the trainer's own f32 forward against backward, at the coordinate
    /// with the largest gradient of A and of B of three projections in layers 0, 14 and 29.
    ///
    /// Tolerance from float precision: the loss (about 40) is a sum of f32 log-probabilities
    /// through 30 layers of f32 arithmetic, so each evaluation carries rounding of about 1e-5
    /// (measured: at ε = 0.01 central differences come out in steps of 4.8e-4 and scatter by
    /// ±2e-3; at ε = 0.003 by ±1e-2). ε = 0.03 brings that to about ±3e-4 per quotient (1e-3 is
    /// over three times it), and the truncation error, O(ε²), stayed under 1% of |g|: 2% covers it.
    @Test func gradientsOfTheDefaultModelAgreeWithFiniteDifferences() throws {
        let weights = try LlamaWeights(gguf: TestModel.file, config: Self.config, releaseSource: false)
        let pool = WorkerPool(threads: 2)
        let model = TrainingModel(config: Self.config, weights: DenseLlamaWeights(weights, pool: pool), pool: pool)
        let prompt = TestModel.tokenizer.encode("The capital of France is", mode: .plain)
        let answer = TestModel.tokenizer.encode(" Paris, a city on the Seine.", mode: .plain)
        let batch = TrainingBatch(groups: [.init(prompt: prompt, continuations: [answer])])
        let adapter = try LoRAAdapter(config: Self.config, rank: 4, alpha: 8, seed: 21)
        var random = RandomGenerator(seed: 22)
        for slot in adapter.layout.slots {
            for i in 0..<slot.bCount { adapter.b(slot)[i] = Float((2 * random.nextUnit() - 1) * 0.02) }
        }
        let lossWeights = [Float](repeating: -1, count: batch.predictedCount)
        _ = try model.forward(batch, adapter: adapter)
        let gradients = LoRAGradients(layout: adapter.layout)
        gradients.zero()
        _ = try model.backward(weights: lossWeights, into: gradients)
        func loss() throws -> Double {
            try zip(model.forward(batch, adapter: adapter), lossWeights).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let epsilon: Float = 3e-2
        for layer in [0, 14, 29] {
            for projection in [LoRAProjection.query, .value, .down] {
                let slot = adapter.layout.slot(layer: layer, projection: projection)!
                for (name, offset, count) in [("A", slot.offset, slot.aCount), ("B", slot.bOffset, slot.bCount)] {
                    let i = (offset..<(offset + count)).max { abs(gradients.values[$0]) < abs(gradients.values[$1]) }!
                    let saved = adapter.parameters[i]
                    adapter.parameters[i] = saved + epsilon
                    let plus = try loss()
                    adapter.parameters[i] = saved - epsilon
                    let minus = try loss()
                    adapter.parameters[i] = saved
                    let numeric = (plus - minus) / (Double(saved + epsilon) - Double(saved - epsilon))
                    let analytic = Double(gradients.values[i])
                    #expect(abs(analytic - numeric) <= 0.02 * abs(analytic) + 1e-3,
                            "\(slot.baseTensorName) \(name): backward \(analytic), central difference \(numeric)")
                }
            }
        }
    }
}
