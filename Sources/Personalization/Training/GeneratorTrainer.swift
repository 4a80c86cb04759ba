import Foundation
public import InferenceRuntime

/// DPO of the generator, POPI's second stage: on prompts that carry the user's summary (written
/// by the summarizer, e.g. with a trained adapter), the generator's adapter learns to prefer the
/// user's chosen response over the rejected one more than the base does (β = 0.01, reference =
/// the base with no adapter).
///
/// Pairs are every pair of every user (context and held-out); each user's summary is written
/// once, from its context, with a seed of its own, so a resumed run sees the same summaries.
public final class GeneratorTrainer: AdapterTrainer, @unchecked Sendable {
    public static let kind = "generator"
    public let settings: DPOSettings
    public let adapter: LoRAAdapter
    public let optimizer: AdamW
    public private(set) var completedSteps: Int

    private let base: RuntimeModel
    private let summarizer: RuntimeModel
    private let users: [TrainingUser]
    /// (user, pair) of every pair.
    private let items: [(user: Int, pair: PreferencePair)]
    private let trainer: LoRATrainer
    private let gradients: LoRAGradients
    private let limits: PromptBuilder.Limits
    private let maxPassTokens: Int
    private var summaries: [Int: String] = [:]

    /// `summarizer`: the model that writes the summaries (the base, or it with a trained adapter).
    public init(model: RuntimeModel, summarizer: RuntimeModel, users: [TrainingUser], settings: DPOSettings,
                limits: PromptBuilder.Limits = .init(), checkpoint: TrainingCheckpoint? = nil, maxPassTokens: Int = 4096) throws {
        try settings.validate()
        self.users = try TrainingUser.validated(users)
        self.settings = settings
        self.limits = limits
        self.maxPassTokens = maxPassTokens
        base = model.with(adapter: nil)
        self.summarizer = summarizer
        items = users.indices.flatMap { index in (users[index].signals.pairs + users[index].heldOut).map { (index, $0) } }
        (adapter, optimizer, completedSteps) = try TrainingCheckpoint.start(checkpoint, config: model.engine.modelConfig,
                                                                            settings: settings)
        gradients = LoRAGradients(layout: adapter.layout)
        trainer = try LoRATrainer(engine: model.engine, maxTokens: maxPassTokens)
    }

    /// A run of this trainer with its files (see `TrainingRun`).
    public static func run(model: RuntimeModel, summarizer: RuntimeModel, users: [TrainingUser], settings: DPOSettings,
                           dataDigest: String, output: String, resume: Bool,
                           limits: PromptBuilder.Limits = .init()) throws -> TrainingRun<GeneratorTrainer> {
        try TrainingRun(model: model, settings: settings, dataDigest: dataDigest, output: output, resume: resume) { checkpoint in
            try GeneratorTrainer(model: model, summarizer: summarizer, users: users, settings: settings, limits: limits,
                                 checkpoint: checkpoint)
        }
    }

