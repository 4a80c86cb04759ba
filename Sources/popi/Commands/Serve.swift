import App
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

    private var certificatePath: String? { tlsCertificate ?? ProcessInfo.processInfo.environment["POPI_TLS_CERT"] }
    private var keyPath: String? { tlsKey ?? ProcessInfo.processInfo.environment["POPI_TLS_KEY"] }

    func validate() throws {
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
        let configuration = ServeConfiguration(
            host: host, port: port,
            dataDirectory: URL(fileURLWithPath: dataDirectory, isDirectory: true),
            databaseURL: databaseURL,
            modelPath: URL(fileURLWithPath: model),
            http: httpOptions)
        do {
            try Service.run(configuration, logger: Logger(label: "popi"))
        } catch {
            throw CommandFailure("serve", error)
        }
    }
}

/// A numeric environment variable, nil when unset or not a number.
private func env<T: LosslessStringConvertible>(_ name: String) -> T? {
    ProcessInfo.processInfo.environment[name].flatMap { T($0) }
}
