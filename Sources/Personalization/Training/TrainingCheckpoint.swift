import Foundation
public import InferenceRuntime

/// A training run's resumable state: the adapter, the optimizer's moments, and the step count
/// with the settings and data they belong to. Random choices derive from the seed and the step,
/// so these are the whole state.
///
/// On disk, in the run's checkpoint folder: `step-NNNNNN/` with `adapter.gguf`, `optimizer.bin`
/// and `state.json`, and a `latest` file naming the newest. A checkpoint is written in a
/// temporary folder and renamed into place, then `latest` is replaced by rename: a crash or a
/// full disk at any moment leaves the previous checkpoint valid and named by `latest`.
public struct TrainingCheckpoint: Sendable {
    public struct State: Sendable, Equatable, Codable {
        /// "summarizer" or "generator".
        public var kind: String
        public var completedSteps: Int
        /// The settings as JSON, compared on resume.
        public var settings: String
        /// SHA-256 of the training data, so a run never resumes on other users.
        public var dataDigest: String
        public var modelID: String
        /// The prompts' wording (`PromptBuilder.version`): an adapter learns one wording.
        public var promptVersion: String

        public init(kind: String, completedSteps: Int, settings: String, dataDigest: String, modelID: String,
                    promptVersion: String = PromptBuilder.version) {
            self.kind = kind
            self.completedSteps = completedSteps
            self.settings = settings
            self.dataDigest = dataDigest
            self.modelID = modelID
            self.promptVersion = promptVersion
        }

        enum CodingKeys: String, CodingKey {
            case kind, settings
            case completedSteps = "completed_steps"
            case dataDigest = "data_digest"
            case modelID = "model"
            case promptVersion = "prompt_version"
        }
    }

    public var state: State
    public var adapter: LoRAAdapter
    public var optimizer: AdamW

    public init(state: State, adapter: LoRAAdapter, optimizer: AdamW) {
        self.state = state
        self.adapter = adapter
        self.optimizer = optimizer
    }

    /// Where a trainer starts: this checkpoint's adapter, moments and step (refused if its
    /// learning-rate schedule is not the settings'), or, with no checkpoint, a copy of `start` or a
    /// new seeded adapter, with fresh moments.
    static func start(_ checkpoint: TrainingCheckpoint?, config: LlamaConfig, settings: some AdapterRunSettings,
                      from start: LoRAAdapter? = nil) throws
        -> (adapter: LoRAAdapter, optimizer: AdamW, completedSteps: Int) {
        guard let checkpoint else {
            let adapter = try start?.copy()
                ?? LoRAAdapter(config: config, rank: settings.rank, alpha: Float(settings.alpha), seed: settings.seed)
            return (adapter, try AdamW(layout: adapter.layout, settings: AdamWSettings(schedule: settings.schedule)), 0)
        }
        guard checkpoint.optimizer.settings.schedule == settings.schedule else {
            throw PersonalizationError.invalidOption("the checkpoint's learning-rate schedule differs from these settings")
        }
        return (checkpoint.adapter, checkpoint.optimizer, checkpoint.state.completedSteps)
    }

    /// Checkpoints kept in the folder (the newest ones); older ones are removed after a save.
    public static let kept = 2

    /// Writes this checkpoint into `folder` (created if needed) and makes it the latest.
    public func save(in folder: String, architecture: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let name = String(format: "step-%06d", state.completedSteps)
        let temporary = "\(folder)/.\(name).partial-\(ProcessInfo.processInfo.processIdentifier)"
        try? fm.removeItem(atPath: temporary)
        do {
            try fm.createDirectory(atPath: temporary, withIntermediateDirectories: false)
            try adapter.write(path: "\(temporary)/adapter.gguf", architecture: architecture)
            try optimizer.save(to: "\(temporary)/optimizer.bin")
            try Self.writeFile(Self.encoder.encode(state), to: "\(temporary)/state.json")
            let final = "\(folder)/\(name)"
            try? fm.removeItem(atPath: final)
            try Self.rename(temporary, final)
            try Self.writeFile(Data((name + "\n").utf8), to: "\(folder)/latest")
        } catch {
            try? fm.removeItem(atPath: temporary)
            throw TrainingError.checkpointFailed(folder: folder, reason: "\(error)")
        }
        let names = (try? fm.contentsOfDirectory(atPath: folder)) ?? []
        for old in names.filter({ $0.hasPrefix("step-") }).sorted().dropLast(Self.kept) where old != name {
            try? fm.removeItem(atPath: "\(folder)/\(old)")
        }
    }

    /// The checkpoint `latest` names in `folder`, or nil when the folder has none.
    public static func loadLatest(in folder: String, base: LlamaConfig) throws -> TrainingCheckpoint? {
        guard let data = FileManager.default.contents(atPath: "\(folder)/latest") else { return nil }
        let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard name.hasPrefix("step-"), !name.contains("/") else {
            throw TrainingError.badCheckpoint(path: "\(folder)/latest", reason: "does not name a checkpoint")
        }
        let path = "\(folder)/\(name)"
        guard let stateData = FileManager.default.contents(atPath: "\(path)/state.json") else {
            throw TrainingError.badCheckpoint(path: path, reason: "state.json is missing")
        }
        let state: State
        do {
            state = try JSONDecoder().decode(State.self, from: stateData)
        } catch {
            throw TrainingError.badCheckpoint(path: path, reason: "state.json is not a checkpoint state")
        }
        let adapter = try LoRAAdapter.load(path: "\(path)/adapter.gguf", base: base)
        let optimizer = try AdamW(restoringFrom: "\(path)/optimizer.bin", layout: adapter.layout)
        return TrainingCheckpoint(state: state, adapter: adapter, optimizer: optimizer)
    }

    /// Whether `folder` holds any checkpoint (a run to resume or to refuse to overwrite).
    public static func exists(in folder: String) -> Bool {
        FileManager.default.fileExists(atPath: "\(folder)/latest")
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }()

    /// A temporary file beside `path`, flushed, then renamed over it.
    static func writeFile(_ data: Data, to path: String) throws {
        let temporary = path + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
            throw TrainingError.io(path: temporary, reason: "cannot create")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: temporary)
            throw TrainingError.io(path: path, reason: "\(error)")
        }
        try rename(temporary, path)
    }

    private static func rename(_ from: String, _ to: String) throws {
        guard Foundation.rename(from, to) == 0 else {
            throw TrainingError.io(path: to, reason: String(cString: strerror(errno)))
        }
    }
}
