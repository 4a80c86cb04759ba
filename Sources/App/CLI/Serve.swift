import ArgumentParser
import Foundation
import Logging

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP service.")

    @Option(help: "Address to listen on (env POPI_HOST).")
    var host: String = ProcessInfo.processInfo.environment["POPI_HOST"] ?? "127.0.0.1"

    @Option(help: "TCP port (env POPI_PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["POPI_PORT"] ?? "") ?? 8080

    @Option(name: .customLong("data-dir"), help: "Data folder; holds the embedded database (env POPI_DATA_DIR).")
    var dataDirectory: String = ProcessInfo.processInfo.environment["POPI_DATA_DIR"] ?? "data"

    @Option(help: "GGUF model file (env POPI_MODEL).")
    var model: String = ProcessInfo.processInfo.environment["POPI_MODEL"] ?? "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(name: .customLong("max-connections"), help: "Open connections before new ones get 503 (env POPI_MAX_CONNECTIONS).")
    var maxConnections: Int = env("POPI_MAX_CONNECTIONS") ?? 4096

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body, else 413 (env POPI_MAX_BODY_BYTES).")
    var maxBodyBytes: Int = env("POPI_MAX_BODY_BYTES") ?? 1 << 20

    @Option(name: .customLong("max-header-bytes"), help: "Largest header section, else 431 (env POPI_MAX_HEADER_BYTES).")
    var maxHeaderBytes: Int = env("POPI_MAX_HEADER_BYTES") ?? 32 * 1024

    @Option(name: .customLong("header-timeout"), help: "Seconds to receive a request head (env POPI_HEADER_TIMEOUT).")
    var headerTimeout: Double = env("POPI_HEADER_TIMEOUT") ?? 10

    @Option(name: .customLong("body-timeout"), help: "Seconds a request body may pause (env POPI_BODY_TIMEOUT).")
    var bodyTimeout: Double = env("POPI_BODY_TIMEOUT") ?? 30

    @Option(name: .customLong("keep-alive-timeout"), help: "Seconds an idle connection stays open (env POPI_KEEP_ALIVE_TIMEOUT).")
    var keepAliveTimeout: Double = env("POPI_KEEP_ALIVE_TIMEOUT") ?? 60

    @Option(name: .customLong("write-timeout"), help: "Seconds a client may stall reading a response (env POPI_WRITE_TIMEOUT).")
    var writeTimeout: Double = env("POPI_WRITE_TIMEOUT") ?? 30

    @Option(name: .customLong("shutdown-grace"), help: "Seconds in-flight requests get on SIGTERM/SIGINT (env POPI_SHUTDOWN_GRACE).")
    var shutdownGrace: Double = env("POPI_SHUTDOWN_GRACE") ?? 10

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain; enables HTTPS with --tls-key (env POPI_TLS_CERT).")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key (env POPI_TLS_KEY).")
    var tlsKey: String?

    @Option(help: "Engine threads (env POPI_THREADS; default one per core).")
    var threads: Int?

    @Option(name: .customLong("chat-template"), help: "chatml or llama3, for a model whose template popi does not recognise (env POPI_CHAT_TEMPLATE).")
    var chatTemplate: String?

    @Option(help: "Summary refresh workers in this process (env POPI_WORKERS).")
    var workers: Int = env("POPI_WORKERS") ?? 1

    @Flag(help: "Create a development tenant and print a key with every scope at start (loopback --host only).")
    var dev = false

    @Option(name: .customLong("upstreams-file"), help: "JSON file of OpenAI-compatible upstreams (env POPI_UPSTREAMS_FILE).")
    var upstreamsFile: String?

    @Option(name: .customLong("upstream"), help: "An upstream as name=…,base_url=…,api_key_env=…,models=a+b:upstream-model (repeatable).")
    var upstreams: [String] = []

    @Option(name: .customLong("rate-limit"), help: "Requests per second per API key, sustained (env POPI_RATE_LIMIT).")
    var rateLimit: Double = env("POPI_RATE_LIMIT") ?? 20

    @Option(name: .customLong("rate-burst"), help: "Requests per API key at once (env POPI_RATE_BURST).")
    var rateBurst: Int = env("POPI_RATE_BURST") ?? 40

    @Option(name: .customLong("max-concurrent-generations"), help: "In-process generations at once (env POPI_MAX_CONCURRENT_GENERATIONS).")
    var maxConcurrentGenerations: Int = env("POPI_MAX_CONCURRENT_GENERATIONS") ?? 2

    @Option(name: .customLong("generation-queue"), help: "Generations that may wait for a slot before 503 (env POPI_GENERATION_QUEUE).")
    var generationQueue: Int = env("POPI_GENERATION_QUEUE") ?? 32

    @Option(name: .customLong("max-prompt-tokens"), help: "Longest prompt in tokens, else 400 (env POPI_MAX_PROMPT_TOKENS).")
    var maxPromptTokens: Int = env("POPI_MAX_PROMPT_TOKENS") ?? 4096

    @Option(name: .customLong("max-generation-tokens"), help: "Largest max_tokens a generation may ask for, else 400 (env POPI_MAX_GENERATION_TOKENS).")
    var maxGenerationTokens: Int = env("POPI_MAX_GENERATION_TOKENS") ?? 2048

    @Option(name: .customLong("max-batch-events"), help: "Most feedback events per POST (env POPI_MAX_BATCH_EVENTS).")
    var maxBatchEvents: Int = env("POPI_MAX_BATCH_EVENTS") ?? 1000

    @Option(name: .customLong("summarizer-adapter"), help: "LoRA adapter from `popi train summarizer`: refreshes write summaries with it (env POPI_SUMMARIZER_ADAPTER).")
    var summarizerAdapter: String?

    @Option(name: .customLong("generator-adapter"), help: "LoRA adapter from `popi train generator`: in-process generations use it (env POPI_GENERATOR_ADAPTER).")
    var generatorAdapter: String?

    @Option(help: "Candidate summaries per refresh, best-of-N under POPI's reward (env POPI_CANDIDATES; default 8, or 1 with --summarizer-adapter).")
    var candidates: Int?

    @Option(name: .customLong("refresh-debounce"), help: "Seconds new feedback waits for more before a refresh (env POPI_REFRESH_DEBOUNCE).")
    var refreshDebounce: Double = env("POPI_REFRESH_DEBOUNCE") ?? 2

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (env POPI_LOG_LEVEL).")
    var logLevel: String = ProcessInfo.processInfo.environment["POPI_LOG_LEVEL"] ?? "info"

    private var engineThreads: Int? { threads ?? env("POPI_THREADS") }

    private var summarizerAdapterPath: String? {
        summarizerAdapter ?? ProcessInfo.processInfo.environment["POPI_SUMMARIZER_ADAPTER"].flatMap { $0.isEmpty ? nil : $0 }
    }
    private var generatorAdapterPath: String? {
        generatorAdapter ?? ProcessInfo.processInfo.environment["POPI_GENERATOR_ADAPTER"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A trained summarizer writes a good summary in one sample, so it needs no best-of-8 search.
    private var candidateCount: Int { candidates ?? env("POPI_CANDIDATES") ?? (summarizerAdapterPath == nil ? 8 : 1) }

    private var certificatePath: String? { tlsCertificate ?? ProcessInfo.processInfo.environment["POPI_TLS_CERT"] }
    private var keyPath: String? { tlsKey ?? ProcessInfo.processInfo.environment["POPI_TLS_KEY"] }

    /// Numeric variables: one that is set but does not parse stops popi instead of silently
    /// meaning the default.
    private static let integerVariables = [
        "POPI_PORT", "POPI_MAX_CONNECTIONS", "POPI_MAX_BODY_BYTES", "POPI_MAX_HEADER_BYTES", "POPI_THREADS", "POPI_WORKERS",
        "POPI_RATE_BURST", "POPI_MAX_CONCURRENT_GENERATIONS", "POPI_GENERATION_QUEUE", "POPI_MAX_PROMPT_TOKENS",
        "POPI_MAX_GENERATION_TOKENS", "POPI_MAX_BATCH_EVENTS", "POPI_CANDIDATES",
    ]
    private static let decimalVariables = [
        "POPI_HEADER_TIMEOUT", "POPI_BODY_TIMEOUT", "POPI_KEEP_ALIVE_TIMEOUT", "POPI_WRITE_TIMEOUT", "POPI_SHUTDOWN_GRACE",
        "POPI_RATE_LIMIT", "POPI_REFRESH_DEBOUNCE",
    ]

    func validate() throws {
        let environment = ProcessInfo.processInfo.environment
        for name in Self.integerVariables where environment[name].map({ Int($0) == nil }) == true {
            throw ValidationError("\(name) must be an integer")
        }
        for name in Self.decimalVariables where environment[name].map({ Double($0) == nil }) == true {
            throw ValidationError("\(name) must be a number")
        }
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535") }
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be positive") }
        guard maxBodyBytes >= 0, maxHeaderBytes >= 256 else {
            throw ValidationError("--max-body-bytes must be >= 0 and --max-header-bytes >= 256")
        }
        for (name, value) in [("--header-timeout", headerTimeout), ("--body-timeout", bodyTimeout),
                              ("--keep-alive-timeout", keepAliveTimeout), ("--write-timeout", writeTimeout),
                              ("--shutdown-grace", shutdownGrace)] where !(value > 0 && value <= 86400) {
            throw ValidationError("\(name) must be between 0 and 86400 seconds")
        }
        guard (certificatePath == nil) == (keyPath == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        if let threads = engineThreads, !(1...256).contains(threads) { throw ValidationError("--threads must be between 1 and 256") }
        guard (0...64).contains(workers) else { throw ValidationError("--workers must be between 0 and 64") }
        guard rateLimit > 0, rateBurst >= 1 else { throw ValidationError("--rate-limit must be > 0 and --rate-burst >= 1") }
        guard (1...256).contains(maxConcurrentGenerations), (0...100_000).contains(generationQueue) else {
            throw ValidationError("--max-concurrent-generations must be 1-256 and --generation-queue 0-100000")
        }
        guard (16...1_000_000).contains(maxPromptTokens) else { throw ValidationError("--max-prompt-tokens must be 16-1000000") }
        guard (1...1_000_000).contains(maxGenerationTokens) else { throw ValidationError("--max-generation-tokens must be 1-1000000") }
        guard (1...100_000).contains(maxBatchEvents) else { throw ValidationError("--max-batch-events must be 1-100000") }
        guard (1...64).contains(candidateCount) else { throw ValidationError("--candidates must be between 1 and 64") }
        let maxDelay = APIConfiguration().refreshMaxDelaySeconds
        guard refreshDebounce >= 0, refreshDebounce <= maxDelay else {
            throw ValidationError("--refresh-debounce must be 0-\(Int(maxDelay)) seconds")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical") }
    }

    private var httpOptions: HTTPOptions {
        var options = HTTPOptions()
        options.maxConnections = maxConnections
        options.maxBodyBytes = maxBodyBytes
        options.maxHeaderBytes = maxHeaderBytes
        options.headerTimeout = .milliseconds(Int(headerTimeout * 1000))
        options.bodyIdleTimeout = .milliseconds(Int(bodyTimeout * 1000))
        options.keepAliveTimeout = .milliseconds(Int(keepAliveTimeout * 1000))
        options.writeTimeout = .milliseconds(Int(writeTimeout * 1000))
        options.shutdownGracePeriod = .milliseconds(Int(shutdownGrace * 1000))
        options.tlsCertificatePath = certificatePath
        options.tlsKeyPath = keyPath
        return options
    }

    func run() throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let environment = ProcessInfo.processInfo.environment
        let databaseURL = environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        var configuration = ServeConfiguration(
            host: host, port: port,
            dataDirectory: URL(fileURLWithPath: dataDirectory, isDirectory: true),
            databaseURL: databaseURL,
            modelPath: URL(fileURLWithPath: model),
            http: httpOptions)
        configuration.threads = engineThreads
        configuration.chatTemplate = chatTemplate ?? ProcessInfo.processInfo.environment["POPI_CHAT_TEMPLATE"]
        configuration.workers = workers
        configuration.dev = dev
        configuration.upstreamsFile = upstreamsFile ?? ProcessInfo.processInfo.environment["POPI_UPSTREAMS_FILE"]
        configuration.upstreamSpecs = upstreams
        configuration.api.maxBodyBytes = maxBodyBytes
        configuration.api.rateLimitPerSecond = rateLimit
        configuration.api.rateLimitBurst = rateBurst
        configuration.api.maxConcurrentGenerations = maxConcurrentGenerations
        configuration.api.generationQueue = generationQueue
        configuration.api.maxPromptTokens = maxPromptTokens
        configuration.api.maxBatchEvents = maxBatchEvents
        configuration.api.maxGenerationTokens = maxGenerationTokens
        configuration.api.summary.candidates = candidateCount
        configuration.summarizerAdapterPath = summarizerAdapterPath
        configuration.generatorAdapterPath = generatorAdapterPath
        configuration.api.refreshDebounceSeconds = refreshDebounce
        var logger = Logger(label: "popi")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        do {
            try Service.run(configuration, logger: logger)
        } catch {
            throw CommandFailure("serve", error)
        }
    }
}

/// A numeric environment variable, nil when unset or not a number.
private func env<T: LosslessStringConvertible>(_ name: String) -> T? {
    ProcessInfo.processInfo.environment[name].flatMap { T($0) }
}
