import ArgumentParser
import Crypto
import Foundation
import HTTPServer
import Logging
import Personalization

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP service.")

    // Every setting's flag, variable and default: `Serve.Setting` below, the one place they live.
    @Option(help: .init(Setting.host.help("Address to listen on.")))
    var host: String?
    @Option(help: .init(Setting.port.help("TCP port.")))
    var port: Int?
    @Option(name: .customLong("data-dir"), help: .init(Setting.dataDirectory.help("Data folder; holds the embedded database.")))
    var dataDirectory: String?
    @Option(help: .init(Setting.model.help("GGUF model file.")))
    var model: String?
    @Option(help: .init(Setting.threads.help("Engine threads.")))
    var threads: Int?
    @Option(name: .customLong("chat-template"), help: .init(Setting.chatTemplate.help("chatml or llama3, for a model whose template popi does not recognise.")))
    var chatTemplate: String?
    @Flag(help: "Create a development tenant and print a key with every scope at start (loopback --host only).")
    var dev = false
    @Option(help: .init(Setting.workers.help("Summary refresh workers in this process.")))
    var workers: Int?
    @Option(help: .init(Setting.candidates.help("Candidate summaries per refresh, best-of-N under POPI's reward.")))
    var candidates: Int?
    @Option(name: .customLong("summarizer-adapter"), help: .init(Setting.summarizerAdapter.help("LoRA adapter from `popi train summarizer`: refreshes write summaries with it.")))
    var summarizerAdapter: String?
    @Option(name: .customLong("generator-adapter"), help: .init(Setting.generatorAdapter.help("LoRA adapter from `popi train generator`: in-process generations use it.")))
    var generatorAdapter: String?
    @Option(name: .customLong("refresh-debounce"), help: .init(Setting.refreshDebounce.help("Seconds new feedback waits for more before a refresh.")))
    var refreshDebounce: Double?
    @Option(name: .customLong("refresh-queue-per-tenant"), help: .init(Setting.refreshQueuePerTenant.help("Most summary refreshes one tenant may have queued; beyond, feedback is stored without one and a refresh gets 429.")))
    var refreshQueuePerTenant: Int?
    @Option(name: .customLong("rate-limit"), help: .init(Setting.rateLimit.help("Requests per second per API key, sustained.")))
    var rateLimit: Double?
    @Option(name: .customLong("rate-burst"), help: .init(Setting.rateBurst.help("Requests per API key at once.")))
    var rateBurst: Int?
    @Option(name: .customLong("max-concurrent-generations"), help: .init(Setting.maxConcurrentGenerations.help("In-process generations at once.")))
    var maxConcurrentGenerations: Int?
    @Option(name: .customLong("generation-queue"), help: .init(Setting.generationQueue.help("Generations that may wait for a slot before 503.")))
    var generationQueue: Int?
    @Option(name: .customLong("max-prompt-tokens"), help: .init(Setting.maxPromptTokens.help("Longest prompt in tokens, else 400.")))
    var maxPromptTokens: Int?
    @Option(name: .customLong("max-generation-tokens"), help: .init(Setting.maxGenerationTokens.help("Largest max_tokens a generation may ask for, else 400.")))
    var maxGenerationTokens: Int?
    @Option(name: .customLong("max-batch-events"), help: .init(Setting.maxBatchEvents.help("Most feedback events per POST.")))
    var maxBatchEvents: Int?
    @Option(name: .customLong("upstreams-file"), help: .init(Setting.upstreamsFile.help("JSON file of OpenAI-compatible upstreams.")))
    var upstreamsFile: String?
    @Option(name: .customLong("upstream"), help: "An upstream as name=…,base_url=…,api_key_env=…,models=a+b:upstream-model (repeatable).")
    var upstreams: [String] = []
    @Option(name: .customLong("log-level"), help: .init(Setting.logLevel.help("trace, debug, info, notice, warning, error.")))
    var logLevel: String?
    @Option(name: .customLong("max-connections"), help: .init(Setting.maxConnections.help("Open connections before new ones get 503.")))
    var maxConnections: Int?
    @Option(name: .customLong("max-body-bytes"), help: .init(Setting.maxBodyBytes.help("Largest request body, else 413.")))
    var maxBodyBytes: Int?
    @Option(name: .customLong("max-header-bytes"), help: .init(Setting.maxHeaderBytes.help("Largest header section, else 431.")))
    var maxHeaderBytes: Int?
    @Option(name: .customLong("header-timeout"), help: .init(Setting.headerTimeout.help("Seconds to receive a request head.")))
    var headerTimeout: Double?
    @Option(name: .customLong("body-timeout"), help: .init(Setting.bodyTimeout.help("Seconds a request body may pause.")))
    var bodyTimeout: Double?
    @Option(name: .customLong("keep-alive-timeout"), help: .init(Setting.keepAliveTimeout.help("Seconds an idle connection stays open.")))
    var keepAliveTimeout: Double?
    @Option(name: .customLong("write-timeout"), help: .init(Setting.writeTimeout.help("Seconds a client may stall reading a response.")))
    var writeTimeout: Double?
    @Option(name: .customLong("shutdown-grace"), help: .init(Setting.shutdownGrace.help("Seconds in-flight requests get on SIGTERM/SIGINT.")))
    var shutdownGrace: Double?
    @Option(name: .customLong("tls-cert"), help: .init(Setting.tlsCertificate.help("PEM certificate chain; enables HTTPS with --tls-key.")))
    var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: .init(Setting.tlsKey.help("PEM private key.")))
    var tlsKey: String?

    func validate() throws {
        _ = try resolved()
    }

    func run() throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let (configuration, level) = try resolved()
        var logger = Logger(label: "popi")
        logger.logLevel = level
        do {
            try Service.run(configuration, logger: logger)
        } catch {
            throw CommandFailure("serve", error)
        }
    }

    /// Flags, then variables, then defaults, checked: a `ValidationError` (exit 64) names the bad one.
    func resolved(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (ServeConfiguration, Logger.Level) {
        func value<T>(_ flag: T?, _ setting: ServeSetting<T>) throws -> T? {
            do {
                return try setting.resolve(flag, environment: environment)
            } catch {
                throw ValidationError(error.description)
            }
        }
        func required<T>(_ flag: T?, _ setting: ServeSetting<T>) throws -> T {
            try value(flag, setting) ?? setting.defaultValue!
        }
        func seconds(_ flag: Double?, _ setting: ServeSetting<Double>) throws -> Duration {
            let seconds = try required(flag, setting)
            guard seconds > 0, seconds <= 86400 else { throw ValidationError("\(setting.flag) must be between 0 and 86400 seconds") }
            return .milliseconds(Int(seconds * 1000))
        }
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw ValidationError(message) }
        }

        var http = HTTPServerConfiguration()
        http.host = try required(host, Setting.host)
        http.port = try required(port, Setting.port)
        try check((1...65535).contains(http.port), "--port must be between 1 and 65535")
        http.maxConnections = try required(maxConnections, Setting.maxConnections)
        try check(http.maxConnections > 0, "--max-connections must be positive")
        http.limits.maxBodyBytes = try required(maxBodyBytes, Setting.maxBodyBytes)
        http.limits.maxHeaderBytes = try required(maxHeaderBytes, Setting.maxHeaderBytes)
        try check(http.limits.maxBodyBytes >= 0 && http.limits.maxHeaderBytes >= 256,
                  "--max-body-bytes must be >= 0 and --max-header-bytes >= 256")
        http.headerTimeout = try seconds(headerTimeout, Setting.headerTimeout)
        http.bodyIdleTimeout = try seconds(bodyTimeout, Setting.bodyTimeout)
        http.keepAliveTimeout = try seconds(keepAliveTimeout, Setting.keepAliveTimeout)
        http.writeTimeout = try seconds(writeTimeout, Setting.writeTimeout)
        switch (try value(tlsCertificate, Setting.tlsCertificate), try value(tlsKey, Setting.tlsKey)) {
        case let (certificate?, key?): http.tls = TLSConfiguration(certificatePath: certificate, privateKeyPath: key)
        case (nil, nil): http.tls = nil
        default: throw ValidationError("--tls-cert and --tls-key go together")
        }

        var configuration = ServeConfiguration(
            http: http,
            dataDirectory: URL(fileURLWithPath: try required(dataDirectory, Setting.dataDirectory), isDirectory: true),
            databaseURL: environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 },
            modelPath: URL(fileURLWithPath: try required(model, Setting.model)))
        configuration.shutdownGracePeriod = try seconds(shutdownGrace, Setting.shutdownGrace)
        configuration.threads = try value(threads, Setting.threads)
        if let threads = configuration.threads { try check((1...256).contains(threads), "--threads must be between 1 and 256") }
        configuration.chatTemplate = try value(chatTemplate, Setting.chatTemplate)
        configuration.workers = try required(workers, Setting.workers)
        try check((0...64).contains(configuration.workers), "--workers must be between 0 and 64")
        configuration.dev = dev
        configuration.upstreamsFile = try value(upstreamsFile, Setting.upstreamsFile)
        configuration.upstreamSpecs = upstreams
        configuration.summarizerAdapterPath = try value(summarizerAdapter, Setting.summarizerAdapter)
        configuration.generatorAdapterPath = try value(generatorAdapter, Setting.generatorAdapter)

        var api = APIConfiguration()
        api.maxBodyBytes = http.limits.maxBodyBytes
        api.rateLimitPerSecond = try required(rateLimit, Setting.rateLimit)
        api.rateLimitBurst = try required(rateBurst, Setting.rateBurst)
        try check(api.rateLimitPerSecond > 0 && api.rateLimitBurst >= 1, "--rate-limit must be > 0 and --rate-burst >= 1")
        api.maxConcurrentGenerations = try required(maxConcurrentGenerations, Setting.maxConcurrentGenerations)
        api.generationQueue = try required(generationQueue, Setting.generationQueue)
        try check((1...256).contains(api.maxConcurrentGenerations) && (0...100_000).contains(api.generationQueue),
                  "--max-concurrent-generations must be 1-256 and --generation-queue 0-100000")
        api.maxPromptTokens = try required(maxPromptTokens, Setting.maxPromptTokens)
        try check((16...1_000_000).contains(api.maxPromptTokens), "--max-prompt-tokens must be 16-1000000")
        api.maxGenerationTokens = try required(maxGenerationTokens, Setting.maxGenerationTokens)
        try check((1...1_000_000).contains(api.maxGenerationTokens), "--max-generation-tokens must be 1-1000000")
        api.maxBatchEvents = try required(maxBatchEvents, Setting.maxBatchEvents)
        try check((1...100_000).contains(api.maxBatchEvents), "--max-batch-events must be 1-100000")
        // A trained summarizer writes a good summary in one sample, so it needs no best-of-N search.
        api.summary.candidates = try value(candidates, Setting.candidates)
            ?? (configuration.summarizerAdapterPath == nil ? APIConfiguration().summary.candidates : 1)
        try check((1...64).contains(api.summary.candidates), "--candidates must be between 1 and 64")
        api.refreshDebounceSeconds = try required(refreshDebounce, Setting.refreshDebounce)
        try check(api.refreshDebounceSeconds >= 0 && api.refreshDebounceSeconds <= api.refreshMaxDelaySeconds,
                  "--refresh-debounce must be 0-\(Int(api.refreshMaxDelaySeconds)) seconds")
        api.maxQueuedRefreshesPerTenant = try required(refreshQueuePerTenant, Setting.refreshQueuePerTenant)
        try check((1...10_000_000).contains(api.maxQueuedRefreshesPerTenant), "--refresh-queue-per-tenant must be 1-10000000")
        configuration.api = api

        guard let level = Logger.Level(rawValue: try required(logLevel, Setting.logLevel)) else {
            throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical")
        }
        return (configuration, level)
    }
}

