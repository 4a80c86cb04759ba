import App
import ArgumentParser
import Foundation
import Logging
import Store

struct BenchStore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Feedback ingest through the store vs COPY through psql, same rows, same database.",
        discussion: """
            Uses DATABASE_URL, or the embedded cluster in --data-dir when it is unset. Writes under a \
            tenant of its own, deleted at the end.
            """)

    @Option(name: .customLong("data-dir"), help: "Data folder holding the embedded database (env POPI_DATA_DIR).")
    var dataDirectory: String = ProcessInfo.processInfo.environment["POPI_DATA_DIR"] ?? "data"

    @Option(help: "Concurrent writers.")
    var writers = 4

    @Option(name: .customLong("batch-size"), help: "Events per ingest call.")
    var batchSize = 100

    @Option(help: "Batches per writer and round.")
    var batches = 100

    @Option(help: "Rounds (alternating which side goes first); medians are reported.")
    var rounds = 5

    func validate() throws {
        guard (1...64).contains(writers) else { throw ValidationError("--writers must be between 1 and 64") }
        guard (1...1000).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 1000") }
        guard batches >= 1, rounds >= 1 else { throw ValidationError("--batches and --rounds must be at least 1") }
    }

    func run() throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "popi")
        logger.logLevel = .warning
        do {
            var settings = try DatabaseSettings.fromEnvironment(dataDirectory: URL(fileURLWithPath: dataDirectory, isDirectory: true))
            settings.poolSize = max(settings.poolSize, writers)
            let database = try ServiceDatabase.open(settings, logger: logger)
            defer { database.close(stopAdoptedCluster: false, logger: logger) }
            var benchmark = StoreBenchmark()
            benchmark.writers = writers
            benchmark.batchSize = batchSize
            benchmark.batchesPerWriter = batches
            benchmark.rounds = rounds
            print("popi bench store: \(writers) writers × \(batches) batches × \(batchSize) events per round, \(rounds) rounds, \(database.description)")
            let store = database.store
            let configured = benchmark
            let result = try runBlocking {
                try await configured.run(store: store) { line in print(line) }
            }
            print(String(format: "median: popi ingest %.0f events/s, psql COPY %.0f rows/s, ratio %.1f%% (goal ≥ 50%%)",
                         result.medianIngestRate, result.medianCopyRate, result.medianRatio * 100))
        } catch {
            throw CommandFailure("bench store", error)
        }
    }
}
