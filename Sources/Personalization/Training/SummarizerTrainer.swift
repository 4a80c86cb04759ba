import Foundation
public import InferenceRuntime

/// GRPO of the summarizer on POPI's reward, on a LoRA adapter over the frozen base (POPI's
/// training, as DESIGN.md describes it). Each step, for each of `usersPerStep` users:
///
/// 1. sample `groupSize` summaries from base + adapter, as the service samples them;
/// 2. reward each with r(s) on the user's held-out pairs, scored by the generator (the base,
///    no adapter); a summary cut off by the cap, or empty, gets its group's lowest reward;
/// 3. teacher-force the summaries through the f32 training pass, with and without the adapter
///    (the reference), and accumulate the gradient of GRPOObjective's loss.
///
/// Then one AdamW step. With `SummarizerMethod.distill`, step 3 instead teacher-forces only each
/// user's best candidate (the samples and the user's persona, if the dataset has one, ranked by
/// r(s)) with advantage 1: a supervised step toward it, with the same KL penalty. With
/// `SummarizerMethod.supervised`, the user's persona is that target and steps 1-2 are skipped;
/// with `SummarizerMethod.notes`, `groupSize` of the user's labelled pairs are each a note prompt
/// with its note as the target (and swapped, with the other note), and steps draw only from
/// users with such pairs; `SummarizerMethod.describe` is the same with the description prompt
/// of the preferred response (and of the other response, with the other note).
///
/// Every random choice derives from the seed and the step number, so a run
/// resumed from a checkpoint of step k reaches the same adapter bits as one that never stopped.
/// With `validationUsers`, that many users never enter a step; the adapter's zero-shot summary
/// is scored on them after some steps (see `GRPOSettings`).
public final class SummarizerTrainer: AdapterTrainer, @unchecked Sendable {
    public static let kind = "summarizer"
    public let settings: GRPOSettings
    /// The users steps draw from.
    public let users: [TrainingUser]
    /// The users set aside for validation.
    public let validationUsers: [TrainingUser]
    public let adapter: LoRAAdapter
    public let optimizer: AdamW
    /// Steps finished (the next step is `completedSteps + 1`).
    public private(set) var completedSteps: Int

    private let base: RuntimeModel
    private let trainer: LoRATrainer
    private let gradients: LoRAGradients
    private let limits: PromptBuilder.Limits
    /// Most tokens in one training pass; a group beyond it is split into chunks of summaries.
    private let maxPassTokens: Int

    /// A new run (adapter seeded from `settings.seed`, or a copy of `start`, whose SHA-256 is
    /// `settings.startAdapter`), or one resumed from `checkpoint`.
    public init(model: RuntimeModel, users: [TrainingUser], settings: GRPOSettings,
                limits: PromptBuilder.Limits = .init(), checkpoint: TrainingCheckpoint? = nil,
                start: LoRAAdapter? = nil, maxPassTokens: Int = 4096) throws {
        try settings.validate()
        try Self.check(start: start, settings: settings, config: model.engine.modelConfig)
        var (training, validation) = try Self.split(TrainingUser.validated(users), settings: settings)
        if settings.method == .supervised, let user = training.first(where: { $0.persona == nil }) {
            throw PersonalizationError.invalidOption("supervised training learns each user's persona; user \(user.id) has none")
        }
        if settings.method.learnsNotes {
            training = training.filter { !$0.notes.isEmpty }
            guard !training.isEmpty else {
                throw PersonalizationError.invalidOption("\(settings.method.rawValue) training needs pairs whose note the dataset shows (a `dimension` on each pair, and users with one trait whose persona names it); the dataset has none outside the set-aside users")
            }
        }
        (self.users, validationUsers) = (training, validation)
        self.settings = settings
        self.limits = limits
        self.base = model.with(adapter: nil)
        self.maxPassTokens = maxPassTokens
        (adapter, optimizer, completedSteps) = try TrainingCheckpoint.start(checkpoint, config: model.engine.modelConfig,
                                                                            settings: settings, from: start)
        // The adapter says which form it writes, so eval, serve and train generator read it alike.
        adapter.labels[SummaryForm.label] = settings.form.rawValue
        gradients = LoRAGradients(layout: adapter.layout)
        trainer = try LoRATrainer(engine: model.engine, maxTokens: maxPassTokens)
    }

