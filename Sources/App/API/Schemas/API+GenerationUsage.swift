extension API {
    /// Tokens of one generation, and of the summary that personalized it (null without one).
    struct GenerationUsage: Encodable, Sendable {
        let promptTokens: Int
        let completionTokens: Int
        @Nullable var cachedPromptTokens: Int?
        @Nullable var summaryTokens: Int?
        @Nullable var rawSignalTokens: Int?

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case cachedPromptTokens = "cached_prompt_tokens"
            case summaryTokens = "summary_tokens"
            case rawSignalTokens = "raw_signal_tokens"
        }
    }
}
