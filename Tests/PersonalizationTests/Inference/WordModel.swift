import Foundation
import InferenceRuntime
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

    /// A word-model token per word, 3 per message and 2 around the conversation (all zero ids).
    func promptTokens(_ turns: [ChatMessage]) throws -> [Int32] {
        Array(repeating: 0, count: turns.map { tokenCount($0.content) + 3 }.reduce(2, +))
    }

    func logProbabilities(of responses: [String], after turns: [ChatMessage]) async throws -> [Double] {
        calls.record(turns)
        let prompt = turns.map(\.content).joined(separator: "\n")
        return responses.map { response in
            let words = Double(tokenCount(response))
            let bonus = prompt.contains("short") && words <= 3 ? 2 * words : 0
            return -words + bonus
        }
    }

    func sample(after turns: [ChatMessage], count: Int, settings: SamplingParameters) async throws -> SampleBatch {
        let seed = settings.seed ?? 0
        let generations = (0..<count).map { i in
            let text = candidates[Int((seed + UInt64(i)) % UInt64(candidates.count))]
            return Generation(text: text, tokens: Array(repeating: 0, count: tokenCount(text)), finishReason: .endOfTurn,
                              promptTokenCount: 10, seed: seed + UInt64(i))
        }
        return SampleBatch(generations: generations, prefillSeconds: 0, decodeSeconds: 0)
    }

    func generate(_ prompt: Prompt, settings: SamplingParameters, prefixCache: PrefixCacheKey?,
                  onText: @escaping @Sendable (String) -> Void) async throws -> Generation {
        onText("ok")
        return Generation(text: "ok", tokens: [0], finishReason: .endOfTurn, promptTokenCount: 1, seed: settings.seed ?? 0)
    }
}

final class CallLog: @unchecked Sendable {
    private let lock = NSLock()
    private var prompts: [[ChatMessage]] = []
    func record(_ turns: [ChatMessage]) { lock.withLock { prompts.append(turns) } }
    var count: Int { lock.withLock { prompts.count } }
}
