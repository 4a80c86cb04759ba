import Foundation

/// The job queue every replica shares. Workers claim due jobs with `FOR UPDATE SKIP LOCKED`
/// (so no two take the same job and none waits for another) and hold a lease; a job whose
/// lease ran out (its worker crashed or hung) is claimed again, until `maxAttempts`.
///
/// Fair across tenants: claims go round-robin by tenant (the tenant whose job was claimed
/// longest ago first), and a tenant's queued jobs of a kind can be capped. A job leaving
/// `running` is announced on `finishedChannel` (NOTIFY, sent on commit), so a waiter on any
/// replica wakes without polling (`waitUntilFinished`).
public struct JobQueue: Sendable {
    let pool: ConnectionPool
    let counters: QueueCounters

    /// Where finished jobs are announced; the payload is the job's id.
    public static let finishedChannel = "popi_job_finished"

    /// Adds a job, or merges it into the pending job with the same kind and dedup key. Throws
    /// `queueFull` when the job would take its tenant past `maxQueuedPerTenant`.
    public func enqueue(_ job: NewJob) async throws -> EnqueueResult {
        let counters = self.counters
        let result = try await pool.withConnection { connection in try Self.enqueue(job, connection, counters: counters) }
        guard let result else { throw StoreError.queueFull(limit: job.maxQueuedPerTenant ?? 0) }
        return result
    }

    /// Nil (and counted) when the tenant's queue is full: nothing was queued.
    static func enqueue(_ job: NewJob, _ connection: Connection, counters: QueueCounters) throws -> EnqueueResult? {
        // A job always merges into its pending twin; a new one needs room under the tenant's cap
        // (counted up to the cap only). Concurrent enqueues may each see the last free place, so
        // the cap can be passed by as many jobs as there are concurrent writers.
        let rows = try connection.query("""
            WITH owner AS (
                SELECT (SELECT tenant_id FROM users WHERE id = \(job.userID)) AS tenant_id
            ), room AS (
                SELECT \(job.maxQueuedPerTenant) IS NULL
                    OR EXISTS (SELECT 1 FROM jobs WHERE kind = \(job.kind) AND dedup_key = \(job.dedupKey) AND state = 'pending')
                    OR (SELECT count(*) FROM (
                            SELECT 1 FROM jobs, owner
                            WHERE jobs.tenant_id = owner.tenant_id AND kind = \(job.kind) AND state = 'pending'
                            LIMIT \(job.maxQueuedPerTenant)) queued) < \(job.maxQueuedPerTenant) AS open
            )
            INSERT INTO jobs (kind, user_id, tenant_id, dedup_key, payload, max_attempts, run_after)
            SELECT \(job.kind), \(job.userID), owner.tenant_id, \(job.dedupKey), \(job.payload),
                   \(Int32(clamping: job.maxAttempts)), now() + \(job.delay) * interval '1 second'
            FROM owner, room WHERE room.open
            ON CONFLICT (kind, dedup_key) WHERE state = 'pending' AND dedup_key IS NOT NULL
            DO UPDATE SET
                run_after = LEAST(GREATEST(jobs.run_after, EXCLUDED.run_after),
                                  GREATEST(jobs.created_at + \(job.maxDelay) * interval '1 second', jobs.run_after)),
                payload = EXCLUDED.payload,
                updated_at = now()
            RETURNING \(Job.columns), xmax <> 0 AS merged
            """)
        guard let row = rows.first else {
            counters.countDropped()
            return nil
        }
        return EnqueueResult(job: try Job(row: row), merged: try row.decode("merged", as: Bool.self))
    }

    /// Makes a pending job due now: an explicit request overrides the debounce that `enqueue`
    /// only ever pushes later. Nil when the job is no longer pending.
    public func runNow(_ id: JobID) async throws -> Job? {
        try await pool.query("""
            UPDATE jobs SET run_after = LEAST(run_after, now()), updated_at = now()
            WHERE id = \(id) AND state = 'pending'
            RETURNING \(Job.columns)
            """).first.map(Job.init(row:))
    }

