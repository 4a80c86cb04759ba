import Foundation
@testable import Personalization

/// A tiny deterministic stand-in for a language model, for unit tests of POPI's bookkeeping
/// (the real model is exercised in the runtime-backed tests). Tokens are words. A response's
/// log-probability is −1 per word, plus a bonus of +2 per word for short responses (≤ 3 words)
/// when the prompt contains "short", so summaries that say "short" help users who chose short
/// answers. Sample i returns `candidates[(seed + i) % candidates.count]`.
struct WordModel: PreferenceModel {
    var candidates: [String]
    var contextLength = 4096
    let calls = CallLog()

    var modelID: String { "word-model" }

    func tokenCount(_ text: String) -> Int { text.split(whereSeparator: \.isWhitespace).count }

    func truncate(_ text: String, maxTokens: Int) -> String {
        text.split(whereSeparator: \.isWhitespace).prefix(maxTokens).joined(separator: " ")
    }

    func promptTokenCount(_ turns: [ChatTurn]) throws -> Int {
        turns.map { tokenCount($0.content) + 3 }.reduce(2, +)
    }

    func logProbabilities(of responses: [String], after turns: [ChatTurn]) async throws -> [Double] {
        calls.record(turns)
        let prompt = turns.map(\.content).joined(separator: "\n")
        return responses.map { response in
            let words = Double(tokenCount(response))
            let bonus = prompt.contains("short") && words <= 3 ? 2 * words : 0
            return -words + bonus
        }
    }

    func sample(after turns: [ChatTurn], count: Int, settings: SamplingSettings) async throws -> SampleBatch {
        let completions = (0..<count).map { i in
            let text = candidates[Int((settings.seed + UInt64(i)) % UInt64(candidates.count))]
            return Completion(text: text, promptTokens: 10, completionTokens: tokenCount(text), finishReason: .stop)
        }
        return SampleBatch(completions: completions, prefillSeconds: 0, decodeSeconds: 0)
    }

    func generate(after turns: [ChatTurn], settings: SamplingSettings,
                  onText: @escaping @Sendable (String) -> Void) async throws -> Completion {
        onText("ok")
        return Completion(text: "ok", promptTokens: 1, completionTokens: 1, finishReason: .stop)
    }
}

final class CallLog: @unchecked Sendable {
    private let lock = NSLock()
    private var prompts: [[ChatTurn]] = []
    func record(_ turns: [ChatTurn]) { lock.withLock { prompts.append(turns) } }
    var count: Int { lock.withLock { prompts.count } }
}
