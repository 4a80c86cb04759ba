import Foundation

/// POPI at serve time: sample N candidate summaries from the user's context pairs, score each by
/// its mean reward r(s) on the held-out pairs, keep the best. Deterministic for a fixed seed.
public struct SummaryOptimizer: Sendable {
    public let model: any PreferenceModel
    public let options: SummaryOptions

    public init(model: any PreferenceModel, options: SummaryOptions = .init()) {
        self.model = model
        self.options = options
    }

    private var prompts: PromptBuilder { PromptBuilder(model: model, limits: options.limits) }

    public func infer(from signals: UserSignals) async throws -> SummaryResult {
        try options.validate()
        let started = Date()
        let (clean, skipped) = signals.cleaned()
        guard !clean.isEmpty else { throw PersonalizationError.noSignals }
        let split = HeldOutSplit(pairs: clean.pairs, maxHeldOut: options.maxHeldOut)
        let scorable = split.canScore
        var contextSignals = clean
        contextSignals.pairs = scorable ? split.context : clean.pairs
        let (turns, usedPairs) = try prompts.inferenceTurns(for: contextSignals)
        contextSignals.pairs = usedPairs

        let count = scorable ? options.candidates : 1
        let batch = try await model.sample(after: turns, count: count, settings: options.samplingSettings)
        let texts = batch.completions.map { Self.clean($0.text) }

        let scoringStarted = Date()
        var candidates = texts.map { SummaryResult.Candidate(text: $0, reward: nil, accuracy: nil) }
        if scorable {
            let bare = try await bareScores(split.heldOut)
            for index in candidates.indices where !candidates[index].text.isEmpty {
                let scores = try await self.scores(summary: candidates[index].text, pairs: split.heldOut, bare: bare)
                let summary = Reward.summarize(scores)
                candidates[index].reward = summary.meanReward
                candidates[index].accuracy = summary.accuracy
            }
        }
        let scoringSeconds = Date().timeIntervalSince(scoringStarted)

        guard let best = Self.bestIndex(candidates) else { throw PersonalizationError.noCandidates }
        let chosen = candidates[best]
        return SummaryResult(
            text: chosen.text, reward: chosen.reward, accuracy: chosen.accuracy, chosenIndex: best,
            candidates: candidates, heldOutCount: scorable ? split.heldOut.count : 0,
            contextPairCount: usedPairs.count,
            summaryTokens: model.tokenCount(chosen.text),
            rawSignalTokens: model.tokenCount(prompts.rawSignalsText(contextSignals)),
            modelID: model.modelID, promptVersion: PromptBuilder.version, seed: options.seed,
            timings: .init(promptSeconds: batch.prefillSeconds, samplingSeconds: batch.decodeSeconds,
                           scoringSeconds: scoringSeconds, totalSeconds: Date().timeIntervalSince(started)),
            note: scorable ? nil : "fewer than two usable pairs: one zero-shot summary, not scored",
            skipped: skipped)
    }

    /// Scores a given summary (an edited one, or an oracle) on `pairs` with POPI's reward.
    public func evaluate(summary: String, on pairs: [PreferencePair]) async throws -> (reward: Double, accuracy: Double, pairs: [Reward.PairScores]) {
        let bare = try await bareScores(pairs)
        let scores = try await self.scores(summary: summary, pairs: pairs, bare: bare)
        let summary = Reward.summarize(scores)
        return (summary.meanReward, summary.accuracy, scores)
    }

    /// log p0 of (chosen, rejected) on the bare prompt, once per pair, reused for every candidate.
    func bareScores(_ pairs: [PreferencePair]) async throws -> [(chosen: Double, rejected: Double)] {
        var result: [(Double, Double)] = []
        for pair in pairs {
            let lp = try await model.logProbabilities(of: [pair.chosen, pair.rejected], after: prompts.bareTurns(prompt: pair.prompt))
            result.append((lp[0], lp[1]))
        }
        return result
    }

    func scores(summary: String, pairs: [PreferencePair], bare: [(chosen: Double, rejected: Double)]) async throws -> [Reward.PairScores] {
        var scores: [Reward.PairScores] = []
        for (pair, base) in zip(pairs, bare) {
            let turns = prompts.generatorTurns(summary: summary, prompt: pair.prompt)
            let lp = try await model.logProbabilities(of: [pair.chosen, pair.rejected], after: turns)
            scores.append(Reward.PairScores(chosenWithSummary: lp[0], rejectedWithSummary: lp[1],
                                            chosenBare: base.chosen, rejectedBare: base.rejected))
        }
        return scores
    }

    /// The highest mean reward; ties go to the lower index. Unscored candidates (nothing held
    /// out) fall back to the first non-empty one.
    static func bestIndex(_ candidates: [SummaryResult.Candidate]) -> Int? {
        var best: Int?
        for (index, candidate) in candidates.enumerated() where !candidate.text.isEmpty {
            guard let current = best else {
                best = index
                continue
            }
            if let reward = candidate.reward, reward > (candidates[current].reward ?? -.infinity) {
                best = index
            }
        }
        return best
    }

    /// Trims the sample; a model's own end-of-turn text is removed by the runtime.
    static func clean(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
