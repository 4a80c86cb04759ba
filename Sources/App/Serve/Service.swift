import Dispatch
import Foundation
import LLMClient
import HTTPServer
import Logging
import Personalization
import Store

/// `popi serve`: loads the model and any adapters (a bad one stops it here), brings up the
/// database (embedded or external), starts the refresh workers and the HTTP API, then serves
/// until SIGINT or SIGTERM and shuts down gracefully: readiness turns false, workers hand back their jobs, in-flight requests finish
/// (up to the grace period), the engine and the database stop.
enum Service {
    static func run(_ configuration: ServeConfiguration, logger: Logger) throws {
        let signals = SignalWaiter()
        let upstreams = try UpstreamRegistry(configuration.upstreams)
        let loadStarted = ContinuousClock.now
        let model = try RuntimeModel.load(path: configuration.modelPath.path, threads: configuration.threads,
                                          chatTemplate: configuration.chatTemplate,
                                          prefixCacheBytes: configuration.prefixCacheMiB << 20).sharingPromptOpenings()
        defer { model.engine.shutdown() }
        let models = ServedModels(
            base: model,
            summarizerAdapter: try configuration.summarizerAdapterPath.map {
                try ServedAdapter.load(.summarizer, path: $0, base: model.engine.modelConfig)
            },
            generatorAdapter: try configuration.generatorAdapterPath.map {
                try ServedAdapter.load(.generator, path: $0, base: model.engine.modelConfig)
            })
        // Summaries are written in the form the summarizer adapter was trained for.
        var configuration = configuration
        configuration.api.summary.form = models.summarizerAdapter?.summaryForm ?? .whole
        logger.info("model loaded", metadata: ["model": "\(model.modelID)", "threads": "\(model.engine.threads)",
                                               "kernels": "\(model.engine.kernels)",
                                               "summarizer_adapter": "\(models.summarizerAdapter?.sha256 ?? "none")",
                                               "generator_adapter": "\(models.generatorAdapter?.sha256 ?? "none")",
                                               "load_ms": "\((ContinuousClock.now - loadStarted) / .milliseconds(1))"])

        // The database after the files: a bad model or adapter stops popi before it starts a cluster.
        var settings = try DatabaseSettings.fromEnvironment(dataDirectory: configuration.dataDirectory,
                                                            startupWait: DatabaseSettings.serveStartupWait)
        settings.databaseURL = configuration.databaseURL
        let database = try ServiceDatabase.open(settings, logger: logger, stopWaiting: { signals.hasReceived })
        defer { database.close(stopAdoptedCluster: true, logger: logger) }

        let metrics = ServiceMetrics()
        metrics.watch(pool: database.store.pool)
        let api = PopiAPI(store: database.store, models: models, upstreams: upstreams, configuration: configuration.api,
                          metrics: metrics, logger: logger)
        if configuration.dev {
            let (key, revoked) = try runBlocking { try await DevelopmentKey.issue(in: database.store) }
            if revoked > 0 { logger.notice("revoked \(revoked) earlier development key(s)") }
            FileHandle.standardOutput.write(Data(DevelopmentKey.announcement(key).utf8))
        }
        let workers = RefreshWorkers(store: database.store, models: models, options: configuration.api.summary,
                                     metrics: metrics, logger: logger, count: configuration.workers,
                                     lease: configuration.refreshLease)
        workers.start()

        let server = HTTPServer(configuration: configuration.http,
                                router: api.router(), logger: logger)
        metrics.watch(server: server)
        try server.start()
        logger.notice("popi \(PopiVersion.current) serving", metadata: [
            "addresses": "\(server.addresses.joined(separator: ", "))", "workers": "\(configuration.workers)",
            "upstreams": "\(upstreams.clients.keys.sorted().joined(separator: ","))",
        ])
        let signal = signals.wait()
        logger.notice("received signal \(signal): shutting down")
        api.accepting.stop()
        let stopped = DispatchSemaphore(value: 0)
        Task {
            await workers.stop()
            await server.shutdown(gracePeriod: configuration.shutdownGracePeriod)
            stopped.signal()
        }
        stopped.wait()
    }

    /// Upstreams from a JSON file and `--upstream` specs.
    static func loadUpstreams(upstreamsFile: String?, specs: [String]) throws -> UpstreamRegistry {
        try UpstreamRegistry(parseUpstreams(upstreamsFile: upstreamsFile, specs: specs))
    }

    /// The upstreams of a JSON file and `--upstream` specs, checked to fit together (keys from
    /// `environment` or their files).
    static func parseUpstreams(upstreamsFile: String?, specs: [String],
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [UpstreamConfiguration] {
        var upstreams: [UpstreamConfiguration] = []
        if let path = upstreamsFile {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ServiceError("cannot read the upstreams file \(path)")
            }
            do {
                upstreams += try UpstreamRegistry.parseFile(data, environment: environment)
            } catch {
                throw ServiceError("--upstreams-file \(path): \(error)")
            }
        }
        for spec in specs {
            upstreams.append(try UpstreamRegistry.parseSpec(spec, environment: environment))
        }
        _ = try UpstreamRegistry.routes(upstreams)
        return upstreams
    }
}

struct ServiceError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
