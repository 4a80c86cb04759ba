import Store

/// What a generation reads and writes about its user: the summary that personalizes it and the
/// usage counters.
struct GenerationRecords: Sendable {
    let users: UserRepository
    let summaries: SummaryRepository
    let usage: UsageRepository

    /// The summary that personalizes requests for `user`, if the user exists and has one.
    func currentSummary(_ caller: Caller, _ user: String) async throws -> SummaryVersion? {
        guard let found = try await users.find(tenant: caller.tenantID, externalID: user) else { return nil }
        return try await summaries.current(user: found.id)
    }

    /// Best effort: a generation that was answered is not failed over its counters.
    func recordUsage(_ caller: Caller, _ user: String, _ output: GenerationOutput) async {
        guard let found = try? await users.find(tenant: caller.tenantID, externalID: user) else { return }
        try? await usage.record(user: found.id, promptTokens: output.promptTokens, completionTokens: output.completionTokens)
    }
}
