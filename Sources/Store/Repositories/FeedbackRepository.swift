import Foundation

/// Users' feedback events: idempotent batch ingest, keyset pagination, deletion.
public struct FeedbackRepository: Sendable {
    let pool: ConnectionPool
    let counters: QueueCounters

    /// Which refresh job to queue, in the same transaction, when a batch inserts anything.
    public typealias RefreshJob = @Sendable (UserID) -> NewJob

    /// Stores a batch for one user (created on first use), all or nothing.
    ///
    /// Each item is `inserted` or a `duplicate` of an earlier event with the same idempotency
    /// key (also earlier in the same batch). Writers of one user take turns on the user's row
    /// lock, so overlapping concurrent batches neither duplicate nor deadlock. When something
    /// was inserted, the user's feedback revision goes up and `refresh` (if given) is enqueued
    /// with de-duplication, all in the one transaction: acknowledged feedback has its refresh,
    /// unless the tenant's queue is full (`NewJob.maxQueuedPerTenant`): then the feedback is
    /// stored without one (`refreshJob` nil, counted in `QueueCounters`).
    /// A batch that would take the user or its tenant past `quota` stores nothing and throws
    /// `StoreError.quotaExceeded` (duplicates add nothing, so a retried batch never trips it).
    public func ingest(tenant: TenantID, externalUserID: String, events: [NewFeedbackEvent],
                       refresh: RefreshJob? = nil, quota: StorageQuota? = nil) async throws -> IngestResult {
        try await pool.transaction { connection in
            var user = try UserRepository.findOrCreate(tenant: tenant, externalID: externalUserID, lock: true, connection)
            guard !events.isEmpty else { return IngestResult(user: user, items: [], refreshJob: nil) }

            let rows = try connection.query(Self.insertStatement(user: user.id, events: events))
            var items = [IngestStatus?](repeating: nil, count: events.count)
            var duplicateKeys: [String] = []
            for row in rows {
                let (ordinal, id, inserted) = try row.decode(Int.self, EventID.self, Bool.self)
                if inserted {
                    items[ordinal - 1] = .inserted(id)
                } else if let key = events[ordinal - 1].idempotencyKey {
                    duplicateKeys.append(key)
                }
            }
            if !duplicateKeys.isEmpty {
                // The statement's snapshot cannot see rows that concurrent or same-batch inserts
                // added; a new statement in this transaction can.
                var existing: [String: EventID] = [:]
                for row in try connection.query("""
                    SELECT idempotency_key, id FROM feedback_events
                    WHERE user_id = \(user.id) AND idempotency_key = ANY(\(duplicateKeys))
                    """) {
                    let (key, id) = try row.decode(String.self, EventID.self)
                    existing[key] = id
                }
                for (index, event) in events.enumerated() where items[index] == nil {
                    guard let key = event.idempotencyKey, let id = existing[key] else {
                        throw StoreError.decoding("an event was neither inserted nor found as a duplicate")
                    }
                    items[index] = .duplicate(id)
                }
            }
            let statuses = items.compactMap { $0 }
            guard statuses.contains(where: { if case .inserted = $0 { return true } else { return false } }) else {
                return IngestResult(user: user, items: statuses, refreshJob: nil)
            }
            try quota?.check(user: user.id, connection)
            user = try Self.bumpRevision(user.id, connection)
            let job = try refresh.flatMap { try JobQueue.enqueue($0(user.id), connection, counters: counters)?.job }
            return IngestResult(user: user, items: statuses, refreshJob: job)
        }
    }

    /// One statement for the whole batch: the columns travel as arrays and are unnested, ids
    /// are drawn first so each item learns its own, and conflicting idempotency keys are skipped.
    static func insertStatement(user: UserID, events: [NewFeedbackEvent]) -> SQL {
        var keys: [String?] = [], kinds: [String] = [], prompts: [String?] = [], chosen: [String?] = []
        var rejected: [String?] = [], bodies: [String?] = [], metadata: [JSONB] = [], occurred: [Date?] = []
        for event in events {
            let columns = event.content.columns
            keys.append(event.idempotencyKey)
            kinds.append(event.content.kind.rawValue)
            prompts.append(columns.prompt)
            chosen.append(columns.chosen)
            rejected.append(columns.rejected)
            bodies.append(columns.body)
            metadata.append(event.metadata)
            occurred.append(event.occurredAt)
        }
        return """
            WITH input AS MATERIALIZED (
                SELECT nextval('feedback_event_ids') AS id, t.*
                FROM unnest(\(keys), \(kinds), \(prompts), \(chosen), \(rejected), \(bodies), \(metadata), \(occurred))
                     WITH ORDINALITY AS t(idempotency_key, kind, prompt, chosen, rejected, body, metadata, occurred_at, ordinal)
            ), inserted AS (
                INSERT INTO feedback_events (id, user_id, idempotency_key, kind, prompt, chosen, rejected, body, metadata, occurred_at)
                SELECT id, \(user), idempotency_key, kind, prompt, chosen, rejected, body, metadata, coalesce(occurred_at, now())
                FROM input ORDER BY ordinal
                ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                RETURNING id
            )
            SELECT input.ordinal, input.id, inserted.id IS NOT NULL
            FROM input LEFT JOIN inserted ON inserted.id = input.id
            """
    }

    static func bumpRevision(_ user: UserID, _ connection: Connection) throws -> User {
        guard let row = try connection.query("""
            UPDATE users SET feedback_revision = feedback_revision + 1, last_feedback_at = now()
            WHERE id = \(user) RETURNING \(User.columns)
            """).first else {
            throw StoreError.notFound("the user no longer exists")
        }
        return try User(row: row)
    }

