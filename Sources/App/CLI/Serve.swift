import ArgumentParser
import Crypto
import Foundation
import HTTPServer
import Logging
import Personalization
import Store

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
    @Option(name: .customLong("prefix-cache-mib"), help: .init(Setting.prefixCacheMiB.help("MiB of KV memory for each user's last prompt, which their next request reuses (0: off).")))
    var prefixCacheMiB: Int?
    @Option(name: .customLong("chat-template"), help: .init(Setting.chatTemplate.help("chatml or llama3, for a model whose template popi does not recognise.")))
    var chatTemplate: String?
    @Flag(help: "Create tenant dev and print a key (read, write, generate) at start, revoking earlier ones (loopback --host, local database).")
    var dev = false
    @Flag(name: .customLong("dev-allow-remote-database"), help: "Let --dev use a DATABASE_URL on another host.")
    var devAllowRemoteDatabase = false
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
    @Option(name: .customLong("refresh-lease"), help: .init(Setting.refreshLease.help("Seconds a refresh worker holds a job without renewing it: how soon a dead worker's job runs again.")))
    var refreshLease: Double?
    @Option(name: .customLong("rate-limit"), help: .init(Setting.rateLimit.help("Requests per second per API key, sustained.")))
    var rateLimit: Double?
    @Option(name: .customLong("rate-burst"), help: .init(Setting.rateBurst.help("Requests per API key at once.")))
    var rateBurst: Int?
    @Option(name: .customLong("auth-failure-rate"), help: .init(Setting.authFailureRate.help("Failed authentications per second per client address, sustained.")))
    var authFailureRate: Double?
    @Option(name: .customLong("auth-failure-burst"), help: .init(Setting.authFailureBurst.help("Failed authentications per client address at once.")))
    var authFailureBurst: Int?
    @Option(name: .customLong("max-concurrent-generations"), help: .init(Setting.maxConcurrentGenerations.help("In-process generations at once.")))
    var maxConcurrentGenerations: Int?
    @Option(name: .customLong("generation-queue"), help: .init(Setting.generationQueue.help("Generations that may wait for a slot before 503.")))
    var generationQueue: Int?
    @Option(name: .customLong("max-upstream-calls"), help: .init(Setting.maxUpstreamCalls.help("Upstream API calls at once (as many more may wait).")))
    var maxUpstreamCalls: Int?
    @Option(name: .customLong("tenant-share"), help: .init(Setting.tenantShare.help("Part (0-1] of the generation and upstream slots and queues one tenant may hold.")))
    var tenantShare: Double?
    @Option(name: .customLong("max-prompt-tokens"), help: .init(Setting.maxPromptTokens.help("Longest prompt in tokens, else 400.")))
    var maxPromptTokens: Int?
    @Option(name: .customLong("max-generation-tokens"), help: .init(Setting.maxGenerationTokens.help("Largest max_tokens a generation may ask for, else 400.")))
    var maxGenerationTokens: Int?
    @Option(name: .customLong("max-batch-events"), help: .init(Setting.maxBatchEvents.help("Most feedback events per POST.")))
    var maxBatchEvents: Int?
    @Option(name: .customLong("max-json-depth"), help: .init(Setting.maxJSONDepth.help("Deepest nesting of arrays and objects in a request body, else 400.")))
    var maxJSONDepth: Int?
    @Option(name: .customLong("max-user-events"), help: .init(Setting.maxUserEvents.help("Feedback events one user may store.")))
    var maxUserEvents: Int64?
    @Option(name: .customLong("max-user-bytes"), help: .init(Setting.maxUserBytes.help("Bytes of feedback one user may store.")))
    var maxUserBytes: Int64?
    @Option(name: .customLong("max-tenant-events"), help: .init(Setting.maxTenantEvents.help("Feedback events one tenant may store.")))
    var maxTenantEvents: Int64?
    @Option(name: .customLong("max-tenant-bytes"), help: .init(Setting.maxTenantBytes.help("Bytes of feedback one tenant may store.")))
    var maxTenantBytes: Int64?
    @Option(name: .customLong("upstreams-file"), help: .init(Setting.upstreamsFile.help("JSON file of OpenAI-compatible upstreams.")))
    var upstreamsFile: String?
    @Option(name: .customLong("upstream"), help: "An upstream as name=…,base_url=…,api_key_env=…,models=a+b:upstream-model (repeatable).")
    var upstreams: [String] = []
    @Option(name: .customLong("log-level"), help: .init(Setting.logLevel.help("trace, debug, info, notice, warning, error.")))
    var logLevel: String?
    @Option(name: .customLong("max-connections"), help: .init(Setting.maxConnections.help("Open connections before new ones get 503.")))
    var maxConnections: Int?
    @Option(name: .customLong("max-connections-per-address"),
            help: .init(Setting.maxConnectionsPerAddress.help("Open connections from one IP address before its new ones get 503.")))
    var maxConnectionsPerAddress: Int?
    @Option(name: .customLong("max-body-bytes"), help: .init(Setting.maxBodyBytes.help("Largest request body, else 413.")))
    var maxBodyBytes: Int?
    @Option(name: .customLong("max-header-bytes"), help: .init(Setting.maxHeaderBytes.help("Largest header section, else 431.")))
    var maxHeaderBytes: Int?
    @Option(name: .customLong("header-timeout"), help: .init(Setting.headerTimeout.help("Seconds to receive a request head.")))
    var headerTimeout: Double?
    @Option(name: .customLong("body-timeout"), help: .init(Setting.bodyTimeout.help("Seconds a request body may pause.")))
    var bodyTimeout: Double?
    @Option(name: .customLong("body-total-timeout"), help: .init(Setting.bodyTotalTimeout.help("Seconds a whole request body may take.")))
    var bodyTotalTimeout: Double?
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
        LoggingSystem.bootstrap { label in StandardErrorLogHandler(label: label) }
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
        try check((1...1_000_000).contains(http.maxConnections), "--max-connections must be between 1 and 1000000")
        http.maxConnectionsPerAddress = try required(maxConnectionsPerAddress, Setting.maxConnectionsPerAddress)
        try check((1...1_000_000).contains(http.maxConnectionsPerAddress), "--max-connections-per-address must be between 1 and 1000000")
        http.limits.maxBodyBytes = try required(maxBodyBytes, Setting.maxBodyBytes)
        http.limits.maxHeaderBytes = try required(maxHeaderBytes, Setting.maxHeaderBytes)
        try check(http.limits.maxBodyBytes >= 0 && http.limits.maxHeaderBytes >= 256,
                  "--max-body-bytes must be >= 0 and --max-header-bytes >= 256")
        http.headerTimeout = try seconds(headerTimeout, Setting.headerTimeout)
        http.bodyIdleTimeout = try seconds(bodyTimeout, Setting.bodyTimeout)
        http.bodyTotalTimeout = try seconds(bodyTotalTimeout, Setting.bodyTotalTimeout)
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
        configuration.prefixCacheMiB = try required(prefixCacheMiB, Setting.prefixCacheMiB)
        try check((0...1_048_576).contains(configuration.prefixCacheMiB), "--prefix-cache-mib must be between 0 and 1048576")
        configuration.chatTemplate = try value(chatTemplate, Setting.chatTemplate)
        configuration.workers = try required(workers, Setting.workers)
        try check((0...64).contains(configuration.workers), "--workers must be between 0 and 64")
        let lease = try required(refreshLease, Setting.refreshLease)
        // A renewal (every third of the lease) must land before it ends: below 5 s, one slow
        // database round trip would hand a job still being worked on to another worker.
        try check((5...3600).contains(lease), "--refresh-lease must be 5-3600 seconds")
        configuration.refreshLease = .milliseconds(Int(lease * 1000))
        configuration.dev = dev
        if dev {
            try check(LocalAddress.isLoopback(http.host),
                      "--dev prints a key at start: it needs a loopback --host (an address in 127.0.0.0/8, ::1 or localhost)")
            if let url = configuration.databaseURL, !devAllowRemoteDatabase {
                let database: DatabaseConfiguration
                do {
                    database = try DatabaseConfiguration(connectionString: url)
                } catch {
                    throw ValidationError("\(error)")
                }
                try check(LocalAddress.isLocal(database, environment: environment),
                          "--dev makes a key and revokes earlier ones in the database, and DATABASE_URL names a host that is not this machine (\(database.redactedDescription)); add --dev-allow-remote-database if that is meant")
            }
        }
        let file = try value(upstreamsFile, Setting.upstreamsFile)
        do {
            configuration.upstreams = try Service.parseUpstreams(upstreamsFile: file, specs: upstreams, environment: environment)
        } catch {
            throw ValidationError("\(error)")
        }
        configuration.summarizerAdapterPath = try value(summarizerAdapter, Setting.summarizerAdapter)
        configuration.generatorAdapterPath = try value(generatorAdapter, Setting.generatorAdapter)

        var api = APIConfiguration()
        api.maxBodyBytes = http.limits.maxBodyBytes
        api.rateLimitPerSecond = try required(rateLimit, Setting.rateLimit)
        api.rateLimitBurst = try required(rateBurst, Setting.rateBurst)
        // A token bucket waits 1/rate seconds for a token: the bounds keep that (and Retry-After) a finite number.
        try check(api.rateLimitPerSecond >= 0.001 && api.rateLimitPerSecond <= 1e9,
                  "--rate-limit must be between 0.001 and 1000000000 requests per second")
        try check((1...1_000_000_000).contains(api.rateLimitBurst), "--rate-burst must be between 1 and 1000000000")
        api.authFailureRatePerSecond = try required(authFailureRate, Setting.authFailureRate)
        try check(api.authFailureRatePerSecond >= 0.001 && api.authFailureRatePerSecond <= 1e9,
                  "--auth-failure-rate must be between 0.001 and 1000000000 per second")
        api.authFailureBurst = try required(authFailureBurst, Setting.authFailureBurst)
        try check((1...1_000_000_000).contains(api.authFailureBurst), "--auth-failure-burst must be between 1 and 1000000000")
        api.maxConcurrentGenerations = try required(maxConcurrentGenerations, Setting.maxConcurrentGenerations)
        api.generationQueue = try required(generationQueue, Setting.generationQueue)
        try check((1...256).contains(api.maxConcurrentGenerations) && (0...100_000).contains(api.generationQueue),
                  "--max-concurrent-generations must be 1-256 and --generation-queue 0-100000")
        api.maxUpstreamCalls = try required(maxUpstreamCalls, Setting.maxUpstreamCalls)
        try check((1...100_000).contains(api.maxUpstreamCalls), "--max-upstream-calls must be 1-100000")
        api.tenantShare = try required(tenantShare, Setting.tenantShare)
        try check(api.tenantShare > 0 && api.tenantShare <= 1, "--tenant-share must be more than 0 and at most 1")
        api.maxPromptTokens = try required(maxPromptTokens, Setting.maxPromptTokens)
        try check((16...1_000_000).contains(api.maxPromptTokens), "--max-prompt-tokens must be 16-1000000")
        api.maxGenerationTokens = try required(maxGenerationTokens, Setting.maxGenerationTokens)
        try check((1...1_000_000).contains(api.maxGenerationTokens), "--max-generation-tokens must be 1-1000000")
        api.maxBatchEvents = try required(maxBatchEvents, Setting.maxBatchEvents)
        try check((1...100_000).contains(api.maxBatchEvents), "--max-batch-events must be 1-100000")
        api.maxJSONDepth = try required(maxJSONDepth, Setting.maxJSONDepth)
        // Foundation's JSON parser refuses more than 512 levels on its own.
        try check((1...512).contains(api.maxJSONDepth), "--max-json-depth must be 1-512")
        api.storageQuota = StorageQuota(userEvents: try required(maxUserEvents, Setting.maxUserEvents),
                                        userBytes: try required(maxUserBytes, Setting.maxUserBytes),
                                        tenantEvents: try required(maxTenantEvents, Setting.maxTenantEvents),
                                        tenantBytes: try required(maxTenantBytes, Setting.maxTenantBytes))
        let quota = api.storageQuota
        try check([quota.userEvents, quota.userBytes, quota.tenantEvents, quota.tenantBytes].allSatisfy { $0 >= 1 },
                  "--max-user-events, --max-user-bytes, --max-tenant-events and --max-tenant-bytes must be at least 1")
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
        static let prefixCacheMiB = ServeSetting("--prefix-cache-mib", "POPI_PREFIX_CACHE_MIB", default: serve.prefixCacheMiB)
        static let threads = ServeSetting<Int>("--threads", "POPI_THREADS", default: nil, shown: "cores")
        static let chatTemplate = ServeSetting<String>("--chat-template", "POPI_CHAT_TEMPLATE", default: nil, shown: "from the file")
        static let dev = ServeSetting("--dev", nil, default: false, shown: "off (`make run`: on)")
        static let devAllowRemoteDatabase = ServeSetting("--dev-allow-remote-database", nil, default: false, shown: "off")
        static let workers = ServeSetting("--workers", "POPI_WORKERS", default: serve.workers)
        static let candidates = ServeSetting<Int>("--candidates", "POPI_CANDIDATES", default: nil,
                                                  shown: "`\(api.summary.candidates)` (`1` with `--summarizer-adapter`)")
        static let summarizerAdapter = ServeSetting<String>("--summarizer-adapter", "POPI_SUMMARIZER_ADAPTER", default: nil)
        static let generatorAdapter = ServeSetting<String>("--generator-adapter", "POPI_GENERATOR_ADAPTER", default: nil)
        static let refreshDebounce = ServeSetting("--refresh-debounce", "POPI_REFRESH_DEBOUNCE", default: api.refreshDebounceSeconds)
        static let refreshQueuePerTenant = ServeSetting("--refresh-queue-per-tenant", "POPI_REFRESH_QUEUE_PER_TENANT",
                                                        default: api.maxQueuedRefreshesPerTenant)
        static let refreshLease = ServeSetting("--refresh-lease", "POPI_REFRESH_LEASE", default: serve.refreshLease.seconds)
        static let rateLimit = ServeSetting("--rate-limit", "POPI_RATE_LIMIT", default: api.rateLimitPerSecond)
        static let rateBurst = ServeSetting("--rate-burst", "POPI_RATE_BURST", default: api.rateLimitBurst)
        static let authFailureRate = ServeSetting("--auth-failure-rate", "POPI_AUTH_FAILURE_RATE", default: api.authFailureRatePerSecond)
        static let authFailureBurst = ServeSetting("--auth-failure-burst", "POPI_AUTH_FAILURE_BURST", default: api.authFailureBurst)
        static let maxConcurrentGenerations = ServeSetting("--max-concurrent-generations", "POPI_MAX_CONCURRENT_GENERATIONS",
                                                          default: api.maxConcurrentGenerations)
        static let generationQueue = ServeSetting("--generation-queue", "POPI_GENERATION_QUEUE", default: api.generationQueue)
        static let maxUpstreamCalls = ServeSetting("--max-upstream-calls", "POPI_MAX_UPSTREAM_CALLS", default: api.maxUpstreamCalls)
        static let tenantShare = ServeSetting("--tenant-share", "POPI_TENANT_SHARE", default: api.tenantShare)
        static let maxPromptTokens = ServeSetting("--max-prompt-tokens", "POPI_MAX_PROMPT_TOKENS", default: api.maxPromptTokens)
        static let maxGenerationTokens = ServeSetting("--max-generation-tokens", "POPI_MAX_GENERATION_TOKENS",
                                                     default: api.maxGenerationTokens)
        static let maxBatchEvents = ServeSetting("--max-batch-events", "POPI_MAX_BATCH_EVENTS", default: api.maxBatchEvents)
        static let maxJSONDepth = ServeSetting("--max-json-depth", "POPI_MAX_JSON_DEPTH", default: api.maxJSONDepth)
        static let maxUserEvents = ServeSetting("--max-user-events", "POPI_MAX_USER_EVENTS", default: api.storageQuota.userEvents)
        static let maxUserBytes = ServeSetting("--max-user-bytes", "POPI_MAX_USER_BYTES", default: api.storageQuota.userBytes)
        static let maxTenantEvents = ServeSetting("--max-tenant-events", "POPI_MAX_TENANT_EVENTS", default: api.storageQuota.tenantEvents)
        static let maxTenantBytes = ServeSetting("--max-tenant-bytes", "POPI_MAX_TENANT_BYTES", default: api.storageQuota.tenantBytes)
        static let upstreamsFile = ServeSetting<String>("--upstreams-file", "POPI_UPSTREAMS_FILE", default: nil)
        static let upstream = ServeSetting<String>("--upstream", nil, default: nil)
        static let logLevel = ServeSetting("--log-level", "POPI_LOG_LEVEL", default: "info")
        static let maxConnections = ServeSetting("--max-connections", "POPI_MAX_CONNECTIONS", default: http.maxConnections)
        static let maxConnectionsPerAddress = ServeSetting("--max-connections-per-address", "POPI_MAX_CONNECTIONS_PER_ADDRESS",
                                                           default: http.maxConnectionsPerAddress)
        static let maxBodyBytes = ServeSetting("--max-body-bytes", "POPI_MAX_BODY_BYTES", default: http.limits.maxBodyBytes)
        static let maxHeaderBytes = ServeSetting("--max-header-bytes", "POPI_MAX_HEADER_BYTES", default: http.limits.maxHeaderBytes)
        static let headerTimeout = ServeSetting("--header-timeout", "POPI_HEADER_TIMEOUT", default: http.headerTimeout.seconds)
        static let bodyTimeout = ServeSetting("--body-timeout", "POPI_BODY_TIMEOUT", default: http.bodyIdleTimeout.seconds)
        static let bodyTotalTimeout = ServeSetting("--body-total-timeout", "POPI_BODY_TOTAL_TIMEOUT", default: http.bodyTotalTimeout.seconds)
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
             ServeSettingRow(flag: "—", variable: "`POPI_DATABASE_WAIT`", shownDefault: "`\(DatabaseSettings.serveStartupWait)`"),
             ServeSettingRow(flag: "—", variable: "`POPI_PG_BINDIR`", shownDefault: "found"),
             model.row, threads.row, prefixCacheMiB.row, chatTemplate.row, dev.row, devAllowRemoteDatabase.row, workers.row, candidates.row,
             summarizerAdapter.row, generatorAdapter.row, refreshDebounce.row, refreshQueuePerTenant.row, refreshLease.row,
             rateLimit.row, rateBurst.row, authFailureRate.row, authFailureBurst.row, maxConcurrentGenerations.row,
             generationQueue.row, maxUpstreamCalls.row, tenantShare.row,
             maxPromptTokens.row, maxGenerationTokens.row, maxBatchEvents.row, maxJSONDepth.row, maxUserEvents.row, maxUserBytes.row,
             maxTenantEvents.row, maxTenantBytes.row, upstreamsFile.row, upstream.row, logLevel.row, maxConnections.row,
             maxConnectionsPerAddress.row, maxBodyBytes.row, maxHeaderBytes.row, headerTimeout.row, bodyTimeout.row,
             bodyTotalTimeout.row, keepAliveTimeout.row, writeTimeout.row, shutdownGrace.row, tlsCertificate.row, tlsKey.row]
        }
    }
}

private extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
