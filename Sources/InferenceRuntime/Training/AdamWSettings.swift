/// Hyperparameters of `AdamW`.
///
/// The defaults are PyTorch's AdamW betas and epsilon, and the trainers' (TRL's, for GRPO and
/// DPO) weight decay 0 and gradient clipping at a global norm of 1. No weight decay for LoRA by
/// default: the adapter is already a small low-rank change to a frozen model; decay would pull
/// A's random initial projection toward zero, which shrinks the gradient B receives (∂L/∂B is
/// proportional to A·x) rather than limiting what the adapter does, and at RL learning rates
/// (~1e-5) its effect is negligible anyway.
public struct AdamWSettings: Sendable, Equatable {
    public var schedule: LearningRateSchedule
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// Decoupled: each step multiplies every value by 1 - lr · weightDecay before the Adam update.
    public var weightDecay: Double
    /// Gradients whose global norm exceeds this are scaled down to it; nil: no clipping.
    public var maxGradientNorm: Double?

    public init(schedule: LearningRateSchedule, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double = 0, maxGradientNorm: Double? = 1.0) {
        self.schedule = schedule
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.maxGradientNorm = maxGradientNorm
    }

    func validate() throws(OptimizerError) {
        try schedule.validate()
        for (name, beta) in [("beta1", beta1), ("beta2", beta2)] where !(beta >= 0 && beta < 1) {
            throw .invalidSetting(name: name, reason: "must be in [0, 1), got \(beta)")
        }
        guard epsilon.isFinite, epsilon > 0 else { throw .invalidSetting(name: "epsilon", reason: "must be a number > 0, got \(epsilon)") }
        guard weightDecay.isFinite, weightDecay >= 0 else {
            throw .invalidSetting(name: "weight decay", reason: "must be a number >= 0, got \(weightDecay)")
        }
        if let maxGradientNorm, !(maxGradientNorm.isFinite && maxGradientNorm > 0) {
            throw .invalidSetting(name: "max gradient norm", reason: "must be a number > 0, got \(maxGradientNorm)")
        }
    }
}
