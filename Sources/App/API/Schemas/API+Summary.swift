import Foundation
import Store

extension API {
    /// The user's summary as `GET …/summary` shows it: the current version's fields (null, or
    /// empty, when there is none), its status, and the refresh job if one is queued or running.
    struct Summary: Encodable, Sendable {
        let userID: String
        let status: String
        @Nullable var refreshJob: Job?
        @Nullable var version: Int?
        @Nullable var text: String?
        @Nullable var reward: Double?
        @Nullable var accuracy: Double?
        let heldOutCount: Int
        let candidateCount: Int
        @Nullable var summaryTokens: Int?
        @Nullable var rawSignalTokens: Int?
        let sourceEventIDs: [Int64]
        @Nullable var model: String?
        @Nullable var promptVersion: String?
        @Nullable var adapterSHA256: String?
        @Nullable var origin: String?
        @Nullable var restoredFrom: Int?
        let pinned: Bool
        @Nullable var createdAt: Date?

        init(_ state: SummaryState) {
            userID = state.user.externalID
            status = state.status.rawValue
            refreshJob = state.refreshJob.map(Job.init)
            let current = state.current
            version = current?.version
            text = current?.text
            reward = current?.scores.reward
            accuracy = current?.scores.accuracy
            heldOutCount = current?.scores.heldOutCount ?? 0
            candidateCount = current?.scores.candidateCount ?? 0
            summaryTokens = current?.scores.summaryTokens
            rawSignalTokens = current?.scores.rawSignalTokens
            sourceEventIDs = current?.sourceEventIDs.map(\.rawValue) ?? []
            model = current?.modelID
            promptVersion = current?.promptVersion
            adapterSHA256 = current?.adapterSHA256
            origin = current?.origin.rawValue
            restoredFrom = current?.restoredFrom
            pinned = current?.pinned ?? false
            createdAt = current?.createdAt
        }

        enum CodingKeys: String, CodingKey {
            case status, version, text, reward, accuracy, model, origin, pinned
            case userID = "user_id"
            case refreshJob = "refresh_job"
            case heldOutCount = "held_out_count"
            case candidateCount = "candidate_count"
            case summaryTokens = "summary_tokens"
            case rawSignalTokens = "raw_signal_tokens"
            case sourceEventIDs = "source_event_ids"
            case promptVersion = "prompt_version"
            case adapterSHA256 = "adapter_sha256"
            case restoredFrom = "restored_from"
            case createdAt = "created_at"
        }
    }
}
