/// Per-user usage counters.
public struct UsageRepository: Sendable {
    let pool: ConnectionPool

    /// Adds to the user's counters (created on first use).
    public func record(user: UserID, generations: Int = 1, promptTokens: Int, completionTokens: Int) async throws {
        do {
            try await pool.query("""
                INSERT INTO usage_counters (user_id, generations, prompt_tokens, completion_tokens)
                VALUES (\(user), \(generations), \(promptTokens), \(completionTokens))
                ON CONFLICT (user_id) DO UPDATE SET
                    generations = usage_counters.generations + EXCLUDED.generations,
                    prompt_tokens = usage_counters.prompt_tokens + EXCLUDED.prompt_tokens,
                    completion_tokens = usage_counters.completion_tokens + EXCLUDED.completion_tokens,
                    updated_at = now()
                """)
        } catch StoreError.server(let error) where error.isForeignKeyViolation {
            throw StoreError.notFound("the user no longer exists")
        }
    }

    public func get(user: UserID) async throws -> UsageCounters? {
        try await pool.query("SELECT \(UsageCounters.columns) FROM usage_counters WHERE user_id = \(user)")
            .first.map(UsageCounters.init(row:))
    }
}
