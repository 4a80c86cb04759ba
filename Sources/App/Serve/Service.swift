import Foundation
import Logging
import Store

/// `popi serve`: brings up the database (embedded or external), then serves until a signal.
public enum Service {
    public static func run(_ configuration: ServeConfiguration, logger: Logger) throws {
        let signals = SignalWaiter()
        var embedded: EmbeddedPostgres?
        if configuration.databaseURL == nil {
            let pg = try EmbeddedPostgres.start(dataDirectory: configuration.dataDirectory)
            embedded = pg
            logger.info("embedded PostgreSQL running", metadata: ["cluster": "\(pg.clusterDirectory.path)"])
        }
        defer {
            if let pg = embedded {
                do {
                    try pg.stop()
                    logger.info("embedded PostgreSQL stopped")
                } catch {
                    logger.error("\(error)")
                }
            }
        }
        logger.notice("popi \(PopiVersion.current): the HTTP server is not built yet; database ready, stopping again")
        _ = signals
    }
}
