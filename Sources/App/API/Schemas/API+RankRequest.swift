import Foundation
import HTTPServer

extension API {
    /// A prompt and up to 32 candidate responses to order.
    struct RankRequest: Sendable {
        let prompt: String
        let responses: [String]

        init(_ body: JSONValue, limits: APIConfiguration) throws {
            let fields = try FieldReader(body)
            let limit = limits.maxFieldBytes
            prompt = try fields.requiredString("prompt", maxLength: limit)
            let items = try fields.array("responses", required: true, maxCount: 32) ?? []
            guard items.count >= 1 else { throw HTTPError.invalidRequest("responses: give at least one response") }
            responses = try items.enumerated().map { index, item -> String in
                guard case .string(let text) = item, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                      text.utf8.count <= limit else {
                    throw HTTPError.invalidRequest("responses[\(index)]: must be a non-empty string of at most \(limit) bytes")
                }
                return text
            }
        }
    }
}
