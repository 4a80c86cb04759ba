import LLMClient

extension API {
    /// OpenAI's chat completion (one choice), with `popi`.
    struct ChatCompletion: Encodable, Sendable {
        struct Choice: Encodable, Sendable {
            let index: Int
            let message: ChatCompletionMessage
            let finishReason: String
            /// Log probabilities are not offered: always null, as OpenAI sends when not asked.
            @Nullable var logprobs: Double? = nil

            enum CodingKeys: String, CodingKey {
                case index, message, logprobs
                case finishReason = "finish_reason"
            }
        }

        let id: String
        let object = "chat.completion"
        let created: Int
        let model: String
        let choices: [Choice]
        let usage: Usage
        let popi: PopiInfo
    }
}