    /// A run of this trainer with its files (see `TrainingRun`).
    public static func run(model: RuntimeModel, users: [TrainingUser], settings: GRPOSettings, dataDigest: String,
                           output: String, resume: Bool, limits: PromptBuilder.Limits = .init(),
                           start: LoRAAdapter? = nil) throws -> TrainingRun<SummarizerTrainer> {
        try TrainingRun(model: model, settings: settings, dataDigest: dataDigest, output: output, resume: resume) { checkpoint in
            try SummarizerTrainer(model: model, users: users, settings: settings, limits: limits, checkpoint: checkpoint,
                                  start: start)
        }
    }

    /// A start adapter must be the one the settings name, laid out as a fresh one of the settings'
    /// rank and alpha would be (every projection of this model), and write the run's form, or
    /// the other whole-summary form: continuing a supervised adapter with GRPO, or on skimmed
    /// prompts, is the use; turning a note adapter into a whole-form one is not.
    static func check(start: LoRAAdapter?, settings: GRPOSettings, config: LlamaConfig) throws {
        guard let start else {
            if settings.startAdapter != nil { throw PersonalizationError.invalidOption("the settings name a start adapter, and none was given") }
            return
        }
        guard settings.startAdapter != nil else {
            throw PersonalizationError.invalidOption("a start adapter needs its SHA-256 in the settings")
        }
        guard start.layout == (try LoRALayout(config: config, rank: settings.rank)), start.alpha == Float(settings.alpha) else {
            throw PersonalizationError.invalidOption(
                "the start adapter is not one this trainer makes (rank \(settings.rank), alpha \(settings.alpha), every projection of this model)")
        }
        let form = try SummaryForm(adapter: start)
        guard form == settings.form || (form.writesWholeSummary && settings.form.writesWholeSummary) else {
            throw PersonalizationError.invalidOption(
                "the start adapter writes the \(form.rawValue) form; this run trains the \(settings.form.rawValue) form")
        }
    }

    /// A seeded choice of `settings.validationUsers` users to set aside, and the rest.
    static func split(_ users: [TrainingUser], settings: GRPOSettings) throws(PersonalizationError)
        -> (training: [TrainingUser], validation: [TrainingUser]) {
        guard settings.validationUsers > 0 else { return (users, []) }
        guard settings.validationUsers < users.count else {
            throw .invalidOption("\(settings.validationUsers) validation users leave none of the \(users.count) users to train on")
        }
        var rng = SplitMix64(seed: settings.seed ^ 0xA076_1D64_78BD_642F)
        let order = Array(users.indices).shuffled(using: &rng)
        let aside = Set(order.prefix(settings.validationUsers))
        return (users.indices.filter { !aside.contains($0) }.map { users[$0] },
                users.indices.filter { aside.contains($0) }.map { users[$0] })
    }

    /// The users of step `step` (1-based): epochs of seeded shuffles of every user, taken
    /// `usersPerStep` at a time.
    public func users(ofStep step: Int) -> [TrainingUser] {
        let first = (step - 1) * settings.usersPerStep
        var epochOrders: [Int: [Int]] = [:]
        return (first..<(first + settings.usersPerStep)).map { position in
            let epoch = position / users.count
            if epochOrders[epoch] == nil {
                var rng = SplitMix64(seed: settings.seed &+ 0x5851_F42D_4C95_7F2D &* UInt64(epoch + 1))
                epochOrders[epoch] = Array(users.indices).shuffled(using: &rng)
            }
            return users[epochOrders[epoch]![position % users.count]]
        }
    }

