import Foundation
public import InferenceRuntime

/// Answers a chat prompt with some other model (a black-box API): the generator a summary is
/// transferred to.
public protocol TextGenerator: Sendable {
    var name: String { get }
    func answer(_ turns: [ChatMessage], maxTokens: Int, seed: UInt64) async throws -> String
}

/// Generator transfer: does a summary inferred here personalize another model? For each held-out
/// prompt the other model answers twice, with the user's summary in the generator prompt and with
/// the bare prompt. Black-box APIs give no log-probabilities of given text, so the local model
/// judges: the personalized answer wins when its POPI margin over the plain answer under the
/// oracle persona is positive,
///
///     h = [log p(a_pers | x, persona) − log p(a_plain | x, persona)] − [log p(a_pers | x) − log p(a_plain | x)].
///
/// Also reported: the context tokens sent upstream with the summary versus with the raw signals.
public struct TransferEvaluator: Sendable {
    public struct Result: Codable, Sendable, Equatable {
        public var userID: String
        /// Share of held-out prompts whose personalized answer wins.
        public var winRate: Double
        public var meanMargin: Double
        public var summaryTokens: Int
        public var rawSignalTokens: Int
        public var summary: String

        enum CodingKeys: String, CodingKey {
            case userID = "user_id"
            case winRate = "win_rate"
            case meanMargin = "mean_margin"
            case summaryTokens = "summary_tokens"
            case rawSignalTokens = "raw_signal_tokens"
            case summary
        }
    }

    public let judge: any PreferenceModel
    public let generator: any TextGenerator
    public let options: SummaryOptions
    public let maxAnswerTokens: Int

    public init(judge: any PreferenceModel, generator: any TextGenerator, options: SummaryOptions, maxAnswerTokens: Int = 160) {
        self.judge = judge
        self.generator = generator
        self.options = options
        self.maxAnswerTokens = maxAnswerTokens
    }

    public func evaluate(_ user: PersonaDataset.User) async throws -> Result {
        let prompts = PromptBuilder(model: judge, limits: options.limits)
        let signals = user.contextSignals
        let summary = try await SummaryOptimizer(model: judge, options: options).infer(from: signals).text
        var pairs: [PreferencePair] = []
        for (index, heldOut) in user.heldOut.enumerated() {
            let seed = options.seed &+ UInt64(index)
            let personalized = try await generator.answer(prompts.generatorTurns(summary: summary, prompt: heldOut.prompt),
                                                          maxTokens: maxAnswerTokens, seed: seed)
            let plain = try await generator.answer(prompts.bareTurns(prompt: heldOut.prompt), maxTokens: maxAnswerTokens, seed: seed)
            // Empty answers cannot be judged; an identical pair has margin 0 (no win).
            pairs.append(PreferencePair(prompt: heldOut.prompt, chosen: personalized.isEmpty ? " " : personalized,
                                        rejected: plain.isEmpty ? " " : plain))
        }
        let scores = try await SummaryOptimizer(model: judge, options: options).scores(summaries: [user.persona], pairs: pairs)[0]
        let wins = scores.filter { $0.margin > 0 }.count
        return Result(userID: user.id, winRate: Double(wins) / Double(max(1, scores.count)),
                      meanMargin: scores.map(\.margin).reduce(0, +) / Double(max(1, scores.count)),
                      summaryTokens: judge.tokenCount(summary), rawSignalTokens: judge.tokenCount(prompts.rawSignalsText(signals)),
                      summary: summary)
    }
}
