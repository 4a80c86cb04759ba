import Foundation
import Store

extension API {
    struct Tenant: Encodable, Sendable {
        let tenantID: String
        let name: String
        let createdAt: Date

        init(_ tenant: Store.Tenant) {
            tenantID = tenant.id.description
            name = tenant.name
            createdAt = tenant.createdAt
        }

        enum CodingKeys: String, CodingKey {
            case name
            case tenantID = "tenant_id"
            case createdAt = "created_at"
        }
    }
}
