import Foundation
import Testing
@testable import InferenceRuntime

@Suite struct AdamWTests {
    /// The tiny model of LlamaConfigErrorTests (2 layers of width 64): layer 0's key at rank 1
    /// and layer 1's down projection at rank 2, 384 values.
    static let config = try! LlamaConfig(gguf: GGUFFile(bytes: LlamaConfigErrorTests.writer().bytes()))
    static let layout = try! LoRALayout(config: config, shapes: [
        .init(layer: 0, projection: .key, rank: 1), .init(layer: 1, projection: .down, rank: 2),
    ])

    static func adapter(seed: UInt64) throws -> LoRAAdapter {
        let adapter = try LoRAAdapter(layout: layout, alpha: 4)
        var random = SyntheticRandom(seed: seed)
        for i in 0..<layout.parameterCount { adapter.parameters[i] = random.float(1) }
        return adapter
    }

    static func gradients(seed: UInt64, scale: Float = 0.1) -> LoRAGradients {
        let gradients = LoRAGradients(layout: layout)
        var random = SyntheticRandom(seed: seed)
        for i in 0..<layout.parameterCount { gradients.values[i] = random.float(scale) }
        return gradients
    }

    static func values(_ pointer: UnsafePointer<Float>) -> [Float] {
        Array(UnsafeBufferPointer(start: pointer, count: layout.parameterCount))
    }

    /// AdamW in double precision, written from the paper's algorithm (decoupled decay), with
    /// clipping as in PyTorch's clip_grad_norm_.
    struct Reference {
        var m: [Double], v: [Double]
        var t = 0
        let settings: AdamWSettings

        init(count: Int, settings: AdamWSettings) {
            m = Array(repeating: 0, count: count)
            v = m
            self.settings = settings
        }

        mutating func step(_ theta: inout [Double], _ g: [Double]) {
            t += 1
            let lr = settings.schedule.learningRate(atStep: t)
            let norm = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let clip = settings.maxGradientNorm.map { norm > $0 ? $0 / (norm + 1e-6) : 1 } ?? 1
            for i in theta.indices {
                let gi = g[i] * clip
                m[i] = settings.beta1 * m[i] + (1 - settings.beta1) * gi
                v[i] = settings.beta2 * v[i] + (1 - settings.beta2) * gi * gi
                let mHat = m[i] / (1 - pow(settings.beta1, Double(t))), vHat = v[i] / (1 - pow(settings.beta2, Double(t)))
                theta[i] -= lr * settings.weightDecay * theta[i]
                theta[i] -= lr * mHat / (vHat.squareRoot() + settings.epsilon)
            }
        }
    }

    /// Step 1 by hand: θ = 0.5, g = 0.2, lr = 0.1. m = 0.1 · 0.2 = 0.02 and v = 0.001 · 0.04 = 4e-5;
    /// bias-corrected m̂ = 0.2 and v̂ = 0.04, so θ = 0.5 - 0.1 · 0.2 / (0.2 + 1e-8) ≈ 0.4. Without
    /// the correction it would be 0.5 - 0.1 · 0.02 / (0.0063 + 1e-8) ≈ 0.184.
    @Test func theFirstStepIsBiasCorrectedAsComputedByHand() throws {
        let adapter = try LoRAAdapter(layout: Self.layout, alpha: 4)
        adapter.parameters.update(repeating: 0.5, count: Self.layout.parameterCount)
        let gradients = LoRAGradients(layout: Self.layout)
        gradients.values.update(repeating: 0.2, count: Self.layout.parameterCount)
        let optimizer = try AdamW(layout: Self.layout, settings: AdamWSettings(
            schedule: LearningRateSchedule(peak: 0.1, totalSteps: 10), maxGradientNorm: nil))
        let result = try optimizer.step(adapter, gradients: gradients)
        let norm = (0.04 * Double(Self.layout.parameterCount)).squareRoot()
        guard case .applied(let step, let rate, let gradientNorm, let clip) = result else {
            Issue.record("step skipped: \(result)")
            return
        }
        #expect(step == 1 && rate == 0.1 && clip == 1)
        #expect(abs(gradientNorm - norm) < 1e-6)
        for i in 0..<Self.layout.parameterCount {
            #expect(abs(adapter.parameters[i] - 0.4) < 1e-6)
            #expect(abs(optimizer.firstMoment[i] - 0.02) < 1e-8)
            #expect(abs(optimizer.secondMoment[i] - 4e-5) < 1e-11)
        }
        #expect(optimizer.steps == 1)
    }

    @Test func stepsFollowADoublePrecisionReference() throws {
        let settings = AdamWSettings(
            schedule: LearningRateSchedule(peak: 1e-2, warmupSteps: 2, totalSteps: 6, decay: .cosine(floor: 1e-3)),
            weightDecay: 0.1, maxGradientNorm: 1.5)
        let adapter = try Self.adapter(seed: 1)
        let optimizer = try AdamW(layout: Self.layout, settings: settings)
        var theta = Self.values(adapter.parameters).map(Double.init)
        var reference = Reference(count: theta.count, settings: settings)
        var clipped = 0
        for step in 1...8 {
            // Every third step's gradients are large enough to be clipped.
            let gradients = Self.gradients(seed: UInt64(step), scale: step % 3 == 0 ? 1 : 0.05)
            let result = try optimizer.step(adapter, gradients: gradients)
            reference.step(&theta, Self.values(gradients.values).map(Double.init))
            guard case .applied(let number, let rate, _, let clip) = result else {
                Issue.record("step \(step) skipped")
                return
            }
            #expect(number == step && rate == settings.schedule.learningRate(atStep: step))
            if clip < 1 { clipped += 1 }
            var worst = 0.0
            for i in theta.indices {
                worst = max(worst, abs(Double(adapter.parameters[i]) - theta[i]),
                            abs(Double(optimizer.firstMoment[i]) - reference.m[i]),
                            abs(Double(optimizer.secondMoment[i]) - reference.v[i]))
            }
            #expect(worst < 2e-6, "step \(step): \(worst)")
        }
        #expect(clipped == 2)
    }

