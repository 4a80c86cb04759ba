/// What a generation produced.
struct GenerationOutput: Sendable {
    var text: String
    var promptTokens: Int
    var completionTokens: Int
    /// `stop` or `length`.
    var finishReason: String
}
