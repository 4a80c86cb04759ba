import Foundation
import Testing
@testable import Personalization

/// POPI's best-of-N on real persona users with the real model (kept small: 4 candidates of at
/// most 64 tokens; `popi eval` runs the full configuration).
@Suite(.serialized) struct RealModelSummaryTests {
    let model = DefaultModel.shared

    static func users() throws -> [PersonaDataset.User] {
        try PersonaDataset.parse(Data(contentsOf: DefaultModel.fixture("personas-2.jsonl"))).users
    }

    @Test func bestOfNIsScoredAndNeverWorseThanZeroShot() async throws {
        let user = try Self.users()[0]
        let options = SummaryOptions(candidates: 4, maxSummaryTokens: 64, seed: 7)
        let result = try await SummaryOptimizer(model: model, options: options).infer(from: UserSignals(pairs: user.signals))
        #expect(!result.text.isEmpty)
        #expect(result.candidatesTried == 4)
        #expect(result.heldOutCount == 2 && result.contextPairCount == 6)
        let reward = try #require(result.reward)
        let zeroShot = try #require(result.candidates[0].reward)
        #expect(reward >= zeroShot)
        #expect(reward <= 0, "r = log σ(βh)/β is never positive")
        #expect(result.accuracy.map { (0...1).contains($0) } == true)
        #expect(result.summaryTokens > 0 && result.summaryTokens <= 64)
        #expect(result.rawSignalTokens > result.summaryTokens)
        #expect(result.timings.totalSeconds >= result.timings.scoringSeconds)

        let again = try await SummaryOptimizer(model: model, options: options).infer(from: UserSignals(pairs: user.signals))
        #expect(again.text == result.text && again.candidates == result.candidates, "deterministic for a fixed seed")
    }

    @Test func evaluatorScoresEveryCondition() async throws {
        var user = try Self.users()[1]
        user.heldOut = Array(user.heldOut.prefix(2))
        let evaluation = try await Evaluator(model: model, options: .init(candidates: 2, maxSummaryTokens: 48)).evaluate(user)
        // No adapter and no partner: the untrained conditions only.
        let untrained: [Condition] = [.none, .rawSignals, .zeroShot, .bestOfN, .oracle]
        #expect(Set(evaluation.results.keys) == Set(untrained.map(\.rawValue)))
        #expect(evaluation.result(.none)?.popiAccuracy == 0)
        #expect(evaluation.result(.oracle)?.summary == user.persona)
        #expect((evaluation.result(.rawSignals)?.contextTokens ?? 0) > (evaluation.result(.oracle)?.contextTokens ?? .max))
    }

    @Test func badFeedbackIsSkippedOrAClearError() async throws {
        let optimizer = SummaryOptimizer(model: model, options: .init(candidates: 2, maxSummaryTokens: 16))
        await #expect(throws: PersonalizationError.noSignals) { _ = try await optimizer.infer(from: UserSignals()) }
        let useless = UserSignals(pairs: [PreferencePair(prompt: " ", chosen: "a", rejected: "b"),
                                          PreferencePair(prompt: "q", chosen: "same", rejected: "same")])
        await #expect(throws: PersonalizationError.noSignals) { _ = try await optimizer.infer(from: useless) }
        // A very long text is cut to the token budget, not rejected and not overflowing the context.
        let long = String(repeating: "This sentence is long and repeats itself. ", count: 4000)
        let result = try await optimizer.infer(from: UserSignals(pairs: [
            PreferencePair(prompt: long, chosen: "Short.", rejected: long),
            PreferencePair(prompt: "Hi", chosen: "Hello.", rejected: long),
        ]))
        #expect(result.heldOutCount == 1)
        // Bytes that are not UTF-8 never reach the engine: the file reader names the line.
        #expect(throws: DatasetError(line: 1, message: "not valid UTF-8")) {
            try FeedbackFile.parse(Data([0x7B, 0xFF, 0x7D, 0x0A]))
        }
    }
}