extension Serve {
    /// Every `popi serve` setting, with its default taken from the configuration type that owns it.
    enum Setting {
        static let http = HTTPServerConfiguration(), api = APIConfiguration(), serve = ServeConfiguration.defaults

        static let host = ServeSetting("--host", "POPI_HOST", default: http.host)
        static let port = ServeSetting("--port", "POPI_PORT", default: http.port)
        static let dataDirectory = ServeSetting("--data-dir", "POPI_DATA_DIR", default: serve.dataDirectory.relativePath)
        static let model = ServeSetting("--model", "POPI_MODEL", default: RuntimeOptions.defaultModelPath)
        static let threads = ServeSetting<Int>("--threads", "POPI_THREADS", default: nil, shown: "cores")
        static let chatTemplate = ServeSetting<String>("--chat-template", "POPI_CHAT_TEMPLATE", default: nil, shown: "from the file")
        static let dev = ServeSetting("--dev", nil, default: false, shown: "off (`make run`: on)")
        static let workers = ServeSetting("--workers", "POPI_WORKERS", default: serve.workers)
        static let candidates = ServeSetting<Int>("--candidates", "POPI_CANDIDATES", default: nil,
                                                  shown: "`\(api.summary.candidates)` (`1` with `--summarizer-adapter`)")
        static let summarizerAdapter = ServeSetting<String>("--summarizer-adapter", "POPI_SUMMARIZER_ADAPTER", default: nil)
        static let generatorAdapter = ServeSetting<String>("--generator-adapter", "POPI_GENERATOR_ADAPTER", default: nil)
        static let refreshDebounce = ServeSetting("--refresh-debounce", "POPI_REFRESH_DEBOUNCE", default: api.refreshDebounceSeconds)
        static let refreshQueuePerTenant = ServeSetting("--refresh-queue-per-tenant", "POPI_REFRESH_QUEUE_PER_TENANT",
                                                        default: api.maxQueuedRefreshesPerTenant)
        static let rateLimit = ServeSetting("--rate-limit", "POPI_RATE_LIMIT", default: api.rateLimitPerSecond)
        static let rateBurst = ServeSetting("--rate-burst", "POPI_RATE_BURST", default: api.rateLimitBurst)
        static let maxConcurrentGenerations = ServeSetting("--max-concurrent-generations", "POPI_MAX_CONCURRENT_GENERATIONS",
                                                          default: api.maxConcurrentGenerations)
        static let generationQueue = ServeSetting("--generation-queue", "POPI_GENERATION_QUEUE", default: api.generationQueue)
        static let maxPromptTokens = ServeSetting("--max-prompt-tokens", "POPI_MAX_PROMPT_TOKENS", default: api.maxPromptTokens)
        static let maxGenerationTokens = ServeSetting("--max-generation-tokens", "POPI_MAX_GENERATION_TOKENS",
                                                     default: api.maxGenerationTokens)
        static let maxBatchEvents = ServeSetting("--max-batch-events", "POPI_MAX_BATCH_EVENTS", default: api.maxBatchEvents)
        static let upstreamsFile = ServeSetting<String>("--upstreams-file", "POPI_UPSTREAMS_FILE", default: nil)
        static let upstream = ServeSetting<String>("--upstream", nil, default: nil)
        static let logLevel = ServeSetting("--log-level", "POPI_LOG_LEVEL", default: "info")
        static let maxConnections = ServeSetting("--max-connections", "POPI_MAX_CONNECTIONS", default: http.maxConnections)
        static let maxBodyBytes = ServeSetting("--max-body-bytes", "POPI_MAX_BODY_BYTES", default: http.limits.maxBodyBytes)
        static let maxHeaderBytes = ServeSetting("--max-header-bytes", "POPI_MAX_HEADER_BYTES", default: http.limits.maxHeaderBytes)
        static let headerTimeout = ServeSetting("--header-timeout", "POPI_HEADER_TIMEOUT", default: http.headerTimeout.seconds)
        static let bodyTimeout = ServeSetting("--body-timeout", "POPI_BODY_TIMEOUT", default: http.bodyIdleTimeout.seconds)
        static let keepAliveTimeout = ServeSetting("--keep-alive-timeout", "POPI_KEEP_ALIVE_TIMEOUT", default: http.keepAliveTimeout.seconds)
        static let writeTimeout = ServeSetting("--write-timeout", "POPI_WRITE_TIMEOUT", default: http.writeTimeout.seconds)
        static let shutdownGrace = ServeSetting("--shutdown-grace", "POPI_SHUTDOWN_GRACE", default: serve.shutdownGracePeriod.seconds)
        static let tlsCertificate = ServeSetting<String>("--tls-cert", "POPI_TLS_CERT", default: nil)
        static let tlsKey = ServeSetting<String>("--tls-key", "POPI_TLS_KEY", default: nil)

