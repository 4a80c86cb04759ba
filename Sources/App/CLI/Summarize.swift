import ArgumentParser
import Foundation
import Personalization

/// `popi summarize`: one user's preference summary, chosen by POPI's reward, from a file.
struct Summarize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Infer a user's preference summary (best-of-N under POPI's reward) from a feedback file.",
        discussion: """
            FILE.jsonl holds feedback events like the API's ({"user_id", "kind": "pair", "prompt", "chosen", \
            "rejected"}, statements, content) or whole users with a "signals" list (the evaluation format). \
            Pairs are split into context and held-out pairs; candidates are scored on the held-out ones.
            """)

    @Option(help: "Feedback file (JSON lines).")
    var feedback: String

    @Option(help: "Which user of the file (default: the first).")
    var user: String?

    @Option(help: "Candidate summaries (best-of-N; 1 is zero-shot).")
    var candidates: Int = 8

    @Option(help: "Sampling seed (same seed and input give the same summary).")
    var seed: UInt64 = 1

    @Option(name: .customLong("summary-tokens"), help: "Most tokens per summary.")
    var summaryTokens: Int = 160

    @Flag(help: "Print the result as JSON.")
    var json = false

    @OptionGroup var runtimeOptions: RuntimeOptions

    func run() async throws {
        do {
            let data = try InputFile.read(feedback)
            let users = try FeedbackFile.parse(Data(data))
            guard let entry = user.map({ wanted in users.first { $0.user == wanted } }) ?? users.first else {
                throw ValidationError("no user \(user ?? "") in \(feedback)")
            }
            let runtime = try runtimeOptions.preferenceModel().sharingPromptOpenings()
            let options = SummaryOptions(candidates: candidates, maxSummaryTokens: summaryTokens, seed: seed)
            let result = try await SummaryOptimizer(model: runtime, options: options).infer(from: entry.signals)
            print(json ? SummaryReport.json(result, user: entry.user) : SummaryReport.text(result, user: entry.user))
        } catch let error as ValidationError {
            throw error
        } catch {
            throw CommandFailure("summarize", error)
        }
    }
}
