import Foundation
import Store

extension API {
    struct SummaryVersion: Encodable, Sendable {
        let version: Int
        let text: String
        @Nullable var reward: Double?
        @Nullable var accuracy: Double?
        let heldOutCount: Int
        let candidateCount: Int
        @Nullable var summaryTokens: Int?
        @Nullable var rawSignalTokens: Int?
        let sourceEventIDs: [Int64]
        let model: String
        let promptVersion: String
        @Nullable var adapterSHA256: String?
        let origin: String
        @Nullable var restoredFrom: Int?
        let pinned: Bool
        let createdAt: Date

        init(_ summary: Store.SummaryVersion) {
            version = summary.version
            text = summary.text
            reward = summary.scores.reward
            accuracy = summary.scores.accuracy
            heldOutCount = summary.scores.heldOutCount
            candidateCount = summary.scores.candidateCount
            summaryTokens = summary.scores.summaryTokens
            rawSignalTokens = summary.scores.rawSignalTokens
            sourceEventIDs = summary.sourceEventIDs.map(\.rawValue)
            model = summary.modelID
            promptVersion = summary.promptVersion
            adapterSHA256 = summary.adapterSHA256
            origin = summary.origin.rawValue
            restoredFrom = summary.restoredFrom
            pinned = summary.pinned
            createdAt = summary.createdAt
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case version, text, reward, accuracy, model, origin, pinned
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

        /// The fields when there is no version (`Summary` without one): null, except zero counts,
        /// no source events and not pinned.
        static func encodeNone(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            for key in CodingKeys.allCases {
                switch key {
                case .heldOutCount, .candidateCount: try container.encode(0, forKey: key)
                case .sourceEventIDs: try container.encode([Int64](), forKey: key)
                case .pinned: try container.encode(false, forKey: key)
                default: try container.encodeNil(forKey: key)
                }
            }
        }
    }
}
