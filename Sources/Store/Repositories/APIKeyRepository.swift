public import Foundation

/// API keys: stored as a lookup prefix and the SHA-256 of the secret (made by the App).
public struct APIKeyRepository: Sendable {
    let pool: ConnectionPool

    public func create(tenant: TenantID, name: String = "", prefix: String, secretSHA256: Data,
                       scopes: [String]) async throws -> APIKey {
        guard secretSHA256.count == 32 else { throw StoreError.invalidValue("a key's SHA-256 must be 32 bytes") }
        do {
            return try await pool.withConnection { connection in
                try APIKey(row: connection.query("""
                    INSERT INTO api_keys (tenant_id, name, prefix, secret_sha256, scopes)
                    VALUES (\(tenant), \(name), \(prefix), \(secretSHA256), \(scopes))
                    RETURNING \(APIKey.columns)
                    """)[0])
            }
        } catch StoreError.server(let error) where error.isUniqueViolation {
            throw StoreError.conflict("an API key with this prefix exists already")
        } catch StoreError.server(let error) where error.isForeignKeyViolation {
            throw StoreError.notFound("no such tenant")
        }
    }

    /// The key with this lookup prefix, revoked or not (the caller checks both the hash and revocation).
    public func find(prefix: String) async throws -> APIKey? {
        try await pool.query("SELECT \(APIKey.columns) FROM api_keys WHERE prefix = \(prefix)").first.map(APIKey.init(row:))
    }

    /// The tenant's keys, oldest first.
    public func list(tenant: TenantID) async throws -> [APIKey] {
        try await pool.query("""
            SELECT \(APIKey.columns) FROM api_keys WHERE tenant_id = \(tenant) ORDER BY created_at, id
            """).map(APIKey.init(row:))
    }

    /// Revokes a key of this tenant (idempotent: the first revocation time is kept); nil when
    /// the tenant has no such key.
    public func revoke(tenant: TenantID, id: APIKeyID) async throws -> APIKey? {
        try await pool.query("""
            UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
            WHERE tenant_id = \(tenant) AND id = \(id)
            RETURNING \(APIKey.columns)
            """).first.map(APIKey.init(row:))
    }

    /// Revokes every active key of this tenant with this name; returns how many.
    @discardableResult
    public func revokeAll(tenant: TenantID, named name: String) async throws -> Int {
        try await pool.query("""
            UPDATE api_keys SET revoked_at = now()
            WHERE tenant_id = \(tenant) AND name = \(name) AND revoked_at IS NULL
            """).affectedRows
    }

    /// Records use; writes at most once a minute per key so hot keys do not cost a write per request.
    public func markUsed(id: APIKeyID) async throws {
        try await pool.query("""
            UPDATE api_keys SET last_used_at = now()
            WHERE id = \(id) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
            """)
    }
}
