import Foundation
import HTTPServer
import Store

/// A user's feedback events: posted one at a time or in batches, listed, deleted.
struct FeedbackController: Sendable {
    let requests: RequestGuard
    let users: UserRepository
    let feedback: FeedbackRepository
    let configuration: APIConfiguration

    func register(in router: inout Router) {
        router.post("/v1/users/{user_id}/feedback", requests.authorized(.write) { [self] request, caller in
            try await postFeedback(request, caller)
        })
        router.get("/v1/users/{user_id}/feedback", requests.authorized(.read) { [self] request, caller in
            try await listFeedback(request, caller)
        })
        router.delete("/v1/users/{user_id}/feedback/{event_id}", requests.authorized(.write) { [self] request, caller in
            try await deleteFeedback(request, caller)
        })
    }

    /// One event or `{"events": [...]}`. Each item is validated on its own: invalid items are
    /// reported and skipped, valid ones stored in one transaction.
    private func postFeedback(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try RequestGuard.userID(request)
        let body = try await requests.jsonBody(request)
        let items: [JSONValue]
        if body["events"] != nil {
            items = try FieldReader(body).array("events", required: true, maxCount: configuration.maxBatchEvents) ?? []
            guard !items.isEmpty else { throw HTTPError.invalidRequest("events: must hold at least one event") }
        } else {
            _ = try FieldReader(body)
            items = [body]
        }

        var statuses = [API.FeedbackItemStatus?](repeating: nil, count: items.count)
        var valid: [(index: Int, event: NewFeedbackEvent)] = []
        for (index, item) in items.enumerated() {
            do {
                valid.append((index, try feedbackEvent(item, path: items.count == 1 && body["events"] == nil ? "" : "events[\(index)]")))
            } catch let error as HTTPError {
                statuses[index] = .invalid(index: index, reason: error.message)
            }
        }
        var refreshJobID: Int64?
        if !valid.isEmpty {
            let result = try await feedback.ingest(tenant: caller.tenantID, externalUserID: user,
                                                   events: valid.map(\.event), refresh: configuration.refreshJob)
            for ((index, event), status) in zip(valid, result.items) {
                statuses[index] = .stored(index: index, status, idempotencyKey: event.idempotencyKey)
            }
            refreshJobID = result.refreshJob?.id.rawValue
        }
        // Every item is either invalid or stored: none is left nil.
        return try Response.json(API.FeedbackResult(userID: user, items: statuses.compactMap { $0 }, refreshJobID: refreshJobID))
    }

    /// Validates one event: `kind` pair {prompt, chosen, rejected}, statement {text} or content
    /// {text, prompt?}; optional `id` (idempotency key), `occurred_at`, `metadata` (object).
    private func feedbackEvent(_ item: JSONValue, path: String) throws -> NewFeedbackEvent {
        let fields = try FieldReader(item, path: path)
        let limit = configuration.maxFieldBytes
        let content: FeedbackContent
        switch try fields.string("kind", required: true, maxLength: 32) {
        case "pair":
            let chosen = try fields.requiredString("chosen", maxLength: limit)
            let rejected = try fields.requiredString("rejected", maxLength: limit)
            guard chosen != rejected else { throw HTTPError.invalidRequest("\(fields.name("rejected")): must differ from chosen") }
            content = .pair(prompt: try fields.requiredString("prompt", maxLength: limit), chosen: chosen, rejected: rejected)
        case "statement":
            content = .statement(text: try fields.requiredString("text", maxLength: limit))
        case "content":
            content = .content(text: try fields.requiredString("text", maxLength: limit),
                               prompt: try fields.string("prompt", maxLength: limit))
        default:
            throw HTTPError.invalidRequest("\(fields.name("kind")): must be pair, statement or content")
        }
        var metadata = JSONB.emptyObject
        if let object = try fields.object("metadata") {
            guard object.bytes.count <= 16 << 10 else { throw HTTPError.invalidRequest("\(fields.name("metadata")): larger than 16 KiB") }
            guard !object.containsNUL else {
                throw HTTPError.invalidRequest("\(fields.name("metadata")): must not contain NUL characters")
            }
            metadata = JSONB(text: String(decoding: object.bytes, as: UTF8.self))
        }
        let key = try fields.string("id", maxLength: 256)
        return NewFeedbackEvent(idempotencyKey: key, content: content, metadata: metadata, occurredAt: try fields.date("occurred_at"))
    }

    /// Keyset pagination: `?limit=1..200&cursor=<next_cursor>`, oldest first.
    private func listFeedback(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try RequestGuard.userID(request)
        let limit = try RequestGuard.queryInteger(request, "limit", in: 1...200) ?? 50
        let cursor = try RequestGuard.queryInteger(request, "cursor", in: 0...Int(Int64.max)).map { EventID(rawValue: Int64($0)) }
        guard let found = try await users.find(tenant: caller.tenantID, externalID: user) else {
            throw HTTPError.userNotFound
        }
        let page = try await feedback.list(user: found.id, after: cursor, limit: limit)
        return try Response.json(API.FeedbackPage(userID: user, events: page.events.map(API.FeedbackEvent.init),
                                                  nextCursor: page.nextCursor.map { String($0.rawValue) }))
    }

    private func deleteFeedback(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try RequestGuard.userID(request)
        guard let raw = request.parameter("event_id"), let id = Int64(raw), id > 0 else {
            throw HTTPError.invalidRequest("event_id must be a positive integer")
        }
        guard let found = try await users.find(tenant: caller.tenantID, externalID: user),
              try await feedback.delete(user: found.id, id: EventID(rawValue: id), refresh: configuration.refreshJob) else {
            throw HTTPError.eventNotFound
        }
        return Response(status: .noContent)
    }
}