    /// Runs the next step and returns its record.
    public func step() async throws -> GRPOStepRecord {
        let step = completedSteps + 1
        let batchUsers = users(ofStep: step)
        let prompts = PromptBuilder(model: base, limits: limits)
        let scorer = SummaryOptimizer(model: base, options: SummaryOptions(limits: limits))
        let endOfTurn = try base.engine.chatTemplate.encodeResponse("", tokenizer: base.engine.tokenizer)

        var groups: [SampledGroup] = []
        var samplingSeconds = 0.0, scoringSeconds = 0.0
        for (index, user) in batchUsers.enumerated() {
            let clock = ContinuousClock.now
            if settings.method.learnsNotes {
                for note in notes(of: user, step: step, user: index) {
                    let examples = [(note.pair, note.note)] + (note.swappedNote.map { [(note.swappedPair, $0)] } ?? [])
                    for (pair, text) in examples {
                        let target = try base.engine.chatTemplate.encodeResponse(text, tokenizer: base.engine.tokenizer)
                        guard target.count <= settings.maxSummaryTokens + 1 else { continue }
                        // The description form reads the preferred response alone: the swapped
                        // pair's is the other response, described by the other note.
                        let turns = settings.method == .describe
                            ? prompts.describeTurns(prompt: pair.prompt, response: pair.chosen) : prompts.noteTurns(for: pair)
                        let prompt = try base.engine.promptTokens(.messages(turns))
                        groups.append(SampledGroup(prompt: prompt, trained: [target], advantages: [1], rewards: [], otherRewards: [],
                                                   accuracies: [], capped: [], sampleTokens: 0, target: (reward: nil, persona: true)))
                    }
                }
                continue
            }
            let (turns, _) = try prompts.inferenceTurns(for: user.signals.cleaned().signals, skimmed: settings.skim)
            let prompt = Prompt.messages(turns)
            let promptTokens = try base.engine.promptTokens(prompt)
            if settings.method == .supervised, let persona = user.persona {
                let target = try base.engine.chatTemplate.encodeResponse(persona, tokenizer: base.engine.tokenizer)
                // As with distillation, a persona longer than the cap is never a target.
                let fits = target.count <= settings.maxSummaryTokens + 1
                groups.append(SampledGroup(prompt: promptTokens, trained: fits ? [target] : [], advantages: fits ? [1] : [],
                                           rewards: [], otherRewards: [], accuracies: [], capped: [],
                                           sampleTokens: 0, target: fits ? (reward: nil, persona: true) : nil))
                continue
            }
            let generations = try await base.engine.generate(
                GenerationRequest(prompt: prompt, sampling: samplingParameters(step: step, user: index),
                                  count: settings.groupSize, adapter: adapter))
            let sampled = ContinuousClock.now
            samplingSeconds += (sampled - clock).seconds

            let texts = generations.map { SummaryOptimizer.clean($0.text, cutOff: $0.finishReason == .length) }
            let persona = settings.method == .distill ? user.persona : nil
            // The samples, then the persona when distilling from it: scored alike.
            let candidates = texts + (persona.map { [$0] } ?? [])
            let scoredIndices = candidates.indices.filter { !candidates[$0].isEmpty }
            let scores = try await scorer.scores(summaries: scoredIndices.map { candidates[$0] }, pairs: user.heldOut)
            var rewards = [Double?](repeating: nil, count: candidates.count)
            var accuracies = [Double?](repeating: nil, count: candidates.count)
            for (index, pairScores) in zip(scoredIndices, scores) {
                let summary = Reward.summarize(pairScores)
                rewards[index] = summary.meanReward
                accuracies[index] = summary.accuracy
            }
            var otherRewards = [Double?](repeating: nil, count: candidates.count)
            if settings.contrast > 0 {
                let other = batchUsers[(index + 1) % batchUsers.count]
                let otherScores = try await scorer.scores(summaries: scoredIndices.map { candidates[$0] }, pairs: other.heldOut)
                for (index, pairScores) in zip(scoredIndices, otherScores) {
                    otherRewards[index] = Reward.summarize(pairScores).meanReward
                }
            }
            scoringSeconds += (ContinuousClock.now - sampled).seconds

            let learned = GRPOObjective.contrasted(own: rewards, other: otherRewards, weight: settings.contrast)
            let capped = generations.map { $0.finishReason == .length }
            var continuations = generations.map { generation in
                generation.finishReason == .length ? generation.tokens : generation.tokens + endOfTurn
            }
            if let persona {
                continuations.append(try base.engine.chatTemplate.encodeResponse(persona, tokenizer: base.engine.tokenizer))
            }
            // A persona longer than the cap would be a summary the sampler can never write: not a target.
            let valid = candidates.indices.map { candidate in
                let fits = candidate < capped.count ? !capped[candidate] : continuations[candidate].count <= settings.maxSummaryTokens + 1
                return fits && learned[candidate] != nil
            }
            var group = SampledGroup(prompt: promptTokens, trained: [], advantages: [],
                                     rewards: Array(rewards.prefix(texts.count)),
                                     otherRewards: Array(otherRewards.prefix(texts.count)),
                                     accuracies: Array(accuracies.prefix(texts.count)), capped: capped,
                                     sampleTokens: continuations.prefix(texts.count).reduce(0) { $0 + $1.count })
            if settings.method == .grpo {
                group.trained = continuations
                group.advantages = GRPOObjective.advantages(rewards: learned, valid: valid)
            } else {
                let none = GRPOObjective.contrasted(own: [Reward.reward(margin: 0)], other: [Reward.reward(margin: 0)],
                                                    weight: settings.contrast)[0]!
                if let target = Distillation.target(rewards: learned, valid: valid, baseline: none) {
                    group.trained = [continuations[target]]
                    group.advantages = [1]
                    group.target = (reward: rewards[target]!, persona: target >= texts.count)
                }
            }
            groups.append(group)
        }

        let trainingStarted = ContinuousClock.now
        let totalTokens = groups.reduce(0) { $0 + $1.trained.reduce(0) { $0 + $1.count } }
        var loss = 0.0, klSum = 0.0, passTokens = 0
        gradients.zero()
        for group in groups where !group.trained.isEmpty {
            for chunk in chunks(of: group) {
                let batch = TrainingBatch(groups: [.init(prompt: group.prompt, continuations: chunk.map { group.trained[$0] })])
                passTokens += batch.tokenCount
                let reference = try trainer.forward(batch, adapter: nil)
                let logprobs = try trainer.forward(batch, adapter: adapter)
                var weights: [Float] = []
                weights.reserveCapacity(logprobs.count)
                var offset = 0
                for sample in chunk {
                    let count = group.trained[sample].count
                    let lp = Array(logprobs[offset..<(offset + count)]), ref = Array(reference[offset..<(offset + count)])
                    let advantage = group.advantages[sample]
                    weights += GRPOObjective.tokenWeights(advantage: advantage, logprobs: lp, reference: ref,
                                                          klCoefficient: settings.klCoefficient, totalTokens: totalTokens)
                    loss += GRPOObjective.loss(advantage: advantage, logprobs: lp, reference: ref,
                                               klCoefficient: settings.klCoefficient, totalTokens: totalTokens)
                    klSum += zip(lp, ref).reduce(0) { $0 + GRPOObjective.k3(logprob: $1.0, reference: $1.1) }
                    offset += count
                }
                _ = try trainer.backward(weights: weights, into: gradients)
            }
        }
        let outcome = try optimizer.step(adapter, gradients: gradients)
        let trainingSeconds = (ContinuousClock.now - trainingStarted).seconds
        completedSteps = step
        let validates = !validationUsers.isEmpty && (step == 1 || step % settings.validateEvery == 0 || step == settings.steps)

        let scored = groups.flatMap { group in group.rewards.indices.compactMap { i in group.rewards[i].map { ($0, group.accuracies[i]!) } } }
        let meanReward = scored.isEmpty ? 0 : scored.reduce(0) { $0 + $1.0 } / Double(scored.count)
        let spread = scored.isEmpty ? 0 : (scored.reduce(0) { $0 + ($1.0 - meanReward) * ($1.0 - meanReward) } / Double(scored.count)).squareRoot()
        let samples = groups.reduce(0) { $0 + $1.capped.count }
        var record = GRPOStepRecord(
            step: step, users: batchUsers.map(\.id), meanReward: meanReward, rewardSpread: spread,
            accuracy: scored.isEmpty ? 0 : scored.reduce(0) { $0 + $1.1 } / Double(scored.count),
            kl: klSum / Double(max(totalTokens, 1)), loss: loss,
            meanSummaryTokens: meanSummaryTokens(groups),
            truncatedShare: samples == 0 ? 0 : Double(groups.reduce(0) { count, group in count + group.capped.filter { $0 }.count }) / Double(samples),
            learningRate: 0, gradientNorm: 0, skipped: nil, samplingSeconds: samplingSeconds,
            scoringSeconds: scoringSeconds, trainingSeconds: trainingSeconds,
            trainingTokensPerSecond: Double(passTokens) / max(trainingSeconds, 1e-9))
        record.note(outcome)
        let others = groups.flatMap { $0.otherRewards.compactMap { $0 } }
        if !others.isEmpty { record.otherUserReward = others.reduce(0, +) / Double(others.count) }
        if settings.method != .grpo {
            let targets = groups.compactMap(\.target)
            let rewarded = targets.compactMap(\.reward)
            record.distillation = .init(targets: targets.count, personaTargets: targets.filter(\.persona).count,
                                        targetReward: rewarded.isEmpty ? nil : rewarded.reduce(0, +) / Double(rewarded.count))
        }
        if validates { record.validation = try await validate() }
        return record
    }

