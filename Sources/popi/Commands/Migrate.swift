import App
import ArgumentParser
import Foundation
import Logging
import Store

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations (popi serve also does this at start-up).",
        discussion: """
            Uses DATABASE_URL, or the embedded cluster in --data-dir when it is unset. The migrations \
            compiled into popi are applied unless --migrations-dir names a folder of NNNN_name.sql files.
            """)

    @Option(name: .customLong("data-dir"), help: "Data folder holding the embedded database (env POPI_DATA_DIR).")
    var dataDirectory: String = ProcessInfo.processInfo.environment["POPI_DATA_DIR"] ?? "data"

    @Option(name: .customLong("migrations-dir"), help: "Apply the .sql files of this folder instead of the built-in migrations.")
    var migrationsDirectory: String?

    @Flag(help: "Only report applied and pending migrations; change nothing.")
    var status = false

    func run() throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "popi")
        logger.logLevel = .warning
        do {
            let migrations = try migrationsDirectory.map { try Migration.load(from: URL(fileURLWithPath: $0, isDirectory: true)) }
                ?? Migration.bundled
            let settings = try DatabaseSettings.fromEnvironment(dataDirectory: URL(fileURLWithPath: dataDirectory, isDirectory: true))
            if status {
                try printStatus(settings, migrations, logger)
                return
            }
            let database = try ServiceDatabase.open(settings, migrations: migrations, logger: logger)
            defer { database.close(stopAdoptedCluster: false, logger: logger) }
            for migration in database.migrations.applied {
                print("applied \(migration.fileName)")
            }
            let total = database.migrations.alreadyApplied + database.migrations.applied.count
            print("\(database.description): up to date (\(total) migration\(total == 1 ? "" : "s") applied)")
        } catch {
            throw CommandFailure("migrate", error)
        }
    }

    private func printStatus(_ settings: DatabaseSettings, _ migrations: [Migration], _ logger: Logger) throws {
        // Opening would migrate; read the state through a pool of one instead.
        var embedded: EmbeddedPostgres?
        if settings.databaseURL == nil { embedded = try EmbeddedPostgres.start(dataDirectory: settings.dataDirectory) }
        defer { if let pg = embedded, pg.didStart { try? pg.stop() } }
        let configuration = try DatabaseConfiguration(connectionString: settings.databaseURL ?? embedded!.connectionString,
                                                      poolSize: 1)
        let pool = ConnectionPool(configuration: configuration)
        defer { pool.shutdown() }
        let state = try runBlocking { try await Migrator(migrations: migrations).status(pool) }
        for version in state.applied {
            print("applied  \(migrations.first { $0.version == version }?.fileName ?? String(version))")
        }
        for migration in state.pending {
            print("pending  \(migration.fileName)")
        }
        print("\(configuration.redactedDescription): \(state.isUpToDate ? "up to date" : "\(state.pending.count) pending")")
    }
}
