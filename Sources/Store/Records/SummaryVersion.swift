public import Foundation

public enum SummaryOrigin: String, Sendable, CaseIterable {
    /// Written by the inference model.
    case inferred
    /// Written by a person (PUT …/summary).
    case edited
    /// A copy of an earlier version made current again.
    case restored
}

/// POPI's scores for a summary on the user's held-out pairs.
public struct SummaryScores: Sendable, Equatable {
    public var reward: Double?
    public var accuracy: Double?
    public var heldOutCount: Int
    public var candidateCount: Int
    public var summaryTokens: Int?
    public var rawSignalTokens: Int?

    public init(reward: Double? = nil, accuracy: Double? = nil, heldOutCount: Int = 0, candidateCount: Int = 0,
                summaryTokens: Int? = nil, rawSignalTokens: Int? = nil) {
        self.reward = reward
        self.accuracy = accuracy
        self.heldOutCount = heldOutCount
        self.candidateCount = candidateCount
        self.summaryTokens = summaryTokens
        self.rawSignalTokens = rawSignalTokens
    }
}

public struct NewSummaryVersion: Sendable, Equatable {
    public var text: String
    public var sourceEventIDs: [EventID]
    /// The user's feedback revision the summary was built from; nil = the current one.
    public var feedbackRevision: Int64?
    public var modelID: String
    public var promptVersion: String
    /// SHA-256 (hex) of the LoRA adapter the summarizer ran with; nil for the base model.
    public var adapterSHA256: String?
    public var scores: SummaryScores
    public var origin: SummaryOrigin
    /// Pin it (unpins any other version of the user).
    public var pinned: Bool

    public init(text: String, sourceEventIDs: [EventID] = [], feedbackRevision: Int64? = nil, modelID: String,
                promptVersion: String, adapterSHA256: String? = nil, scores: SummaryScores = SummaryScores(),
                origin: SummaryOrigin = .inferred, pinned: Bool = false) {
        self.text = text
        self.sourceEventIDs = sourceEventIDs
        self.feedbackRevision = feedbackRevision
        self.modelID = modelID
        self.promptVersion = promptVersion
        self.adapterSHA256 = adapterSHA256
        self.scores = scores
        self.origin = origin
        self.pinned = pinned
    }
}

/// One stored version of a user's summary; versions count 1, 2, 3… per user.
public struct SummaryVersion: Sendable, Equatable {
    public let userID: UserID
    public let version: Int
    public let text: String
    public let sourceEventIDs: [EventID]
    public let feedbackRevision: Int64
    public let modelID: String
    public let promptVersion: String
    /// SHA-256 (hex) of the summarizer's LoRA adapter; nil for the base model.
    public let adapterSHA256: String?
    public let scores: SummaryScores
    public let origin: SummaryOrigin
    /// For `restored` versions: the version copied.
    public let restoredFrom: Int?
    public let pinned: Bool
    public let createdAt: Date

    static let columns: SQL = """
        user_id, version, body, source_event_ids, feedback_revision, model_id, prompt_version, reward, accuracy, \
        held_out_count, candidate_count, summary_tokens, raw_signal_tokens, origin, restored_from, pinned, created_at, adapter_sha256
        """

    init(row: Row) throws {
        let reward: Double?, accuracy: Double?, heldOutCount: Int, candidateCount: Int, summaryTokens: Int?,
            rawSignalTokens: Int?, originText: String
        (userID, version, text, sourceEventIDs, feedbackRevision, modelID, promptVersion, reward, accuracy, heldOutCount,
         candidateCount, summaryTokens, rawSignalTokens, originText, restoredFrom, pinned, createdAt, adapterSHA256) = try row.decode(
            UserID.self, Int.self, String.self, [EventID].self, Int64.self, String.self, String.self, Double?.self,
            Double?.self, Int.self, Int.self, Int?.self, Int?.self, String.self, Int?.self, Bool.self, Date.self, String?.self)
        scores = SummaryScores(reward: reward, accuracy: accuracy, heldOutCount: heldOutCount, candidateCount: candidateCount,
                               summaryTokens: summaryTokens, rawSignalTokens: rawSignalTokens)
        guard let origin = SummaryOrigin(rawValue: originText) else {
            throw StoreError.decoding("unknown summary origin \(originText)")
        }
        self.origin = origin
    }
}

/// Where a user's summary stands, in one read.
public struct SummaryState: Sendable {
    public enum Status: String, Sendable {
        /// No summary and none on the way.
        case none
        /// The current summary was built from the user's latest feedback (or is pinned).
        case fresh
        /// Feedback changed since the current summary was built, and no refresh is queued.
        case stale
        /// A refresh job is pending or running.
        case refreshing
    }

    public let user: User
    /// The pinned version if there is one, else the newest.
    public let current: SummaryVersion?
    /// The pending or running refresh job, if any.
    public let refreshJob: Job?

    public var status: Status {
        if refreshJob != nil { return .refreshing }
        guard let current else { return .none }
        return current.pinned || current.feedbackRevision >= user.feedbackRevision ? .fresh : .stale
    }
}
