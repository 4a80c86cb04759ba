extension API {
    /// A page of a user's events, oldest first.
    struct FeedbackPage: Encodable, Sendable {
        let userID: String
        let events: [FeedbackEvent]
        /// Passed as `cursor` for the next page; null on the last.
        @Nullable var nextCursor: String?

        enum CodingKeys: String, CodingKey {
            case events
            case userID = "user_id"
            case nextCursor = "next_cursor"
        }
    }
}
