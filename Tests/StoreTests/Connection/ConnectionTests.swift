import Testing
@testable import Store

@Suite struct ConnectionTests {
    @Test func aResultLargerThanTheLimitIsAnErrorAndTheConnectionCarriesOn() async throws {
        let pool = ConnectionPool(configuration: try TestDatabase.configuration(poolSize: 1))
        defer { pool.shutdown() }
        // The real limit is 2 GiB (Int32 offsets); a small one exercises the same check.
        let outcome = try await pool.withConnection { connection -> String in
            connection.maxResultBytes = 100
            let fits = try connection.query("SELECT repeat('x', 60), repeat('y', 40)")[0].decode(String.self, String.self)
            #expect(fits.0.count + fits.1.count == 100)
            do {
                try connection.query("SELECT repeat('x', 60), repeat('y', 41)")
                return "no error"
            } catch let error as StoreError {
                return error.description
            }
        }
        #expect(outcome == "a database result is larger than 100 bytes")
        #expect(try await pool.query("SELECT 7")[0].decode(0, as: Int.self) == 7)
    }
}
