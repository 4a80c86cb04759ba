import Foundation

/// A summary result for people (text) and programs (JSON).
public enum SummaryReport {
    public static func text(_ result: SummaryResult, user: String) -> String {
        func number(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "n/a" }
        var out = "\(result.text)\n\n"
        out += "user \(user.isEmpty ? "-" : user): candidate \(result.chosenIndex) of \(result.candidatesTried), "
        out += "reward \(number(result.reward, "%.3f")), accuracy \(number(result.accuracy.map { $0 * 100 }, "%.0f%%")) "
        out += "on \(result.heldOutCount) held-out pairs (\(result.contextPairCount) context pairs)\n"
        out += "summary \(result.summaryTokens) tokens vs raw signals \(result.rawSignalTokens) tokens; model \(result.modelID), prompt \(result.promptVersion), seed \(result.seed)\n"
        out += String(format: "time %.1f s: prompt %.1f s, sampling %.1f s, scoring %.1f s",
                      result.timings.totalSeconds, result.timings.promptSeconds, result.timings.samplingSeconds,
                      result.timings.scoringSeconds)
        if let note = result.note { out += "\nnote: \(note)" }
        for skipped in result.skipped { out += "\nskipped \(skipped.kind.rawValue) \(skipped.index): \(skipped.reason)" }
        return out
    }

    public static func json(_ result: SummaryResult, user: String) -> String {
        let candidates: [[String: Any]] = result.candidates.enumerated().map { index, candidate in
            ["index": index, "text": candidate.text, "reward": orNull(candidate.reward), "accuracy": orNull(candidate.accuracy)]
        }
        let object: [String: Any] = [
            "user_id": user, "text": result.text, "reward": orNull(result.reward), "accuracy": orNull(result.accuracy),
            "chosen_index": result.chosenIndex, "candidates": candidates, "held_out_count": result.heldOutCount,
            "context_pair_count": result.contextPairCount, "summary_tokens": result.summaryTokens,
            "raw_signal_tokens": result.rawSignalTokens, "model": result.modelID, "prompt_version": result.promptVersion,
            "seed": result.seed, "note": result.note ?? NSNull(),
            "timings": ["prompt_seconds": result.timings.promptSeconds, "sampling_seconds": result.timings.samplingSeconds,
                        "scoring_seconds": result.timings.scoringSeconds, "total_seconds": result.timings.totalSeconds],
            "skipped": result.skipped.map { ["kind": $0.kind.rawValue, "index": $0.index, "reason": $0.reason] },
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private static func orNull(_ value: Double?) -> Any { value ?? NSNull() }
}
