public import Foundation

/// A user inside a tenant. `feedbackRevision` grows with every change to the user's feedback;
/// a summary built at a lower revision is stale.
public struct User: Sendable, Equatable {
    public let id: UserID
    public let tenantID: TenantID
    public let externalID: String
    public let feedbackRevision: Int64
    public let createdAt: Date
    public let lastFeedbackAt: Date?

    static let columns: SQL = "id, tenant_id, external_id, feedback_revision, created_at, last_feedback_at"

    init(row: Row) throws {
        (id, tenantID, externalID, feedbackRevision, createdAt, lastFeedbackAt) = try row.decode(
            UserID.self, TenantID.self, String.self, Int64.self, Date.self, Date?.self)
    }
}