    public enum Order: Sendable {
        case oldestFirst, newestFirst
    }

    /// A page of the user's events; pass the previous page's `nextCursor` as `after`.
    public func list(user: UserID, after: EventID? = nil, limit: Int = 100, order: Order = .oldestFirst,
                     kinds: [FeedbackKind] = FeedbackKind.allCases) async throws -> FeedbackPage {
        let limit = max(1, limit)
        let kindNames = kinds.map(\.rawValue)
        let keyset: SQL, ordering: SQL
        switch order {
        case .oldestFirst:
            keyset = "id > \(after?.rawValue ?? Int64.min)"
            ordering = "ORDER BY id ASC"
        case .newestFirst:
            keyset = "id < \(after?.rawValue ?? Int64.max)"
            ordering = "ORDER BY id DESC"
        }
        // One row more than asked tells whether another page exists.
        let rows = try await pool.query("""
            SELECT \(FeedbackEvent.columns) FROM feedback_events
            WHERE user_id = \(user) AND \(keyset) AND kind = ANY(\(kindNames))
            \(ordering) LIMIT \(limit + 1)
            """)
        let events = try rows.prefix(limit).map(FeedbackEvent.init(row:))
        return FeedbackPage(events: events, nextCursor: rows.count > limit ? events.last?.id : nil)
    }

    /// The user and their newest `limit` events (oldest first), read from one snapshot, so the
    /// feedback revision matches the events exactly: what a refresh worker summarizes.
    public func snapshot(user: UserID, limit: Int = 1000) async throws -> FeedbackSnapshot? {
        try await pool.snapshot { connection in
            guard let user = try connection.query("SELECT \(User.columns) FROM users WHERE id = \(user)")
                .first.map(User.init(row:)) else { return nil }
            let events = try connection.query("""
                SELECT \(FeedbackEvent.columns) FROM feedback_events WHERE user_id = \(user.id)
                ORDER BY id DESC LIMIT \(max(1, limit))
                """).map(FeedbackEvent.init(row:))
            return FeedbackSnapshot(user: user, events: events.reversed())
        }
    }

    /// The user and, of their events, only the newest `pairs` pairs, `statements` statements and
    /// `contents` content items (oldest first), from one snapshot so the feedback revision matches
    /// them: what a summary is built or scored on, without reading the rest of the history.
    /// `distinctPairs` skips pairs whose chosen and rejected responses are the same (they say nothing).
    /// Nil when there is no such user.
    public func newestSignals(user: UserID, pairs: Int, statements: Int, contents: Int,
                              distinctPairs: Bool = false) async throws -> FeedbackSnapshot? {
        try await pool.snapshot { connection in
            guard let user = try connection.query("SELECT \(User.columns) FROM users WHERE id = \(user)")
                .first.map(User.init(row:)) else { return nil }
            // One LIMITed index walk per kind (feedback_events_by_user_kind), newest first.
            let events = try connection.query("""
                SELECT \(FeedbackEvent.columns) FROM (
                    (SELECT \(FeedbackEvent.columns) FROM feedback_events
                     WHERE user_id = \(user.id) AND kind = 'pair' AND (NOT \(distinctPairs) OR chosen <> rejected)
                     ORDER BY id DESC LIMIT \(max(0, pairs)))
                    UNION ALL
                    (SELECT \(FeedbackEvent.columns) FROM feedback_events WHERE user_id = \(user.id) AND kind = 'statement'
                     ORDER BY id DESC LIMIT \(max(0, statements)))
                    UNION ALL
                    (SELECT \(FeedbackEvent.columns) FROM feedback_events WHERE user_id = \(user.id) AND kind = 'content'
                     ORDER BY id DESC LIMIT \(max(0, contents)))
                ) newest ORDER BY id
                """).map(FeedbackEvent.init(row:))
            return FeedbackSnapshot(user: user, events: events)
        }
    }

    public func get(user: UserID, id: EventID) async throws -> FeedbackEvent? {
        try await pool.query("""
            SELECT \(FeedbackEvent.columns) FROM feedback_events WHERE user_id = \(user) AND id = \(id)
            """).first.map(FeedbackEvent.init(row:))
    }

    /// How many events the user has, by kind.
    public func counts(user: UserID) async throws -> [FeedbackKind: Int] {
        var counts: [FeedbackKind: Int] = [:]
        for row in try await pool.query("SELECT kind, count(*) FROM feedback_events WHERE user_id = \(user) GROUP BY kind") {
            let (kind, count) = try row.decode(String.self, Int.self)
            if let kind = FeedbackKind(rawValue: kind) { counts[kind] = count }
        }
        return counts
    }

    /// Deletes one of the user's events; the summary becomes stale and `refresh` is queued.
    /// False when the user has no such event.
    public func delete(user: UserID, id: EventID, refresh: RefreshJob? = nil) async throws -> Bool {
        try await pool.transaction { connection in
            guard try connection.query("SELECT id FROM users WHERE id = \(user) FOR UPDATE").first != nil,
                  try connection.execute("DELETE FROM feedback_events WHERE user_id = \(user) AND id = \(id)") == 1
            else { return false }
            _ = try Self.bumpRevision(user, connection)
            if let refresh { _ = try JobQueue.enqueue(refresh(user), connection, counters: counters) }
            return true
        }
    }
}
