import Store

extension API {
    /// What `POST …/feedback` did with each item, in the order posted.
    struct FeedbackResult: Encodable, Sendable {
        let userID: String
        let items: [FeedbackItemStatus]
        let inserted: Int
        let duplicates: Int
        let invalid: Int
        /// The refresh job the new feedback queued (or merged into).
        @Nullable var refreshJobID: Int64?

        init(userID: String, items: [FeedbackItemStatus], refreshJobID: Int64?) {
            self.userID = userID
            self.items = items
            inserted = items.count(where: { $0.status == "inserted" })
            duplicates = items.count(where: { $0.status == "duplicate" })
            invalid = items.count(where: { $0.status == "invalid" })
            self.refreshJobID = refreshJobID
        }

        enum CodingKeys: String, CodingKey {
            case items, inserted, duplicates, invalid
            case userID = "user_id"
            case refreshJobID = "refresh_job_id"
        }
    }
}
