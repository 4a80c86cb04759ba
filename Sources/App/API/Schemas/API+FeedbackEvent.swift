import Foundation
import Store

extension API {
    /// A stored event: the common fields, then those of its kind (a pair's prompt, chosen and
    /// rejected; a statement's text; a content's text and prompt, null without one).
    struct FeedbackEvent: Encodable, Sendable {
        let event: Store.FeedbackEvent

        init(_ event: Store.FeedbackEvent) {
            self.event = event
        }

        enum CodingKeys: String, CodingKey {
            case id, kind, metadata, prompt, chosen, rejected, text
            case eventID = "event_id"
            case occurredAt = "occurred_at"
            case createdAt = "created_at"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(event.id.rawValue, forKey: .eventID)
            try container.encode(event.idempotencyKey, forKey: .id)
            try container.encode(event.content.kind.rawValue, forKey: .kind)
            try container.encode((try? event.metadata.decode(JSONValue.self)) ?? .object([:]), forKey: .metadata)
            try container.encode(event.occurredAt, forKey: .occurredAt)
            try container.encode(event.createdAt, forKey: .createdAt)
            switch event.content {
            case let .pair(prompt, chosen, rejected):
                try container.encode(prompt, forKey: .prompt)
                try container.encode(chosen, forKey: .chosen)
                try container.encode(rejected, forKey: .rejected)
            case let .statement(text):
                try container.encode(text, forKey: .text)
            case let .content(text, prompt):
                try container.encode(text, forKey: .text)
                try container.encode(prompt, forKey: .prompt)
            }
        }
    }
}
