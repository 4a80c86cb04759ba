import Foundation
import Store

extension API {
    struct Job: Encodable, Sendable {
        let jobID: Int64
        let kind: String
        let state: String
        let attempts: Int
        let runAfter: Date
        @Nullable var lastError: String?
        let createdAt: Date
        @Nullable var finishedAt: Date?

        init(_ job: Store.Job) {
            jobID = job.id.rawValue
            kind = job.kind
            state = job.state.rawValue
            attempts = job.attempts
            runAfter = job.runAfter
            lastError = job.lastError
            createdAt = job.createdAt
            finishedAt = job.finishedAt
        }

        enum CodingKeys: String, CodingKey {
            case kind, state, attempts
            case jobID = "job_id"
            case runAfter = "run_after"
            case lastError = "last_error"
            case createdAt = "created_at"
            case finishedAt = "finished_at"
        }
    }
}
