import Foundation
import InferenceRuntime

/// POPI at serve time: sample N candidate summaries from the user's context pairs, score each by
/// its mean reward r(s) on the held-out pairs, keep the best. Deterministic for a fixed seed.
public struct SummaryOptimizer: Sendable {
    /// The generator: scores summaries (POPI's reward).
    public let model: any PreferenceModel
    /// Writes the candidates: the same model, or it with a trained summarizer adapter.
    public let summarizer: any PreferenceModel
    public let options: SummaryOptions

    public init(model: any PreferenceModel, summarizer: (any PreferenceModel)? = nil, options: SummaryOptions = .init()) {
        self.model = model
        self.summarizer = summarizer ?? model
        self.options = options
    }

    private var prompts: PromptBuilder { PromptBuilder(model: model, limits: options.limits) }

    public func infer(from signals: UserSignals) async throws -> SummaryResult {
        try options.validate()
        let started = Date()
        let (clean, skipped) = signals.cleaned()
        guard !clean.isEmpty else { throw PersonalizationError.noSignals }
        let split = HeldOutSplit(pairs: clean.pairs, maxHeldOut: options.maxHeldOut)
        // One candidate has nothing to be chosen against: every pair informs it, none is spent on scoring.
        let scorable = split.canScore && options.candidates > 1
        var contextSignals = clean
        contextSignals.pairs = scorable ? split.context : clean.pairs
        let count = scorable ? options.candidates : 1
        let written = switch contextSignals.pairs.isEmpty ? .whole : options.form {
        case .whole: try await whole(for: contextSignals, count: count)
        case .skim: try await whole(for: contextSignals, count: count, skimmed: true)
        case .notes: try await notes(for: contextSignals, count: count)
        case .describe: try await describe(for: contextSignals, count: count)
        }
        let texts = written.texts
        contextSignals.pairs = written.pairs

        let scoringStarted = Date()
        var candidates = texts.map { SummaryResult.Candidate(text: $0, reward: nil, accuracy: nil) }
        if scorable {
            // Every prompt of every candidate goes to the model in one batch, with the bare prompts.
            let scored = candidates.indices.filter { !candidates[$0].text.isEmpty }
            let all = try await scores(summaries: scored.map { candidates[$0].text }, pairs: split.heldOut)
            for (index, scores) in zip(scored, all) {
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
            contextPairCount: written.pairs.count,
            summaryTokens: model.tokenCount(chosen.text),
            rawSignalTokens: model.tokenCount(prompts.rawSignalsText(contextSignals)),
            modelID: model.modelID, promptVersion: PromptBuilder.version(of: written.form), seed: options.seed,
            timings: .init(promptSeconds: written.prefillSeconds, samplingSeconds: written.decodeSeconds,
                           scoringSeconds: scoringSeconds, totalSeconds: Date().timeIntervalSince(started)),
            note: scorable ? nil : options.candidates == 1 ? "one candidate: not scored"
                : "fewer than two usable pairs: one zero-shot summary, not scored",
            skipped: skipped)
    }

    /// The candidates, the form they were written in, the pairs they read, and the time spent
    /// reading the prompts and sampling.
    private struct Written {
        var texts: [String]
        var form: SummaryForm
        var pairs: [PreferencePair]
        var prefillSeconds: Double
        var decodeSeconds: Double
    }

    /// `count` summaries sampled from one prompt holding every signal (`SummaryForm.whole`), or
    /// the newest pairs skimmed (`SummaryForm.skim`).
    private func whole(for signals: UserSignals, count: Int, skimmed: Bool = false) async throws -> Written {
        let (turns, usedPairs) = try prompts.inferenceTurns(for: signals, skimmed: skimmed)
        let batch = try await summarizer.sample(after: turns, count: count, settings: options.sampling)
        return Written(texts: batch.generations.map { Self.clean($0.text, cutOff: $0.finishReason == .length) },
                       form: skimmed ? .skim : .whole,
                       pairs: usedPairs, prefillSeconds: batch.prefillSeconds, decodeSeconds: batch.decodeSeconds)
    }

    /// `count` summaries from notes on each of the newest pairs (`SummaryForm.notes`): candidate
    /// k merges every pair's k-th note, then lists the user's statements in their own words
    /// (user-written content is not read in this form).
    private func notes(for signals: UserSignals, count: Int) async throws -> Written {
        let pairs = Array(signals.pairs.suffix(options.limits.maxPairs))
        let started = ContinuousClock.now
        let batches = try await sampleEach(pairs.map(prompts.noteTurns), count: count)
        let elapsed = (ContinuousClock.now - started).seconds
        let texts = (0..<count).map { k in
            let notes = batches.map { Self.clean($0.generations[k].text, cutOff: $0.generations[k].finishReason == .length) }
            return withStatements(NoteMerger.merge(notes, maxLines: options.limits.maxPairs), signals.statements)
        }
        let prefill = batches.map(\.prefillSeconds).max() ?? 0
        return Written(texts: texts, form: .notes, pairs: pairs, prefillSeconds: prefill, decodeSeconds: max(elapsed - prefill, 0))
    }

    /// `count` summaries from descriptions of the preferred response of each of the newest pairs
    /// (`SummaryForm.describe`). Every distinct description is scored by the summarizer after both
    /// responses of every pair (a trained adapter recognises preferences better than the base: 70%
    /// of set-aside pairs against 61% in the describe run); its evidence is the sum over the pairs
    /// of how much likelier it is after the preferred response than after the other one, beyond the
    /// pair's mean over all descriptions. Candidate k holds up to `maxDescriptions` of its distinct
    /// k-th descriptions with positive evidence, most first (none: the one with the most, so a user
    /// with pairs always has a summary), then lists the user's statements as the note form does.
    /// Each prompt is read once and every description scored after it, so the evidence costs two
    /// short prompts per pair whatever the number of descriptions.
    private func describe(for signals: UserSignals, count: Int) async throws -> Written {
        let pairs = Array(signals.pairs.suffix(options.limits.maxPairs))
        let started = ContinuousClock.now
        let batches = try await sampleEach(pairs.map { prompts.describeTurns(prompt: $0.prompt, response: $0.chosen) }, count: count)
        let sampled = ContinuousClock.now
        // descriptions[pair][k] as indices into `distinct` (nil: an empty description).
        var distinct: [String] = [], indexOfKey: [String: Int] = [:]
        let descriptions = batches.map { batch in
            batch.generations.map { generation -> Int? in
                guard let line = NoteMerger.firstLine(Self.clean(generation.text, cutOff: generation.finishReason == .length)) else {
                    return nil
                }
                let key = NoteMerger.key(line)
                guard !key.isEmpty else { return nil }
                if let index = indexOfKey[key] { return index }
                indexOfKey[key] = distinct.count
                distinct.append(line)
                return distinct.count - 1
            }
        }
        var evidence = [Double](repeating: 0, count: distinct.count)
        if !distinct.isEmpty {
            let items = pairs.flatMap { pair in
                [ScoringItem(turns: prompts.describeTurns(prompt: pair.prompt, response: pair.chosen), responses: distinct),
                 ScoringItem(turns: prompts.describeTurns(prompt: pair.prompt, response: pair.rejected), responses: distinct)]
            }
            let lp = try await summarizer.logProbabilities(batch: items)
            for i in pairs.indices {
                // Any sentence can be likelier after one response than after the other (a longer
                // response shifts what follows it): the pair's mean contrast is that shift, and
                // only a description's contrast beyond it is evidence about the description.
                let contrast = distinct.indices.map { lp[2 * i][$0] - lp[2 * i + 1][$0] }
                let shift = contrast.reduce(0, +) / Double(contrast.count)
                for d in distinct.indices { evidence[d] += contrast[d] - shift }
            }
        }
        let texts = (0..<count).map { k in
            var seen = Set<Int>()
            let own = descriptions.compactMap { $0[k] }.filter { seen.insert($0).inserted }
            var kept = own.filter { evidence[$0] > 0 }
                .sorted { evidence[$0] != evidence[$1] ? evidence[$0] > evidence[$1] : $0 < $1 }
            if kept.isEmpty, let most = own.max(by: { evidence[$0] < evidence[$1] }) { kept = [most] }
            let lines = kept.prefix(Self.maxDescriptions).map { distinct[$0] }.joined(separator: "\n")
            return withStatements(lines, signals.statements)
        }
        let prefill = batches.map(\.prefillSeconds).max() ?? 0
        let decode = max((sampled - started).seconds - prefill, 0)
        // Reading the pairs again to score the descriptions counts as prompt time.
        return Written(texts: texts, form: .describe, pairs: pairs,
                       prefillSeconds: prefill + (ContinuousClock.now - sampled).seconds, decodeSeconds: decode)
    }

    /// Most descriptions a summary keeps: about as many preferences as a user shows at once (the
    /// training data's users mix one to three), so weak evidence does not fill a summary.
    static let maxDescriptions = 3

    /// `count` samples after each prompt. The prompts go to the engine together, so their samples
    /// decode in one batch; sample k of prompt i is seeded with seed + 64·i + k.
    private func sampleEach(_ prompts: [[ChatMessage]], count: Int) async throws -> [SampleBatch] {
        try await withThrowingTaskGroup(of: (Int, SampleBatch).self) { group in
            for (index, turns) in prompts.enumerated() {
                var sampling = options.sampling
                sampling.seed = options.seed &+ UInt64(64 * index)
                group.addTask { (index, try await summarizer.sample(after: turns, count: count, settings: sampling)) }
            }
            var batches = [SampleBatch?](repeating: nil, count: prompts.count)
            for try await (index, batch) in group { batches[index] = batch }
            return batches.map { $0! }
        }
    }

    /// `summary`, then the user's statements in their own words.
    private func withStatements(_ summary: String, _ statements: [String]) -> String {
        let statements = statements.suffix(options.limits.maxPairs).map { "The user said: \"\($0)\"" }
        return ([summary] + statements).filter { !$0.isEmpty }.joined(separator: "\n")
    }

    /// Scores a given summary (an edited one, or an oracle) on `pairs` with POPI's reward.
    public func evaluate(summary: String, on pairs: [PreferencePair]) async throws -> (reward: Double, accuracy: Double, pairs: [Reward.PairScores]) {
        let scores = try await self.scores(summaries: [summary], pairs: pairs)[0]
        let summary = Reward.summarize(scores)
        return (summary.meanReward, summary.accuracy, scores)
    }

    /// POPI's pair scores of each summary on each pair. The bare prompt's log p0 is computed once
    /// per pair and shared by every summary; all prompts go to the model as one batch.
    func scores(summaries: [String], pairs: [PreferencePair]) async throws -> [[Reward.PairScores]] {
        let all = try await scores(conditions: summaries.map { summary in
            { (pair: PreferencePair) in prompts.generatorTurns(summary: summary, prompt: pair.prompt) }
        }, pairs: pairs)
        return all.conditions
    }

    /// The general form: for each condition (a way to build the prompt of a pair) the pair
    /// scores, plus the bare scores themselves.
    func scores(conditions: [(PreferencePair) -> [ChatMessage]], pairs: [PreferencePair]) async throws
        -> (bare: [Reward.PairScores], conditions: [[Reward.PairScores]]) {
        let pairs = pairs.map(prompts.scoredPair)
        var batch = pairs.map { ScoringItem(turns: prompts.bareTurns(prompt: $0.prompt), responses: [$0.chosen, $0.rejected]) }
        for condition in conditions {
            batch += pairs.map { ScoringItem(turns: condition($0), responses: [$0.chosen, $0.rejected]) }
        }
        let lp = try await model.logProbabilities(batch: batch)
        let bare = pairs.indices.map { i in
            Reward.PairScores(chosenWithSummary: lp[i][0], rejectedWithSummary: lp[i][1], chosenBare: lp[i][0], rejectedBare: lp[i][1])
        }
        let results = conditions.indices.map { c in
            pairs.indices.map { i in
                let row = lp[(c + 1) * pairs.count + i]
                return Reward.PairScores(chosenWithSummary: row[0], rejectedWithSummary: row[1],
                                         chosenBare: bare[i].chosenBare, rejectedBare: bare[i].rejectedBare)
            }
        }
        return (bare, results)
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

    /// Tidies a sample: small models repeat themselves, so a line said before is dropped, and a
    /// sample cut off by the token cap loses its unfinished last line (when it has others).
    static func clean(_ text: String, cutOff: Bool) -> String {
        var lines = text.trimmingCharacters(in: .whitespacesAndNewlines).components(separatedBy: "\n")
        if cutOff && lines.count > 1 { lines.removeLast() }
        var seen = Set<String>()
        let kept = lines.filter { line in
            let key = line.trimmingCharacters(in: .whitespaces).lowercased()
            return key.isEmpty || seen.insert(key).inserted
        }
        return kept.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