    public func step() async throws -> DPOStepRecord {
        let step = completedSteps + 1
        let first = (step - 1) * settings.pairsPerStep
        var orders: [Int: [Int]] = [:]
        let picked = (first..<(first + settings.pairsPerStep)).map { position -> Int in
            let epoch = position / items.count
            if orders[epoch] == nil {
                var rng = SplitMix64(seed: settings.seed &+ 0x2545_F491_4F6C_DD1D &* UInt64(epoch + 1))
                orders[epoch] = Array(items.indices).shuffled(using: &rng)
            }
            return orders[epoch]![position % items.count]
        }

        let summaryStarted = ContinuousClock.now
        for index in picked { _ = try await summary(ofUser: items[index].user) }
        let summarySeconds = (ContinuousClock.now - summaryStarted).seconds

        let trainingStarted = ContinuousClock.now
        let prompts = PromptBuilder(model: base, limits: limits)
        let engine = base.engine
        var groups: [TrainingBatch.Group] = []
        for index in picked {
            let pair = prompts.scoredPair(items[index].pair)
            let turns = prompts.generatorTurns(summary: summaries[items[index].user]!, prompt: pair.prompt)
            groups.append(.init(prompt: try engine.promptTokens(.messages(turns)),
                                continuations: [try engine.chatTemplate.encodeResponse(pair.chosen, tokenizer: engine.tokenizer),
                                                try engine.chatTemplate.encodeResponse(pair.rejected, tokenizer: engine.tokenizer)]))
        }
        var results: [DPOObjective.Pair] = []
        var passTokens = 0
        gradients.zero()
        for chunk in chunks(groups) {
            let batch = TrainingBatch(groups: chunk.map { groups[$0] })
            passTokens += batch.tokenCount
            let reference = try trainer.forward(batch, adapter: nil)
            let logprobs = try trainer.forward(batch, adapter: adapter)
            var weights: [Float] = []
            weights.reserveCapacity(logprobs.count)
            var offset = 0
            for group in batch.groups {
                let chosenCount = group.continuations[0].count, rejectedCount = group.continuations[1].count
                func sum(_ values: [Float], _ start: Int, _ count: Int) -> Double {
                    values[start..<(start + count)].reduce(0) { $0 + Double($1) }
                }
                let pair = DPOObjective.Pair(chosen: sum(logprobs, offset, chosenCount),
                                             rejected: sum(logprobs, offset + chosenCount, rejectedCount),
                                             chosenReference: sum(reference, offset, chosenCount),
                                             rejectedReference: sum(reference, offset + chosenCount, rejectedCount))
                results.append(pair)
                let w = DPOObjective.tokenWeights(pair, beta: settings.beta, pairs: picked.count)
                weights += [Float](repeating: w.chosen, count: chosenCount) + [Float](repeating: w.rejected, count: rejectedCount)
                offset += chosenCount + rejectedCount
            }
            _ = try trainer.backward(weights: weights, into: gradients)
        }
        let outcome = try optimizer.step(adapter, gradients: gradients)
        let trainingSeconds = (ContinuousClock.now - trainingStarted).seconds
        completedSteps = step

        let count = Double(results.count)
        var record = DPOStepRecord(
            step: step, loss: results.reduce(0) { $0 + DPOObjective.loss($1, beta: settings.beta) } / count,
            marginGain: results.reduce(0) { $0 + $1.marginGain } / count,
            accuracy: Double(results.filter { $0.marginGain > 0 }.count) / count,
            chosenChange: results.reduce(0) { $0 + $1.chosen - $1.chosenReference } / count,
            learningRate: 0, gradientNorm: 0, skipped: nil, summarySeconds: summarySeconds, trainingSeconds: trainingSeconds,
            trainingTokensPerSecond: Double(passTokens) / max(trainingSeconds, 1e-9))
        record.note(outcome)
        return record
    }

    /// The user's summary, written once as the service writes a zero-shot one (one sample, in the
    /// form the summarizer's adapter was trained for), seeded per user.
    private func summary(ofUser index: Int) async throws -> String {
        if let summary = summaries[index] { return summary }
        var options = SummaryOptions(candidates: 1, maxSummaryTokens: settings.maxSummaryTokens, limits: limits,
                                     form: try SummaryForm(adapter: summarizer.adapter))
        options.seed = settings.seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
        let text = try await SummaryOptimizer(model: base, summarizer: summarizer, options: options).infer(from: users[index].signals).text
        summaries[index] = text
        return text
    }

    /// Groups in runs whose pass fits `maxPassTokens` (a group alone may not be split: its two
    /// responses share the prompt).
    private func chunks(_ groups: [TrainingBatch.Group]) -> [[Int]] {
        var result: [[Int]] = [[]]
        var tokens = 0
        for (index, group) in groups.enumerated() {
            let size = group.prompt.count + group.continuations.reduce(0) { $0 + $1.count }
            if !result[result.count - 1].isEmpty, tokens + size > maxPassTokens {
                result.append([])
                tokens = 0
            }
            result[result.count - 1].append(index)
            tokens += size
        }
        return result
    }
}
