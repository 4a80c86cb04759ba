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
