import Foundation
import HTTPServer
import Store

extension API {
    /// One event, or `{"events": [...]}`. Each item is validated on its own: an invalid item is
    /// reported (with the reason) and skipped, so the others are still stored.
    struct FeedbackRequest: Sendable {
        let events: [Result<NewFeedbackEvent, HTTPError>]

        init(_ body: JSONValue, limits: APIConfiguration) throws {
            let batch = body["events"] != nil
            let items: [JSONValue]
            if batch {
                items = try FieldReader(body).array("events", required: true, maxCount: limits.maxBatchEvents) ?? []
                guard !items.isEmpty else { throw HTTPError.invalidRequest("events: must hold at least one event") }
            } else {
                _ = try FieldReader(body)
                items = [body]
            }
            events = try items.enumerated().map { index, item in
                do {
                    return .success(try Self.event(item, path: batch ? "events[\(index)]" : "", maxFieldBytes: limits.maxFieldBytes))
                } catch let error as HTTPError {
                    return .failure(error)
                }
            }
        }

        /// Validates one event: `kind` pair {prompt, chosen, rejected}, statement {text} or content
        /// {text, prompt?}; optional `id` (idempotency key), `occurred_at`, `metadata` (object).
        private static func event(_ item: JSONValue, path: String, maxFieldBytes limit: Int) throws -> NewFeedbackEvent {
            let fields = try FieldReader(item, path: path)
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
    }
}
