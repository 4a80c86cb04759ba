import Foundation

extension API {
    /// A loaded adapter: its file name (never the full path), hash and rank.
    struct LoadedAdapter: Encodable, Sendable {
        let file: String
        let sha256: String
        let rank: Int

        init(_ adapter: ServedAdapter) {
            file = URL(fileURLWithPath: adapter.path).lastPathComponent
            sha256 = adapter.sha256
            rank = adapter.rank
        }
    }
}
