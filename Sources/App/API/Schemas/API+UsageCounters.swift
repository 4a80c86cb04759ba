import Foundation
import Store

extension API {
    struct UsageCounters: Encodable, Sendable {
        let generations: Int64
        let promptTokens: Int64
        let completionTokens: Int64
        let updatedAt: Date

        init(_ usage: Store.UsageCounters) {
            generations = usage.generations
            promptTokens = usage.promptTokens
            completionTokens = usage.completionTokens
            updatedAt = usage.updatedAt
        }

        enum CodingKeys: String, CodingKey {
            case generations
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case updatedAt = "updated_at"
        }
    }
}
