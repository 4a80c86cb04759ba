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
        let signals = UserSignals(pairs: user.signals)
        let inferred = try await optimizer.infer(from: signals)
        let bare = try await optimizer.bareScores(user.heldOut)

        var results: [String: UserEvaluation.Result] = [:]
        // No summary: the conditioned prompt is the bare prompt, so h = 0 exactly.
        let bareScores = zip(user.heldOut, bare).map { _, base in
            Reward.PairScores(chosenWithSummary: base.chosen, rejectedWithSummary: base.rejected,
                              chosenBare: base.chosen, rejectedBare: base.rejected)
        }
        results[Condition.none.rawValue] = Self.result(bareScores, tokens: 0, summary: nil)

        var raw: [Reward.PairScores] = []
        for (pair, base) in zip(user.heldOut, bare) {
            let lp = try await model.logProbabilities(of: [pair.chosen, pair.rejected],
                                                      after: prompts.rawSignalsTurns(signals: signals, prompt: pair.prompt))
            raw.append(Reward.PairScores(chosenWithSummary: lp[0], rejectedWithSummary: lp[1],
                                         chosenBare: base.chosen, rejectedBare: base.rejected))
        }
        results[Condition.rawSignals.rawValue] = Self.result(raw, tokens: model.tokenCount(prompts.rawSignalsText(signals)), summary: nil)

        let summaries: [(Condition, String)] = [
            (.zeroShot, inferred.candidates[0].text),
            (.bestOfN, inferred.text),
            (.oracle, user.persona),
        ]
        for (condition, text) in summaries {
            let scores = try await optimizer.scores(summary: text, pairs: user.heldOut, bare: bare)
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
