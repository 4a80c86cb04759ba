import Foundation
import Testing
@testable import InferenceRuntime

@Suite struct SamplerTests {
    /// Logits where token i has logit `values[i]`.
    static func sample(_ values: [Float], _ parameters: SamplingParameters, seed: UInt64 = 1, history: [Int32] = []) -> Int32 {
        var sampler = Sampler(parameters: parameters, seed: seed, vocabularySize: values.count, history: history)
        return values.withUnsafeBufferPointer { sampler.sample($0.baseAddress!) }
    }

    /// Empirical distribution of `draws` samples.
    static func frequencies(_ values: [Float], _ parameters: SamplingParameters, draws: Int = 4000) -> [Double] {
        var sampler = Sampler(parameters: parameters, seed: 7, vocabularySize: values.count, history: [])
        var counts = [Double](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { logits in
            for _ in 0..<draws { counts[Int(sampler.sample(logits.baseAddress!))] += 1 }
        }
        return counts.map { $0 / Double(draws) }
    }

    @Test func greedyPicksTheLargestLogit() {
        #expect(Self.sample([1, 5, 3, 5], .greedy) == 1)
    }

    @Test func temperatureFollowsTheSoftmax() {
        let logits: [Float] = [0, log(2), log(4)]  // probabilities 1/7, 2/7, 4/7 at temperature 1
        let f = Self.frequencies(logits, SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0))
        for (observed, expected) in zip(f, [1.0 / 7, 2.0 / 7, 4.0 / 7]) { #expect(abs(observed - expected) < 0.03) }
        // Temperature 0.5 squares the odds: 1, 4, 16 over 21.
        let g = Self.frequencies(logits, SamplingParameters(temperature: 0.5, topK: 0, topP: 1, minP: 0))
        for (observed, expected) in zip(g, [1.0 / 21, 4.0 / 21, 16.0 / 21]) { #expect(abs(observed - expected) < 0.03) }
    }

    @Test func topKTopPAndMinPCutTheTail() {
        let logits: [Float] = [log(0.5), log(0.3), log(0.15), log(0.05)]
        let topK = Self.frequencies(logits, SamplingParameters(temperature: 1, topK: 2, topP: 1, minP: 0))
        #expect(topK[2] == 0 && topK[3] == 0 && abs(topK[0] - 0.625) < 0.03)
        // Top-p 0.8 keeps 0.5 + 0.3; 0.81 needs the third token too.
        let topP = Self.frequencies(logits, SamplingParameters(temperature: 1, topK: 0, topP: 0.8, minP: 0))
        #expect(topP[2] == 0 && topP[3] == 0)
        let wider = Self.frequencies(logits, SamplingParameters(temperature: 1, topK: 0, topP: 0.81, minP: 0))
        #expect(wider[2] > 0 && wider[3] == 0)
        // Min-p 0.2 drops tokens under 0.2 * 0.5 = 0.1.
        let minP = Self.frequencies(logits, SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0.2))
        #expect(minP[3] == 0 && minP[2] > 0)
    }

    @Test func topPOverALargeVocabularyLowersItsCutOff() {
        // 10 000 equally likely tokens: the first cut-off holds all of them, top-p 0.5 keeps half.
        let logits = [Float](repeating: 0, count: 10000)
        let f = Self.frequencies(logits, SamplingParameters(temperature: 1, topK: 0, topP: 0.5, minP: 0), draws: 2000)
        #expect(f[5000...].allSatisfy { $0 == 0 })
        #expect(f[..<5000].filter { $0 > 0 }.count > 1000)
    }

    @Test func penaltiesPushRecentTokensDown() {
        let logits: [Float] = [2.0, 1.9, -1]
        #expect(Self.sample(logits, SamplingParameters(temperature: 0, repetitionPenalty: 1.2), history: [0]) == 1)
        #expect(Self.sample(logits, SamplingParameters(temperature: 0, frequencyPenalty: 0.05), history: [0, 0, 0]) == 1)
        #expect(Self.sample(logits, SamplingParameters(temperature: 0, presencePenalty: 0.2), history: [0]) == 1)
        #expect(Self.sample(logits, SamplingParameters(temperature: 0, presencePenalty: 0.2, penaltyWindow: 0), history: [0]) == 0)
        // A repetition penalty makes a negative logit more negative.
        #expect(Self.sample([-1, -1.1], SamplingParameters(temperature: 0, repetitionPenalty: 2), history: [0]) == 1)
    }

    @Test func theSameSeedGivesTheSameSamples() {
        let logits = (0..<1000).map { Float($0 % 17) / 4 }
        let parameters = SamplingParameters(temperature: 1.3, topK: 0, topP: 0.98, minP: 0)
        let a = (0..<20).map { Self.sample(logits, parameters, seed: UInt64($0)) }
        let b = (0..<20).map { Self.sample(logits, parameters, seed: UInt64($0)) }
        #expect(a == b)
        #expect(Set(a).count > 1)
    }

    /// Subnormal, where 1 / temperature is infinite.
    static let tinyTemperature = Float(1e-40 as Double)

    @Test func aTinyTemperatureIsGreedy() {
        let logits: [Float] = [1, 3, 2, 3]
        for temperature: Float in [Self.tinyTemperature, .leastNonzeroMagnitude, 1e-31] {
            #expect(Self.sample(logits, SamplingParameters(temperature: temperature, topK: 0, topP: 1, minP: 0.05)) == 1)
            #expect(Self.sample(logits, SamplingParameters(temperature: temperature)) == 1)
        }
    }

    @Test func nonFiniteLogitsNeverTrap() {
        let settings = [
            SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0.05),
            SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0),
            SamplingParameters(temperature: 1, topK: 0, topP: 0.9, minP: 0),
            SamplingParameters(temperature: 1, topK: 2, topP: 0.9, minP: 0.05),
            SamplingParameters(temperature: Self.tinyTemperature),
            SamplingParameters(temperature: 0),
        ]
        let cases: [[Float]] = [
            [.nan, 1, 2], [1, .nan, 2], [1, .infinity, 2], [.infinity, .infinity, 0], [-.infinity, -.infinity, -.infinity],
            [.nan, .nan, .nan], [1, -.infinity, .nan], [2, .greatestFiniteMagnitude, -.greatestFiniteMagnitude],
        ]
        for logits in cases {
            for parameters in settings {
                let token = Self.sample(logits, parameters)
                #expect(token >= 0 && token < Int32(logits.count))
            }
        }
        // An infinite logit is the most likely token.
        #expect(Self.sample([1, .infinity, 2], SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0)) == 1)
    }

    @Test func parameterValidation() {
        #expect(throws: InferenceError.self) { try SamplingParameters(maxTokens: -1).validate() }
        #expect(throws: InferenceError.self) { try SamplingParameters(temperature: .nan).validate() }
        #expect(throws: InferenceError.self) { try SamplingParameters(topK: -1).validate() }
        #expect(throws: InferenceError.self) { try SamplingParameters(minP: 1).validate() }
        #expect(throws: InferenceError.self) { try SamplingParameters(repetitionPenalty: 0).validate() }
        #expect(throws: InferenceError.self) { try SamplingParameters(stop: [""]).validate() }
        #expect(throws: Never.self) { try SamplingParameters(topP: 1, stop: ["\n\n"]).validate() }
    }
}
