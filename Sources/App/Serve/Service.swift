import Dispatch
import Foundation
import HTTPServer
import Logging
import Store

/// `popi serve`: brings up the database (embedded or external), then serves HTTP until SIGINT or
/// SIGTERM, and shuts down gracefully (in-flight requests finish, up to the grace period).
public enum Service {
    public static func run(_ configuration: ServeConfiguration, logger: Logger) throws {
        let signals = SignalWaiter()
        var settings = try DatabaseSettings.fromEnvironment(dataDirectory: configuration.dataDirectory)
        settings.databaseURL = configuration.databaseURL
        let database = try ServiceDatabase.open(settings, logger: logger)
        defer { database.close(stopAdoptedCluster: true, logger: logger) }
        let server = HTTPServer(configuration: try configuration.http.serverConfiguration(host: configuration.host, port: configuration.port),
                                router: router(logger: logger), logger: logger)
        try server.start()
        logger.notice("popi \(PopiVersion.current) serving", metadata: ["addresses": "\(server.addresses.joined(separator: ", "))"])
        let signal = signals.wait()
        logger.notice("received signal \(signal): shutting down")
        let stopped = DispatchSemaphore(value: 0)
        Task {
            await server.shutdown(gracePeriod: configuration.http.shutdownGracePeriod)
            stopped.signal()
        }
        stopped.wait()
    }

    static func router(logger: Logger) -> Router {
        var router = Router()
        router.use(.requestID())
        router.use(.accessLog { entry in
            logger.debug("request", metadata: [
                "method": "\(entry.method)", "route": "\(entry.route ?? "-")", "status": "\(entry.status)",
                "duration_us": "\(entry.durationNanoseconds / 1000)", "request_id": "\(entry.requestID ?? "-")",
            ])
        })
        router.get("/healthz") { _ in .json(#"{"status":"ok"}"#) }
        return router
    }
}
