/// How the adapter's zero-shot summary (one sample, as the service writes it with N = 1) does
/// on the users a run set aside: POPI's reward and accuracy on their held-out pairs. The same
/// users, pairs and sampling seeds every time, so scores of one run compare across steps.
public struct ValidationScore: Codable, Sendable, Equatable {
    public var users: Int
    public var meanReward: Double
    /// Share of held-out pairs with h > 0.
    public var accuracy: Double
    public var meanSummaryTokens: Double
    public var seconds: Double

    public init(users: Int, meanReward: Double, accuracy: Double, meanSummaryTokens: Double, seconds: Double) {
        self.users = users
        self.meanReward = meanReward
        self.accuracy = accuracy
        self.meanSummaryTokens = meanSummaryTokens
        self.seconds = seconds
    }

    enum CodingKeys: String, CodingKey {
        case users, accuracy, seconds
        case meanReward = "mean_reward"
        case meanSummaryTokens = "mean_summary_tokens"
    }
}
