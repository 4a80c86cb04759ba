/// Most feedback one user and one tenant may keep: events, and their bytes as stored (texts,
/// metadata, idempotency key). A batch that would pass a limit is refused whole.
public struct StorageQuota: Sendable, Equatable {
    public var userEvents: Int64
    public var userBytes: Int64
    public var tenantEvents: Int64
    public var tenantBytes: Int64

    public init(userEvents: Int64, userBytes: Int64, tenantEvents: Int64, tenantBytes: Int64) {
        self.userEvents = userEvents
        self.userBytes = userBytes
        self.tenantEvents = tenantEvents
        self.tenantBytes = tenantBytes
    }

    /// The limit a write would have passed, with what would then be stored.
    public struct Exceeded: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Scope: String, Sendable { case user, tenant }
        public enum Measure: String, Sendable { case events, bytes }

        public let scope: Scope
        public let measure: Measure
        public let wouldStore: Int64
        public let limit: Int64

        public var description: String {
            "this would store \(wouldStore) \(measure) of feedback for the \(scope); the \(scope)'s limit is \(limit) \(measure)"
        }
    }

    /// Throws `Exceeded` when the user (or its tenant) now stores more than allowed: called
    /// inside the writing transaction, after the insert, so the error rolls the batch back.
    func check(user: UserID, _ connection: Connection) throws {
        guard let row = try connection.query("""
            SELECT u.stored_events, u.stored_bytes, t.stored_events, t.stored_bytes
            FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = \(user)
            """).first else { throw StoreError.notFound("the user no longer exists") }
        let (events, bytes, tenantEvents, tenantBytes) = try row.decode(Int64.self, Int64.self, Int64.self, Int64.self)
        for (scope, measure, stored, limit) in [(Exceeded.Scope.user, Exceeded.Measure.events, events, userEvents),
                                                (.user, .bytes, bytes, userBytes),
                                                (.tenant, .events, tenantEvents, self.tenantEvents),
                                                (.tenant, .bytes, tenantBytes, self.tenantBytes)] where stored > limit {
            throw StoreError.quotaExceeded(Exceeded(scope: scope, measure: measure, wouldStore: stored, limit: limit))
        }
    }
}
