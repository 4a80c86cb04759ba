/// One user's evaluation: for each condition, POPI's metrics on the held-out pairs. One JSON
/// line per user in `users.jsonl`, which is also how an interrupted run resumes.
public struct UserEvaluation: Codable, Sendable, Equatable {
    public struct Result: Codable, Sendable, Equatable {
        /// Share of held-out pairs with h > 0.
        public var popiAccuracy: Double
        /// Mean r(s) over held-out pairs.
        public var meanReward: Double
        /// Share of held-out pairs where log p(chosen) > log p(rejected) under this condition.
        public var plainAccuracy: Double
        /// Tokens of the conditioning text (0 for no summary).
        public var contextTokens: Int
        /// The summary used, when the condition has one.
        public var summary: String?
        /// Mean log p(chosen | prompt, condition) − log p(chosen | bare prompt): whether good
        /// answers get more likely, not only the margin.
        public var chosenGain: Double?
        /// Seconds it took to write this condition's summary (a refresh's cost; 0 for none).
        public var refreshSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case popiAccuracy = "popi_accuracy"
            case meanReward = "mean_reward"
            case plainAccuracy = "plain_accuracy"
            case contextTokens = "context_tokens"
            case summary
            case chosenGain = "chosen_gain"
            case refreshSeconds = "refresh_seconds"
        }
    }

    public var userID: String
    public var traits: [String]
    public var heldOutCount: Int
    public var results: [String: Result]
    public var seconds: Double
    /// SHA-256 of the adapters it was evaluated with, by role; nil for none (see `EvaluationRun`).
    public var adapters: [String: String]?

    public func result(_ condition: Condition) -> Result? { results[condition.rawValue] }

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case traits
        case heldOutCount = "held_out_count"
        case results
        case seconds
        case adapters
    }
}
