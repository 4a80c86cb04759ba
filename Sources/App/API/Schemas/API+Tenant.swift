import Foundation
import Store

extension API {
    struct Tenant: Encodable, Sendable {
        let tenantID: String
        let name: String
        let createdAt: Date
        let storedEvents: Int64
        let storedBytes: Int64

        init(_ tenant: Store.Tenant) {
            tenantID = tenant.id.description
            name = tenant.name
            createdAt = tenant.createdAt
            storedEvents = tenant.storedEvents
            storedBytes = tenant.storedBytes
        }

        enum CodingKeys: String, CodingKey {
            case name
            case tenantID = "tenant_id"
            case createdAt = "created_at"
            case storedEvents = "stored_events"
            case storedBytes = "stored_bytes"
        }
    }
}
