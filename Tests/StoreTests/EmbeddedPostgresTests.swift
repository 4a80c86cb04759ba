import Foundation
import Testing
@testable import Store

/// A private cluster made with the same server binaries as the test database. It is private
/// because these tests stop and start it: restarting the shared test server would break every
/// other test running in parallel in the same `swift test` process.
@Suite(.serialized) struct EmbeddedPostgresTests {
    /// Runs blocking work (pg_ctl) off the cooperative thread pool.
    func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    func temporaryDataDirectory(prefix: String = "popi-embedded-") throws -> URL {
        let url = URL(fileURLWithPath: "/tmp/\(prefix)\(UUID().uuidString.prefix(8))")
        // Searchable by the postgres user when the tests run as root.
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        return url
    }

    var binDirectory: URL? {
        ProcessInfo.processInfo.environment["POPI_TEST_PGBIN"].map { URL(fileURLWithPath: $0, isDirectory: true) }
    }

    actor Progress {
        var acknowledged: [Int] = []
        var failed: [(batch: Int, error: String, seconds: Double)] = []
        var stop = false
        func ack(_ batch: Int) { acknowledged.append(batch) }
        func fail(_ batch: Int, _ error: Error, _ seconds: Double) { failed.append((batch, "\(error)", seconds)) }
        func halt() { stop = true }
    }

    @Test func pathsWithSpacesQuotesAndBackslashesSurviveTheConnectionStringAndTheSettings() throws {
        let path = "/tmp/popi data/it's\\here"
        let parsed = try DatabaseConfiguration.parse(
            EmbeddedPostgres.connectionString(socketDirectory: path, port: 5433, password: "p w'd"))
        #expect(parsed["host"] == path)
        #expect(parsed["port"] == "5433")
        #expect(parsed["user"] == "popi")
        #expect(parsed["password"] == "p w'd")
        let settings = EmbeddedPostgres.serverSettings(socketDirectory: path, port: 5433)
        #expect(settings.contains("\nunix_socket_directories = '/tmp/popi data/it''s\\\\here'\n"), "\(settings)")
    }

    @Test func theEmbeddedClusterIsCreatedReusedAndReachableOnlyByItsSocket() async throws {
        // A space and a quote in the path: both must survive the conninfo and postgresql.conf.
        let data = try temporaryDataDirectory(prefix: "popi embedded 'q-")
        defer { try? FileManager.default.removeItem(at: data) }
        let binaries = binDirectory
        let first = try await offPool { try EmbeddedPostgres.start(dataDirectory: data, binDirectory: binaries) }
        #expect(first.didStart)
        let pool = ConnectionPool(configuration: try DatabaseConfiguration(connectionString: first.connectionString, poolSize: 1))
        let settings = try await pool.query("SELECT current_setting('listen_addresses'), current_setting('unix_socket_directories')")[0]
            .decode(String.self, String.self)
        #expect(settings.0 == "")
        #expect(settings.1 == first.clusterDirectory.path)
        try await pool.query("CREATE TABLE kept (note text)")
        try await pool.query("INSERT INTO kept VALUES (\("still here"))")
        pool.shutdown()
        // Adopting the running server does not claim to have started it.
        let adopted = try await offPool { try EmbeddedPostgres.start(dataDirectory: data, binDirectory: binaries) }
        #expect(!adopted.didStart)
        try await offPool { try first.stop() }
        #expect(try !first.isRunning())

        // The next start reuses the cluster, its password and its data.
        let second = try await offPool { try EmbeddedPostgres.start(dataDirectory: data, binDirectory: binaries) }
        defer { try? second.stop() }
        #expect(second.didStart && second.connectionString == first.connectionString)
        let again = ConnectionPool(configuration: try DatabaseConfiguration(connectionString: second.connectionString, poolSize: 1))
        defer { again.shutdown() }
        #expect(try await again.query("SELECT note FROM kept")[0].decode(0, as: String.self) == "still here")
    }

