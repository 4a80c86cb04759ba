import Foundation

extension API {
    /// An edited summary: up to 2 KiB (at most 2048 tokens, so it fits the default prompt and
    /// context limits), pinned unless `"pinned": false`.
    struct SummaryEdit: Sendable {
        let text: String
        let pinned: Bool

        init(_ body: JSONValue) throws {
            let fields = try FieldReader(body)
            text = try fields.requiredString("text", maxLength: 2 << 10).trimmingCharacters(in: .whitespacesAndNewlines)
            pinned = try fields.bool("pinned") ?? true
        }
    }
}
