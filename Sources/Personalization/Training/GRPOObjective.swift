import Foundation

/// GRPO's arithmetic for one update (POPI's settings: one update per batch, so the PPO ratio is 1
/// and its clipping does nothing):
///
///     advantage_i = r_i − mean(r of i's group)          (not divided by the group's spread)
///     loss = (1/T) Σ_i Σ_t [ −advantage_i · log π(t) + κ · k3(t) ]
///     k3(t) = exp(log π_ref(t) − log π(t)) − (log π_ref(t) − log π(t)) − 1
///
/// with T the batch's summary tokens (one normaliser for every sequence: a per-sequence mean
/// would weigh a token of a short summary more than one of a long summary).
public enum GRPOObjective {
    /// Rewards of one group with invalid samples (cut off by the token cap, or with nothing to
    /// score: reward nil) set to the group's lowest reward, then centred on the group's mean. A
    /// group with no reward at all teaches nothing: every advantage is 0.
    public static func advantages(rewards: [Double?], valid: [Bool]) -> [Double] {
        precondition(rewards.count == valid.count && !rewards.isEmpty)
        guard let lowest = rewards.compactMap({ $0 }).min() else { return rewards.map { _ in 0 } }
        let adjusted = zip(rewards, valid).map { reward, valid in valid ? reward ?? lowest : lowest }
        let mean = adjusted.reduce(0, +) / Double(adjusted.count)
        return adjusted.map { $0 - mean }
    }

    /// The rewards that advantages are taken from, with a contrast: r(s) on the own user's pairs
    /// minus `weight` times r(s) on another user's. A sample missing either reward has none.
    public static func contrasted(own: [Double?], other: [Double?], weight: Double) -> [Double?] {
        precondition(own.count == other.count)
        guard weight != 0 else { return own }
        return zip(own, other).map { own, other in
            guard let own, let other else { return nil }
            return own - weight * other
        }
    }

    /// k3 estimate of KL(π ‖ π_ref) at one token: never negative, 0 where the two agree.
    public static func k3(logprob: Float, reference: Float) -> Double {
        let d = Double(reference) - Double(logprob)
        return exp(d) - d - 1
    }

    /// The weight of each token's log π in the loss, so that the loss's gradient is
    /// Σ weight · ∇log π (the trainer's form). d k3 / d log π = 1 − exp(log π_ref − log π).
    public static func tokenWeights(advantage: Double, logprobs: [Float], reference: [Float],
                                    klCoefficient: Double, totalTokens: Int) -> [Float] {
        precondition(logprobs.count == reference.count && totalTokens > 0)
        let scale = 1 / Double(totalTokens)
        return zip(logprobs, reference).map { logprob, ref in
            let d = Double(ref) - Double(logprob)
            return Float(scale * (-advantage + klCoefficient * (1 - exp(d))))
        }
    }

    /// The loss value these weights and log-probabilities give (for logging).
    public static func loss(advantage: Double, logprobs: [Float], reference: [Float],
                            klCoefficient: Double, totalTokens: Int) -> Double {
        let terms = zip(logprobs, reference).map { logprob, ref in
            -advantage * Double(logprob) + klCoefficient * k3(logprob: logprob, reference: ref)
        }
        return terms.reduce(0, +) / Double(totalTokens)
    }
}