    /// The adapter's zero-shot summary of each set-aside user, written as the service writes
    /// one (in the method's form, the same seed per user every time), scored on the user's
    /// held-out pairs.
    public func validate() async throws -> ValidationScore {
        let clock = ContinuousClock.now
        let scorer = SummaryOptimizer(model: base, options: SummaryOptions(limits: limits))
        var rewards: [Double] = [], accuracies: [Double] = [], tokens = 0
        for (index, user) in validationUsers.enumerated() {
            var options = SummaryOptions(candidates: 1, temperature: settings.temperature,
                                         maxSummaryTokens: settings.maxSummaryTokens, limits: limits, form: settings.form)
            options.seed = (settings.seed ^ 0x9E37_79B9_7F4A_7C15) &+ UInt64(index)
            let result = try await SummaryOptimizer(model: base, summarizer: base.with(adapter: adapter), options: options)
                .infer(from: user.signals)
            let text = result.text
            tokens += result.summaryTokens
            // An empty summary is scored as none: h = 0 on every pair.
            let pairScores = text.isEmpty ? nil : try await scorer.scores(summaries: [text], pairs: user.heldOut)[0]
            let summary = pairScores.map { Reward.summarize($0) } ?? (meanReward: Reward.reward(margin: 0), accuracy: 0)
            rewards.append(summary.meanReward)
            accuracies.append(summary.accuracy)
        }
        let reading = settings.method.learnsNotes ? try noteReading() : nil
        let count = Double(validationUsers.count)
        return ValidationScore(users: validationUsers.count, meanReward: rewards.reduce(0, +) / count,
                               accuracy: accuracies.reduce(0, +) / count, meanSummaryTokens: Double(tokens) / count,
                               seconds: (ContinuousClock.now - clock).seconds, noteReading: reading)
    }

