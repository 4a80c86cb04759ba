public import Foundation

/// `popi bench store`: feedback ingest through the store (batches of `batchSize`, `writers`
/// concurrent writers, the same path the API uses: user lookup, idempotent insert, revision
/// bump, refresh job) against loading the same rows with COPY through psql, in the same run
/// on the same database. Rounds alternate which side goes first.
public struct StoreBenchmark: Sendable {
    public var writers = 4
    public var batchSize = 100
    public var batchesPerWriter = 100
    public var rounds = 5
    /// Users per writer the batches rotate over.
    public var usersPerWriter = 10

    public init() {}

    public struct Round: Sendable {
        public let events: Int
        public let ingestSeconds: Double
        public let copySeconds: Double
        public var ingestRate: Double { Double(events) / ingestSeconds }
        public var copyRate: Double { Double(events) / copySeconds }
        public var ratio: Double { ingestRate / copyRate }
    }

    public struct Result: Sendable {
        public let rounds: [Round]
        public var medianIngestRate: Double { Self.median(rounds.map(\.ingestRate)) }
        public var medianCopyRate: Double { Self.median(rounds.map(\.copyRate)) }
        public var medianRatio: Double { Self.median(rounds.map(\.ratio)) }

        static func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return 0 }
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
    }

    /// Runs the rounds against a migrated database; `report` gets one line per round.
    /// Everything it writes lives under a tenant of its own, deleted at the end.
    public func run(store: DataStore, psql: URL? = nil, report: @Sendable (String) -> Void) async throws -> Result {
        let psql = try psql ?? PostgresBinaries.locate().appendingPathComponent("psql")
        guard FileManager.default.isExecutableFile(atPath: psql.path) else {
            throw StoreError.invalidValue("psql not found at \(psql.path); install postgresql-client")
        }
        let tenant = try await store.tenants.create(name: "bench \(UUID().uuidString)")
        do {
            let result = try await measure(store: store, tenant: tenant.id, psql: psql, report: report)
            _ = try await store.tenants.delete(id: tenant.id)
            return result
        } catch {
            _ = try? await store.tenants.delete(id: tenant.id)
            throw error
        }
    }

    private func measure(store: DataStore, tenant: TenantID, psql: URL, report: @Sendable (String) -> Void) async throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("popi-bench-\(UUID().uuidString).copy")
        defer { try? FileManager.default.removeItem(at: scratch) }

        var results: [Round] = []
        for round in 1...rounds {
            let ingest = { try await self.ingestPhase(store: store, tenant: tenant, round: round) }
            let copy = { try await self.copyPhase(store: store, tenant: tenant, round: round, psql: psql, file: scratch) }
            let ingestSeconds: Double, copySeconds: Double
            if round % 2 == 1 {
                ingestSeconds = try await ingest()
                copySeconds = try await copy()
            } else {
                copySeconds = try await copy()
                ingestSeconds = try await ingest()
            }
            let result = Round(events: writers * batchesPerWriter * batchSize, ingestSeconds: ingestSeconds, copySeconds: copySeconds)
            results.append(result)
            report(String(format: "round %d: popi ingest %d events in %.3f s = %.0f events/s; psql COPY %d rows in %.3f s = %.0f rows/s; ratio %.1f%%",
                          round, result.events, result.ingestSeconds, result.ingestRate, result.events, result.copySeconds,
                          result.copyRate, result.ratio * 100))
        }
        return Result(rounds: results)
    }

    /// The rows of one writer's batch: synthetic pairs of realistic length.
    func batch(round: Int, writer: Int, batch: Int) -> [NewFeedbackEvent] {
        (0..<batchSize).map { item in
            let seed = ((round * 1_000 + writer) * 100_000 + batch) * 1_000 + item
            return NewFeedbackEvent(
                idempotencyKey: "r\(round)-w\(writer)-b\(batch)-i\(item)",
                content: .pair(prompt: Self.text(seed, words: 16), chosen: Self.text(seed &+ 1, words: 70),
                               rejected: Self.text(seed &+ 2, words: 70)))
        }
    }

    static let vocabulary = ["the", "answer", "should", "be", "short", "clear", "friendly", "formal", "with", "examples",
                             "code", "bullet", "points", "avoid", "jargon", "explain", "why", "steps", "summary", "detail",
                             "user", "prefers", "concise", "warm", "tone", "technical", "precise", "list", "of", "ideas"]

    static func text(_ seed: Int, words: Int) -> String {
        var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        var out: [String] = []
        out.reserveCapacity(words)
        for _ in 0..<words {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            out.append(vocabulary[Int(state % UInt64(vocabulary.count))])
        }
        return out.joined(separator: " ")
    }

    private func ingestPhase(store: DataStore, tenant: TenantID, round: Int) async throws -> Double {
        let batches = (0..<writers).map { writer in (0..<batchesPerWriter).map { batch(round: round, writer: writer, batch: $0) } }
        let users = usersPerWriter
        let started = DispatchTime.now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                let mine = batches[writer]
                group.addTask {
                    for (index, events) in mine.enumerated() {
                        let result = try await store.feedback.ingest(
                            tenant: tenant, externalUserID: "ingest-r\(round)-w\(writer)-u\(index % users)", events: events,
                            refresh: { .summaryRefresh(for: $0) })
                        guard result.insertedCount == events.count else {
                            throw StoreError.decoding("benchmark batch was not fully inserted")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        return Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
    }

    private func copyPhase(store: DataStore, tenant: TenantID, round: Int, psql: URL, file: URL) async throws -> Double {
        // The same rows for users of their own (made before the clock starts), as COPY text.
        var users: [[UserID]] = []
        for writer in 0..<writers {
            var ids: [UserID] = []
            for user in 0..<usersPerWriter {
                ids.append(try await store.users.findOrCreate(tenant: tenant, externalID: "copy-r\(round)-w\(writer)-u\(user)").id)
            }
            users.append(ids)
        }
        var text = ""
        for writer in 0..<writers {
            for index in 0..<batchesPerWriter {
                let user = users[writer][index % usersPerWriter]
                for event in batch(round: round, writer: writer, batch: index) {
                    let columns = event.content.columns
                    let fields = [String(user.rawValue), event.idempotencyKey, event.content.kind.rawValue, columns.prompt,
                                  columns.chosen, columns.rejected, columns.body, event.metadata.text]
                    text += fields.map { $0.map(Self.copyEscaped) ?? "\\N" }.joined(separator: "\t") + "\n"
                }
            }
        }
        try Data(text.utf8).write(to: file)

        let configuration = store.pool.configuration
        let command = "\\copy feedback_events (user_id, idempotency_key, kind, prompt, chosen, rejected, body, metadata) FROM '\(file.path)'"
        let started = DispatchTime.now()
        let result = try Subprocess.run(psql.path, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", configuration.passwordlessConnectionString,
                                                    "-c", command],
                                        environment: configuration.parameters["password"].map { ["PGPASSWORD": $0] } ?? [:])
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        guard result.status == 0 else {
            throw StoreError.invalidValue("psql COPY failed: \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return seconds
    }

    /// COPY text format: backslash, tab, newline and carriage return are escaped.
    static func copyEscaped(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}

extension DatabaseConfiguration {
    /// The connection parameters as a key=value string without the password (for tools such
    /// as psql, which get the password through PGPASSWORD instead of their command line).
    var passwordlessConnectionString: String {
        var parameters = self.parameters
        parameters["password"] = nil
        return parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.conninfoQuoted($0.value))" }.joined(separator: " ")
    }
}
