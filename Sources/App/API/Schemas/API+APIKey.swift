import Foundation
import Store

extension API {
    /// A key as listed: never its secret.
    struct APIKey: Encodable, Sendable {
        let keyID: String
        let tenantID: String
        let name: String
        let prefix: String
        let scopes: [String]
        let createdAt: Date
        @Nullable var revokedAt: Date?
        @Nullable var lastUsedAt: Date?

        init(_ key: Store.APIKey) {
            keyID = key.id.description
            tenantID = key.tenantID.description
            name = key.name
            prefix = key.prefix
            scopes = key.scopes.sorted()
            createdAt = key.createdAt
            revokedAt = key.revokedAt
            lastUsedAt = key.lastUsedAt
        }

        enum CodingKeys: String, CodingKey {
            case name, prefix, scopes
            case keyID = "key_id"
            case tenantID = "tenant_id"
            case createdAt = "created_at"
            case revokedAt = "revoked_at"
            case lastUsedAt = "last_used_at"
        }
    }
}
