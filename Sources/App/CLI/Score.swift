import ArgumentParser
import Foundation
import InferenceRuntime

/// `popi score`: teacher-forced log-probabilities of responses to a prompt.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print per-token and summed log-probabilities of responses after a prompt (response tokens + end of turn).")

    @OptionGroup var runtime: RuntimeOptions

    @Option(help: "System message (default: the chat template's own, if any).")
    var system: String?

    @Option(help: "The user's prompt.")
    var prompt: String

    @Option(help: "A response to score (repeatable; all share the prompt's evaluation).")
    var response: [String]

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard !response.isEmpty else { throw ValidationError("give at least one --response") }
        try RuntimeOptions.checkArgumentsAreUTF8()
    }

    func run() throws {
        do {
            let engine = try runtime.engine()
            let scores = try engine.scoreBlocking([ScoreRequest(prompt: .user(prompt, system: system), responses: response)])[0]
            let pieces = scores.map { score in
                score.tokens.map { String(decoding: engine.tokenizer.piece($0) ?? [], as: UTF8.self) }
            }
            if json {
                let object: [[String: Any]] = zip(scores, pieces).map { score, pieces in
                    ["tokens": score.tokens.map(Int.init), "pieces": pieces, "logprobs": score.logprobs,
                     "sum": score.total, "mean": score.mean]
                }
                let data = try JSONSerialization.data(withJSONObject: object.count == 1 ? object[0] : object,
                                                      options: [.withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            for (r, (score, pieces)) in zip(scores, pieces).enumerated() {
                if scores.count > 1 { print("response \(r + 1):") }
                for (token, (piece, logprob)) in zip(score.tokens, zip(pieces, score.logprobs)) {
                    print("\(String(format: "%10.4f", logprob))  \(String(token).padding(toLength: 6, withPad: " ", startingAt: 0))  \(piece.debugDescription)")
                }
                print("sum \(String(format: "%.4f", score.total))  mean \(String(format: "%.4f", score.mean))  tokens \(score.tokens.count)")
            }
        } catch {
            throw CommandFailure("score", error)
        }
    }
}
