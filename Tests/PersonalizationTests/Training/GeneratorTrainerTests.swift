import Foundation
import InferenceRuntime
import Testing
@testable import Personalization

/// DPO on the real model with a small budget.
@Suite(.serialized) struct GeneratorTrainerTests {
    let model = DefaultModel.shared

    @Test func dpoStepsRaiseTheMarginOnTheirPairsAndResumeToTheSameBits() async throws {
        let folder = try SummarizerTrainerTests.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let users = TrainingUser.all(try PersonaDataset.load(path: DefaultModel.fixture("train-tiny.jsonl").path))
        let user = users[0]
        // Every pair of the user in every step: the margin gain is measured on the pairs trained on.
        let pairs = user.signals.pairs.count + user.heldOut.count
        let settings = DPOSettings(steps: 4, pairsPerStep: pairs, learningRate: 2e-3, warmupSteps: 0, beta: 0.01, rank: 4,
                                   alpha: 8, seed: 5, checkpointEvery: 2, maxSummaryTokens: 24)
        let run = try GeneratorTrainer.run(model: model, summarizer: model, users: [user], settings: settings, dataDigest: "tiny",
                                           output: "\(folder)/g.gguf", resume: false)
        try await run.run()
        let gains = run.records.map(\.marginGain)
        // Step 1 measures the adapter before any update (B = 0): exactly the reference.
        #expect(gains[0] == 0)
        #expect(gains.last! > 0, "margin gains per step: \(gains)")
        #expect(run.records.last!.loss < run.records.first!.loss)

        let resumedOnce = try GeneratorTrainer.run(model: model, summarizer: model, users: [user], settings: settings,
                                                   dataDigest: "tiny", output: "\(folder)/h.gguf", resume: false)
        try await resumedOnce.run(stopAfter: 2)
        let resumed = try GeneratorTrainer.run(model: model, summarizer: model, users: [user], settings: settings,
                                               dataDigest: "tiny", output: "\(folder)/h.gguf", resume: true)
        try await resumed.run()
        #expect(FileManager.default.contents(atPath: "\(folder)/g.gguf") == FileManager.default.contents(atPath: "\(folder)/h.gguf"))
    }
}
