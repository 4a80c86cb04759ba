public import Foundation

public enum FeedbackKind: String, Sendable, CaseIterable {
    case pair, statement, content
}

/// What a feedback event says.
public enum FeedbackContent: Sendable, Equatable {
    /// For `prompt`, the user preferred `chosen` over `rejected`.
    case pair(prompt: String, chosen: String, rejected: String)
    /// Something the user says about themselves.
    case statement(text: String)
    /// Something the user wrote, optionally in answer to a prompt.
    case content(text: String, prompt: String?)

    public var kind: FeedbackKind {
        switch self {
        case .pair: return .pair
        case .statement: return .statement
        case .content: return .content
        }
    }

    /// Column values: prompt, chosen, rejected, body.
    var columns: (prompt: String?, chosen: String?, rejected: String?, body: String?) {
        switch self {
        case .pair(let prompt, let chosen, let rejected): return (prompt, chosen, rejected, nil)
        case .statement(let text): return (nil, nil, nil, text)
        case .content(let text, let prompt): return (prompt, nil, nil, text)
        }
    }

    init(kind: String, prompt: String?, chosen: String?, rejected: String?, body: String?) throws {
        switch (FeedbackKind(rawValue: kind), prompt, chosen, rejected, body) {
        case (.pair, let prompt?, let chosen?, let rejected?, nil):
            self = .pair(prompt: prompt, chosen: chosen, rejected: rejected)
        case (.statement, nil, nil, nil, let text?):
            self = .statement(text: text)
        case (.content, let prompt, nil, nil, let text?):
            self = .content(text: text, prompt: prompt)
        default:
            throw StoreError.decoding("feedback event of kind \(kind) has an unexpected shape")
        }
    }
}

/// An event to ingest. Validate lengths and text at the edge; the store checks shape and types.
public struct NewFeedbackEvent: Sendable, Equatable {
    /// The client's id for the event: posting it again is a no-op reported as `duplicate`.
    public var idempotencyKey: String?
    public var content: FeedbackContent
    /// A JSON object.
    public var metadata: JSONB
    /// When it happened (the store's clock when nil).
    public var occurredAt: Date?

    public init(idempotencyKey: String? = nil, content: FeedbackContent, metadata: JSONB = .emptyObject, occurredAt: Date? = nil) {
        self.idempotencyKey = idempotencyKey
        self.content = content
        self.metadata = metadata
        self.occurredAt = occurredAt
    }
}

/// A stored feedback event.
public struct FeedbackEvent: Sendable, Equatable {
    public let id: EventID
    public let userID: UserID
    public let idempotencyKey: String?
    public let content: FeedbackContent
    public let metadata: JSONB
    public let occurredAt: Date
    public let createdAt: Date

    static let columns: SQL = "id, user_id, idempotency_key, kind, prompt, chosen, rejected, body, metadata, occurred_at, created_at"

    init(row: Row) throws {
        let kind: String, prompt: String?, chosen: String?, rejected: String?, body: String?
        (id, userID, idempotencyKey, kind, prompt, chosen, rejected, body, metadata, occurredAt, createdAt) = try row.decode(
            EventID.self, UserID.self, String?.self, String.self, String?.self, String?.self, String?.self, String?.self,
            JSONB.self, Date.self, Date.self)
        content = try FeedbackContent(kind: kind, prompt: prompt, chosen: chosen, rejected: rejected, body: body)
    }
}

/// The outcome of ingesting one event of a batch, in the batch's order.
public enum IngestStatus: Sendable, Equatable {
    case inserted(EventID)
    /// The idempotency key was seen before (in an earlier request or earlier in this batch);
    /// the id is that of the stored event.
    case duplicate(EventID)
}

/// The outcome of a batch.
public struct IngestResult: Sendable {
    public let user: User
    public let items: [IngestStatus]
    /// The refresh job queued (or merged into a pending one) when anything was inserted; nil
    /// also when the tenant's queue was full.
    public let refreshJob: Job?

    public var insertedCount: Int { items.filter { if case .inserted = $0 { return true } else { return false } }.count }
}

/// One page of a user's events, oldest first (or newest first when asked).
public struct FeedbackPage: Sendable {
    public let events: [FeedbackEvent]
    /// Pass as `after` to get the next page; nil on the last page.
    public let nextCursor: EventID?
}

/// A user's feedback as of one moment: `user.feedbackRevision` is the revision of exactly these events.
public struct FeedbackSnapshot: Sendable {
    public let user: User
    /// Oldest first.
    public let events: [FeedbackEvent]
}