    /// Set-aside pairs per user that `noteReading` reads: enough to see reading emerge, few
    /// enough to keep a validation to minutes.
    static let readingPairsPerUser = 4

    /// `ValidationScore.noteReading` on the first `readingPairsPerUser` two-note pairs of each
    /// set-aside user, both notes teacher-forced. Note form: after each way round of the pair,
    /// the right note should be the likelier. Description form: the note of the preferred side
    /// should gain more than the other note from being read after the preferred response rather
    /// than the other one (the contrast the form keeps descriptions by); one reading per pair.
    func noteReading() throws -> ValidationScore.NoteReading? {
        let prompts = PromptBuilder(model: base, limits: limits)
        var shown = 0, right = 0
        func logprobs(_ turns: [ChatMessage], _ notes: [[Int32]]) throws -> (Double, Double) {
            let prompt = try base.engine.promptTokens(.messages(turns))
            let logprobs = try trainer.forward(TrainingBatch(groups: [.init(prompt: prompt, continuations: notes)]), adapter: adapter)
            return (logprobs.prefix(notes[0].count).reduce(0) { $0 + Double($1) },
                    logprobs.dropFirst(notes[0].count).reduce(0) { $0 + Double($1) })
        }
        for user in validationUsers {
            for note in user.notes.filter({ $0.swappedNote != nil }).prefix(Self.readingPairsPerUser) {
                let notes = try [note.note, note.swappedNote!].map {
                    try base.engine.chatTemplate.encodeResponse($0, tokenizer: base.engine.tokenizer)
                }
                let pair = note.pair
                if settings.method == .describe {
                    let preferred = try logprobs(prompts.describeTurns(prompt: pair.prompt, response: pair.chosen), notes)
                    let other = try logprobs(prompts.describeTurns(prompt: pair.prompt, response: pair.rejected), notes)
                    shown += 1
                    if preferred.0 - other.0 > preferred.1 - other.1 { right += 1 }
                    continue
                }
                for (turns, correct) in [(prompts.noteTurns(for: pair), 0), (prompts.noteTurns(for: note.swappedPair), 1)] {
                    let (first, second) = try logprobs(turns, notes)
                    shown += 1
                    if correct == 0 ? first > second : second > first { right += 1 }
                }
            }
        }
        return shown == 0 ? nil : .init(pairs: shown, accuracy: Double(right) / Double(shown))
    }

