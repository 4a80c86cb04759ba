import Foundation
import Testing
@testable import Store

/// The test database from `scripts/with-test-postgres.sh` (DATABASE_URL), migrated once per
/// process. Tests that need it fail, with this message, when DATABASE_URL is unset.
enum TestDatabase {
    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "DATABASE_URL is not set: these tests need a real PostgreSQL; run them through "
                + "`scripts/with-test-postgres.sh swift test` (or `make test`)"
        }
    }

    static func configuration(poolSize: Int = 8) throws -> DatabaseConfiguration {
        guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else {
            throw NotConfigured()
        }
        return try DatabaseConfiguration(connectionString: url, poolSize: poolSize)
    }

    private static let shared = Task<DataStore, Error> {
        let shared = try TestDatabase.configuration(poolSize: 16)
        _ = try Migrator().migrate(shared)
        return DataStore(pool: ConnectionPool(configuration: shared))
    }

    /// The shared, migrated store (tests isolate their data with a tenant of their own).
    static func store() async throws -> DataStore {
        try await shared.value
    }

    /// A fresh tenant with a unique name, so tests can run in parallel without seeing each other's data.
    static func tenant(_ store: DataStore, _ label: String = #function) async throws -> Tenant {
        try await store.tenants.create(name: "test \(label) \(UUID().uuidString)")
    }

    /// Runs `body` against a scratch database, created empty and dropped afterwards (migration tests).
    static func withScratchDatabase(_ body: (DatabaseConfiguration) async throws -> Void) async throws {
        let store = try await store()
        let name = "popi_scratch_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        // Database names cannot be parameters; this one is made here from hex digits only.
        try await store.pool.query(SQL(unsafeRaw: "CREATE DATABASE \(name)"))
        do {
            try await body(try configuration(poolSize: 4).database(named: name))
        } catch {
            try await store.pool.query(SQL(unsafeRaw: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
            throw error
        }
        try await store.pool.query(SQL(unsafeRaw: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
    }
}
