import Store

extension API {
    /// The user's summary as `GET …/summary` shows it: the current version's fields (null, or
    /// empty, when there is none), its status, and the refresh job if one is queued or running.
    struct Summary: Encodable, Sendable {
        let userID: String
        let status: String
        @Nullable var refreshJob: Job?
        /// Its fields stand beside the three above.
        let current: SummaryVersion?

        init(_ state: SummaryState) {
            userID = state.user.externalID
            status = state.status.rawValue
            refreshJob = state.refreshJob.map(Job.init)
            current = state.current.map(SummaryVersion.init)
        }

        enum CodingKeys: String, CodingKey {
            case status
            case userID = "user_id"
            case refreshJob = "refresh_job"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(userID, forKey: .userID)
            try container.encode(status, forKey: .status)
            try container.encode(_refreshJob, forKey: .refreshJob)
            if let current {
                try current.encode(to: encoder)
            } else {
                try SummaryVersion.encodeNone(to: encoder)
            }
        }
    }
}
