import ArgumentParser
import Crypto
import Foundation
import InferenceRuntime
import Personalization

/// `popi train generator`: DPO of the generator on prompts that carry the users' summaries.
struct TrainGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generator",
        abstract: "Train a generator adapter with DPO on prompts carrying the users' summaries.",
        discussion: """
            Each user's summary is written once by the summarizer (the base, or it with \
            --summarizer-adapter); every pair of every user becomes a DPO example: the prompt with the \
            summary, the chosen and the rejected response, beta 0.01, the base as reference. Files and \
            --resume as for `popi train summarizer`.
            """)

    @OptionGroup var source: Train.Source

    @Option(help: "Where to write the adapter (GGUF, llama.cpp's LoRA format).")
    var out: String

    @Option(name: .customLong("summarizer-adapter"), help: "The summarizer's adapter (from `popi train summarizer`); default: the base.")
    var summarizerAdapter: String?

    @Flag(help: "Continue the run whose checkpoints are beside --out (starts afresh if there are none).")
    var resume = false

    @Option(help: "Optimizer steps.")
    var steps = DPOSettings().steps

    @Option(name: .customLong("pairs-per-step"), help: "Preference pairs per step.")
    var pairsPerStep = DPOSettings().pairsPerStep

    @Option(name: .customLong("learning-rate"), help: "Peak learning rate (after a linear warm-up).")
    var learningRate = DPOSettings().learningRate

    @Option(name: .customLong("warmup-steps"), help: "Steps of linear warm-up (default: 5, at most --steps).")
    var warmupSteps: Int?

    @Option(help: "DPO's beta.")
    var beta = DPOSettings().beta

    @Option(help: "Adapter rank.")
    var rank = DPOSettings().rank

    @Option(help: "Adapter alpha (scale alpha / rank).")
    var alpha = DPOSettings().alpha

    @Option(help: "Seed: the adapter's start, the pairs' order, the summaries.")
    var seed = DPOSettings().seed

    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints.")
    var checkpointEvery = DPOSettings().checkpointEvery

    @OptionGroup var runtimeOptions: RuntimeOptions

    func run() async throws {
        do {
            let (users, digest) = try source.load(output: out, resume: resume)
            let settings = DPOSettings(steps: steps, pairsPerStep: pairsPerStep, learningRate: learningRate,
                                       warmupSteps: warmupSteps ?? min(DPOSettings().warmupSteps, steps), beta: beta, rank: rank,
                                       alpha: alpha, seed: seed, checkpointEvery: checkpointEvery)
            let model = try runtimeOptions.preferenceModel()
            var summarizer = model
            // The summaries depend on the summarizer's adapter: it is part of what the run trains on.
            var dataDigest = digest
            if let summarizerAdapter {
                summarizer = model.with(adapter: try LoRAAdapter.load(path: summarizerAdapter, base: model.engine.modelConfig))
                guard let bytes = FileManager.default.contents(atPath: summarizerAdapter) else {
                    throw ValidationError("cannot read --summarizer-adapter \(summarizerAdapter)")
                }
                dataDigest = SHA256.digest(digest + SHA256.digest(Array(bytes)))
            }
            let run = try GeneratorTrainer.run(model: model, summarizer: summarizer, users: users, settings: settings,
                                               dataDigest: Train.hex(dataDigest), output: out, resume: resume)
            try await Train.drive(run, describe: Self.describe)
        } catch let error as ValidationError {
            throw error
        } catch {
            throw CommandFailure("train generator", error)
        }
    }

    static func describe(_ r: DPOStepRecord) -> String {
        String(format: "step %d: loss %.4f, margin gain %.2f, %.0f%% pairs gained, log p(chosen) %+.2f, lr %.2g, |g| %.3g, summaries %.0f s, train %.0f s at %.0f tok/s",
               r.step, r.loss, r.marginGain, 100 * r.accuracy, r.chosenChange, r.learningRate, r.gradientNorm,
               r.summarySeconds, r.trainingSeconds, r.trainingTokensPerSecond) + (r.skipped.map { " — step skipped: \($0)" } ?? "")
    }
}
