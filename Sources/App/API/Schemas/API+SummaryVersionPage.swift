extension API {
    /// A page of a user's summary versions, newest first.
    struct SummaryVersionPage: Encodable, Sendable {
        let userID: String
        let versions: [SummaryVersion]
        /// Passed as `before` for the next page; null on the last.
        @Nullable var nextBefore: String?

        enum CodingKeys: String, CodingKey {
            case versions
            case userID = "user_id"
            case nextBefore = "next_before"
        }
    }
}
