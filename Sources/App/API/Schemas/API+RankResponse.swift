extension API {
    /// The responses best first by the user's personalized preference.
    struct RankResponse: Encodable, Sendable {
        struct Ranked: Encodable, Sendable {
            let index: Int
            let response: String
            let score: Double
        }

        let personalized: Bool
        @Nullable var summaryVersion: Int?
        let ranking: [Ranked]

        enum CodingKeys: String, CodingKey {
            case personalized, ranking
            case summaryVersion = "summary_version"
        }
    }
}
