import Foundation

/// POPI's objective for a summary s on one held-out pair (x, y_w, y_l):
///
///     h(s) = [log p(y_w|x,s) − log p(y_l|x,s)] − [log p0(y_w|x) − log p0(y_l|x)]
///     r(s) = log σ(β·h(s)) / β,   β = 0.01
///
/// where p is the generator with the summary in its prompt and p0 the same model on the bare
/// prompt. A summary helps on a pair when h > 0.
public enum Reward {
    public static let beta = 0.01

    /// The four log-probabilities of one held-out pair under one summary.
    public struct PairScores: Sendable, Equatable, Codable {
        public var chosenWithSummary: Double
        public var rejectedWithSummary: Double
        public var chosenBare: Double
        public var rejectedBare: Double

        public init(chosenWithSummary: Double, rejectedWithSummary: Double, chosenBare: Double, rejectedBare: Double) {
            self.chosenWithSummary = chosenWithSummary
            self.rejectedWithSummary = rejectedWithSummary
            self.chosenBare = chosenBare
            self.rejectedBare = rejectedBare
        }

        /// h(s): how much the summary widens the margin of the chosen response.
        public var margin: Double {
            (chosenWithSummary - rejectedWithSummary) - (chosenBare - rejectedBare)
        }

        /// The generator prefers the chosen response under the summary prompt (plain preference accuracy).
        public var prefersChosen: Bool { chosenWithSummary > rejectedWithSummary }
    }

    /// r = log σ(β h) / β, computed without overflow for any h.
    public static func reward(margin h: Double, beta: Double = beta) -> Double {
        logSigmoid(beta * h) / beta
    }

    /// log σ(x) = −log(1 + e^(−x)), stable for large |x|.
    public static func logSigmoid(_ x: Double) -> Double {
        x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x))
    }

    /// Mean reward and POPI accuracy (share of pairs with h > 0) over held-out pairs.
    public static func summarize(_ pairs: [PairScores], beta: Double = beta) -> (meanReward: Double, accuracy: Double) {
        guard !pairs.isEmpty else { return (0, 0) }
        let rewards = pairs.map { reward(margin: $0.margin, beta: beta) }
        let wins = pairs.filter { $0.margin > 0 }.count
        return (rewards.reduce(0, +) / Double(pairs.count), Double(wins) / Double(pairs.count))
    }
}
