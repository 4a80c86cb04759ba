/// What one DPO step did: one line of the training log.
public struct DPOStepRecord: TrainingRecord {
    public var step: Int
    public var loss: Double
    /// Mean (log π − log π_ref)(y_w) − (log π − log π_ref)(y_l) over the step's pairs.
    public var marginGain: Double
    /// Share of pairs whose margin gain is positive.
    public var accuracy: Double
    /// Mean log π(y_w) − log π_ref(y_w): whether good answers get more likely, not only the margin.
    public var chosenChange: Double
    public var learningRate: Double
    public var gradientNorm: Double
    public var skipped: String?
    /// Writing the summaries the step's pairs carry (the first time a user appears).
    public var summarySeconds: Double
    public var trainingSeconds: Double
    public var trainingTokensPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case step, loss, accuracy, skipped
        case marginGain = "margin_gain"
        case chosenChange = "chosen_change"
        case learningRate = "learning_rate"
        case gradientNorm = "gradient_norm"
        case summarySeconds = "summary_seconds"
        case trainingSeconds = "training_seconds"
        case trainingTokensPerSecond = "training_tokens_per_second"
    }

    public static let curves: [(title: String, value: @Sendable (DPOStepRecord) -> Double)] = [
        ("DPO loss", { $0.loss }),
        ("margin gain over the base", { $0.marginGain }),
        ("pairs with a positive gain", { $0.accuracy }),
        ("log p(chosen) change", { $0.chosenChange }),
    ]
}