    /// Claims up to `limit` due jobs for `owner` (a unique worker name) for `lease` seconds.
    /// Jobs whose lease expired count as due (reclaimed); those out of attempts are marked failed
    /// instead. The result counts both, so a worker can tell that another one died holding jobs.
    ///
    /// Round-robin by tenant: each tenant's due jobs are numbered oldest first, and the claim
    /// takes every tenant's first before anyone's second, tenants whose job was claimed longest
    /// ago (or never) first. So a tenant with a long backlog gets one turn in each round, and
    /// another tenant's single job waits at most one round.
    public func claim(owner: String, kinds: [String], limit: Int = 1, lease: Double = 60) async throws -> ClaimResult {
        let limit = max(1, limit)
        return try await pool.transaction { connection in
            let exhausted = try connection.query("""
                WITH exhausted AS (
                    SELECT id FROM jobs
                    WHERE state = 'running' AND lease_expires_at < now() AND attempts >= max_attempts AND kind = ANY(\(kinds))
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL, finished_at = now(),
                    updated_at = now(), last_error = coalesce(last_error || '; ', '') || 'lease expired on the last attempt'
                FROM exhausted WHERE jobs.id = exhausted.id
                RETURNING jobs.id
                """)
            for row in exhausted { try Self.announceFinished(try row.decode(0, as: JobID.self), connection) }
            // Window functions cannot lock rows: pick candidates in fair order first (more than
            // needed, since other workers may hold some), then lock the first free ones in that order.
            let candidates = try connection.query("""
                WITH due AS (
                    SELECT j.id, j.tenant_id, j.run_after,
                           row_number() OVER (PARTITION BY j.tenant_id ORDER BY j.run_after, j.id) AS turn
                    FROM jobs j
                    WHERE \(Self.claimable(kinds))
                )
                SELECT due.id FROM due LEFT JOIN job_tenant_turns t ON t.tenant_id = due.tenant_id
                ORDER BY due.turn, t.last_claimed_at NULLS FIRST, due.run_after, due.id
                LIMIT \(limit * 4 + 16)
                """).map { try $0.decode(0, as: Int64.self) }
            guard !candidates.isEmpty else {
                return ClaimResult(jobs: [], reclaimed: 0, failedOnExpiredLease: exhausted.count)
            }
            // Checked again on the locked row: another worker may have claimed it meanwhile.
            // The CTE names its columns next_id and reclaim so RETURNING can list the job's
            // columns unqualified; reclaim is the state before this update (RETURNING sees after).
            let claimed = try connection.query("""
                WITH next AS (
                    SELECT id AS next_id, state = 'running' AS reclaim FROM jobs j
                    WHERE j.id = ANY(\(candidates)) AND \(Self.claimable(kinds))
                    ORDER BY array_position(\(candidates), j.id)
                    LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE jobs SET state = 'running', attempts = jobs.attempts + 1, lease_owner = \(owner),
                    lease_expires_at = now() + \(lease) * interval '1 second', updated_at = now()
                FROM next WHERE jobs.id = next.next_id
                RETURNING \(Job.columns), tenant_id, next.reclaim
                """)
            let tenants = try Set(claimed.compactMap { try $0.decode("tenant_id", as: TenantID?.self) })
            if !tenants.isEmpty {
                // In one order, so claimers updating the same tenants' rows cannot deadlock.
                try connection.execute("""
                    INSERT INTO job_tenant_turns (tenant_id, last_claimed_at)
                    SELECT unnest(\(tenants.map(\.rawValue).sorted { $0.uuidString < $1.uuidString })), now()
                    ON CONFLICT (tenant_id) DO UPDATE SET last_claimed_at = EXCLUDED.last_claimed_at
                    """)
            }
            let jobs = try claimed.map(Job.init(row:))
                .sorted { candidates.firstIndex(of: $0.id.rawValue)! < candidates.firstIndex(of: $1.id.rawValue)! }
            let reclaimed = try claimed.filter { try $0.decode("reclaim", as: Bool.self) }.count
            return ClaimResult(jobs: jobs, reclaimed: reclaimed, failedOnExpiredLease: exhausted.count)
        }
    }

