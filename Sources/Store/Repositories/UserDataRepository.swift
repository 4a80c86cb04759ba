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
            // Whoever waits for one of the user's unfinished jobs learns at once that it is gone.
            for job in try connection.query("""
                SELECT id FROM jobs WHERE user_id = \(user) AND state IN ('pending', 'running')
                """) {
                try JobQueue.announceFinished(try job.decode(0, as: JobID.self), connection)
            }
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

    /// Starts an export: the user, their usage and where each list ends, read from one snapshot.
    /// Nil when the tenant has no such user. The lists follow in pages (`events`, `summaries`,
    /// `jobs`), each its own short query, so no connection is held while a client downloads.
    ///
    /// Pages show the rows that existed at the start, minus any deleted meanwhile (an erasure
    /// while an export is written leaves its remaining pages empty). Events and summary versions
    /// are numbered under the user's row lock, so one committing after the start always numbers
    /// past the bound: the pages hold exactly the snapshot's rows, less deletions.
    public func export(tenant: TenantID, externalUserID: String) async throws -> UserExport? {
        try await pool.snapshot { connection in
            guard let user = try connection.query("""
                SELECT \(User.columns) FROM users WHERE tenant_id = \(tenant) AND external_id = \(externalUserID)
                """).first.map(User.init(row:)) else { return nil }
            let bounds = try connection.query("""
                SELECT (SELECT coalesce(max(id), 0) FROM feedback_events WHERE user_id = \(user.id)),
                       (SELECT coalesce(max(version), 0) FROM summary_versions WHERE user_id = \(user.id)),
                       (SELECT coalesce(max(id), 0) FROM jobs WHERE user_id = \(user.id))
                """)[0]
            let (events, summaries, jobs) = try bounds.decode(Int64.self, Int32.self, Int64.self)
            let usage = try connection.query("SELECT \(UsageCounters.columns) FROM usage_counters WHERE user_id = \(user.id)")
                .first.map(UsageCounters.init(row:))
            return UserExport(user: user, usage: usage, lastEventID: events, lastSummaryVersion: summaries, lastJobID: jobs)
        }
    }

    /// The export's next page of events, oldest first: up to `limit` after `after` (from the start when nil).
    public func events(of export: UserExport, after: EventID?, limit: Int) async throws -> [FeedbackEvent] {
        try await pool.query("""
            SELECT \(FeedbackEvent.columns) FROM feedback_events
            WHERE user_id = \(export.user.id) AND id > \(after?.rawValue ?? 0) AND id <= \(export.lastEventID)
            ORDER BY id LIMIT \(max(1, limit))
            """).map(FeedbackEvent.init(row:))
    }

    /// The export's next page of summary versions, oldest first, after version `after`.
    public func summaries(of export: UserExport, after: Int?, limit: Int) async throws -> [SummaryVersion] {
        try await pool.query("""
            SELECT \(SummaryVersion.columns) FROM summary_versions
            WHERE user_id = \(export.user.id) AND version > \(Int32(clamping: after ?? 0)) AND version <= \(export.lastSummaryVersion)
            ORDER BY version LIMIT \(max(1, limit))
            """).map(SummaryVersion.init(row:))
    }

    /// The export's next page of jobs, oldest first, as they are now.
    public func jobs(of export: UserExport, after: JobID?, limit: Int) async throws -> [Job] {
        try await pool.query("""
            SELECT \(Job.columns) FROM jobs
            WHERE user_id = \(export.user.id) AND id > \(after?.rawValue ?? 0) AND id <= \(export.lastJobID)
            ORDER BY id LIMIT \(max(1, limit))
            """).map(Job.init(row:))
    }
}
