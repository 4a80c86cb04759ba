import Foundation
import InferenceRuntime
import Testing
@testable import Personalization

/// A model that fails once a shared budget of scoring calls is spent: an interruption.
private struct FailingModel: PreferenceModel {
    let inner: WordModel
    let budget: Int
    var modelID: String { inner.modelID }
    var contextLength: Int { inner.contextLength }
    func tokenCount(_ text: String) -> Int { inner.tokenCount(text) }
    func truncate(_ text: String, maxTokens: Int) -> String { inner.truncate(text, maxTokens: maxTokens) }
    func promptTokens(_ turns: [ChatMessage]) throws -> [Int32] { try inner.promptTokens(turns) }
    func logProbabilities(of responses: [String], after turns: [ChatMessage]) async throws -> [Double] {
        if inner.calls.count >= budget { throw CancellationError() }
        return try await inner.logProbabilities(of: responses, after: turns)
    }
    func sample(after turns: [ChatMessage], count: Int, settings: SamplingParameters) async throws -> SampleBatch {
        try await inner.sample(after: turns, count: count, settings: settings)
    }
    func generate(_ prompt: Prompt, settings: SamplingParameters, prefixCache: PrefixCacheKey?,
                  onText: @escaping @Sendable (String) -> Void) async throws -> Generation {
        try await inner.generate(prompt, settings: settings, prefixCache: prefixCache, onText: onText)
    }
}

@Suite struct EvaluationRunTests {
    static func dataset(_ n: Int) -> PersonaDataset {
        let short = PreferencePair(prompt: "q", chosen: "tiny reply", rejected: "a far longer and wordier reply here")
        return PersonaDataset(users: (0..<n).map {
            .init(id: "u\($0)", persona: "prefers short answers", traits: [$0 % 2 == 0 ? "concise" : "other"],
                  signals: Array(repeating: short, count: 4), heldOut: [short, short])
        })
    }

