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

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535") }
    }

    func run() throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let environment = ProcessInfo.processInfo.environment
        let databaseURL = environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let configuration = ServeConfiguration(
            host: host, port: port,
            dataDirectory: URL(fileURLWithPath: dataDirectory, isDirectory: true),
            databaseURL: databaseURL,
            modelPath: URL(fileURLWithPath: model))
        do {
            try Service.run(configuration, logger: Logger(label: "popi"))
        } catch {
            throw CommandFailure("serve", error)
        }
    }
}
