import LLMClient

extension API {
    /// One event of a streamed chat completion: a delta of the one choice, or (last, when the
    /// request asked for `stream_options.include_usage`) no choices with `usage` and `popi`.
    struct ChatCompletionChunk: Encodable, Sendable {
        struct Choice: Encodable, Sendable {
            let index: Int
            let delta: LLMClient.ChatCompletionChunk.Delta
            @Nullable var finishReason: String?
            /// Log probabilities are not offered: always null, as OpenAI sends when not asked.
            @Nullable var logprobs: Double? = nil

            enum CodingKeys: String, CodingKey {
                case index, delta, logprobs
                case finishReason = "finish_reason"
            }
        }

        let id: String
        let object = "chat.completion.chunk"
        let created: Int
        let model: String
        let choices: [Choice]
        var usage: Usage?
        var popi: PopiInfo?
    }
}
