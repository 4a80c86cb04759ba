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

    @Test func settingsComeFromTheEnvironment() throws {
        let data = URL(fileURLWithPath: "data")
        let unset = try DatabaseSettings.fromEnvironment(dataDirectory: data, environment: ["DATABASE_URL": ""])
        #expect(unset.databaseURL == nil && unset.poolSize == 10)
        let set = try DatabaseSettings.fromEnvironment(dataDirectory: data, environment: ["DATABASE_URL": "host=/tmp", "POPI_DB_POOL_SIZE": "3"])
        #expect(set.databaseURL == "host=/tmp" && set.poolSize == 3)
        for bad in ["0", "-1", "many", "1001"] {
            #expect(throws: StoreError.self) {
                try DatabaseSettings.fromEnvironment(dataDirectory: data, environment: ["POPI_DB_POOL_SIZE": bad])
            }
        }
    }
}