        /// The README's configuration table, row by row, in its order: the flags above, and the
        /// variables read beside them (the database's).
        static var documented: [ServeSettingRow] {
            [host.row, port.row, dataDirectory.row,
             ServeSettingRow(flag: "—", variable: "`DATABASE_URL`", shownDefault: "unset"),
             ServeSettingRow(flag: "—", variable: "`POPI_DB_POOL_SIZE`", shownDefault: "`\(DatabaseSettings.defaultPoolSize)`"),
             ServeSettingRow(flag: "—", variable: "`POPI_PG_BINDIR`", shownDefault: "found"),
             model.row, threads.row, chatTemplate.row, dev.row, workers.row, candidates.row, summarizerAdapter.row,
             generatorAdapter.row, refreshDebounce.row, refreshQueuePerTenant.row, rateLimit.row, rateBurst.row, maxConcurrentGenerations.row,
             generationQueue.row, maxPromptTokens.row, maxGenerationTokens.row, maxBatchEvents.row, upstreamsFile.row,
             upstream.row, logLevel.row, maxConnections.row, maxBodyBytes.row, maxHeaderBytes.row, headerTimeout.row,
             bodyTimeout.row, keepAliveTimeout.row, writeTimeout.row, shutdownGrace.row, tlsCertificate.row, tlsKey.row]
        }
    }
}

private extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
