/// Rows removed by erasing a user, per table.
public struct ErasureReport: Sendable, Equatable {
    public let userID: UserID
    public let feedbackEvents: Int
    public let summaryVersions: Int
    public let jobs: Int
    public let usageCounters: Int
    public let users: Int

    /// (table, rows) in deletion order, e.g. for a JSON answer.
    public var byTable: [(table: String, rows: Int)] {
        [("feedback_events", feedbackEvents), ("summary_versions", summaryVersions), ("jobs", jobs),
         ("usage_counters", usageCounters), ("users", users)]
    }

    public var total: Int { byTable.reduce(0) { $0 + $1.rows } }
}
