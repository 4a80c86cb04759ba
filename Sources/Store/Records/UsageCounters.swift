public import Foundation

/// What a user has consumed, kept per user (and erased with them).
public struct UsageCounters: Sendable, Equatable {
    public let userID: UserID
    public let generations: Int64
    public let promptTokens: Int64
    public let completionTokens: Int64
    public let updatedAt: Date

    static let columns: SQL = "user_id, generations, prompt_tokens, completion_tokens, updated_at"

    init(row: Row) throws {
        (userID, generations, promptTokens, completionTokens, updatedAt) = try row.decode(
            UserID.self, Int64.self, Int64.self, Int64.self, Date.self)
    }
}
