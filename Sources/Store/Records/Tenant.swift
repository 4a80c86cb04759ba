public import Foundation

public struct Tenant: Sendable, Equatable {
    public let id: TenantID
    public let name: String
    public let createdAt: Date

    static let columns: SQL = "id, name, created_at"

    init(row: Row) throws {
        (id, name, createdAt) = try row.decode(TenantID.self, String.self, Date.self)
    }
}
