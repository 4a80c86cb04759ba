import Foundation
import Store

/// Where popi's database is: `DATABASE_URL`, or else the embedded cluster in the data folder.
struct DatabaseSettings: Sendable {
    /// A libpq connection string or URI; nil runs the embedded cluster in `dataDirectory/pg`.
    var databaseURL: String?
    var dataDirectory: URL
    /// Connections in the pool (env POPI_DB_POOL_SIZE).
    var poolSize: Int
    static let defaultPoolSize = 10
    /// Seconds to keep retrying an unreachable DATABASE_URL at start-up before giving up (env
    /// POPI_DATABASE_WAIT). 0 gives up at once, as the one-shot commands do; `serve` waits
    /// `serveStartupWait` unless told otherwise, so a replica started before its database serves
    /// once the database is up instead of exiting.
    var startupWait: Int
    static let serveStartupWait = 60

    init(databaseURL: String?, dataDirectory: URL, poolSize: Int = defaultPoolSize, startupWait: Int = 0) {
        self.databaseURL = databaseURL
        self.dataDirectory = dataDirectory
        self.poolSize = poolSize
        self.startupWait = startupWait
    }

    /// DATABASE_URL (empty counts as unset), POPI_DB_POOL_SIZE and POPI_DATABASE_WAIT (else
    /// `startupWait`) from the environment.
    static func fromEnvironment(dataDirectory: URL, startupWait: Int = 0,
                                       environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DatabaseSettings {
        var settings = DatabaseSettings(databaseURL: environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 },
                                        dataDirectory: dataDirectory, startupWait: startupWait)
        if let text = environment["POPI_DATABASE_WAIT"], !text.isEmpty {
            guard let seconds = Int(text), (0...3600).contains(seconds) else {
                throw StoreError.invalidValue("POPI_DATABASE_WAIT must be a number of seconds from 0 to 3600, not \(text)")
            }
            settings.startupWait = seconds
        }
        if let text = environment["POPI_DB_POOL_SIZE"], !text.isEmpty {
            guard let size = Int(text), (1...1000).contains(size) else {
                throw StoreError.invalidValue("POPI_DB_POOL_SIZE must be a number from 1 to 1000, not \(text)")
            }
            settings.poolSize = size
        }
        return settings
    }
}
