import Foundation
import Testing
@testable import Store

@Suite struct MigratorTests {
    /// The repository's migrations/ folder (this file is Tests/StoreTests/MigratorTests.swift).
    static let migrationsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("migrations")

    @Test func theBundledCopyIsByteIdenticalToMigrationsFolder() throws {
        let files = try Migration.load(from: Self.migrationsDirectory)
        #expect(!files.isEmpty)
        #expect(files.map(\.fileName) == Migration.bundled.map(\.fileName),
                "run scripts/embed-migrations.sh after changing migrations/")
        for (file, bundled) in zip(files, Migration.bundled) {
            #expect(Array(file.sql.utf8) == Array(bundled.sql.utf8),
                    "\(file.fileName) differs from its embedded copy: run scripts/embed-migrations.sh")
        }
    }

    @Test func fileNamesAreValidated() throws {
        #expect(try Migration(fileName: "0007_add_things.sql", sql: "").version == 7)
        #expect(try Migration(fileName: "0007_add_things.sql", sql: "").name == "add_things")
        for bad in ["7_x.sql", "0001-init.sql", "0001_Init.sql", "0001_.sql", "init.sql", "0001_init.SQL", "00a1_init.sql"] {
            #expect(throws: MigrationError.self, "\(bad)") { try Migration(fileName: bad, sql: "") }
        }
        #expect(throws: MigrationError.duplicateVersion(1)) {
            try Migration.validated([Migration(version: 1, name: "a", sql: ""), Migration(version: 1, name: "b", sql: "")])
        }
    }

    @Test func appliesInOrderOnceAndRecordsChecksums() async throws {
        try await TestDatabase.withScratchDatabase { configuration in
            let first = try Migrator().migrate(configuration)
            #expect(first.applied.map(\.version) == Migration.bundled.map(\.version))
            #expect(first.alreadyApplied == 0)
            let second = try Migrator().migrate(configuration)
            #expect(second.applied.isEmpty)
            #expect(second.alreadyApplied == Migration.bundled.count)

            let pool = ConnectionPool(configuration: configuration)
            defer { pool.shutdown() }
            let status = try await Migrator().status(pool)
            #expect(status.isUpToDate)
            let checksum = try await pool.query("SELECT checksum FROM schema_migrations WHERE version = 1")[0].decode(0, as: String.self)
            #expect(checksum.count == 64)
        }
    }

    @Test func concurrentReplicasMigrateOnce() async throws {
        try await TestDatabase.withScratchDatabase { configuration in
            let reports = try await withThrowingTaskGroup(of: Migrator.Report.self) { group in
                for _ in 0..<4 {
                    group.addTask { try Migrator().migrate(configuration) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(reports.map(\.applied.count).sorted() == [0, 0, 0, Migration.bundled.count])
        }
    }

    @Test func aFailingMigrationIsRolledBackWholeAndNamed() async throws {
        try await TestDatabase.withScratchDatabase { configuration in
            let migrations = [
                Migration(version: 1, name: "good", sql: "CREATE TABLE good (id int);"),
                Migration(version: 2, name: "bad", sql: "CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\nSELEC broken;"),
                Migration(version: 3, name: "after", sql: "CREATE TABLE after_bad (id int);"),
            ]
            #expect {
                try Migrator(migrations: migrations).migrate(configuration)
            } throws: { error in
                guard case StoreError.migration(.failed(let version, let name, let message)) = error else { return false }
                return version == 2 && name == "bad" && message.contains("syntax error")
                    && "\(error)".contains("0002_bad.sql failed and was rolled back")
            }
            let pool = ConnectionPool(configuration: configuration)
            defer { pool.shutdown() }
            let tables = try await pool.query("""
                SELECT to_regclass('good') IS NOT NULL, to_regclass('half') IS NOT NULL, to_regclass('after_bad') IS NOT NULL
                """)[0].decode(Bool.self, Bool.self, Bool.self)
            #expect(tables == (true, false, false))
            let versions = try await pool.query("SELECT version FROM schema_migrations ORDER BY version").map { try $0.decode(0, as: Int.self) }
            #expect(versions == [1])
        }
    }

    @Test func anAppliedFileThatChangedIsAnError() async throws {
        try await TestDatabase.withScratchDatabase { configuration in
            let original = Migration(version: 1, name: "one", sql: "CREATE TABLE one (id int);")
            _ = try Migrator(migrations: [original]).migrate(configuration)
            let edited = Migration(version: 1, name: "one", sql: "CREATE TABLE one (id bigint);")
            #expect(throws: StoreError.migration(.checksumMismatch(version: 1, name: "one"))) {
                try Migrator(migrations: [edited, Migration(version: 2, name: "two", sql: "CREATE TABLE two (id int);")])
                    .migrate(configuration)
            }
            // Nothing after the check ran.
            let pool = ConnectionPool(configuration: configuration)
            defer { pool.shutdown() }
            #expect(try await pool.query("SELECT to_regclass('two') IS NULL")[0].decode(0, as: Bool.self))
            await #expect(throws: StoreError.self) { try await Migrator(migrations: [edited]).status(pool) }
        }
    }

    @Test func aDatabaseNewerThanThisBuildIsAnError() async throws {
        try await TestDatabase.withScratchDatabase { configuration in
            let one = Migration(version: 1, name: "one", sql: "SELECT 1;")
            let two = Migration(version: 2, name: "two", sql: "SELECT 2;")
            _ = try Migrator(migrations: [one, two]).migrate(configuration)
            #expect(throws: StoreError.migration(.unknownApplied(version: 2, name: "two"))) {
                try Migrator(migrations: [one]).migrate(configuration)
            }
        }
    }
}
