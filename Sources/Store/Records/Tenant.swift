public import Foundation

public struct Tenant: Sendable, Equatable {
    public let id: TenantID
    public let name: String
    public let createdAt: Date
    /// Feedback the tenant's users keep: events and their bytes (see `StorageQuota`).
    public let storedEvents: Int64
    public let storedBytes: Int64

    static let columns: SQL = "id, name, created_at, stored_events, stored_bytes"

    init(row: Row) throws {
        (id, name, createdAt, storedEvents, storedBytes) = try row.decode(TenantID.self, String.self, Date.self, Int64.self, Int64.self)
    }
}