    /// With zero gradients Adam moves nothing, so only the decay acts: θ · (1 - lr · wd), not the
    /// sign-sized step an L2 penalty added to the gradient would make.
    @Test func weightDecayIsDecoupledFromTheGradient() throws {
        let adapter = try Self.adapter(seed: 2)
        let before = Self.values(adapter.parameters)
        let optimizer = try AdamW(layout: Self.layout, settings: AdamWSettings(
            schedule: LearningRateSchedule(peak: 0.01, totalSteps: 10), weightDecay: 0.5))
        _ = try optimizer.step(adapter, gradients: LoRAGradients(layout: Self.layout))
        #expect(Self.values(adapter.parameters) == before.map { $0 * Float(1 - 0.01 * 0.5) })
        #expect(Self.values(optimizer.firstMoment).allSatisfy { $0 == 0 })
    }

    /// Clipping reports the norm before clipping and updates exactly as if the gradients had been
    /// scaled by the factor beforehand.
    @Test func clippingScalesTheGlobalNormAndReportsTheNormBeforeIt() throws {
        let settings = AdamWSettings(schedule: LearningRateSchedule(peak: 1e-2, totalSteps: 10), maxGradientNorm: 1)
        let large = LoRAGradients(layout: Self.layout)
        large.values.update(repeating: Float(10 / Double(Self.layout.parameterCount).squareRoot()), count: Self.layout.parameterCount)
        let clipped = try Self.adapter(seed: 3), manual = clipped.copy()
        let clipping = try AdamW(layout: Self.layout, settings: settings)
        var unclippedSettings = settings
        unclippedSettings.maxGradientNorm = nil
        let plain = try AdamW(layout: Self.layout, settings: unclippedSettings)

        let result = try clipping.step(clipped, gradients: large)
        guard case .applied(_, _, let norm, let factor) = result else {
            Issue.record("step skipped")
            return
        }
        #expect(abs(norm - 10) < 1e-5)
        #expect(factor == 1 / (norm + 1e-6))
        let scaled = LoRAGradients(layout: Self.layout)
        for i in 0..<Self.layout.parameterCount { scaled.values[i] = large.values[i] * Float(factor) }
        _ = try plain.step(manual, gradients: scaled)
        // A second, small step is not clipped.
        let small = Self.gradients(seed: 4, scale: 0.01)
        guard case .applied(_, _, _, let second) = try clipping.step(clipped, gradients: small) else {
            Issue.record("step skipped")
            return
        }
        #expect(second == 1)
        _ = try plain.step(manual, gradients: small)
        #expect(Self.values(clipped.parameters) == Self.values(manual.parameters))
        #expect(Self.values(clipping.secondMoment) == Self.values(plain.secondMoment))
    }

    @Test func aStepWithANaNOrAnInfinityIsSkippedAndChangesNothing() throws {
        let adapter = try Self.adapter(seed: 5)
        let optimizer = try AdamW(layout: Self.layout, settings: AdamWSettings(schedule: LearningRateSchedule(peak: 1e-2, totalSteps: 10)))
        _ = try optimizer.step(adapter, gradients: Self.gradients(seed: 6))
        let state = { (Self.values(adapter.parameters), Self.values(optimizer.firstMoment), Self.values(optimizer.secondMoment)) }
        let before = state()
        let down = try #require(Self.layout.slot(layer: 1, projection: .down))
        let key = try #require(Self.layout.slot(layer: 0, projection: .key))

        let nan = Self.gradients(seed: 7)
        nan.b(down)[5] = .nan
        nan.b(down)[9] = .infinity
        #expect(try optimizer.step(adapter, gradients: nan) == .skipped(.notANumber(tensor: "blk.1.ffn_down.weight.lora_b", index: 5)))
        let infinite = Self.gradients(seed: 8)
        infinite.a(key)[3] = -.infinity
        let result = try optimizer.step(adapter, gradients: infinite)
        #expect(result == .skipped(.infinite(tensor: "blk.0.attn_k.weight.lora_a", index: 3)))
        if case .skipped(let reason) = result { #expect(reason.description == "the gradient of blk.0.attn_k.weight.lora_a[3] is infinite") }
        let after = state()
        #expect(after.0 == before.0 && after.1 == before.1 && after.2 == before.2)
        #expect(optimizer.steps == 1)
        guard case .applied(let step, _, _, _) = try optimizer.step(adapter, gradients: Self.gradients(seed: 9)) else {
            Issue.record("good step skipped")
            return
        }
        #expect(step == 2)
    }

    @Test func anotherLayoutIsATypedError() throws {
        let optimizer = try AdamW(layout: Self.layout, settings: AdamWSettings(schedule: LearningRateSchedule(peak: 1e-2, totalSteps: 10)))
        let other = try LoRAAdapter(config: Self.config, rank: 1, seed: 1)
        #expect(throws: OptimizerError.layoutMismatch) { try optimizer.step(other, gradients: Self.gradients(seed: 1)) }
        #expect(throws: OptimizerError.invalidSetting(name: "beta1", reason: "must be in [0, 1), got -0.5")) {
            try AdamW(layout: Self.layout, settings: AdamWSettings(schedule: LearningRateSchedule(peak: 1e-2, totalSteps: 10), beta1: -0.5))
        }
    }
}
