/// popi's store: one connection pool and the repositories built on it.
///
///     let store = DataStore(pool: try ConnectionPool(connectionString: url))
///     let result = try await store.feedback.ingest(tenant: t, externalUserID: "u1", events: batch,
///                                                  refresh: { .summaryRefresh(for: $0) })
public final class DataStore: Sendable {
    public let pool: ConnectionPool
    public let queueCounters = QueueCounters()

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    public var tenants: TenantRepository { TenantRepository(pool: pool) }
    public var apiKeys: APIKeyRepository { APIKeyRepository(pool: pool) }
    public var users: UserRepository { UserRepository(pool: pool) }
    public var feedback: FeedbackRepository { FeedbackRepository(pool: pool, counters: queueCounters) }
    public var summaries: SummaryRepository { SummaryRepository(pool: pool) }
    public var jobs: JobQueue { JobQueue(pool: pool, counters: queueCounters) }
    public var usage: UsageRepository { UsageRepository(pool: pool) }
    public var userData: UserDataRepository { UserDataRepository(pool: pool) }

    /// For readiness checks: is the database reachable, and is its schema what this build expects?
    public func health(migrations: [Migration] = Migration.bundled) async -> Health {
        do {
            try await pool.ping()
            let status = try await Migrator(migrations: migrations).status(pool)
            return Health(reachable: true, pendingMigrations: status.pending.map(\.fileName), problem: nil)
        } catch let error as StoreError {
            if case .migration = error {
                return Health(reachable: true, pendingMigrations: [], problem: error.description)
            }
            return Health(reachable: false, pendingMigrations: [], problem: error.description)
        } catch {
            return Health(reachable: false, pendingMigrations: [], problem: "\(error)")
        }
    }

    public struct Health: Sendable, Equatable {
        public let reachable: Bool
        public let pendingMigrations: [String]
        /// Why it is not ready (safe to show).
        public let problem: String?
        public var isReady: Bool { reachable && pendingMigrations.isEmpty && problem == nil }
    }
}
