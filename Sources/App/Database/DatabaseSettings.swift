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

    init(databaseURL: String?, dataDirectory: URL, poolSize: Int = defaultPoolSize) {
        self.databaseURL = databaseURL
        self.dataDirectory = dataDirectory
        self.poolSize = poolSize
    }

    /// DATABASE_URL (empty counts as unset) and POPI_DB_POOL_SIZE from the environment.
    static func fromEnvironment(dataDirectory: URL,
                                       environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DatabaseSettings {
        var settings = DatabaseSettings(databaseURL: environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 },
                                        dataDirectory: dataDirectory)
        if let text = environment["POPI_DB_POOL_SIZE"], !text.isEmpty {
            guard let size = Int(text), (1...1000).contains(size) else {
                throw StoreError.invalidValue("POPI_DB_POOL_SIZE must be a number from 1 to 1000, not \(text)")
            }
            settings.poolSize = size
        }
        return settings
    }
}
