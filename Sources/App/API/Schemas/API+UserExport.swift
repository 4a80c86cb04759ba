import Foundation
import Store

extension API {
    /// Everything stored about a user.
    struct UserExport: Encodable, Sendable {
        struct User: Encodable, Sendable {
            let userID: String
            let createdAt: Date
            @Nullable var lastFeedbackAt: Date?
            let feedbackRevision: Int64

            enum CodingKeys: String, CodingKey {
                case userID = "user_id"
                case createdAt = "created_at"
                case lastFeedbackAt = "last_feedback_at"
                case feedbackRevision = "feedback_revision"
            }
        }

        let user: User
        let feedback: [FeedbackEvent]
        let summaries: [SummaryVersion]
        let jobs: [Job]
        @Nullable var usage: UsageCounters?

        init(_ export: Store.UserExport) {
            user = User(userID: export.user.externalID, createdAt: export.user.createdAt,
                        lastFeedbackAt: export.user.lastFeedbackAt, feedbackRevision: export.user.feedbackRevision)
            feedback = export.events.map(FeedbackEvent.init)
            summaries = export.summaries.map(SummaryVersion.init)
            jobs = export.jobs.map(Job.init)
            usage = export.usage.map(UsageCounters.init)
        }
    }
}
