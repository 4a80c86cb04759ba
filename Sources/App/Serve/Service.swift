import Foundation
import Logging
import Store

/// `popi serve`: brings up the database (embedded or external), then serves until a signal.
public enum Service {
    public static func run(_ configuration: ServeConfiguration, logger: Logger) throws {
        let signals = SignalWaiter()
        var settings = try DatabaseSettings.fromEnvironment(dataDirectory: configuration.dataDirectory)
        settings.databaseURL = configuration.databaseURL
        let database = try ServiceDatabase.open(settings, logger: logger)
        defer { database.close(stopAdoptedCluster: true, logger: logger) }
        logger.notice("popi \(PopiVersion.current): the HTTP server is not built yet; database ready, stopping again")
        _ = signals
    }
}
