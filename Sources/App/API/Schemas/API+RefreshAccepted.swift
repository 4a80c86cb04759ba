extension API {
    /// A refresh still queued or running when `?wait=` ran out.
    struct RefreshAccepted: Encodable, Sendable {
        let userID: String
        let refreshJob: Job

        enum CodingKeys: String, CodingKey {
            case userID = "user_id"
            case refreshJob = "refresh_job"
        }
    }
}
