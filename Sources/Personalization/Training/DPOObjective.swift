import Foundation

/// DPO's arithmetic for one pair (x with the summary, y_w, y_l), reference = the base:
///
///     z = β · [(log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l))]
///     loss = −log σ(z)
///
/// averaged over the step's pairs. A sequence's log-probability is the sum of its tokens', so
/// every token of y_w has the loss gradient −β·σ(−z)/P, every token of y_l +β·σ(−z)/P.
public enum DPOObjective {
    public struct Pair: Sendable, Equatable {
        public var chosen: Double, rejected: Double, chosenReference: Double, rejectedReference: Double

        public init(chosen: Double, rejected: Double, chosenReference: Double, rejectedReference: Double) {
            self.chosen = chosen
            self.rejected = rejected
            self.chosenReference = chosenReference
            self.rejectedReference = rejectedReference
        }

        /// How much more the adapter widened the chosen response's margin than the reference.
        public var marginGain: Double { (chosen - chosenReference) - (rejected - rejectedReference) }
    }

    public static func loss(_ pair: Pair, beta: Double) -> Double {
        -Reward.logSigmoid(beta * pair.marginGain)
    }

    /// The per-token weights (chosen, rejected) of Σ weight · ∇log π for a step of `pairs` pairs.
    public static func tokenWeights(_ pair: Pair, beta: Double, pairs: Int) -> (chosen: Float, rejected: Float) {
        let z = beta * pair.marginGain
        let sigmoidOfMinusZ = exp(Reward.logSigmoid(-z))
        let weight = beta * sigmoidOfMinusZ / Double(pairs)
        return (Float(-weight), Float(weight))
    }
}
