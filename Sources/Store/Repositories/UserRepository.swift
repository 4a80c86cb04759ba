/// Users, addressed by (tenant, external id): a tenant never sees another tenant's users.
public struct UserRepository: Sendable {
    let pool: ConnectionPool

    public func find(tenant: TenantID, externalID: String) async throws -> User? {
        try await pool.query("""
            SELECT \(User.columns) FROM users WHERE tenant_id = \(tenant) AND external_id = \(externalID)
            """).first.map(User.init(row:))
    }

    public func findOrCreate(tenant: TenantID, externalID: String) async throws -> User {
        try await pool.withConnection { connection in
            try Self.findOrCreate(tenant: tenant, externalID: externalID, lock: false, connection)
        }
    }

    public func find(id: UserID) async throws -> User? {
        try await pool.query("SELECT \(User.columns) FROM users WHERE id = \(id)").first.map(User.init(row:))
    }

    /// A page of the tenant's users in creation order (keyset: pass the last id as `after`).
    public func list(tenant: TenantID, after: UserID? = nil, limit: Int = 100) async throws -> [User] {
        try await pool.query("""
            SELECT \(User.columns) FROM users
            WHERE tenant_id = \(tenant) AND id > \(after?.rawValue ?? 0)
            ORDER BY id LIMIT \(max(0, limit))
            """).map(User.init(row:))
    }

    /// Inside a transaction, `lock` takes the user's row lock: writers of one user's data go one at a time.
    static func findOrCreate(tenant: TenantID, externalID: String, lock: Bool, _ connection: Connection) throws -> User {
        let lockClause: SQL = lock ? "FOR UPDATE" : ""
        let select: SQL = """
            SELECT \(User.columns) FROM users WHERE tenant_id = \(tenant) AND external_id = \(externalID) \(lockClause)
            """
        if let row = try connection.query(select).first { return try User(row: row) }
        let inserted = try connection.query("""
            INSERT INTO users (tenant_id, external_id) VALUES (\(tenant), \(externalID))
            ON CONFLICT (tenant_id, external_id) DO NOTHING
            RETURNING \(User.columns)
            """)
        if let row = inserted.first { return try User(row: row) }
        // Another transaction created it a moment ago.
        guard let row = try connection.query(select).first else {
            throw StoreError.notFound("the user was removed while being created")
        }
        return try User(row: row)
    }
}