    /// Due (pending and due, or running with an expired lease), of one of `kinds`, and not
    /// sharing its dedup key with a running job.
    private static func claimable(_ kinds: [String]) -> SQL {
        """
        ((j.state = 'pending' AND j.run_after <= now()) OR (j.state = 'running' AND j.lease_expires_at < now()))
        AND j.kind = ANY(\(kinds))
        AND (j.dedup_key IS NULL OR NOT EXISTS (
            SELECT 1 FROM jobs r
            WHERE r.state = 'running' AND r.kind = j.kind AND r.dedup_key = j.dedup_key AND r.id <> j.id))
        """
    }

    /// Marks a claimed job done. False when `owner` no longer holds it (its lease expired and
    /// another worker took it, or the job was erased with its user).
    public func complete(_ id: JobID, owner: String) async throws -> Bool {
        try await pool.transaction { connection in
            guard try connection.execute("""
                UPDATE jobs SET state = 'done', lease_owner = NULL, lease_expires_at = NULL, last_error = NULL,
                    finished_at = now(), updated_at = now()
                WHERE id = \(id) AND state = 'running' AND lease_owner = \(owner)
                """) == 1 else { return false }
            try Self.announceFinished(id, connection)
            return true
        }
    }

    /// NOTIFY on `finishedChannel` (delivered when the transaction commits).
    static func announceFinished(_ id: JobID, _ connection: Connection) throws {
        try connection.execute("SELECT pg_notify(\(finishedChannel), \(String(id.rawValue)))")
    }

    /// Stores the summary a job produced as the user's new version and marks the job done, in one
    /// transaction: both or neither, so a crash or error between them cannot leave a stored
    /// version whose job then runs again (and stores another). Nil, with nothing stored, when
    /// `owner` no longer holds the job. Throws `notFound` when the user was erased meanwhile.
    public func complete(_ id: JobID, owner: String, storing summary: NewSummaryVersion,
                         for user: UserID) async throws -> SummaryVersion? {
        try await pool.transaction { connection in
            // Locked first: a claimer skips the row (SKIP LOCKED) until this commits it as done.
            guard try connection.query("""
                SELECT 1 FROM jobs WHERE id = \(id) AND state = 'running' AND lease_owner = \(owner) FOR UPDATE
                """).first != nil else { return nil }
            let version = try SummaryRepository.add(user: user, summary, restoredFrom: nil, connection)
            try connection.execute("""
                UPDATE jobs SET state = 'done', lease_owner = NULL, lease_expires_at = NULL, last_error = NULL,
                    finished_at = now(), updated_at = now()
                WHERE id = \(id)
                """)
            try Self.announceFinished(id, connection)
            return version
        }
    }

    /// Records a failure. The job runs again after the policy's backoff while attempts remain
    /// (`retry: false` fails it for good); with a newer pending job of the same dedup key it is
    /// `superseded` instead. Nil when `owner` no longer holds the job.
    public func fail(_ id: JobID, owner: String, error message: String, retry: Bool = true,
                     policy: RetryPolicy = RetryPolicy()) async throws -> Job? {
        let statement: SQL = """
            UPDATE jobs SET
                state = CASE
                    WHEN NOT \(retry) OR attempts >= max_attempts THEN 'failed'
                    WHEN dedup_key IS NOT NULL AND EXISTS (
                        SELECT 1 FROM jobs p WHERE p.state = 'pending' AND p.kind = jobs.kind AND p.dedup_key = jobs.dedup_key)
                        THEN 'superseded'
                    ELSE 'pending' END,
                run_after = now() + LEAST(\(policy.base) * power(2, greatest(attempts - 1, 0)), \(policy.cap)) * interval '1 second',
                lease_owner = NULL, lease_expires_at = NULL, last_error = \(message), updated_at = now(),
                finished_at = CASE WHEN NOT \(retry) OR attempts >= max_attempts OR (dedup_key IS NOT NULL AND EXISTS (
                        SELECT 1 FROM jobs p WHERE p.state = 'pending' AND p.kind = jobs.kind AND p.dedup_key = jobs.dedup_key))
                    THEN now() END
            WHERE id = \(id) AND state = 'running' AND lease_owner = \(owner)
            RETURNING \(Job.columns)
            """
        let fail = { @Sendable () async throws -> Job? in
            try await pool.transaction { connection in
                guard let job = try connection.query(statement).first.map(Job.init(row:)) else { return nil }
                try Self.announceFinished(job.id, connection)
                return job
            }
        }
        do {
            return try await fail()
        } catch StoreError.server(let error) where error.isUniqueViolation {
            // A pending duplicate appeared between the check and the update: now it is visible.
            return try await fail()
        }
    }

