/// popi's store: one connection pool and the repositories built on it.
///
///     let store = DataStore(pool: try ConnectionPool(connectionString: url))
///     let result = try await store.feedback.ingest(tenant: t, externalUserID: "u1", events: batch,
///                                                  refresh: { .summaryRefresh(for: $0) })
public final class DataStore: Sendable {
    public let pool: ConnectionPool

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    public var tenants: TenantRepository { TenantRepository(pool: pool) }
    public var apiKeys: APIKeyRepository { APIKeyRepository(pool: pool) }
    public var users: UserRepository { UserRepository(pool: pool) }
    public var feedback: FeedbackRepository { FeedbackRepository(pool: pool) }
    public var summaries: SummaryRepository { SummaryRepository(pool: pool) }
    public var jobs: JobQueue { JobQueue(pool: pool) }
    public var usage: UsageRepository { UsageRepository(pool: pool) }
    public var userData: UserDataRepository { UserDataRepository(pool: pool) }
}
