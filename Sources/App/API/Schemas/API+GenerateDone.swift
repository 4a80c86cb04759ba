extension API {
    /// The `done` event that ends a streamed `/generate`.
    struct GenerateDone: Encodable, Sendable {
        let personalized: Bool
        @Nullable var summaryVersion: Int?
        let generator: String
        let finishReason: String
        let usage: GenerationUsage

        enum CodingKeys: String, CodingKey {
            case personalized, generator, usage
            case summaryVersion = "summary_version"
            case finishReason = "finish_reason"
        }
    }
}
