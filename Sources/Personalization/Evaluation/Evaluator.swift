import Foundation
import InferenceRuntime

/// POPI's comparison for one user: infer summaries from the context pairs (zero-shot and
/// best-of-N, untrained and, with a trained summarizer, trained), then score every condition on
/// the held-out pairs, which the summaries never saw.
public struct Evaluator: Sendable {
    /// The base: generator and scorer of every condition but the trained generator's.
    public let model: any PreferenceModel
    public let options: SummaryOptions
    /// The base with a trained summarizer adapter, if any.
    public let summarizer: (any PreferenceModel)?
    /// The base with a trained generator adapter, if any (used with a trained summarizer).
    public let generator: (any PreferenceModel)?
    /// The form the trained summarizer writes in (the untrained rows always use the whole form).
    public let trainedForm: SummaryForm

    public init(model: any PreferenceModel, options: SummaryOptions = .init(), summarizer: (any PreferenceModel)? = nil,
                generator: (any PreferenceModel)? = nil, trainedForm: SummaryForm = .whole) {
        self.model = model
        self.options = options
        self.summarizer = summarizer
        self.generator = generator
        self.trainedForm = trainedForm
    }

    /// `partner`: another user, whose zero-shot summary is the mismatched control.
    public func evaluate(_ user: PersonaDataset.User, partner: PersonaDataset.User? = nil) async throws -> UserEvaluation {
        let started = Date()
        var untrained = options
        untrained.form = .whole
        var single = untrained
        single.candidates = 1
        var trainedBestOf = options
        trainedBestOf.form = summarizer == nil ? .whole : trainedForm
        var trainedSingle = trainedBestOf
        trainedSingle.candidates = 1
        let prompts = PromptBuilder(model: model, limits: options.limits)
        let signals = user.contextSignals

        // Each summary with what it cost to write (the refresh cost of its condition).
        var summaries: [(Condition, String, Double)] = []
        func infer(_ summarizer: (any PreferenceModel)?, _ options: SummaryOptions,
                   from signals: UserSignals) async throws -> (String, Double) {
            let result = try await SummaryOptimizer(model: model, summarizer: summarizer, options: options).infer(from: signals)
            return (result.text, result.timings.totalSeconds)
        }
        let zeroShot = try await infer(nil, single, from: signals)
        summaries.append((.zeroShot, zeroShot.0, zeroShot.1))
        let best = try await infer(nil, untrained, from: signals)
        summaries.append((.bestOfN, best.0, best.1))
        var trainedText: String?
        if let summarizer {
            let trained = try await infer(summarizer, trainedSingle, from: signals)
            trainedText = trained.0
            summaries.append((.trainedZeroShot, trained.0, trained.1))
            let trainedBest = try await infer(summarizer, trainedBestOf, from: signals)
            summaries.append((.trainedBestOfN, trainedBest.0, trainedBest.1))
        }
        if let partner {
            let other = try await infer(summarizer, trainedSingle, from: partner.contextSignals)
            summaries.append((.mismatched, other.0, 0))
        }
        if !user.persona.isEmpty { summaries.append((.oracle, user.persona, 0)) }

        // One batch: the bare prompts, the raw signals in context, then each summary.
        let optimizer = SummaryOptimizer(model: model, options: options)
        var conditions: [(PreferencePair) -> [ChatMessage]] = [{ prompts.rawSignalsTurns(signals: signals, prompt: $0.prompt) }]
        for (_, text, _) in summaries {
            conditions.append { prompts.generatorTurns(summary: text, prompt: $0.prompt) }
        }
        let scored = try await optimizer.scores(conditions: conditions, pairs: user.heldOut)

        var results: [String: UserEvaluation.Result] = [:]
        // No summary: the conditioned prompt is the bare prompt, so h = 0 exactly.
        results[Condition.none.rawValue] = Self.result(scored.bare, tokens: 0, summary: nil, seconds: 0)
        results[Condition.rawSignals.rawValue] = Self.result(scored.conditions[0], tokens: model.tokenCount(prompts.rawSignalsText(signals)),
                                                             summary: nil, seconds: 0)
        for ((condition, text, seconds), scores) in zip(summaries, scored.conditions.dropFirst()) {
            results[condition.rawValue] = Self.result(scores, tokens: model.tokenCount(text), summary: text, seconds: seconds)
        }
        if let generator, let trainedText, let trainedCost = results[Condition.trainedZeroShot.rawValue]?.refreshSeconds {
            // The trained generator answers with the summary; h is still measured against the base's bare prompt.
            let answered = try await SummaryOptimizer(model: generator, options: options).scores(summaries: [trainedText], pairs: user.heldOut)[0]
            let scores = zip(answered, scored.bare).map { trained, bare in
                Reward.PairScores(chosenWithSummary: trained.chosenWithSummary, rejectedWithSummary: trained.rejectedWithSummary,
                                  chosenBare: bare.chosenBare, rejectedBare: bare.rejectedBare)
            }
            results[Condition.trainedGenerator.rawValue] = Self.result(scores, tokens: model.tokenCount(trainedText), summary: trainedText,
                                                                       seconds: trainedCost)
        }
        return UserEvaluation(userID: user.id, traits: user.traits, heldOutCount: user.heldOut.count,
                              results: results, seconds: Date().timeIntervalSince(started))
    }

    static func result(_ scores: [Reward.PairScores], tokens: Int, summary: String?, seconds: Double) -> UserEvaluation.Result {
        let (reward, accuracy) = Reward.summarize(scores)
        let plain = scores.isEmpty ? 0 : Double(scores.filter(\.prefersChosen).count) / Double(scores.count)
        let chosenGain = scores.isEmpty ? 0 : scores.reduce(0) { $0 + $1.chosenWithSummary - $1.chosenBare } / Double(scores.count)
        return .init(popiAccuracy: accuracy, meanReward: reward, plainAccuracy: plain, contextTokens: tokens, summary: summary,
                     chosenGain: chosenGain, refreshSeconds: seconds)
    }
}
