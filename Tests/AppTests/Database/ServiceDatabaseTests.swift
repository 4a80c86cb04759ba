import Foundation
import Logging
@testable import Store
import Testing
@testable import App

@Suite struct ServiceDatabaseTests {
    var databaseURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else {
                throw StoreError.invalidValue(
                    "DATABASE_URL is not set: run the tests through `scripts/with-test-postgres.sh swift test` (or `make test`)")
            }
            return url
        }
    }

    @Test func opensMigratesAndServesTheConfiguredDatabase() async throws {
        let settings = DatabaseSettings(databaseURL: try databaseURL, dataDirectory: URL(fileURLWithPath: "/nonexistent"), poolSize: 2)
        let database = try ServiceDatabase.open(settings, logger: Logger(label: "test"))
        defer { database.close(stopAdoptedCluster: true, logger: Logger(label: "test")) }
        #expect(database.embedded == nil)
        #expect(database.migrations.alreadyApplied + database.migrations.applied.count == Migration.bundled.count)
        #expect(await database.store.health().isReady)
        let configuration = try DatabaseConfiguration(connectionString: try databaseURL)
        if let password = configuration.parameters["password"] {
            #expect(!database.description.contains(password))
        }
    }

    @Test func aMalformedURLIsRefusedBeforeAnythingStarts() {
        let settings = DatabaseSettings(databaseURL: "postgresql://popi@/db?nonsense=1", dataDirectory: URL(fileURLWithPath: "/nonexistent"))
        #expect {
            try ServiceDatabase.open(settings, logger: Logger(label: "test"))
        } throws: { error in
            guard case StoreError.invalidDatabaseURL = error else { return false }
            return true
        }
    }

    /// A replica started before its database: `serve` keeps retrying and opens it once it is
    /// up; a one-shot command (no wait) gives up at once. The database "comes up" when its
    /// unix socket appears in the folder the URL names (a link to the test server's socket).
    @Test func aDatabaseThatComesUpDuringTheStartUpWaitIsOpened() async throws {
        let url = try databaseURL
        let socketFolder = try #require(try DatabaseConfiguration(connectionString: url).parameters["host"])
        guard socketFolder.hasPrefix("/") else { return }  // a TCP test server: this test needs its socket
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("popi-wait-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let later = url.replacingOccurrences(of: "host=\(socketFolder)", with: "host=\(folder)")
        #expect(later != url)

        let oneShot = DatabaseSettings(databaseURL: later, dataDirectory: URL(fileURLWithPath: "/nonexistent"), poolSize: 1)
        #expect { try ServiceDatabase.open(oneShot, logger: Logger(label: "test")) } throws: { error in
            (error as? StoreError)?.isTransient == true
        }

        let serve = DatabaseSettings(databaseURL: later, dataDirectory: URL(fileURLWithPath: "/nonexistent"), poolSize: 1,
                                     startupWait: 60)
        // A signal during the wait ends it with the database's error, long before the 60 s.
        let started = ContinuousClock.now
        #expect { try ServiceDatabase.open(serve, logger: Logger(label: "test"), stopWaiting: { ContinuousClock.now - started > .seconds(1) }) }
            throws: { error in (error as? StoreError)?.isTransient == true }
        #expect(ContinuousClock.now - started < .seconds(30))

        let opening = Task.detached { try ServiceDatabase.open(serve, logger: Logger(label: "test")) }
        try await Task.sleep(for: .seconds(1.5))
        let socket = try #require(try FileManager.default.contentsOfDirectory(atPath: socketFolder).first { $0.hasPrefix(".s.PGSQL.") && !$0.hasSuffix(".lock") })
        try FileManager.default.createSymbolicLink(atPath: "\(folder)/\(socket)", withDestinationPath: "\(socketFolder)/\(socket)")
        let database = try await opening.value
        defer { database.close(stopAdoptedCluster: true, logger: Logger(label: "test")) }
        #expect(await database.store.health().isReady)
    }

    @Test func settingsComeFromTheEnvironment() throws {
        let data = URL(fileURLWithPath: "data")
        let unset = try DatabaseSettings.fromEnvironment(dataDirectory: data, environment: ["DATABASE_URL": ""])
        #expect(unset.databaseURL == nil && unset.poolSize == 10)
        let set = try DatabaseSettings.fromEnvironment(dataDirectory: data, environment: ["DATABASE_URL": "host=/tmp", "POPI_DB_POOL_SIZE": "3"])
        #expect(set.databaseURL == "host=/tmp" && set.poolSize == 3)
        #expect(unset.startupWait == 0)
        #expect(try DatabaseSettings.fromEnvironment(dataDirectory: data, startupWait: 60, environment: [:]).startupWait == 60)
        #expect(try DatabaseSettings.fromEnvironment(dataDirectory: data, startupWait: 60,
                                                     environment: ["POPI_DATABASE_WAIT": "0"]).startupWait == 0)
        for bad in ["-1", "soon", "3601"] {
            #expect(throws: StoreError.self) {
                try DatabaseSettings.fromEnvironment(dataDirectory: data, environment: ["POPI_DATABASE_WAIT": bad])
            }
        }
        for bad in ["0", "-1", "many", "1001"] {
            #expect(throws: StoreError.self) {
                try DatabaseSettings.fromEnvironment(dataDirectory: data, environment: ["POPI_DB_POOL_SIZE": bad])
            }
        }
    }
}
