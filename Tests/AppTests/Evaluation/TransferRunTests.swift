import Foundation
import InferenceRuntime
import Personalization
import Synchronization
import Testing
@testable import App

/// `popi eval --generator`: an interrupted transfer run resumes, keeping the users already done
/// and redoing a torn last line. The judge is the real model; the generator is a stand-in that
/// counts its calls (the real upstream path is covered by the llama server tests).
@Suite struct TransferRunTests {
    final class CountingGenerator: TextGenerator {
        let calls = Atomic<Int>(0)
        var name: String { "counting" }
        func answer(_ turns: [ChatMessage], maxTokens: Int, seed: UInt64) async throws -> String {
            calls.add(1, ordering: .relaxed)
            return turns[0].content.contains("preferences") ? "A short answer." : "A long and winding answer that goes on."
        }
    }

    @Test func anInterruptedRunResumesWhereItStopped() async throws {
        let fixture = AppTestEnvironment.packageRoot.appendingPathComponent("Tests/PersonalizationTests/Fixtures/personas-2.jsonl")
        var dataset = try PersonaDataset.parse(Data(contentsOf: fixture))
        for index in dataset.users.indices { dataset.users[index].heldOut = Array(dataset.users[index].heldOut.prefix(2)) }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("popi-transfer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let generator = CountingGenerator()
        let evaluator = TransferEvaluator(judge: try await AppTestEnvironment.model(), generator: generator,
                                          options: SummaryOptions(candidates: 1, maxSummaryTokens: 16), maxAnswerTokens: 8)

        _ = try await TransferRun.run(evaluator: evaluator, dataset: dataset, datasetName: "personas-2", limit: 1,
                                      output: output, progress: { _, _ in })
        let file = output.appendingPathComponent("transfer-users.jsonl")
        let first = try Data(contentsOf: file)
        #expect(generator.calls.load(ordering: .relaxed) == 4, "two held-out prompts, answered with and without the summary")
        let torn = try FileHandle(forWritingTo: file)
        try torn.seekToEnd()
        try torn.write(contentsOf: Data(#"{"user_id":"pub-u0"#.utf8))
        try torn.close()

        let markdown = try await TransferRun.run(evaluator: evaluator, dataset: dataset, datasetName: "personas-2", limit: nil,
                                                 output: output, progress: { _, _ in })
        #expect(generator.calls.load(ordering: .relaxed) == 8, "only the second user is evaluated again")
        let lines = try Data(contentsOf: file).split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == 2)
        #expect(Data(lines[0]) + Data("\n".utf8) == first, "the first user's result is kept as it was")
        #expect(markdown.contains("2 users of `personas-2`"))
    }
}
