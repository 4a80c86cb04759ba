import Store

extension API {
    /// One posted item: stored (`inserted` or `duplicate`, with the event's id and the item's own
    /// `id`, null without one) or `invalid` (with the reason, and nothing stored).
    enum FeedbackItemStatus: Encodable, Sendable {
        case stored(index: Int, IngestStatus, idempotencyKey: String?)
        case invalid(index: Int, reason: String)

        var status: String {
            switch self {
            case .stored(_, .inserted, _): "inserted"
            case .stored(_, .duplicate, _): "duplicate"
            case .invalid: "invalid"
            }
        }

        enum CodingKeys: String, CodingKey {
            case index, status, reason, id
            case eventID = "event_id"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(status, forKey: .status)
            switch self {
            case let .stored(index, outcome, key):
                let id: EventID = switch outcome {
                case .inserted(let id), .duplicate(let id): id
                }
                try container.encode(index, forKey: .index)
                try container.encode(id.rawValue, forKey: .eventID)
                try container.encode(key, forKey: .id)
            case let .invalid(index, reason):
                try container.encode(index, forKey: .index)
                try container.encode(reason, forKey: .reason)
            }
        }
    }
}
