import InferenceRuntime
import Testing
@testable import Personalization

/// Answers briefly when its prompt carries a summary that asks for short answers.
private struct ObedientGenerator: TextGenerator {
    var name: String { "obedient" }
    func answer(_ turns: [ChatMessage], maxTokens: Int, seed: UInt64) async throws -> String {
        turns.last!.content.contains("short") ? "tiny reply" : "a long and very wordy reply with many words"
    }
}

@Suite struct TransferEvaluatorTests {
    @Test func personalizedAnswersWinUnderTheOraclePersona() async throws {
        let pair = PreferencePair(prompt: "q", chosen: "tiny reply", rejected: "a far longer and wordier reply here")
        let user = PersonaDataset.User(id: "u", persona: "prefers short answers", traits: [],
                                       signals: Array(repeating: pair, count: 4), heldOut: [pair, pair, pair])
        let evaluator = TransferEvaluator(judge: WordModel(candidates: ["likes short answers"]), generator: ObedientGenerator(),
                                          options: .init(candidates: 1))
        let result = try await evaluator.evaluate(user)
        #expect(result.winRate == 1)
        #expect(result.meanMargin > 0)
        #expect(result.summary == "likes short answers")
        #expect(result.rawSignalTokens > result.summaryTokens)
    }

    @Test func identicalAnswersNeverWin() async throws {
        struct Stubborn: TextGenerator {
            var name: String { "stubborn" }
            func answer(_ turns: [ChatMessage], maxTokens: Int, seed: UInt64) async throws -> String { "same answer" }
        }
        let pair = PreferencePair(prompt: "q", chosen: "a", rejected: "b c")
        let user = PersonaDataset.User(id: "u", persona: "prefers short answers", traits: [],
                                       signals: [pair, pair], heldOut: [pair])
        let result = try await TransferEvaluator(judge: WordModel(candidates: ["x"]), generator: Stubborn(),
                                                 options: .init(candidates: 1)).evaluate(user)
        #expect(result.winRate == 0 && result.meanMargin == 0)
    }
}
