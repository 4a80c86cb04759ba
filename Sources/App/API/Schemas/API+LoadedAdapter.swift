import Foundation

extension API {
    /// A loaded adapter: its file name (never the full path), hash, rank and summary form.
    struct LoadedAdapter: Encodable, Sendable {
        let file: String
        let sha256: String
        let rank: Int
        /// How a summarizer adapter writes summaries; null for a generator's.
        @Nullable var summaryForm: String?

        init(_ adapter: ServedAdapter) {
            file = URL(fileURLWithPath: adapter.path).lastPathComponent
            sha256 = adapter.sha256
            rank = adapter.rank
            summaryForm = adapter.role == .summarizer ? adapter.summaryForm.rawValue : nil
        }

        enum CodingKeys: String, CodingKey {
            case file, sha256, rank
            case summaryForm = "summary_form"
        }
    }
}