    /// Waits until the job has left `pending` and `running` (done, failed or superseded) or is
    /// gone, or until `deadline`, and returns it as it is then (nil when gone). Woken by the
    /// NOTIFY its worker sends, on any replica: while the listener is connected it reads the job
    /// only when woken; while it is not, once a second.
    public func waitUntilFinished(_ id: JobID, until deadline: ContinuousClock.Instant) async throws -> Job? {
        let listener = pool.notifications
        let registration = listener.register(channel: Self.finishedChannel, payload: String(id.rawValue))
        defer { listener.unregister(registration) }
        while true {
            let job = try await get(id)
            guard let unfinished = job, unfinished.state == .pending || unfinished.state == .running else { return job }
            let now = ContinuousClock.now
            guard now < deadline else { return unfinished }
            let until = listener.isListening(on: Self.finishedChannel) ? deadline : min(deadline, now + .seconds(1))
            await listener.wait(registration, until: until)
            try Task.checkCancellation()
        }
    }

    /// Extends a running job's lease (for long work). False when `owner` lost it.
    public func extendLease(_ id: JobID, owner: String, by lease: Double) async throws -> Bool {
        try await pool.query("""
            UPDATE jobs SET lease_expires_at = now() + \(lease) * interval '1 second', updated_at = now()
            WHERE id = \(id) AND state = 'running' AND lease_owner = \(owner)
            """).affectedRows == 1
    }

    public func get(_ id: JobID) async throws -> Job? {
        try await pool.query("SELECT \(Job.columns) FROM jobs WHERE id = \(id)").first.map(Job.init(row:))
    }

    /// The user's jobs, newest first.
    public func list(user: UserID, limit: Int = 100) async throws -> [Job] {
        try await pool.query("""
            SELECT \(Job.columns) FROM jobs WHERE user_id = \(user) ORDER BY id DESC LIMIT \(max(1, limit))
            """).map(Job.init(row:))
    }

    /// Counts by state and the age of the oldest due job.
    public func statistics() async throws -> QueueStatistics {
        let row = try await pool.query("""
            SELECT count(*) FILTER (WHERE state = 'pending'),
                   count(*) FILTER (WHERE state = 'pending' AND run_after <= now()),
                   count(*) FILTER (WHERE state = 'running'),
                   count(*) FILTER (WHERE state = 'running' AND lease_expires_at < now()),
                   count(*) FILTER (WHERE state = 'done'),
                   count(*) FILTER (WHERE state = 'failed'),
                   count(*) FILTER (WHERE state = 'superseded'),
                   coalesce(extract(epoch FROM now() - min(run_after) FILTER (WHERE state = 'pending' AND run_after <= now()))::float8, 0)
            FROM jobs
            """)[0]
        return QueueStatistics(pending: try row.decode(0), due: try row.decode(1), running: try row.decode(2),
                               expiredLeases: try row.decode(3), done: try row.decode(4), failed: try row.decode(5),
                               superseded: try row.decode(6), oldestDueAge: try row.decode(7))
    }

    /// Deletes finished jobs (done, failed, superseded) older than `age` seconds, of the given
    /// kinds (all kinds when nil); returns how many.
    public func purgeFinished(olderThan age: Double, kinds: [String]? = nil) async throws -> Int {
        try await pool.query("""
            DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < now() - \(age) * interval '1 second'
              AND (\(kinds == nil) OR kind = ANY(\(kinds ?? [])))
            """).affectedRows
    }
}
