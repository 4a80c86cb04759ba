/// Everything stored about one user, read in one consistent snapshot.
public struct UserExport: Sendable {
    public let user: User
    /// Oldest first.
    public let events: [FeedbackEvent]
    /// Oldest first.
    public let summaries: [SummaryVersion]
    /// Oldest first.
    public let jobs: [Job]
    public let usage: UsageCounters?
}
