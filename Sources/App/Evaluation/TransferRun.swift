import Foundation
import Personalization

/// `popi eval --generator <upstream>`: generator transfer over a dataset, written to
/// `transfer.md`, `transfer.json` and `transfer-users.jsonl` in the output folder. Users already
/// in `transfer-users.jsonl` are kept, so an interrupted run resumes where it stopped (like
/// `EvaluationRun`); a torn last line is redone.
enum TransferRun {
    static func run(evaluator: TransferEvaluator, dataset: PersonaDataset, datasetName: String, limit: Int?,
                           output: URL, progress: @Sendable (Int, Int) -> Void) async throws -> String {
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let users = Array(dataset.users.prefix(limit ?? dataset.users.count))
        let file = output.appendingPathComponent("transfer-users.jsonl")
        var byID = completed(in: file, users: Set(users.map(\.id)))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func write() throws {
            var lines = Data()
            for result in users.compactMap({ byID[$0.id] }) {
                lines.append(try encoder.encode(result))
                lines.append(UInt8(ascii: "\n"))
            }
            try lines.write(to: file, options: .atomic)
        }
        try write()
        progress(byID.count, users.count)
        for user in users where byID[user.id] == nil {
            try Task.checkCancellation()
            byID[user.id] = try await evaluator.evaluate(user)
            try write()
            progress(byID.count, users.count)
        }
        let results = users.compactMap { byID[$0.id] }
        let win = Bootstrap().meanInterval(results.map(\.winRate))
        let summaryTokens = results.map { Double($0.summaryTokens) }.reduce(0, +) / Double(max(1, results.count))
        let rawTokens = results.map { Double($0.rawSignalTokens) }.reduce(0, +) / Double(max(1, results.count))
        let margin = results.map(\.meanMargin).reduce(0, +) / Double(max(1, results.count))
        let report: [String: Any] = [
            "dataset": datasetName, "generator": evaluator.generator.name, "judge": evaluator.judge.modelID,
            "users": results.count, "win_rate": ["mean": win.mean, "low": win.low, "high": win.high],
            "mean_margin": margin, "summary_tokens": summaryTokens, "raw_signal_tokens": rawTokens,
        ]
        try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
            .write(to: output.appendingPathComponent("transfer.json"), options: .atomic)
        let markdown = """
            # Generator transfer

            Summaries inferred by `\(evaluator.judge.modelID)` personalize `\(evaluator.generator.name)`; \
            \(results.count) users of `\(datasetName)`, judged by the local model under each user's oracle persona.

            | Win rate of personalized over plain answers | Mean margin h | Context sent upstream: summary | … raw signals instead | Ratio |
            |---|---|---|---|---|
            | \(String(format: "%.1f%% [%.1f, %.1f]", win.mean * 100, win.low * 100, win.high * 100)) | \(String(format: "%.2f", margin)) | \(String(format: "%.0f", summaryTokens)) tokens | \(String(format: "%.0f", rawTokens)) tokens | \(String(format: "%.1fx", rawTokens / max(1, summaryTokens))) |

            """
        try Data(markdown.utf8).write(to: output.appendingPathComponent("transfer.md"), options: .atomic)
        return markdown
    }

    /// Results already in `file` for `users` (lines that do not decode are redone).
    static func completed(in file: URL, users: Set<String>) -> [String: TransferEvaluator.Result] {
        guard let data = FileManager.default.contents(atPath: file.path) else { return [:] }
        var done: [String: TransferEvaluator.Result] = [:]
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let result = try? JSONDecoder().decode(TransferEvaluator.Result.self, from: Data(line)),
                  users.contains(result.userID), done[result.userID] == nil else { continue }
            done[result.userID] = result
        }
        return done
    }
}
