/// Erasure and export: everything stored about one user, as a whole.
public struct UserDataRepository: Sendable {
    let pool: ConnectionPool

    /// Deletes every row about the user in one transaction and says how many per table.
    /// Nil when the tenant has no such user. A worker still holding one of the user's jobs
    /// finds it gone (`complete` answers false) and cannot store a summary for them.
    public func erase(tenant: TenantID, externalUserID: String) async throws -> ErasureReport? {
        try await pool.transaction { connection in
            guard let row = try connection.query("""
                SELECT id FROM users WHERE tenant_id = \(tenant) AND external_id = \(externalUserID) FOR UPDATE
                """).first else { return nil }
            let user: UserID = try row.decode(0)
            // Explicit deletes (rather than relying on ON DELETE CASCADE) to count rows per table.
            let events = try connection.execute("DELETE FROM feedback_events WHERE user_id = \(user)")
            let summaries = try connection.execute("DELETE FROM summary_versions WHERE user_id = \(user)")
            let jobs = try connection.execute("DELETE FROM jobs WHERE user_id = \(user)")
            let usage = try connection.execute("DELETE FROM usage_counters WHERE user_id = \(user)")
            let users = try connection.execute("DELETE FROM users WHERE id = \(user)")
            return ErasureReport(userID: user, feedbackEvents: events, summaryVersions: summaries, jobs: jobs,
                                 usageCounters: usage, users: users)
        }
    }

    /// Everything stored about the user, from one snapshot. Nil when the tenant has no such user.
    public func export(tenant: TenantID, externalUserID: String) async throws -> UserExport? {
        try await pool.snapshot { connection in
            guard let user = try connection.query("""
                SELECT \(User.columns) FROM users WHERE tenant_id = \(tenant) AND external_id = \(externalUserID)
                """).first.map(User.init(row:)) else { return nil }
            return UserExport(
                user: user,
                events: try connection.query("""
                    SELECT \(FeedbackEvent.columns) FROM feedback_events WHERE user_id = \(user.id) ORDER BY id
                    """).map(FeedbackEvent.init(row:)),
                summaries: try connection.query("""
                    SELECT \(SummaryVersion.columns) FROM summary_versions WHERE user_id = \(user.id) ORDER BY version
                    """).map(SummaryVersion.init(row:)),
                jobs: try connection.query("SELECT \(Job.columns) FROM jobs WHERE user_id = \(user.id) ORDER BY id")
                    .map(Job.init(row:)),
                usage: try connection.query("SELECT \(UsageCounters.columns) FROM usage_counters WHERE user_id = \(user.id)")
                    .first.map(UsageCounters.init(row:)))
        }
    }
}
