/// Every version of every user's summary. The current summary is the pinned version if there
/// is one, else the newest; nothing is ever overwritten, so any version can be restored.
public struct SummaryRepository: Sendable {
    let pool: ConnectionPool

    /// Stores a new version (numbered after the user's last). Pinning it unpins any other.
    /// Throws `notFound` when the user no longer exists (e.g. erased while a refresh ran).
    public func add(user: UserID, _ summary: NewSummaryVersion) async throws -> SummaryVersion {
        try await pool.transaction { connection in
            try Self.add(user: user, summary, restoredFrom: nil, connection)
        }
    }

    static func add(user: UserID, _ summary: NewSummaryVersion, restoredFrom: Int?, _ connection: Connection) throws -> SummaryVersion {
        // The user's row lock numbers versions one at a time.
        guard let row = try connection.query("SELECT feedback_revision FROM users WHERE id = \(user) FOR UPDATE").first else {
            throw StoreError.notFound("the user no longer exists")
        }
        let currentRevision: Int64 = try row.decode(0)
        if summary.pinned {
            try connection.execute("UPDATE summary_versions SET pinned = false WHERE user_id = \(user) AND pinned")
        }
        let scores = summary.scores
        return try SummaryVersion(row: connection.query("""
            INSERT INTO summary_versions (user_id, version, body, source_event_ids, feedback_revision, model_id,
                prompt_version, reward, accuracy, held_out_count, candidate_count, summary_tokens, raw_signal_tokens,
                origin, restored_from, pinned, adapter_sha256)
            VALUES (\(user), (SELECT coalesce(max(version), 0) + 1 FROM summary_versions WHERE user_id = \(user)),
                \(summary.text), \(summary.sourceEventIDs.map(\.rawValue)), \(summary.feedbackRevision ?? currentRevision),
                \(summary.modelID), \(summary.promptVersion), \(scores.reward), \(scores.accuracy),
                \(Int32(clamping: scores.heldOutCount)), \(Int32(clamping: scores.candidateCount)),
                \(scores.summaryTokens.map { Int32(clamping: $0) }), \(scores.rawSignalTokens.map { Int32(clamping: $0) }),
                \(summary.origin.rawValue), \(restoredFrom.map { Int32(clamping: $0) }), \(summary.pinned),
                \(summary.adapterSHA256))
            RETURNING \(SummaryVersion.columns)
            """)[0])
    }

    /// The pinned version if any, else the newest.
    public func current(user: UserID) async throws -> SummaryVersion? {
        try await pool.withConnection { connection in try Self.current(user: user, connection) }
    }

    static func current(user: UserID, _ connection: Connection) throws -> SummaryVersion? {
        try connection.query("""
            SELECT \(SummaryVersion.columns) FROM summary_versions WHERE user_id = \(user)
            ORDER BY pinned DESC, version DESC LIMIT 1
            """).first.map(SummaryVersion.init(row:))
    }

    public func get(user: UserID, version: Int) async throws -> SummaryVersion? {
        try await pool.query("""
            SELECT \(SummaryVersion.columns) FROM summary_versions WHERE user_id = \(user) AND version = \(version)
            """).first.map(SummaryVersion.init(row:))
    }

    /// Versions newest first; keyset: pass the last version seen as `before`.
    public func list(user: UserID, before: Int? = nil, limit: Int = 50) async throws -> [SummaryVersion] {
        try await pool.query("""
            SELECT \(SummaryVersion.columns) FROM summary_versions
            WHERE user_id = \(user) AND version < \(before ?? Int.max)
            ORDER BY version DESC LIMIT \(max(1, limit))
            """).map(SummaryVersion.init(row:))
    }

    /// Pins one version (unpinning any other) or unpins it. Nil when there is no such version.
    public func setPinned(user: UserID, version: Int, pinned: Bool) async throws -> SummaryVersion? {
        try await pool.transaction { connection in
            if pinned {
                try connection.execute("""
                    UPDATE summary_versions SET pinned = false WHERE user_id = \(user) AND pinned AND version <> \(version)
                    """)
            }
            return try connection.query("""
                UPDATE summary_versions SET pinned = \(pinned) WHERE user_id = \(user) AND version = \(version)
                RETURNING \(SummaryVersion.columns)
                """).first.map(SummaryVersion.init(row:))
        }
    }

    /// Unpins whatever is pinned; false when nothing was.
    public func unpin(user: UserID) async throws -> Bool {
        try await pool.query("UPDATE summary_versions SET pinned = false WHERE user_id = \(user) AND pinned").affectedRows > 0
    }

    /// Makes an earlier version current again by copying it as a new `restored` version
    /// (pinned when asked, so refreshes do not replace it). Nil when there is no such version.
    public func restore(user: UserID, version: Int, pinned: Bool) async throws -> SummaryVersion? {
        try await pool.transaction { connection in
            guard let old = try connection.query("""
                SELECT \(SummaryVersion.columns) FROM summary_versions WHERE user_id = \(user) AND version = \(version)
                """).first.map(SummaryVersion.init(row:)) else { return nil }
            let copy = NewSummaryVersion(text: old.text, sourceEventIDs: old.sourceEventIDs,
                                         feedbackRevision: old.feedbackRevision, modelID: old.modelID,
                                         promptVersion: old.promptVersion, adapterSHA256: old.adapterSHA256,
                                         scores: old.scores, origin: .restored,
                                         pinned: pinned)
            return try Self.add(user: user, copy, restoredFrom: version, connection)
        }
    }

    /// Records POPI's scores for a version (e.g. once an edited summary has been scored).
    public func updateScores(user: UserID, version: Int, _ scores: SummaryScores) async throws -> SummaryVersion? {
        try await pool.query("""
            UPDATE summary_versions SET reward = \(scores.reward), accuracy = \(scores.accuracy),
                held_out_count = \(Int32(clamping: scores.heldOutCount)), candidate_count = \(Int32(clamping: scores.candidateCount)),
                summary_tokens = \(scores.summaryTokens.map { Int32(clamping: $0) }),
                raw_signal_tokens = \(scores.rawSignalTokens.map { Int32(clamping: $0) })
            WHERE user_id = \(user) AND version = \(version)
            RETURNING \(SummaryVersion.columns)
            """).first.map(SummaryVersion.init(row:))
    }

    /// The user, their current summary and any pending or running refresh, read together.
    /// Nil when the tenant has no such user.
    public func state(tenant: TenantID, externalUserID: String,
                      refreshKind: String = NewJob.summaryRefreshKind) async throws -> SummaryState? {
        try await pool.snapshot { connection in
            guard let user = try connection.query("""
                SELECT \(User.columns) FROM users WHERE tenant_id = \(tenant) AND external_id = \(externalUserID)
                """).first.map(User.init(row:)) else { return nil }
            let job = try connection.query("""
                SELECT \(Job.columns) FROM jobs
                WHERE user_id = \(user.id) AND kind = \(refreshKind) AND state IN ('pending', 'running')
                ORDER BY id DESC LIMIT 1
                """).first.map(Job.init(row:))
            return SummaryState(user: user, current: try Self.current(user: user.id, connection), refreshJob: job)
        }
    }
}
