import Foundation

/// POPI's table over a dataset: per condition, accuracy, reward and context cost with bootstrap
/// 95% intervals over users, and a breakdown by persona trait.
public struct EvaluationReport: Codable, Sendable {
    public struct Interval: Codable, Sendable, Equatable {
        public var mean: Double
        public var low: Double
        public var high: Double
    }

    public struct Row: Codable, Sendable {
        public var condition: String
        public var label: String
        public var users: Int
        public var popiAccuracy: Interval
        public var meanReward: Interval
        public var plainAccuracy: Interval
        public var contextTokens: Double
        /// Raw-signal tokens divided by this condition's context tokens (nil when it has none).
        public var rawToContextRatio: Double?
        /// Mean change of log p(chosen) against the bare prompt.
        public var chosenGain: Double
        /// Mean seconds per user to write the condition's summary.
        public var refreshSeconds: Double
    }

    public struct TraitRow: Codable, Sendable {
        public var trait: String
        public var users: Int
        /// Condition → mean POPI accuracy / plain accuracy over the trait's users.
        public var popiAccuracy: [String: Double]
        public var plainAccuracy: [String: Double]
    }

    public struct Metadata: Codable, Sendable {
        public var dataset: String
        public var model: String
        public var promptVersion: String
        public var candidates: Int
        public var seed: UInt64
        public var date: String
        /// Time spent evaluating the users, summed over resumed runs.
        public var wallSeconds: Double
    }

    public var metadata: Metadata
    public var users: Int
    public var heldOutPairs: Int
    public var rows: [Row]
    public var traits: [TraitRow]

    public init(evaluations: [UserEvaluation], metadata: Metadata, bootstrap: Bootstrap = Bootstrap()) {
        self.metadata = metadata
        users = evaluations.count
        heldOutPairs = evaluations.map(\.heldOutCount).reduce(0, +)
        let rawTokens = Self.mean(evaluations.compactMap { $0.result(.rawSignals).map { Double($0.contextTokens) } })
        // The conditions this run evaluated (trained ones need an adapter, the control a partner).
        let conditions = Condition.allCases.filter { condition in evaluations.contains { $0.result(condition) != nil } }
        rows = conditions.map { condition in
            let results = evaluations.compactMap { $0.result(condition) }
            let interval = { (values: [Double]) -> Interval in
                let ci = bootstrap.meanInterval(values)
                return Interval(mean: ci.mean, low: ci.low, high: ci.high)
            }
            let tokens = Self.mean(results.map { Double($0.contextTokens) })
            return Row(condition: condition.rawValue, label: condition.label, users: results.count,
                       popiAccuracy: interval(results.map(\.popiAccuracy)),
                       meanReward: interval(results.map(\.meanReward)),
                       plainAccuracy: interval(results.map(\.plainAccuracy)),
                       contextTokens: tokens, rawToContextRatio: tokens > 0 ? rawTokens / tokens : nil,
                       chosenGain: Self.mean(results.map { $0.chosenGain ?? 0 }),
                       refreshSeconds: Self.mean(results.map { $0.refreshSeconds ?? 0 }))
        }
        let allTraits = Set(evaluations.flatMap(\.traits)).sorted()
        traits = allTraits.map { trait in
            let group = evaluations.filter { $0.traits.contains(trait) }
            var popi: [String: Double] = [:], plain: [String: Double] = [:]
            for condition in conditions {
                let results = group.compactMap { $0.result(condition) }
                popi[condition.rawValue] = Self.mean(results.map(\.popiAccuracy))
                plain[condition.rawValue] = Self.mean(results.map(\.plainAccuracy))
            }
            return TraitRow(trait: trait, users: group.count, popiAccuracy: popi, plainAccuracy: plain)
        }
    }

    static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    // MARK: Markdown

    public func markdown() -> String {
        var text = """
        # POPI evaluation

        Dataset `\(metadata.dataset)`, model `\(metadata.model)`, prompt \(metadata.promptVersion), \
        N = \(metadata.candidates) candidates, seed \(metadata.seed), \(metadata.date); \(users) users, \
        \(heldOutPairs) held-out pairs; wall time \(Self.duration(metadata.wallSeconds)).
        Intervals are bootstrap 95% over users.

        | Condition | POPI accuracy (h > 0) | Mean reward r(s) | Plain accuracy | Context tokens | Raw ÷ context | Δ log p(chosen) | Refresh s/user |
        |---|---|---|---|---|---|---|---|

        """
        for row in rows {
            let ratio = row.rawToContextRatio.map { String(format: "%.1fx", $0) } ?? "—"
            text += "| \(row.label) | \(Self.percent(row.popiAccuracy)) | \(Self.number(row.meanReward)) | "
            text += "\(Self.percent(row.plainAccuracy)) | \(String(format: "%.0f", row.contextTokens)) | \(ratio) | "
            text += String(format: "%+.2f | %.1f |\n", row.chosenGain, row.refreshSeconds)
        }
        if !traits.isEmpty {
            text += "\n## By persona trait (POPI accuracy / plain accuracy)\n\n| Trait | Users |"
            text += rows.map { " \($0.label) |" }.joined() + "\n|---|---|"
            text += String(repeating: "---|", count: rows.count) + "\n"
            for row in traits {
                text += "| \(row.trait) | \(row.users) |"
                for condition in rows.map(\.condition) {
                    let popi = row.popiAccuracy[condition] ?? 0, plain = row.plainAccuracy[condition] ?? 0
                    text += String(format: " %.0f%% / %.0f%% |", popi * 100, plain * 100)
                }
                text += "\n"
            }
        }
        return text
    }

    static func percent(_ interval: Interval) -> String {
        String(format: "%.1f%% [%.1f, %.1f]", interval.mean * 100, interval.low * 100, interval.high * 100)
    }

    static func number(_ interval: Interval) -> String {
        String(format: "%.2f [%.2f, %.2f]", interval.mean, interval.low, interval.high)
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 60 ? "\(total / 60) min \(total % 60) s" : "\(total) s"
    }
}
