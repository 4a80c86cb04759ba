public import Foundation

public enum JobState: String, Sendable, CaseIterable {
    case pending, running, done, failed
    /// Failed while a newer pending job with the same dedup key was waiting: that one does the work.
    case superseded
}

/// A unit of background work (e.g. refreshing a user's summary).
public struct Job: Sendable, Equatable {
    public let id: JobID
    public let kind: String
    public let userID: UserID?
    public let dedupKey: String?
    public let payload: JSONB
    public let state: JobState
    /// Claims so far (a claim whose worker vanished counts).
    public let attempts: Int
    public let maxAttempts: Int
    public let runAfter: Date
    public let leaseOwner: String?
    public let leaseExpiresAt: Date?
    public let lastError: String?
    public let createdAt: Date
    public let updatedAt: Date
    public let finishedAt: Date?

    static let columns: SQL = """
        id, kind, user_id, dedup_key, payload, state, attempts, max_attempts, run_after, lease_owner, \
        lease_expires_at, last_error, created_at, updated_at, finished_at
        """

    init(row: Row) throws {
        let stateText: String
        (id, kind, userID, dedupKey, payload, stateText, attempts, maxAttempts, runAfter, leaseOwner, leaseExpiresAt,
         lastError, createdAt, updatedAt, finishedAt) = try row.decode(
            JobID.self, String.self, UserID?.self, String?.self, JSONB.self, String.self, Int.self, Int.self, Date.self,
            String?.self, Date?.self, String?.self, Date.self, Date.self, Date?.self)
        guard let state = JobState(rawValue: stateText) else { throw StoreError.decoding("unknown job state \(stateText)") }
        self.state = state
    }
}

/// A job to enqueue.
public struct NewJob: Sendable, Equatable {
    public var kind: String
    public var userID: UserID?
    /// Jobs with the same kind and key are merged while pending and never run at the same time.
    public var dedupKey: String?
    public var payload: JSONB
    public var maxAttempts: Int
    /// Run no earlier than this many seconds from now. When merged into a pending job, its
    /// start moves to now + delay (trailing debounce) but never past `created + maxDelay`.
    public var delay: Double
    public var maxDelay: Double
    /// The most pending jobs of this kind the user's tenant may have (nil: no cap). A job that
    /// would go past it is not queued (`JobQueue.enqueue` throws `queueFull`); one that merges
    /// into a pending job always is.
    public var maxQueuedPerTenant: Int?

    public init(kind: String, userID: UserID? = nil, dedupKey: String? = nil, payload: JSONB = .emptyObject,
                maxAttempts: Int = 5, delay: Double = 0, maxDelay: Double = 60, maxQueuedPerTenant: Int? = nil) {
        self.kind = kind
        self.userID = userID
        self.dedupKey = dedupKey
        self.payload = payload
        self.maxAttempts = maxAttempts
        self.delay = delay
        self.maxDelay = maxDelay
        self.maxQueuedPerTenant = maxQueuedPerTenant
    }

    /// The job kind that refreshes a user's summary.
    public static let summaryRefreshKind = "summary_refresh"

    /// A summary refresh for one user: one pending per user, debounced by `delay` seconds.
    public static func summaryRefresh(for user: UserID, delay: Double = 2, maxDelay: Double = 30,
                                      maxAttempts: Int = 5, payload: JSONB = .emptyObject,
                                      maxQueuedPerTenant: Int? = nil) -> NewJob {
        NewJob(kind: summaryRefreshKind, userID: user, dedupKey: "user:\(user.rawValue)", payload: payload,
               maxAttempts: maxAttempts, delay: delay, maxDelay: maxDelay, maxQueuedPerTenant: maxQueuedPerTenant)
    }
}

/// The outcome of enqueueing.
public struct EnqueueResult: Sendable {
    public let job: Job
    /// True when merged into a job that was already pending.
    public let merged: Bool
}

/// The outcome of claiming: the jobs taken, and the expired leases met on the way (each one a
/// worker that crashed or hung holding a job).
public struct ClaimResult: Sendable {
    /// The jobs claimed, in the queue's fair order.
    public let jobs: [Job]
    /// How many of `jobs` were running under a lease that had expired: taken over from their worker.
    public let reclaimed: Int
    /// Jobs whose lease expired on their last attempt: marked failed, not claimed.
    public let failedOnExpiredLease: Int
}

/// When a failed job runs again: `base · 2^(attempts−1)` seconds, at most `cap`.
public struct RetryPolicy: Sendable, Equatable {
    public var base: Double
    public var cap: Double

    public init(base: Double = 5, cap: Double = 300) {
        self.base = base
        self.cap = cap
    }
}

/// The queue's shape, for `/metrics`.
public struct QueueStatistics: Sendable, Equatable {
    public let pending: Int
    /// Pending and due now (the backlog workers should be eating).
    public let due: Int
    public let running: Int
    /// Running with an expired lease (their workers are presumed gone).
    public let expiredLeases: Int
    public let done: Int
    public let failed: Int
    public let superseded: Int
    /// Seconds the oldest due job has waited (0 when none).
    public let oldestDueAge: Double
}
