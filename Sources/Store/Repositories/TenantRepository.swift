/// Tenants: the unit of isolation. Deleting one removes its keys, users and all their data.
public struct TenantRepository: Sendable {
    let pool: ConnectionPool

    public func create(name: String) async throws -> Tenant {
        do {
            return try await pool.withConnection { connection in
                try Tenant(row: connection.query("INSERT INTO tenants (name) VALUES (\(name)) RETURNING \(Tenant.columns)")[0])
            }
        } catch StoreError.server(let error) where error.isUniqueViolation {
            throw StoreError.conflict("a tenant named \(name) exists already")
        }
    }

    /// The tenant with this name, created if needed.
    public func findOrCreate(name: String) async throws -> Tenant {
        try await pool.withConnection { connection in
            let inserted = try connection.query("""
                INSERT INTO tenants (name) VALUES (\(name)) ON CONFLICT (name) DO NOTHING RETURNING \(Tenant.columns)
                """)
            if let row = inserted.first { return try Tenant(row: row) }
            return try Tenant(row: connection.query("SELECT \(Tenant.columns) FROM tenants WHERE name = \(name)")[0])
        }
    }

    public func find(id: TenantID) async throws -> Tenant? {
        try await pool.query("SELECT \(Tenant.columns) FROM tenants WHERE id = \(id)").first.map(Tenant.init(row:))
    }

    public func find(name: String) async throws -> Tenant? {
        try await pool.query("SELECT \(Tenant.columns) FROM tenants WHERE name = \(name)").first.map(Tenant.init(row:))
    }

    /// All tenants, oldest first.
    public func list() async throws -> [Tenant] {
        try await pool.query("SELECT \(Tenant.columns) FROM tenants ORDER BY created_at, id").map(Tenant.init(row:))
    }

    /// Deletes the tenant and everything it owns; false when there was no such tenant.
    public func delete(id: TenantID) async throws -> Bool {
        try await pool.query("DELETE FROM tenants WHERE id = \(id)").affectedRows == 1
    }
}
