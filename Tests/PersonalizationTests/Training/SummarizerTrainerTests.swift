import Foundation
import InferenceRuntime
import Testing
@testable import Personalization

/// GRPO on the real model with small budgets: learning, resuming, refusing.
@Suite(.serialized) struct SummarizerTrainerTests {
    let model = DefaultModel.shared
    let users: [TrainingUser] = {
        do {
            return TrainingUser.all(try PersonaDataset.load(path: DefaultModel.fixture("train-tiny.jsonl").path))
        } catch {
            fatalError("fixture train-tiny.jsonl: \(error)")
        }
    }()

    /// The cap leaves room for the model's summaries to end: capped ones all get the group's
    /// lowest reward, and a group of capped summaries teaches nothing.
    static let small = GRPOSettings(steps: 2, usersPerStep: 1, groupSize: 3, learningRate: 1e-3, warmupSteps: 0, rank: 2,
                                    alpha: 4, maxSummaryTokens: 112, seed: 7, checkpointEvery: 1)

    static func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("popi-train-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Also with one of the two users set aside and scored after each step: the resumed run
    /// scores the same and keeps the same best adapter, and the set-aside user never enters a step.
    @Test func aResumedRunReachesTheSameAdapterBitsAsAnUninterruptedOne() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var settings = Self.small
        settings.validationUsers = 1
        settings.validateEvery = 1
        let whole = try SummarizerTrainer.run(model: model, users: users, settings: settings, dataDigest: "tiny",
                                              output: "\(folder)/whole.gguf", resume: false)
        try await whole.run()

        let interrupted = try SummarizerTrainer.run(model: model, users: users, settings: settings, dataDigest: "tiny",
                                                    output: "\(folder)/resumed.gguf", resume: false)
        try await interrupted.run(stopAfter: 1)
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/resumed.gguf"))
        let resumed = try SummarizerTrainer.run(model: model, users: users, settings: settings, dataDigest: "tiny",
                                                output: "\(folder)/resumed.gguf", resume: true)
        #expect(resumed.trainer.completedSteps == 1)
        try await resumed.run()

        let a = try #require(FileManager.default.contents(atPath: "\(folder)/whole.gguf"))
        let b = try #require(FileManager.default.contents(atPath: "\(folder)/resumed.gguf"))
        #expect(a == b)
        // The adapter moved: a trained B is not zero.
        let trained = try LoRAAdapter.load(path: "\(folder)/whole.gguf", base: model.engine.modelConfig)
        let slot = trained.layout.slots[0]
        #expect(UnsafeBufferPointer(start: trained.b(slot), count: slot.rank * slot.outputs).contains { $0 != 0 })
        // The log holds each step once, with the same figures in both runs.
        #expect(resumed.records.map(\.step) == [1, 2])
        #expect(resumed.records.map(\.loss) == whole.records.map(\.loss))
        #expect(resumed.records.map(\.meanReward) == whole.records.map(\.meanReward))
        let log = try String(contentsOfFile: resumed.logPath, encoding: .utf8)
        #expect(log.split(separator: "\n").count == 2)
        #expect(try String(contentsOfFile: resumed.curvePath, encoding: .utf8).hasPrefix("<svg"))

        let aside = try #require(whole.trainer.validationUsers.first)
        #expect(whole.trainer.users.map(\.id) == users.map(\.id).filter { $0 != aside.id })
        #expect(whole.records.allSatisfy { !$0.users.contains(aside.id) })
        // Wall time aside, each validation scores the same in both runs.
        let scores = whole.records.map { $0.validation.map { [Double($0.users), $0.meanReward, $0.accuracy, $0.meanSummaryTokens] } }
        #expect(scores.allSatisfy { $0?.first == 1 })
        #expect(resumed.records.map { $0.validation.map { [Double($0.users), $0.meanReward, $0.accuracy, $0.meanSummaryTokens] } } == scores)
        let best = try #require(whole.best)
        #expect(best.score == scores.compactMap { $0?[1] }.max())
        #expect(resumed.best?.step == best.step)
        #expect(whole.bestPath == "\(folder)/whole.best.gguf")
        let bestA = try #require(FileManager.default.contents(atPath: whole.bestPath))
        let bestB = try #require(FileManager.default.contents(atPath: resumed.bestPath))
        #expect(bestA == bestB)
        #expect((bestA == a) == (best.step == 2))
    }