    @Test func resumesAfterAnInterruptionWithoutRedoingUsers() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("popi-eval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let dataset = Self.dataset(5)
        let options = SummaryOptions(candidates: 2, seed: 3)
        // Per user: best-of-2 (1 bare + 2 candidates × 1 held-out; the zero-shot and the partner's
        // summaries are not scored) + 2 bare + 2 raw + 4 summaries (zero-shot, best-of-N, the
        // partner's, the oracle) × 2 = 15 calls.
        let failing = FailingModel(inner: WordModel(candidates: ["likes short answers", "verbose"]), budget: 15 * 2 + 5)
        let first = EvaluationRun(evaluator: Evaluator(model: failing, options: options), dataset: dataset,
                                  datasetName: "test", outputDirectory: folder)
        await #expect(throws: CancellationError.self) { _ = try await first.run() }
        #expect(try first.completed().map(\.userID) == ["u0", "u1"])

        // A torn last line, as if the process died while appending.
        let handle = try FileHandle(forWritingTo: folder.appendingPathComponent("users.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"user_id":"u2","tra"#.utf8))
        try handle.close()

        let model = WordModel(candidates: ["likes short answers", "verbose"])
        let second = EvaluationRun(evaluator: Evaluator(model: model, options: options), dataset: dataset,
                                   datasetName: "test", outputDirectory: folder)
        let progress = ProgressLog()
        let report = try await second.run(progress: { progress.record($0, $1) })
        #expect(model.calls.count == 15 * 3, "only the three unfinished users are evaluated")
        #expect(progress.values.first! == (2, 5) && progress.values.last! == (5, 5))
        #expect(report.users == 5)
        #expect(try second.completed().map(\.userID) == ["u0", "u1", "u2", "u3", "u4"])
        for file in ["results.md", "results.json", "chart.svg"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path))
        }
        let svg = try String(contentsOf: folder.appendingPathComponent("chart.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("Oracle persona"))
    }

    @Test func aResumedRunRedoesUsersEvaluatedWithOtherAdapterFiles() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("popi-eval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = WordModel(candidates: ["likes short answers", "verbose"])
        let evaluator = Evaluator(model: model, options: SummaryOptions(candidates: 2, seed: 3), summarizer: model)
        func run(_ digest: String) -> EvaluationRun {
            EvaluationRun(evaluator: evaluator, dataset: Self.dataset(3), datasetName: "test", outputDirectory: folder,
                          adapters: ["summarizer": digest])
        }
        _ = try await run("aa").run(limit: 2)
        #expect(try run("aa").completed().map(\.userID) == ["u0", "u1"])
        #expect(try run("aa").completed().allSatisfy { $0.adapters == ["summarizer": "aa"] })
        #expect(try run("bb").completed().isEmpty, "another adapter file: nothing is reused")
        let untrained = EvaluationRun(evaluator: Evaluator(model: model, options: SummaryOptions(candidates: 2, seed: 3)),
                                      dataset: Self.dataset(3), datasetName: "test", outputDirectory: folder)
        #expect(try untrained.completed().isEmpty)
    }

    /// The report names the prompt version of each form it wrote summaries in.
    @Test func theReportNamesTheTrainedRowsPromptVersionWhenItDiffers() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("popi-eval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = WordModel(candidates: ["likes short answers"])
        func version(summarizer: WordModel?, form: SummaryForm) async throws -> String {
            let evaluator = Evaluator(model: model, options: SummaryOptions(candidates: 1, seed: 3), summarizer: summarizer,
                                      trainedForm: form)
            let run = EvaluationRun(evaluator: evaluator, dataset: Self.dataset(2), datasetName: "test",
                                    outputDirectory: folder.appendingPathComponent(UUID().uuidString))
            return try await run.run().metadata.promptVersion
        }
        #expect(try await version(summarizer: nil, form: .whole) == PromptBuilder.version)
        #expect(try await version(summarizer: model, form: .whole) == PromptBuilder.version)
        #expect(try await version(summarizer: model, form: .notes)
                == "\(PromptBuilder.version) (trained rows \(PromptBuilder.notesVersion))")
    }

    @Test func reportHasEveryConditionAndTrait() async throws {
        let model = WordModel(candidates: ["likes short answers"])
        // The word model stands in for the trained adapters too, so every row is present.
        let evaluator = Evaluator(model: model, options: .init(candidates: 1), summarizer: model, generator: model)
        var evaluations: [UserEvaluation] = []
        let users = Self.dataset(4).users
        for (index, user) in users.enumerated() {
            evaluations.append(try await evaluator.evaluate(user, partner: users[(index + 1) % users.count]))
        }
        let report = EvaluationReport(evaluations: evaluations, metadata: .init(
            dataset: "d", model: "m", promptVersion: "v", candidates: 1, seed: 1, date: "2026-11-29", wallSeconds: 1))
        #expect(report.rows.map(\.condition) == Condition.allCases.map(\.rawValue))
        let none = report.rows[0]
        #expect(none.popiAccuracy.mean == 0, "no summary never has h > 0")
        #expect(none.rawToContextRatio == nil)
        let oracle = report.rows.first { $0.condition == "oracle_persona" }!
        #expect(oracle.popiAccuracy.mean == 1, "the word model rewards summaries that say short")
        #expect(oracle.rawToContextRatio! > 1)
        #expect(report.traits.map(\.trait) == ["concise", "other"])
        let markdown = report.markdown()
        #expect(markdown.contains("| Oracle persona | 100.0% [100.0, 100.0] |"))
        #expect(markdown.contains("## By persona trait"))
        #expect(markdown.contains("| Trained, zero-shot (N = 1) |") && markdown.contains("| Another user's summary |"))
    }
}

private final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var log: [(Int, Int)] = []
    func record(_ done: Int, _ total: Int) { lock.withLock { log.append((done, total)) } }
    var values: [(Int, Int)] { lock.withLock { log } }
}
