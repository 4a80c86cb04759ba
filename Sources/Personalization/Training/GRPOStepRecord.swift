/// What one step of summarizer training (GRPO or distillation) did: one line of the training log.
public struct GRPOStepRecord: TrainingRecord {
    /// 1 for the first step.
    public var step: Int
    public var users: [String]
    /// Over every sample of the step that had text to score (capped ones included, with the
    /// reward they earned before the cap's penalty); 0, and not drawn, when nothing was sampled
    /// (supervised steps).
    public var meanReward: Double
    public var rewardSpread: Double
    /// Share of held-out pairs with h > 0, over the scored samples.
    public var accuracy: Double
    /// Mean k3 estimate of KL(adapter ‖ base) per summary token.
    public var kl: Double
    public var loss: Double
    /// Mean summary tokens (end-of-turn included) and the share of samples cut off by the cap.
    public var meanSummaryTokens: Double
    public var truncatedShare: Double
    public var learningRate: Double
    public var gradientNorm: Double
    /// Why the optimizer skipped this step (non-finite gradients), or nil.
    public var skipped: String?
    public var samplingSeconds: Double
    public var scoringSeconds: Double
    public var trainingSeconds: Double
    /// Tokens through forward + backward (prompts once per chunk, summaries) per second of training.
    public var trainingTokensPerSecond: Double
    /// The set-aside users' score after this step, on the steps that were validated.
    public var validation: ValidationScore?
    /// With a contrast (`GRPOSettings.contrast`): the samples' mean r(s) on the contrast users'
    /// pairs. Above `meanReward`, the summaries fit other users better than their own.
    public var otherUserReward: Double?
    /// With best-of-N distillation or supervised steps: what the step learnt.
    public var distillation: Distilled?

    /// The targets of a distillation step.
    public struct Distilled: Codable, Sendable, Equatable {
        /// Users whose best candidate beat no summary (the others taught nothing).
        public var targets: Int
        /// Of those, users whose best candidate was their persona rather than a sample.
        public var personaTargets: Int
        /// The targets' mean r(s) on their users' pairs.
        public var targetReward: Double?

        enum CodingKeys: String, CodingKey {
            case targets
            case personaTargets = "persona_targets"
            case targetReward = "target_reward"
        }
    }

    enum CodingKeys: String, CodingKey {
        case step, users, loss, kl, accuracy, skipped, validation, distillation
        case meanReward = "mean_reward"
        case rewardSpread = "reward_spread"
        case meanSummaryTokens = "mean_summary_tokens"
        case truncatedShare = "truncated_share"
        case learningRate = "learning_rate"
        case gradientNorm = "gradient_norm"
        case samplingSeconds = "sampling_seconds"
        case scoringSeconds = "scoring_seconds"
        case trainingSeconds = "training_seconds"
        case trainingTokensPerSecond = "training_tokens_per_second"
        case otherUserReward = "other_user_reward"
    }

    public var seconds: Double { samplingSeconds + scoringSeconds + trainingSeconds + (validation?.seconds ?? 0) }

    /// Whether the step sampled summaries to reward (every method but supervised).
    public var sampled: Bool { samplingSeconds > 0 }

    public var validationReward: Double? { validation?.meanReward }

    public static let curves: [(title: String, value: @Sendable (GRPOStepRecord) -> Double)] = [
        ("mean reward r(s)", { $0.sampled ? $0.meanReward : .nan }),
        ("POPI accuracy (h > 0)", { $0.sampled ? $0.accuracy : .nan }),
        ("KL to the base (k3, per token)", { $0.kl }),
        ("summary tokens", { $0.meanSummaryTokens }),
        ("set-aside users: zero-shot reward", { $0.validation?.meanReward ?? .nan }),
    ]
}
