import InferenceRuntime
import Store

/// What a generation reads and writes about its user: the summary that personalizes it and the
/// usage counters. The user's row is read once per request (`find`), and its id carried to
/// `recordUsage`.
struct GenerationRecords: Sendable {
    let users: UserRepository
    let summaries: SummaryRepository
    let usage: UsageRepository

    /// A request's user as found: nil id when the user does not exist (yet).
    struct Found: Sendable {
        static let nobody = Found(userID: nil, summary: nil)
        let userID: UserID?
        /// The summary that personalizes requests for the user, if any.
        let summary: SummaryVersion?

        /// The local model keeps the user's last prompt under this key, so their next request
        /// reads only what differs; a new summary version starts afresh.
        var prefixCacheKey: PrefixCacheKey? {
            userID.map { PrefixCacheKey(owner: "\($0.rawValue)", version: summary.map { "\($0.version)" } ?? "none") }
        }
    }

    func find(_ caller: Caller, _ user: String) async throws -> Found {
        guard let found = try await users.find(tenant: caller.tenantID, externalID: user) else { return .nobody }
        return Found(userID: found.id, summary: try await summaries.current(user: found.id))
    }

    /// Best effort: a generation that was answered is not failed over its counters.
    func recordUsage(_ user: Found, _ output: GenerationOutput) async {
        guard let id = user.userID else { return }
        try? await usage.record(user: id, promptTokens: output.promptTokens, completionTokens: output.completionTokens)
    }
}
