import ArgumentParser
import Foundation
import Personalization

/// `popi train`: POPI's training of the summarizer (GRPO) and of the generator (DPO).
struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train LoRA adapters on POPI's objective.",
        subcommands: [TrainSummarizer.self, TrainGenerator.self])

    /// A dataset file's users and the SHA-256 of its bytes (which names the data in checkpoints).
    static func loadDataset(_ path: String) throws -> (users: [TrainingUser], digest: [UInt8]) {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read --dataset \(path)")
        }
        return (try PersonaDataset.parse(bytes).users.map(TrainingUser.init), SHA256.digest(Array(bytes)))
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
    }
}
