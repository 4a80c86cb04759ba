import Foundation
import Testing
@testable import Store

@Suite struct ConnectionPoolTests {
    @Test func anUnreachableServerIsAClearUnavailableError() async throws {
        let configuration = try DatabaseConfiguration(
            connectionString: "host=/nonexistent/popi-socket-dir port=5999 user=popi dbname=postgres", poolSize: 1,
            reconnectBackoff: 30...30)
        let pool = ConnectionPool(configuration: configuration)
        defer { pool.shutdown() }
        await #expect {
            try await pool.ping()
        } throws: { error in
            guard case StoreError.unavailable(let message) = error else { return false }
            return message.contains("/nonexistent/popi-socket-dir") && "\(error)".hasPrefix("the database is unavailable")
        }
        // Within the backoff window the next call fails at once with the same reason, without dialling.
        await #expect {
            try await pool.ping()
        } throws: { error in
            guard case StoreError.unavailable(let message) = error else { return false }
            return message.contains("/nonexistent/popi-socket-dir")
        }
        #expect(pool.statistics.connectFailures == 1)
    }

    @Test func aWrongPasswordIsAClearUnavailableError() async throws {
        let configuration = try TestDatabase.configuration(poolSize: 1).overriding("password", with: "not-the-password")
        let pool = ConnectionPool(configuration: configuration)
        defer { pool.shutdown() }
        await #expect {
            try await pool.ping()
        } throws: { error in
            guard case StoreError.unavailable(let message) = error else { return false }
            return message.contains("password authentication failed") && !message.contains("not-the-password")
        }
        // The migrator (start-up and `popi migrate`) reports it the same way.
        #expect(throws: StoreError.self) { try Migrator().migrate(configuration) }
    }

    @Test func aTransactionRollsBackWhenItsBodyThrows() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await store.pool.transaction { connection in
                try connection.execute("UPDATE tenants SET name = \("renamed \(UUID())") WHERE id = \(tenant.id)")
                throw Boom()
            }
        }
        #expect(try await store.tenants.find(id: tenant.id)?.name == tenant.name)
        // A statement error inside a transaction rolls back everything before it too.
        await #expect(throws: StoreError.self) {
            try await store.pool.transaction { connection in
                try connection.execute("UPDATE tenants SET name = \("renamed \(UUID())") WHERE id = \(tenant.id)")
                try connection.execute("SELECT 1 / 0")
            }
        }
        #expect(try await store.tenants.find(id: tenant.id)?.name == tenant.name)
    }

    @Test func aServerErrorCarriesItsSQLState() async throws {
        let store = try await TestDatabase.store()
        await #expect {
            try await store.pool.query("SELECT 1 / \(0)")
        } throws: { error in
            guard case StoreError.server(let server) = error else { return false }
            return server.sqlState == "22012" && "\(error)".contains("division by zero")
        }
        // The connection is still good afterwards.
        try await store.pool.ping()
    }

    @Test func aTransactionLeftOpenByABodyIsNotLeakedToTheNextUser() async throws {
        let pool = ConnectionPool(configuration: try TestDatabase.configuration(poolSize: 1))
        defer { pool.shutdown() }
        try await pool.withConnection { connection in try connection.simple("BEGIN") }
        let inTransaction = try await pool.withConnection { connection in !connection.isIdle }
        #expect(!inTransaction)
    }

    @Test func statementsArePreparedOncePerConnection() async throws {
        let pool = ConnectionPool(configuration: try TestDatabase.configuration(poolSize: 1))
        defer { pool.shutdown() }
        for value in 0..<5 {
            try await pool.query("SELECT \(value) + 1")
        }
        let prepared = try await pool.query("""
            SELECT count(*) FROM pg_prepared_statements WHERE statement = \("SELECT $1 + 1")
            """)[0].decode(0, as: Int.self)
        #expect(prepared == 1)
    }

    @Test func callersWaitForAFreeConnection() async throws {
        let pool = ConnectionPool(configuration: try TestDatabase.configuration(poolSize: 2))
        defer { pool.shutdown() }
        // 20 concurrent callers share 2 connections.
        let sum = try await withThrowingTaskGroup(of: Int.self) { group in
            for value in 1...20 {
                group.addTask { try await pool.query("SELECT \(value)")[0].decode(0, as: Int.self) }
            }
            return try await group.reduce(0, +)
        }
        #expect(sum == 210)
        #expect(pool.statistics.open == 2)
        #expect(pool.statistics.inUse == 0)
    }

    @Test func aCallerGivesUpClearlyAfterTheAcquireTimeout() async throws {
        var configuration = try TestDatabase.configuration(poolSize: 2)
        configuration.acquireTimeout = 0.3
        let pool = ConnectionPool(configuration: configuration)
        defer { pool.shutdown() }
        // Both connections held (pg_sleep) longer than the acquire timeout: a third caller gives up.
        async let first: Void = pool.withConnection { try $0.execute("SELECT pg_sleep(2)") }
        async let second: Void = pool.withConnection { try $0.execute("SELECT pg_sleep(2)") }
        while pool.statistics.inUse < 2 { try await Task.sleep(for: .milliseconds(5)) }
        await #expect {
            try await pool.ping()
        } throws: { error in
            guard case StoreError.poolTimeout = error else { return false }
            return "\(error)" == "no database connection became free within 0.3 s"
        }
        _ = try await (first, second)
        #expect(pool.statistics.timeouts == 1)
        #expect(pool.statistics.inUse == 0)
    }

    @Test func sessionSettingsComeFromTheConnectionStringExceptTheEncoding() async throws {
        let url = try TestDatabase.configuration().connectionString
        let custom = url.contains("://")
            ? url + (url.contains("?") ? "&" : "?") + "application_name=custom-app&client_encoding=LATIN1"
            : url + " application_name=custom-app client_encoding=LATIN1"
        let pool = ConnectionPool(configuration: try DatabaseConfiguration(connectionString: custom, poolSize: 1))
        defer { pool.shutdown() }
        let settings = try await pool.query("SELECT current_setting('application_name'), current_setting('client_encoding')")[0]
            .decode(String.self, String.self)
        #expect(settings == ("custom-app", "UTF8"))
        let plain = ConnectionPool(configuration: try TestDatabase.configuration(poolSize: 1))
        defer { plain.shutdown() }
        #expect(try await plain.query("SELECT current_setting('application_name')")[0].decode(0, as: String.self) == "popi")
    }

    @Test func libpqRunsOnThePoolsOwnThreads() async throws {
        let pool = ConnectionPool(configuration: try TestDatabase.configuration(poolSize: 2))
        defer { pool.shutdown() }
        #expect(!pool.isOnPoolThread)
        let answers = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<6 {
                group.addTask { try await pool.withConnection { _ in pool.isOnPoolThread } }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(answers == Array(repeating: true, count: 6))
    }

    @Test func aShutDownPoolRefusesWork() async throws {
        let pool = ConnectionPool(configuration: try TestDatabase.configuration(poolSize: 1))
        try await pool.ping()
        pool.shutdown()
        await #expect(throws: StoreError.self) { try await pool.ping() }
    }

    @Test func shutdownDuringCallsLeavesNoCallerWaitingAndNoConnectionOpen() async throws {
        let name = "popi-shutdown-\(UUID().uuidString.prefix(8))"
        let pool = ConnectionPool(configuration: try TestDatabase.configuration(poolSize: 4)
            .overriding("application_name", with: name))
        try await pool.ping()
        // Callers keep arriving while the pool shuts down: some take a slot just before its
        // thread stops. Each must end, with an answer or `poolClosed`; unstructured tasks, so a
        // caller left waiting fails the test instead of hanging it.
        let outcomes = Outcomes()
        for index in 0..<400 {
            Task {
                if index == 200 { pool.shutdown() }
                do {
                    try await pool.ping()
                    await outcomes.add("ok")
                } catch {
                    await outcomes.add("\(error)")
                }
            }
        }
        let giveUp = ContinuousClock.now + .seconds(30)
        while await outcomes.all.count < 400 && ContinuousClock.now < giveUp {
            try await Task.sleep(for: .milliseconds(20))
        }
        let all = await outcomes.all
        #expect(all.count == 400, "\(400 - all.count) callers still waiting")
        #expect(Set(all).isSubset(of: ["ok", StoreError.poolClosed.description]), "\(Set(all))")
        let store = try await TestDatabase.store()
        let deadline = ContinuousClock.now + .seconds(10)
        var sessions = -1
        repeat {
            try await Task.sleep(for: .milliseconds(20))
            sessions = try await store.pool.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = \(name)")[0]
                .decode(0, as: Int.self)
        } while sessions > 0 && ContinuousClock.now < deadline
        #expect(sessions == 0)
        #expect(pool.statistics.open == 0)
    }

    @Test func aConnectionKilledByTheServerIsReplacedBeforeTheNextStatement() async throws {
        let pool = ConnectionPool(configuration: try TestDatabase.configuration(poolSize: 1))
        defer { pool.shutdown() }
        let pid = try await pool.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self)
        let store = try await TestDatabase.store()
        #expect(try await store.pool.query("SELECT pg_terminate_backend(\(pid))")[0].decode(0, as: Bool.self))
        while try await store.pool.query("SELECT count(*) FROM pg_stat_activity WHERE pid = \(pid)")[0].decode(0, as: Int.self) > 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        // The idle connection's socket shows the termination: the slot reconnects, the call succeeds.
        let newPID = try await pool.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self)
        #expect(newPID != pid)
        #expect(pool.statistics.connectionsLost == 1)
    }
}

/// What concurrent callers saw, in arrival order.
private actor Outcomes {
    private(set) var all: [String] = []
    func add(_ outcome: String) { all.append(outcome) }
}