    @Test func setAsideUsersAreASeededChoiceThatLeavesUsersToTrainOn() throws {
        let many = (0..<10).map { TrainingUser(id: "u\($0)", signals: users[0].signals, heldOut: users[0].heldOut) }
        var settings = Self.small
        settings.validationUsers = 3
        let (training, validation) = try SummarizerTrainer.split(many, settings: settings)
        #expect(validation.count == 3 && training.count == 7)
        #expect(Set(training.map(\.id)).isDisjoint(with: validation.map(\.id)))
        #expect(try SummarizerTrainer.split(many, settings: settings).validation == validation)
        settings.seed += 1
        #expect(try SummarizerTrainer.split(many, settings: settings).validation != validation)
        settings.validationUsers = 10
        #expect(throws: PersonalizationError.self) { try SummarizerTrainer.split(many, settings: settings) }
        settings.validationUsers = 0
        #expect(try SummarizerTrainer.split(many, settings: settings).training == many)
    }

    @Test func aFewStepsRaiseTheRewardOnTheirOwnData() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let user = users[0]
        let settings = GRPOSettings(steps: 6, usersPerStep: 1, groupSize: 4, learningRate: 3e-3, warmupSteps: 0, rank: 4,
                                    alpha: 8, klCoefficient: 0, maxSummaryTokens: 112, seed: 3, checkpointEvery: 4)
        let run = try SummarizerTrainer.run(model: model, users: [user], settings: settings, dataDigest: "one",
                                            output: "\(folder)/a.gguf", resume: false)
        let before = try await meanReward(of: user, adapter: run.trainer.adapter.copy())
        try await run.run()
        let after = try await meanReward(of: user, adapter: run.trainer.adapter)
        #expect(after > before, "mean reward of 16 fixed-seed summaries: \(before) before, \(after) after")
    }

    /// Each user's summaries are also scored on the next user's pairs; without a contrast they are not.
    @Test func aContrastedStepScoresTheSummariesOnTheNextUsersPairsToo() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var settings = Self.small
        settings.steps = 1
        settings.usersPerStep = 2
        settings.groupSize = 2
        settings.maxSummaryTokens = 16  // capped summaries are scored too: short ones keep the test quick
        settings.contrast = 1
        let run = try SummarizerTrainer.run(model: model, users: Array(users.prefix(2)), settings: settings, dataDigest: "two",
                                            output: "\(folder)/c.gguf", resume: false)
        let record = try await run.trainer.step()
        let other = try #require(record.otherUserReward)
        #expect(other.isFinite && other < 0 && other != record.meanReward)

        settings.contrast = 0
        let plain = try SummarizerTrainer.run(model: model, users: Array(users.prefix(2)), settings: settings, dataDigest: "two",
                                              output: "\(folder)/p.gguf", resume: false)
        #expect(try await plain.trainer.step().otherUserReward == nil)
    }

    /// A distillation step trains on at most one candidate per user, the persona among them, and
    /// the target it learns becomes more likely under the adapter.
    @Test func aDistillationStepLearnsEachUsersBestCandidateThePersonaIncluded() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let user = users[0]
        #expect(user.persona?.isEmpty == false)
        var settings = Self.small
        settings.steps = 3
        settings.groupSize = 1
        settings.maxSummaryTokens = 16  // the sample is cut off: the persona is the only valid candidate
        settings.method = .distill
        let (before, after, records) = try await personaLearning(user, settings: settings, output: "\(folder)/d.gguf")
        let distilled = records.compactMap(\.distillation)
        #expect(distilled.count == 3)
        #expect(distilled.allSatisfy { $0.targets == $0.personaTargets && $0.targets <= 1 })
        if distilled.contains(where: { $0.targets == 1 }) {
            #expect(after > before, "log p(persona) \(before) before, \(after) after")
        } else {
            // The persona did not beat no summary on this user's pairs: nothing was learnt from it.
            #expect(records.allSatisfy { $0.kl == 0 })
        }
    }

    /// A supervised step samples and scores nothing, learns every user's persona, and refuses
    /// users without one.
    @Test func aSupervisedStepLearnsThePersonaWithoutSamplingAndNeedsOneForEveryUser() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let user = users[0]
        var settings = Self.small
        settings.method = .supervised
        let (before, after, records) = try await personaLearning(user, settings: settings, output: "\(folder)/s.gguf")
        #expect(after > before, "log p(persona) \(before) before, \(after) after")
        #expect(records.allSatisfy { !$0.sampled && $0.scoringSeconds == 0 && $0.meanSummaryTokens > 0 })
        #expect(records.map { $0.distillation?.targets } == [1, 1])
        #expect(records.allSatisfy { $0.distillation?.targetReward == nil })

        var anonymous = user
        anonymous.persona = nil
        #expect(throws: PersonalizationError.self) {
            try SummarizerTrainer(model: model, users: [user, anonymous], settings: settings)
        }
    }

    /// A note step trains on `groupSize` labelled pairs of each user (and their swapped copies,
    /// with the other note), samples and scores nothing, and refuses a dataset without labels.
    /// The fixture's first user shows one pole; a made-up user with every pair swapped shows the
    /// other, so each pair also teaches the opposite note on the swapped responses.
    static func twoPoles() throws -> (TrainingUser, TrainingUser) {
        let dataset = try PersonaDataset.load(path: DefaultModel.fixture("train-tiny.jsonl").path)
        var opposite = dataset.users[0]
        opposite.id = "opposite"
        opposite.traits = ["no-\(opposite.traits[0])"]
        opposite.persona = "This user wants the facts without comparisons."
        let swap = { (pair: PreferencePair) in PreferencePair(prompt: pair.prompt, chosen: pair.rejected, rejected: pair.chosen) }
        opposite.signals = opposite.signals.map(swap)
        opposite.heldOut = opposite.heldOut.map(swap)
        let users = TrainingUser.all(PersonaDataset(users: [dataset.users[0], opposite]))
        return (users[0], users[1])
    }

    @Test func aNoteStepLearnsTheNoteOnEachPairAndItsSwapAndNeedsLabelledPairs() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (user, other) = try Self.twoPoles()
        let note = try #require(user.notes.first)
        #expect(user.notes.count == user.signals.pairs.count + user.heldOut.count)
        #expect(note.note == user.persona && note.swappedNote == other.persona)
        var settings = Self.small
        settings.method = .notes
        settings.groupSize = 2
        let run = try SummarizerTrainer.run(model: model, users: [user], settings: settings, dataDigest: "one",
                                            output: "\(folder)/n.gguf", resume: false)
        let builder = PromptBuilder(model: model)
        let swapped = try #require(note.swappedNote)
        let probes = [(note.note, builder.noteTurns(for: note.pair)), (swapped, builder.noteTurns(for: note.swappedPair))]
        let records = try await runRaising(probes, run)
        #expect(records.allSatisfy { !$0.sampled && $0.scoringSeconds == 0 })
        #expect(records.map { $0.distillation?.targets } == [4, 4])

        // Validation reads set-aside pairs both ways round: the other user's first four, twice.
        settings.validationUsers = 1
        let withAside = try SummarizerTrainer(model: model, users: [user, other], settings: settings)
        let reading = try #require(try withAside.noteReading())
        #expect(reading.pairs == 8 && (0...1).contains(reading.accuracy))

        var unlabelled = user
        unlabelled.notes = []
        #expect(throws: PersonalizationError.self) {
            try SummarizerTrainer(model: model, users: [unlabelled], settings: settings)
        }
    }

    @Test func aDescriptionStepLearnsEachResponsesNoteAndTheAdapterSaysItsForm() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (user, other) = try Self.twoPoles()
        let note = try #require(user.notes.first)
        let swapped = try #require(note.swappedNote)
        var settings = Self.small
        settings.method = .describe
        settings.groupSize = 2
        let run = try SummarizerTrainer.run(model: model, users: [user], settings: settings, dataDigest: "one",
                                            output: "\(folder)/d.gguf", resume: false)
        #expect(run.trainer.adapter.labels[SummaryForm.label] == "describe")
        let builder = PromptBuilder(model: model)
        let pair = note.pair
        let probes = [(note.note, builder.describeTurns(prompt: pair.prompt, response: pair.chosen)),
                      (swapped, builder.describeTurns(prompt: pair.prompt, response: pair.rejected))]
        let records = try await runRaising(probes, run)
        #expect(records.map { $0.distillation?.targets } == [4, 4])

        // The description form's reading is one contrast per set-aside pair: the other user's first four.
        settings.validationUsers = 1
        let withAside = try SummarizerTrainer(model: model, users: [user, other], settings: settings)
        let reading = try #require(try withAside.noteReading())
        #expect(reading.pairs == 4 && (0...1).contains(reading.accuracy))
    }

    @Test func anExistingRunIsRefusedUnlessResumedAndOtherSettingsAreRefusedOnResume() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var settings = Self.small
        settings.steps = 1
        let output = "\(folder)/a.gguf"
        try await SummarizerTrainer.run(model: model, users: users, settings: settings, dataDigest: "tiny",
                                        output: output, resume: false).run()
        #expect(throws: TrainingError.outputExists(path: output)) {
            try SummarizerTrainer.run(model: model, users: users, settings: settings, dataDigest: "tiny", output: output, resume: false)
        }
        var other = settings
        other.learningRate = 1e-4
        #expect(throws: TrainingError.checkpointMismatch(folder: output + ".checkpoints", reason: "different settings")) {
            try SummarizerTrainer.run(model: model, users: users, settings: other, dataDigest: "tiny", output: output, resume: true)
        }
        #expect(throws: TrainingError.checkpointMismatch(folder: output + ".checkpoints", reason: "different training data")) {
            try SummarizerTrainer.run(model: model, users: users, settings: settings, dataDigest: "else", output: output, resume: true)
        }
        // A finished run resumed again does nothing more and keeps its adapter.
        let again = try SummarizerTrainer.run(model: model, users: users, settings: settings, dataDigest: "tiny", output: output, resume: true)
        #expect(again.trainer.isFinished)
    }

    /// GRPO continuing a supervised adapter starts from its bits (not a fresh seeded one) and
    /// moves them; a start of another form, without its digest, or another start on resume is refused.
    @Test func aRunStartedFromAnAdapterContinuesItAndRefusesAnotherFormOrStart() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var supervised = Self.small
        supervised.steps = 1
        supervised.method = .supervised
        let first = try SummarizerTrainer.run(model: model, users: users, settings: supervised, dataDigest: "tiny",
                                              output: "\(folder)/s.gguf", resume: false)
        try await first.run()
        let start = try LoRAAdapter.load(path: "\(folder)/s.gguf", base: model.engine.modelConfig)
        let bits = { (adapter: LoRAAdapter) in
            Array(UnsafeBufferPointer(start: adapter.parameters, count: adapter.layout.parameterCount))
        }

        var settings = Self.small
        settings.steps = 1
        settings.startAdapter = "digest-of-s"
        let output = "\(folder)/g.gguf"
        let run = try SummarizerTrainer.run(model: model, users: users, settings: settings, dataDigest: "tiny",
                                            output: output, resume: false, start: start)
        #expect(bits(run.trainer.adapter) == bits(start))
        #expect(run.trainer.adapter !== start)
        try await run.run()
        #expect(bits(run.trainer.adapter) != bits(start))

        var other = settings
        other.startAdapter = "digest-of-another"
        #expect(throws: TrainingError.checkpointMismatch(folder: output + ".checkpoints", reason: "different settings")) {
            try SummarizerTrainer.run(model: model, users: users, settings: other, dataDigest: "tiny", output: output,
                                      resume: true, start: start)
        }
        #expect(throws: PersonalizationError.self) {
            try SummarizerTrainer(model: model, users: users, settings: Self.small, start: start)
        }
        let notes = start.copy()
        notes.labels[SummaryForm.label] = SummaryForm.notes.rawValue
        #expect(throws: PersonalizationError.self) {
            try SummarizerTrainer(model: model, users: users, settings: settings, start: notes)
        }
        // A run the trainer refuses leaves no folder behind.
        #expect(throws: PersonalizationError.self) {
            try SummarizerTrainer.run(model: model, users: users, settings: settings, dataDigest: "tiny",
                                      output: "\(folder)/refused/n.gguf", resume: false, start: notes)
        }
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/refused"))
        var otherRank = settings
        otherRank.rank = 4
        #expect(throws: PersonalizationError.self) {
            try SummarizerTrainer(model: model, users: users, settings: otherRank, start: start)
        }
        // A whole-form adapter may start a run on skimmed prompts: both write the whole summary.
        var skimmed = settings
        skimmed.skim = true
        let skimRun = try SummarizerTrainer(model: model, users: users, settings: skimmed, start: start)
        #expect(skimRun.adapter.labels[SummaryForm.label] == SummaryForm.skim.rawValue)
        #expect(try SummaryForm(adapter: skimRun.adapter) == .skim)
    }

    @Test func usersWithTooFewPairsAreRefusedByName() throws {
        var user = users[0]
        user.signals.pairs = Array(user.signals.pairs.prefix(1))
        #expect(throws: PersonalizationError.self) {
            try SummarizerTrainer(model: model, users: [user], settings: Self.small)
        }
        do {
            _ = try SummarizerTrainer(model: model, users: [user], settings: Self.small)
        } catch {
            #expect("\(error)".contains(user.id))
        }
        var noHeldOut = users[1]
        noHeldOut.heldOut = []
        #expect(throws: PersonalizationError.self) {
            try SummarizerTrainer(model: model, users: [noHeldOut], settings: Self.small)
        }
    }

    /// log p(text | the user's inference prompt) under base + adapter, end of turn included.
    /// A whole run on `user` alone: log p(persona) under the adapter before and after, and the steps' records.
    private func personaLearning(_ user: TrainingUser, settings: GRPOSettings, output: String) async throws
        -> (before: Double, after: Double, records: [GRPOStepRecord]) {
        let run = try SummarizerTrainer.run(model: model, users: [user], settings: settings, dataDigest: "one",
                                            output: output, resume: false)
        let persona = try #require(user.persona)
        let before = try await logProbability(of: persona, for: user, adapter: run.trainer.adapter.copy())
        var records: [GRPOStepRecord] = []
        try await run.run { records.append($0) }
        return (before, try await logProbability(of: persona, for: user, adapter: run.trainer.adapter), records)
    }

    private func logProbability(of text: String, for user: TrainingUser, adapter: LoRAAdapter) async throws -> Double {
        let (turns, _) = try PromptBuilder(model: model).inferenceTurns(for: user.signals.cleaned().signals)
        return try await logProbability(of: text, after: turns, adapter: adapter)
    }

    /// Runs `run` to its end and expects it to raise log p(text | turns) of every probe.
    private func runRaising(_ probes: [(String, [ChatMessage])], _ run: TrainingRun<SummarizerTrainer>) async throws
        -> [GRPOStepRecord] {
        var before: [Double] = []
        for (text, turns) in probes {
            before.append(try await logProbability(of: text, after: turns, adapter: run.trainer.adapter.copy()))
        }
        var records: [GRPOStepRecord] = []
        try await run.run { records.append($0) }
        for ((text, turns), old) in zip(probes, before) {
            let after = try await logProbability(of: text, after: turns, adapter: run.trainer.adapter)
            #expect(after > old, "log p(\(text)) \(old) before, \(after) after")
        }
        return records
    }

    /// log p(text | turns) under base + adapter, end of turn included.
    private func logProbability(of text: String, after turns: [ChatMessage], adapter: LoRAAdapter) async throws -> Double {
        let engine = model.engine
        let prompt = try engine.promptTokens(.messages(turns))
        let continuation = try engine.chatTemplate.encodeResponse(text, tokenizer: engine.tokenizer)
        let trainer = try LoRATrainer(engine: engine, maxTokens: 4096)
        let logprobs = try trainer.forward(TrainingBatch(groups: [.init(prompt: prompt, continuations: [continuation])]),
                                           adapter: adapter)
        return logprobs.reduce(0) { $0 + Double($1) }
    }

    /// Mean reward on the user's held-out pairs of 16 summaries sampled with fixed seeds (fewer
    /// leave the comparison to sampling noise).
    private func meanReward(of user: TrainingUser, adapter: LoRAAdapter) async throws -> Double {
        let options = SummaryOptions(candidates: 16, maxSummaryTokens: 112, seed: 99)
        let summarizer = model.with(adapter: adapter)
        let (turns, _) = try PromptBuilder(model: model).inferenceTurns(for: user.signals)
        let batch = try await summarizer.sample(after: turns, count: 16, settings: options.sampling)
        let texts = batch.generations.map { SummaryOptimizer.clean($0.text, cutOff: false) }.filter { !$0.isEmpty }
        let scores = try await SummaryOptimizer(model: model, options: options).scores(summaries: texts, pairs: user.heldOut)
        return scores.map { Reward.summarize($0).meanReward }.reduce(0, +) / Double(max(scores.count, 1))
    }
}
