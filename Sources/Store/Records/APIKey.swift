public import Foundation

/// A stored API key: the lookup prefix and the SHA-256 of the secret, never the secret itself.
public struct APIKey: Sendable, Equatable {
    public let id: APIKeyID
    public let tenantID: TenantID
    public let name: String
    public let prefix: String
    /// SHA-256 of the full secret (32 bytes); compare in constant time.
    public let secretSHA256: Data
    public let scopes: [String]
    public let createdAt: Date
    public let revokedAt: Date?
    public let lastUsedAt: Date?

    public var isRevoked: Bool { revokedAt != nil }

    static let columns: SQL = "id, tenant_id, name, prefix, secret_sha256, scopes, created_at, revoked_at, last_used_at"

    init(row: Row) throws {
        (id, tenantID, name, prefix, secretSHA256, scopes, createdAt, revokedAt, lastUsedAt) = try row.decode(
            APIKeyID.self, TenantID.self, String.self, String.self, Data.self, [String].self, Date.self,
            Date?.self, Date?.self)
    }
}
