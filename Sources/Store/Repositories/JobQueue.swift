import Foundation

/// The job queue every replica shares. Workers claim due jobs with `FOR UPDATE SKIP LOCKED`
/// (so no two take the same job and none waits for another) and hold a lease; a job whose
/// lease ran out (its worker crashed or hung) is claimed again, until `maxAttempts`.
public struct JobQueue: Sendable {
    let pool: ConnectionPool

    /// Adds a job, or merges it into the pending job with the same kind and dedup key.
    public func enqueue(_ job: NewJob) async throws -> EnqueueResult {
        try await pool.withConnection { connection in try Self.enqueue(job, connection) }
    }

    static func enqueue(_ job: NewJob, _ connection: Connection) throws -> EnqueueResult {
        let rows = try connection.query("""
            INSERT INTO jobs (kind, user_id, dedup_key, payload, max_attempts, run_after)
            VALUES (\(job.kind), \(job.userID), \(job.dedupKey), \(job.payload), \(Int32(clamping: job.maxAttempts)),
                    now() + \(job.delay) * interval '1 second')
            ON CONFLICT (kind, dedup_key) WHERE state = 'pending' AND dedup_key IS NOT NULL
            DO UPDATE SET
                run_after = LEAST(GREATEST(jobs.run_after, EXCLUDED.run_after),
                                  GREATEST(jobs.created_at + \(job.maxDelay) * interval '1 second', jobs.run_after)),
                payload = EXCLUDED.payload,
                updated_at = now()
            RETURNING \(Job.columns), xmax <> 0 AS merged
            """)
        let row = rows[0]
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
    /// Jobs whose lease expired count as due; those out of attempts are marked failed instead.
    public func claim(owner: String, kinds: [String], limit: Int = 1, lease: Double = 60) async throws -> [Job] {
        try await pool.transaction { connection in
            try connection.execute("""
                WITH exhausted AS (
                    SELECT id FROM jobs
                    WHERE state = 'running' AND lease_expires_at < now() AND attempts >= max_attempts
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL, finished_at = now(),
                    updated_at = now(), last_error = coalesce(last_error || '; ', '') || 'lease expired on the last attempt'
                FROM exhausted WHERE jobs.id = exhausted.id
                """)
            // The CTE names its column next_id so RETURNING can list the job's columns unqualified.
            return try connection.query("""
                WITH next AS (
                    SELECT id AS next_id FROM jobs j
                    WHERE ((j.state = 'pending' AND j.run_after <= now())
                           OR (j.state = 'running' AND j.lease_expires_at < now()))
                      AND j.kind = ANY(\(kinds))
                      AND (j.dedup_key IS NULL OR NOT EXISTS (
                          SELECT 1 FROM jobs r
                          WHERE r.state = 'running' AND r.kind = j.kind AND r.dedup_key = j.dedup_key AND r.id <> j.id))
                    ORDER BY j.run_after, j.id
                    LIMIT \(max(1, limit))
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE jobs SET state = 'running', attempts = jobs.attempts + 1, lease_owner = \(owner),
                    lease_expires_at = now() + \(lease) * interval '1 second', updated_at = now()
                FROM next WHERE jobs.id = next.next_id
                RETURNING \(Job.columns)
                """).map(Job.init(row:))
        }
    }

    /// Marks a claimed job done. False when `owner` no longer holds it (its lease expired and
    /// another worker took it, or the job was erased with its user).
    public func complete(_ id: JobID, owner: String) async throws -> Bool {
        try await pool.query("""
            UPDATE jobs SET state = 'done', lease_owner = NULL, lease_expires_at = NULL, last_error = NULL,
                finished_at = now(), updated_at = now()
            WHERE id = \(id) AND state = 'running' AND lease_owner = \(owner)
            """).affectedRows == 1
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
        do {
            return try await pool.query(statement).first.map(Job.init(row:))
        } catch StoreError.server(let error) where error.isUniqueViolation {
            // A pending duplicate appeared between the check and the update: now it is visible.
            return try await pool.query(statement).first.map(Job.init(row:))
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