    /// `groupSize` of user `user`'s labelled pairs (context and held-out alike) in step `step`,
    /// a seeded choice.
    private func notes(of user: TrainingUser, step: Int, user index: Int) -> [NoteTargets.Note] {
        var rng = SplitMix64(seed: settings.seed ^ 0x2545_F491_4F6C_DD1D ^ (UInt64(step) << 20) ^ UInt64(index))
        return Array(user.notes.shuffled(using: &rng).prefix(settings.groupSize))
    }

    /// Sample i of user `user` in step `step` is seeded with (this seed) + i.
    private func samplingParameters(step: Int, user: Int) -> SamplingParameters {
        var rng = SplitMix64(seed: settings.seed ^ (UInt64(step) << 20) ^ UInt64(user))
        var options = SummaryOptions(candidates: settings.groupSize, temperature: settings.temperature,
                                     maxSummaryTokens: settings.maxSummaryTokens, limits: limits)
        options.seed = rng.next()
        return options.sampling
    }

    /// Mean tokens of the sampled summaries; of the targets when nothing was sampled (supervised).
    private func meanSummaryTokens(_ groups: [SampledGroup]) -> Double {
        let samples = groups.reduce(0) { $0 + $1.capped.count }
        if samples > 0 { return Double(groups.reduce(0) { $0 + $1.sampleTokens }) / Double(samples) }
        let targets = groups.flatMap(\.trained)
        return targets.isEmpty ? 0 : Double(targets.reduce(0) { $0 + $1.count }) / Double(targets.count)
    }

    /// The group's samples in runs whose pass (the prompt once, then the summaries) fits.
    private func chunks(of group: SampledGroup) -> [[Int]] {
        var result: [[Int]] = [[]]
        var tokens = group.prompt.count
        for (index, continuation) in group.trained.enumerated() {
            if !result[result.count - 1].isEmpty, tokens + continuation.count > maxPassTokens {
                result.append([])
                tokens = group.prompt.count
            }
            result[result.count - 1].append(index)
            tokens += continuation.count
        }
        return result
    }

    private struct SampledGroup {
        var prompt: [Int32]
        /// The continuations the step trains on, and the advantage of each: every sample with
        /// GRPO; the target alone (advantage 1, a supervised step) when distilling or supervised.
        var trained: [[Int32]]
        var advantages: [Double]
        /// Of the samples: r(s) on the user's pairs, on the contrast user's pairs (nil without a
        /// contrast), accuracy, whether the cap cut them off, and their tokens.
        var rewards: [Double?]
        var otherRewards: [Double?]
        var accuracies: [Double?]
        var capped: [Bool]
        var sampleTokens: Int
        /// When distilling: the target's r(s) (nil when supervised: not scored) and whether it was the persona.
        var target: (reward: Double?, persona: Bool)?
    }
}
