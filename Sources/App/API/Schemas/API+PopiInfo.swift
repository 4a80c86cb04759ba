extension API {
    /// What popi adds to OpenAI's shapes: whether a summary personalized the answer, and which.
    struct PopiInfo: Encodable, Sendable {
        let personalized: Bool
        @Nullable var summaryVersion: Int?

        enum CodingKeys: String, CodingKey {
            case personalized
            case summaryVersion = "summary_version"
        }
    }
}
