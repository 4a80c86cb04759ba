public import Foundation

/// Runs an evaluation over a dataset into an output folder: `users.jsonl` (one line per user,
/// appended as each finishes, so an interrupted run resumes where it stopped), then
/// `results.md`, `results.json` and `chart.svg`.
public struct EvaluationRun: Sendable {
    public let evaluator: Evaluator
    public let dataset: PersonaDataset
    public let datasetName: String
    public let outputDirectory: URL
    /// The SHA-256 of each adapter file the evaluator runs with, by role ("summarizer",
    /// "generator"): recorded on every user's line, so a resumed run redoes users that an
    /// earlier run evaluated with other adapters.
    public let adapters: [String: String]

    public init(evaluator: Evaluator, dataset: PersonaDataset, datasetName: String, outputDirectory: URL,
                adapters: [String: String] = [:]) {
        self.evaluator = evaluator
        self.dataset = dataset
        self.datasetName = datasetName
        self.outputDirectory = outputDirectory
        self.adapters = adapters
    }

    var usersFile: URL { outputDirectory.appendingPathComponent("users.jsonl") }

    /// Evaluations already in `users.jsonl` for users of this dataset. A torn last line (the
    /// process died mid-write) is dropped and rewritten.
    public func completed() throws -> [UserEvaluation] {
        guard let data = FileManager.default.contents(atPath: usersFile.path) else { return [] }
        let wanted = Set(dataset.users.map(\.id))
        var done: [UserEvaluation] = []
        var seen = Set<String>()
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let evaluation = try? JSONDecoder().decode(UserEvaluation.self, from: Data(line)) else { continue }
            // A line from a run with other adapters (other files, or more or fewer): redo that user.
            let sameAdapters = (evaluation.result(.trainedZeroShot) != nil) == (evaluator.summarizer != nil)
                && (evaluation.result(.trainedGenerator) != nil) == (evaluator.generator != nil)
                && (evaluation.adapters ?? [:]) == adapters
            if sameAdapters, wanted.contains(evaluation.userID), seen.insert(evaluation.userID).inserted {
                done.append(evaluation)
            }
        }
        return done
    }

    /// Evaluates every user not yet done (at most `limit` users of the dataset, in order),
    /// reporting progress as (done, total), and writes the reports.
    public func run(limit: Int? = nil, progress: @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> EvaluationReport {
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        let users = Array(dataset.users.prefix(limit ?? dataset.users.count))
        var byID = Dictionary(uniqueKeysWithValues: try completed().map { ($0.userID, $0) })
        try rewriteUsersFile(users.compactMap { byID[$0.id] })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        progress(users.filter { byID[$0.id] != nil }.count, users.count)
        for user in users where byID[user.id] == nil {
            try Task.checkCancellation()
            var evaluation = try await evaluator.evaluate(user, partner: partner(of: user))
            evaluation.adapters = adapters.isEmpty ? nil : adapters
            var line = try encoder.encode(evaluation)
            line.append(UInt8(ascii: "\n"))
            try append(line)
            byID[user.id] = evaluation
            progress(users.filter { byID[$0.id] != nil }.count, users.count)
        }
        let evaluations = users.compactMap { byID[$0.id] }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        let report = EvaluationReport(evaluations: evaluations, metadata: .init(
            dataset: datasetName, model: evaluator.model.modelID, promptVersion: promptVersions,
            candidates: evaluator.options.candidates, seed: evaluator.options.seed,
            date: formatter.string(from: Date()),
            wallSeconds: evaluations.map(\.seconds).reduce(0, +)))
        try write(report)
        return report
    }

    /// The untrained rows' prompt version, and the trained rows' when they are written in another
    /// form.
    private var promptVersions: String {
        let trained = PromptBuilder.version(of: evaluator.trainedForm)
        guard evaluator.summarizer != nil, trained != PromptBuilder.version else { return PromptBuilder.version }
        return "\(PromptBuilder.version) (trained rows \(trained))"
    }

    /// The mismatched control's other user: the next one in the dataset (wrapping around) that
    /// shares no trait with `user`, so its summary describes other preferences.
    func partner(of user: PersonaDataset.User) -> PersonaDataset.User? {
        guard let index = dataset.users.firstIndex(where: { $0.id == user.id }) else { return nil }
        let count = dataset.users.count
        return (1..<max(count, 1)).lazy.map { dataset.users[(index + $0) % count] }
            .first { Set($0.traits).isDisjoint(with: user.traits) }
    }

    func write(_ report: EvaluationReport) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: outputDirectory.appendingPathComponent("results.json"), options: .atomic)
        try Data(report.markdown().utf8).write(to: outputDirectory.appendingPathComponent("results.md"), options: .atomic)
        try Data(EvaluationChart(report: report).svg().utf8).write(to: outputDirectory.appendingPathComponent("chart.svg"), options: .atomic)
    }

    private func rewriteUsersFile(_ evaluations: [UserEvaluation]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = Data()
        for evaluation in evaluations {
            data.append(try encoder.encode(evaluation))
            data.append(UInt8(ascii: "\n"))
        }
        try data.write(to: usersFile, options: .atomic)
    }

    private func append(_ line: Data) throws {
        let handle = try FileHandle(forWritingTo: usersFile)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
        try handle.synchronize()
    }
}
