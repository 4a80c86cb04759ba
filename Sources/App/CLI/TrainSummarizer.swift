import ArgumentParser
import Foundation
import Personalization

/// `popi train summarizer`: GRPO of the summarizer on POPI's reward, resumable.
struct TrainSummarizer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summarizer",
        abstract: "Train a summarizer adapter on POPI's reward (GRPO, best-of-N distillation, or supervised on personas).",
        discussion: """
            Each step samples --group-size summaries for each of --users-per-step users with the adapter, \
            rewards them with r(s) on the users' held-out pairs (scored by the base model), and takes one \
            AdamW step on the group-centred advantages with a KL penalty to the base. With --method distill, \
            the step is instead a supervised one toward each user's best candidate by r(s) (the samples and \
            the dataset's persona, if any), when it beats no summary. With --method supervised, each user's \
            persona is the target, with nothing sampled or scored (every user needs a persona). With --method notes, \
            the adapter learns the note form (one prompt per example pair, merged; the adapter records it, so eval \
            and serve write notes with it): --group-size pairs of each user with one trait are each a target of the user's persona. Writes the adapter to \
            --out, checkpoints to OUT.checkpoints/, a JSON-lines log to OUT.log.jsonl and the curve to \
            OUT.svg. With --validation-users, that many users are set aside and the adapter's zero-shot \
            summary is scored on them after step 1, every --validate-every steps and after the last; \
            the best-scoring adapter is kept as OUT.best.gguf. Stopped at any point, the same command \
            with --resume continues from the last checkpoint to the same final adapter.
            """)

    @OptionGroup var source: Train.Source

    @Option(help: "Where to write the adapter (GGUF, llama.cpp's LoRA format).")
    var out: String

    @Flag(help: "Continue the run whose checkpoints are beside --out (starts afresh if there are none).")
    var resume = false

    @Option(help: "Optimizer steps.")
    var steps = GRPOSettings().steps

    @Option(name: .customLong("users-per-step"), help: "Users per step (each is one group).")
    var usersPerStep = GRPOSettings().usersPerStep

    @Option(name: .customLong("group-size"), help: "Summaries sampled per user (with --method notes: pairs per user).")
    var groupSize = GRPOSettings().groupSize

    @Option(name: .customLong("learning-rate"), help: "Peak learning rate (after a linear warm-up).")
    var learningRate = GRPOSettings().learningRate

    @Option(name: .customLong("warmup-steps"), help: "Steps of linear warm-up (default: 5, at most --steps).")
    var warmupSteps: Int?

    @Option(help: "Adapter rank.")
    var rank = GRPOSettings().rank

    @Option(help: "Adapter alpha (scale alpha / rank).")
    var alpha = GRPOSettings().alpha

    @Option(name: .customLong("kl"), help: "KL coefficient (k3 estimator, to the base).")
    var klCoefficient = GRPOSettings().klCoefficient

    @Option(help: "Sampling temperature of the summaries.")
    var temperature = GRPOSettings().temperature

    @Option(name: .customLong("summary-tokens"), help: "Cap on a summary's tokens (a capped summary gets its group's lowest reward).")
    var summaryTokens = GRPOSettings().maxSummaryTokens

    @Option(help: "Seed: the adapter's start, the users' order, every sample.")
    var seed = GRPOSettings().seed

    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints.")
    var checkpointEvery = GRPOSettings().checkpointEvery

    @Option(name: .customLong("validation-users"), help: "Users set aside from training to score the adapter on (0: none).")
    var validationUsers = GRPOSettings().validationUsers

    @Option(name: .customLong("validate-every"), help: "Steps between validations (also after step 1 and the last).")
    var validateEvery = GRPOSettings().validateEvery

    @Option(help: "Weight of the contrast term (0...1): a summary's advantage comes from r(s) on its user's pairs minus this times r(s) on the next user's pairs of the step, so generic summaries earn nothing. 0 is POPI's reward.")
    var contrast = GRPOSettings().contrast

    @Option(name: .customLong("start-adapter"), help: "Start from this adapter (of the same method's form) instead of a fresh one, e.g. GRPO after --method supervised; its rank and alpha are the run's.")
    var startAdapter: String?

    @Option(help: "grpo (the paper's), distill (best-of-N distillation: a supervised step toward each user's best candidate by r(s), among the samples and the dataset's persona), supervised (each user's persona is the target; nothing is sampled), notes (the note form: each labelled pair's note is the target of the pair's note prompt, and the other note of the pair swapped) or describe (the description form: each labelled pair's note is the target of the preferred response's description prompt, and the other note of the other response's).")
    var method = GRPOSettings().method.rawValue

    @Flag(help: "With grpo, distill or supervised: read the skim form (the newest 6 pairs, each response shown by its opening and its close with its length), about half the prompt of the whole form, so a refresh costs about half as much.")
    var skim = false

    @OptionGroup var runtimeOptions: RuntimeOptions

    func run() async throws {
        do {
            guard let method = SummarizerMethod(rawValue: method) else {
                throw ValidationError("--method must be one of: " + SummarizerMethod.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let (users, digest) = try source.load(output: out, resume: resume)
            let model = try runtimeOptions.preferenceModel()
            let start = try startAdapter.map { try AdapterArgument.load($0, what: "start adapter", base: model.engine.modelConfig) }
            var settings = GRPOSettings(
                steps: steps, usersPerStep: usersPerStep, groupSize: groupSize, learningRate: learningRate,
                warmupSteps: warmupSteps ?? min(GRPOSettings().warmupSteps, steps), rank: rank, alpha: alpha,
                klCoefficient: klCoefficient, temperature: temperature, maxSummaryTokens: summaryTokens, seed: seed,
                checkpointEvery: checkpointEvery, validationUsers: validationUsers, validateEvery: validateEvery,
                contrast: contrast, method: method, skim: skim)
            if let start {
                settings.startAdapter = start.sha256
                settings.rank = start.adapter.layout.widestRank
                settings.alpha = Double(start.adapter.alpha)
            }
            let run = try SummarizerTrainer.run(model: model, users: users, settings: settings, dataDigest: Train.hex(digest),
                                                output: out, resume: resume, start: start?.adapter)
            try await Train.drive(run, describe: Self.describe)
        } catch let error as ValidationError {
            throw error
        } catch {
            throw CommandFailure("train summarizer", error)
        }
    }

    static func describe(_ r: GRPOStepRecord) -> String {
        (r.sampled
            ? String(format: "step %d: reward %.2f ± %.2f, accuracy %.2f, KL %.4f, %.0f tokens/summary (%.0f%% capped), lr %.2g, |g| %.3g, %.0f s (sample %.0f, score %.0f, train %.0f at %.0f tok/s)",
                     r.step, r.meanReward, r.rewardSpread, r.accuracy, r.kl, r.meanSummaryTokens, 100 * r.truncatedShare,
                     r.learningRate, r.gradientNorm, r.seconds, r.samplingSeconds, r.scoringSeconds, r.trainingSeconds,
                     r.trainingTokensPerSecond)
            : String(format: "step %d: loss %.3f, KL %.4f, %.0f tokens/target, lr %.2g, |g| %.3g, %.0f s (train %.0f at %.0f tok/s)",
                     r.step, r.loss, r.kl, r.meanSummaryTokens, r.learningRate, r.gradientNorm, r.seconds, r.trainingSeconds,
                     r.trainingTokensPerSecond))
            + (r.otherUserReward.map { String(format: "; on the next user's pairs %.2f", $0) } ?? "")
            + (r.distillation.map { d in
                !r.sampled ? String(format: "; learnt %d targets", d.targets) :
                String(format: "; distilled %d users (%d from the persona)", d.targets, d.personaTargets)
                    + (d.targetReward.map { String(format: ", target reward %.2f", $0) } ?? "")
            } ?? "")
            + (r.validation.map { String(format: "; set-aside users: reward %.2f, accuracy %.2f, %.0f tokens/summary (%.0f s)",
                                         $0.meanReward, $0.accuracy, $0.meanSummaryTokens, $0.seconds) } ?? "")
            + (r.validation?.noteReading.map { String(format: "; %.0f%% of %d set-aside pairs read right", 100 * $0.accuracy, $0.pairs) } ?? "")
            + (r.skipped.map { " — step skipped: \($0)" } ?? "")
    }
}
