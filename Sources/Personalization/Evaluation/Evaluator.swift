import Foundation

/// POPI's comparison for one user: infer summaries from the context pairs (best-of-N, whose
/// candidate 0 is the zero-shot summary), then score every condition on the held-out pairs,
/// which the summaries never saw.
public struct Evaluator: Sendable {
    public let model: any PreferenceModel
    public let options: SummaryOptions

    public init(model: any PreferenceModel, options: SummaryOptions = .init()) {
        self.model = model
        self.options = options
    }

    public func evaluate(_ user: PersonaDataset.User) async throws -> UserEvaluation {
        let started = Date()
        let optimizer = SummaryOptimizer(model: model, options: options)
        let prompts = PromptBuilder(model: model, limits: options.limits)
        let signals = user.contextSignals
        let inferred = try await optimizer.infer(from: signals)
        let summaries: [(Condition, String)] = [
            (.zeroShot, inferred.candidates[0].text),
            (.bestOfN, inferred.text),
            (.oracle, user.persona),
        ]
        // One batch: the bare prompts, the raw signals in context, then each summary.
        var conditions: [(PreferencePair) -> [ChatTurn]] = [{ prompts.rawSignalsTurns(signals: signals, prompt: $0.prompt) }]
        for (_, text) in summaries {
            conditions.append { prompts.generatorTurns(summary: text, prompt: $0.prompt) }
        }
        let scored = try await optimizer.scores(conditions: conditions, pairs: user.heldOut)

        var results: [String: UserEvaluation.Result] = [:]
        // No summary: the conditioned prompt is the bare prompt, so h = 0 exactly.
        results[Condition.none.rawValue] = Self.result(scored.bare, tokens: 0, summary: nil)
        results[Condition.rawSignals.rawValue] = Self.result(scored.conditions[0], tokens: model.tokenCount(prompts.rawSignalsText(signals)),
                                                             summary: nil)
        for ((condition, text), scores) in zip(summaries, scored.conditions.dropFirst()) {
            results[condition.rawValue] = Self.result(scores, tokens: model.tokenCount(text), summary: text)
        }
        return UserEvaluation(userID: user.id, traits: user.traits, heldOutCount: user.heldOut.count,
                              results: results, seconds: Date().timeIntervalSince(started))
    }

    static func result(_ scores: [Reward.PairScores], tokens: Int, summary: String?) -> UserEvaluation.Result {
        let (reward, accuracy) = Reward.summarize(scores)
        let plain = scores.isEmpty ? 0 : Double(scores.filter(\.prefersChosen).count) / Double(scores.count)
        return .init(popiAccuracy: accuracy, meanReward: reward, plainAccuracy: plain, contextTokens: tokens, summary: summary)
    }
}
