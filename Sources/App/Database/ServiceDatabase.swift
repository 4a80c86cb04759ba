import Foundation
import Logging
import Store

/// The database as popi's commands use it: opened from `DatabaseSettings` (starting the
/// embedded cluster when there is no DATABASE_URL), migrated, with a pool ready.
final class ServiceDatabase: Sendable {
    let store: DataStore
    /// The embedded cluster, when popi runs its own.
    let embedded: EmbeddedPostgres?
    /// What the start-up migration did.
    let migrations: Migrator.Report
    /// Where the database is, without the password (for logs and messages).
    let description: String

    private init(store: DataStore, embedded: EmbeddedPostgres?, migrations: Migrator.Report, description: String) {
        self.store = store
        self.embedded = embedded
        self.migrations = migrations
        self.description = description
    }

    /// Validates the connection string, starts the embedded cluster if needed, applies pending
    /// migrations (under the advisory lock, so replicas starting together migrate once) and
    /// builds the pool. Blocking: call it from start-up code, not from request handling.
    /// `stopWaiting` ends the start-up wait for an unreachable server early (SIGTERM meanwhile).
    static func open(_ settings: DatabaseSettings, migrations: [Migration] = Migration.bundled,
                            logger: Logger, stopWaiting: @escaping @Sendable () -> Bool = { false }) throws -> ServiceDatabase {
        var embedded: EmbeddedPostgres?
        let connectionString: String
        if let url = settings.databaseURL {
            connectionString = url
        } else {
            let pg = try EmbeddedPostgres.start(dataDirectory: settings.dataDirectory)
            embedded = pg
            connectionString = pg.connectionString
            logger.info("embedded PostgreSQL running", metadata: ["cluster": "\(pg.clusterDirectory.path)",
                                                                  "started": "\(pg.didStart)"])
        }
        do {
            let configuration = try DatabaseConfiguration(connectionString: connectionString, poolSize: settings.poolSize)
            let report = try migrate(configuration, migrations: migrations,
                                     wait: embedded == nil ? settings.startupWait : 0, logger: logger, stopWaiting: stopWaiting)
            for migration in report.applied {
                logger.notice("applied migration \(migration.fileName)")
            }
            logger.info("database ready", metadata: ["database": "\(configuration.redactedDescription)",
                                                     "migrations": "\(report.alreadyApplied + report.applied.count)",
                                                     "pool": "\(settings.poolSize)"])
            return ServiceDatabase(store: DataStore(pool: ConnectionPool(configuration: configuration)), embedded: embedded,
                                   migrations: report, description: configuration.redactedDescription)
        } catch {
            if let pg = embedded, pg.didStart { try? pg.stop() }
            throw error
        }
    }

    /// Applies the migrations, retrying while the server is unreachable (a transient error) for
    /// up to `wait` seconds, with a doubling pause of at most 5 s and one log line per attempt;
    /// `stopWaiting` (polled every 0.1 s) gives up at once with the last error.
    private static func migrate(_ configuration: DatabaseConfiguration, migrations: [Migration], wait: Int,
                                logger: Logger, stopWaiting: () -> Bool) throws -> Migrator.Report {
        let deadline = ContinuousClock.now + .seconds(wait)
        var pause = 0.5
        while true {
            do {
                return try Migrator(migrations: migrations).migrate(configuration)
            } catch let error as StoreError where error.isTransient && ContinuousClock.now + .seconds(pause) < deadline {
                logger.warning("database unreachable at start-up; retrying",
                               metadata: ["database": "\(configuration.redactedDescription)", "error": "\(error)",
                                          "retry_in_s": "\(pause)"])
                let resume = ContinuousClock.now + .seconds(pause)
                while ContinuousClock.now < resume {
                    if stopWaiting() { throw error }
                    Thread.sleep(forTimeInterval: 0.1)
                }
                pause = min(pause * 2, 5)
            }
        }
    }

    /// Closes the pool, then stops the embedded cluster: always when `stopAdoptedCluster`
    /// (popi serve owns its cluster even if an earlier run left it running), otherwise only
    /// if this process started it (short commands such as `popi migrate` next to a running server).
    func close(stopAdoptedCluster: Bool, logger: Logger) {
        store.pool.shutdown()
        guard let pg = embedded, stopAdoptedCluster || pg.didStart else { return }
        do {
            try pg.stop()
            logger.info("embedded PostgreSQL stopped")
        } catch {
            logger.error("\(error)")
        }
    }
}
