extension API {
    /// `/generate`'s answer when not streamed.
    struct GenerateResponse: Encodable, Sendable {
        let personalized: Bool
        @Nullable var summaryVersion: Int?
        let generator: String
        let text: String
        let finishReason: String
        let usage: GenerationUsage

        enum CodingKeys: String, CodingKey {
            case personalized, generator, text, usage
            case summaryVersion = "summary_version"
            case finishReason = "finish_reason"
        }
    }
}
