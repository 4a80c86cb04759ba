import InferenceRuntime

/// What a generation produced, from the local model or an upstream, as the API reports it.
struct GenerationOutput: Sendable {
    var text: String
    var promptTokens: Int
    var completionTokens: Int
    /// Prompt tokens the local model reused from the user's previous prompt (nil upstream).
    var cachedPromptTokens: Int?
    /// `stop` or `length` (OpenAI's names).
    var finishReason: String

    init(text: String, promptTokens: Int, completionTokens: Int, cachedPromptTokens: Int? = nil, finishReason: String) {
        self.text = text
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedPromptTokens = cachedPromptTokens
        self.finishReason = finishReason
    }

    /// A local generation: an end of turn and a stop string both finish as `stop`.
    init(_ generation: Generation) {
        let reason = switch generation.finishReason {
        case .endOfTurn, .stopString: "stop"
        case .length: "length"
        case .cancelled: "cancelled"
        }
        self.init(text: generation.text, promptTokens: generation.promptTokenCount, completionTokens: generation.tokens.count,
                  cachedPromptTokens: generation.cachedPromptTokenCount, finishReason: reason)
    }
}