    /// A writer ingests batches while the server is stopped and started again: every batch it
    /// was told was stored is there afterwards, calls during the outage fail fast with a clear
    /// error, and the same pool carries on once the server is back.
    @Test func aServerRestartLosesNoAcknowledgedBatch() async throws {
        let data = try temporaryDataDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let binaries = binDirectory
        let server = try await offPool { try EmbeddedPostgres.start(dataDirectory: data, binDirectory: binaries) }
        defer { try? server.stop() }
        let configuration = try DatabaseConfiguration(connectionString: server.connectionString, poolSize: 4,
                                                      reconnectBackoff: 0.05...0.5)
        _ = try Migrator().migrate(configuration)
        let store = DataStore(pool: ConnectionPool(configuration: configuration))
        defer { store.pool.shutdown() }
        let tenant = try await store.tenants.create(name: "fault")
        let batchSize = 20

        let progress = Progress()
        let writer = Task {
            var batch = 0
            while await !progress.stop {
                let events = (0..<batchSize).map {
                    NewFeedbackEvent(idempotencyKey: "b\(batch)-\($0)", content: .statement(text: "batch \(batch) item \($0)"))
                }
                let started = Date()
                do {
                    _ = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "writer", events: events,
                                                        refresh: { .summaryRefresh(for: $0) })
                    await progress.ack(batch)
                } catch {
                    await progress.fail(batch, error, Date().timeIntervalSince(started))
                    try? await Task.sleep(for: .milliseconds(20))
                }
                batch += 1
            }
        }

        func waitForAcknowledged(atLeast count: Int) async throws {
            let deadline = Date().addingTimeInterval(60)
            while await progress.acknowledged.count < count {
                guard Date() < deadline else {
                    Issue.record("the writer made no progress: \(await progress.failed.suffix(3).map(\.error))")
                    throw CancellationError()
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        try await waitForAcknowledged(atLeast: 5)
        try await offPool { try server.stop() }
        let acknowledgedBeforeOutage = await progress.acknowledged.count

        // While the server is down: clear errors, at once (no waiting for timeouts).
        for _ in 0..<3 {
            let started = Date()
            do {
                try await store.pool.ping()
                Issue.record("a ping succeeded while the server was stopped")
            } catch let error as StoreError {
                let seconds = Date().timeIntervalSince(started)
                switch error {
                case .unavailable, .connectionLost: break
                default: Issue.record("unexpected error during the outage: \(error)")
                }
                #expect("\(error)".hasPrefix("the database"), "\(error)")
                // A liveness bound, far above the milliseconds this takes: the call must not hang
                // until the pool's or libpq's timeouts.
                #expect(seconds < configuration.acquireTimeout / 2, "a call during the outage took \(seconds) s")
            }
        }

        _ = try await offPool { try EmbeddedPostgres.start(dataDirectory: data, binDirectory: binaries) }
        // The same pool, without restarting anything, serves the writer again.
        try await waitForAcknowledged(atLeast: acknowledgedBeforeOutage + 5)
        await progress.halt()
        await writer.value

        let acknowledged = await progress.acknowledged
        let failed = await progress.failed
        #expect(!failed.isEmpty, "the restart should have failed some calls")
        #expect(store.pool.statistics.connectionsLost + store.pool.statistics.connectFailures > 0)

        let user = try #require(try await store.users.find(tenant: tenant.id, externalID: "writer"))
        var perBatch: [Int: Int] = [:]
        for row in try await store.pool.query("SELECT idempotency_key FROM feedback_events WHERE user_id = \(user.id)") {
            let key: String = try row.decode(0)
            let batch = Int(key.dropFirst().prefix { $0 != "-" })!
            perBatch[batch, default: 0] += 1
        }
        for batch in acknowledged {
            #expect(perBatch[batch] == batchSize, "acknowledged batch \(batch) has \(perBatch[batch] ?? 0) of \(batchSize) events")
        }
        // A failed batch is all or nothing (its COMMIT may have landed just before the connection dropped).
        for failure in failed {
            #expect([0, batchSize].contains(perBatch[failure.batch] ?? 0))
        }
        for failure in failed {
            #expect(failure.seconds < configuration.acquireTimeout / 2, "a failed call took \(failure.seconds) s: \(failure.error)")
        }
    }
}
