import ArgumentParser
import Crypto
import Foundation
import Personalization

/// `popi train`: POPI's training of the summarizer (GRPO) and of the generator (DPO).
struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train LoRA adapters on POPI's objective.",
        subcommands: [TrainSummarizer.self, TrainGenerator.self])

    /// Where the users come from: a dataset file, or a tenant's users in the database.
    struct Source: ParsableArguments {
        @Option(help: "Dataset of training users: one per line (user_id, signals, held_out; optional statements, contents, persona).")
        var dataset: String?

        @Option(help: "Train on this tenant's own users, read from the database (DATABASE_URL or the embedded one in --data-dir).")
        var tenant: String?

        @Option(name: .customLong("data-dir"), help: "Data folder holding the embedded database (env POPI_DATA_DIR), with --tenant.")
        var dataDirectory: String = ProcessInfo.processInfo.environment["POPI_DATA_DIR"] ?? "data"

        func validate() throws {
            guard (dataset == nil) != (tenant == nil) else { throw ValidationError("give either --dataset or --tenant") }
        }

        /// The users and the SHA-256 of their dataset lines. A tenant's users are written once to
        /// OUT.users.jsonl, and a resumed run reads them from there rather than from the database.
        func load(output: String, resume: Bool) throws -> (users: [TrainingUser], digest: [UInt8]) {
            let path: String
            if let dataset {
                path = dataset
            } else {
                path = output + ".users.jsonl"
                if !(resume && FileManager.default.fileExists(atPath: path)) {
                    let tenant = tenant!
                    var settings = try DatabaseSettings.fromEnvironment(dataDirectory: URL(fileURLWithPath: dataDirectory, isDirectory: true))
                    settings.poolSize = 2
                    let logger = Keys.quietLogger()
                    let database = try ServiceDatabase.open(settings, logger: logger)
                    defer { database.close(stopAdoptedCluster: false, logger: logger) }
                    let users = try runBlocking {
                        try await TenantTrainingSet.load(store: database.store, tenant: tenant, maxPairs: PromptBuilder.Limits().maxPairs)
                    }
                    if !resume, FileManager.default.fileExists(atPath: path) { throw TrainingError.outputExists(path: path) }
                    try TenantTrainingSet.datasetLines(users).write(to: URL(fileURLWithPath: path), options: .atomic)
                }
            }
            guard let bytes = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read the dataset \(path)")
            }
            return (TrainingUser.all(try PersonaDataset.parse(bytes)), SHA256.digest(Array(bytes)))
        }
    }

    static func hex(_ digest: [UInt8]) -> String { digest.map { String(format: "%02x", $0) }.joined() }

    /// Runs the remaining steps with a progress bar and one line per step on standard error.
    static func drive<Trainer: AdapterTrainer>(_ run: TrainingRun<Trainer>, describe: @escaping (Trainer.Record) -> String) async throws {
        let total = run.trainer.totalSteps
        if run.trainer.completedSteps > 0 {
            FileHandle.standardError.write(Data("resuming after step \(run.trainer.completedSteps) of \(total)\n".utf8))
        }
        let bar = ProgressBar(label: "steps")
        try await run.run { record in
            FileHandle.standardError.write(Data((describe(record) + "\n").utf8))
            bar.update(done: record.step, total: total)
        }
        bar.finish()
        print("wrote \(run.output) (\(run.records.count) steps), \(run.logPath), \(run.curvePath)")
        if let best = run.best {
            print("best on the set-aside users: step \(best.step) (reward \(String(format: "%.3f", best.score))), kept as \(run.bestPath)")
        }
    }
}
