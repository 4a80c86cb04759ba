import Testing
@testable import Store

/// The native pieces link and the test database answers.
@Suite struct SmokeTests {
    @Test func linkedLibPQReportsAVersion() {
        #expect(LibPQ.version >= 100000)
    }

    @Test func selectOneOnTheTestDatabase() async throws {
        let pool = ConnectionPool(configuration: try TestDatabase.configuration(poolSize: 1))
        defer { pool.shutdown() }
        let rows = try await pool.query("SELECT 1")
        #expect(try rows.first?.decode(0, as: Int.self) == 1)
    }
}

@Suite struct HealthTests {
    @Test func theMigratedTestDatabaseIsReady() async throws {
        let store = try await TestDatabase.store()
        let health = await store.health()
        #expect(health.isReady, "\(health)")
    }

    @Test func aStoreWithoutItsSchemaOrServerIsNotReady() async throws {
        let store = try await TestDatabase.store()
        let future = Migration.bundled + [Migration(version: 9999, name: "future", sql: "SELECT 1;")]
        let behind = await store.health(migrations: future)
        #expect(behind.reachable && !behind.isReady && behind.pendingMigrations == ["9999_future.sql"])

        let nowhere = DataStore(pool: ConnectionPool(configuration: try DatabaseConfiguration(
            connectionString: "host=/nonexistent/popi port=5999 user=popi", poolSize: 1)))
        defer { nowhere.pool.shutdown() }
        let down = await nowhere.health()
        #expect(!down.reachable && !down.isReady && down.problem?.hasPrefix("the database is unavailable") == true)
    }
}
