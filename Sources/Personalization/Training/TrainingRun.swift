import Foundation
import InferenceRuntime

/// A training run with its files: the adapter at `output`, checkpoints in `output.checkpoints/`,
/// the JSON-lines log `output.log.jsonl` (one record per step) and the curves `output.svg`; when
/// steps are validated, the adapter of the best-scoring one at `bestPath` (`a.gguf` → `a.best.gguf`).
///
/// A run never overwrites an earlier one unless asked to resume it; resuming loads the latest
/// checkpoint (refusing one of other settings, data or model), drops log lines after it, and
/// continues to the same final adapter bits as an uninterrupted run.
public final class TrainingRun<Trainer: AdapterTrainer>: @unchecked Sendable {
    public let trainer: Trainer
    public let output: String
    public private(set) var records: [Trainer.Record]
    private let state: TrainingCheckpoint.State
    private let architecture: String

    public var checkpointFolder: String { Self.checkpointFolder(output) }
    public var logPath: String { output + ".log.jsonl" }
    public var curvePath: String { output + ".svg" }
    public var bestPath: String { output.hasSuffix(".gguf") ? String(output.dropLast(5)) + ".best.gguf" : output + ".best.gguf" }
    /// The validated step with the highest score so far, and that score.
    public var best: (step: Int, score: Double)? {
        records.compactMap { record in record.validationReward.map { (record.step, $0) } }
            .reduce(nil) { best, next in best.map { $0.1 >= next.1 ? $0 : next } ?? next }
    }

    static func checkpointFolder(_ output: String) -> String { output + ".checkpoints" }

    /// `dataDigest` identifies the training data (e.g. the SHA-256 of the dataset file);
    /// `makeTrainer` makes a new trainer, or one that continues from the given checkpoint.
    public init(model: RuntimeModel, settings: Trainer.Settings, dataDigest: String, output: String, resume: Bool,
                makeTrainer: (TrainingCheckpoint?) throws -> Trainer) throws {
        let folder = Self.checkpointFolder(output)
        let fm = FileManager.default
        if !resume, fm.fileExists(atPath: output) || TrainingCheckpoint.exists(in: folder) {
            throw TrainingError.outputExists(path: output)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let settingsJSON = String(decoding: try encoder.encode(settings), as: UTF8.self)
        var state = TrainingCheckpoint.State(kind: Trainer.kind, completedSteps: 0, settings: settingsJSON,
                                             dataDigest: dataDigest, modelID: model.modelID)
        let checkpoint = resume ? try TrainingCheckpoint.loadLatest(in: folder, base: model.engine.modelConfig) : nil
        if let checkpoint {
            let saved = checkpoint.state
            let differences = [("kind", saved.kind != state.kind), ("settings", saved.settings != state.settings),
                               ("training data", saved.dataDigest != state.dataDigest), ("model", saved.modelID != state.modelID),
                               ("prompt version", saved.promptVersion != state.promptVersion)]
                .filter(\.1).map(\.0)
            guard differences.isEmpty else {
                throw TrainingError.checkpointMismatch(folder: folder, reason: "different " + differences.joined(separator: ", "))
            }
            state.completedSteps = saved.completedSteps
        }
        self.state = state
        self.output = output
        self.architecture = model.engine.modelConfig.architecture
        trainer = try makeTrainer(checkpoint)
        // The output's folder is made if missing, once the trainer has accepted the run (a refused
        // run leaves nothing behind); if it cannot be, writing the log says so.
        let parent = (output as NSString).deletingLastPathComponent
        if !parent.isEmpty { try? fm.createDirectory(atPath: parent, withIntermediateDirectories: true) }
        records = []
        if checkpoint != nil, let data = fm.contents(atPath: output + ".log.jsonl") {
            let decoder = JSONDecoder()
            records = data.split(separator: UInt8(ascii: "\n")).compactMap { try? decoder.decode(Trainer.Record.self, from: Data($0)) }
                .filter { $0.step <= state.completedSteps }
        }
        try writeLog()
    }

    /// Runs the remaining steps (or only up to step `stopAfter`), checkpointing every
    /// `checkpointEvery` steps and after the last, then writes the adapter to `output`.
    public func run(stopAfter: Int? = nil, onStep: (Trainer.Record) -> Void = { _ in }) async throws {
        while !trainer.isFinished {
            if let stopAfter, trainer.completedSteps >= stopAfter { return }
            let record = try await trainer.step()
            let previousBest = best
            records.append(record)
            if let score = record.validationReward, previousBest.map({ score > $0.score }) ?? true {
                try trainer.adapter.write(path: bestPath, architecture: architecture)
            }
            try appendToLog(record)
            onStep(record)
            if record.step % trainer.checkpointEvery == 0 || trainer.isFinished {
                var state = self.state
                state.completedSteps = trainer.completedSteps
                try TrainingCheckpoint(state: state, adapter: trainer.adapter, optimizer: trainer.optimizer)
                    .save(in: checkpointFolder, architecture: architecture)
                try writeCurve()
            }
        }
        try trainer.adapter.write(path: output, architecture: architecture)
        try writeCurve()
    }

    private func writeLog() throws {
        try TrainingCheckpoint.writeFile(Data(records.map { try Self.line($0) }.joined()), to: logPath)
    }

    private func appendToLog(_ record: Trainer.Record) throws {
        guard let handle = FileHandle(forWritingAtPath: logPath) else {
            throw TrainingError.io(path: logPath, reason: "cannot open the log")
        }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Self.line(record))
    }

    private func writeCurve() throws {
        let title = "Training of the \(Trainer.kind) adapter: \(state.modelID), \(records.count) steps"
        try TrainingCheckpoint.writeFile(Data(TrainingCurve(records: records, title: title).svg().utf8), to: curvePath)
    }

    private static func line(_ record: Trainer.Record) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(record) + Data("\n".utf8)
    }
}
