public import InferenceRuntime

/// What a `TrainingRun` drives: one optimizer step at a time on one adapter (GRPO of the
/// summarizer, DPO of the generator).
public protocol AdapterTrainer: AnyObject, Sendable {
    associatedtype Settings: Codable & Equatable & Sendable
    associatedtype Record: TrainingRecord

    /// Names the kind of run in checkpoints ("summarizer", "generator").
    static var kind: String { get }
    var settings: Settings { get }
    var adapter: LoRAAdapter { get }
    var optimizer: AdamW { get }
    var completedSteps: Int { get }
    var totalSteps: Int { get }
    var checkpointEvery: Int { get }
    /// Runs the next step.
    func step() async throws -> Record
}

extension AdapterTrainer {
    public var isFinished: Bool { completedSteps >= totalSteps }
}

/// One line of a run's JSON-lines log.
public protocol TrainingRecord: Codable, Sendable, Equatable {
    /// 1 for the first step.
    var step: Int { get }
    /// The curves drawn for a run: a title and the value of each step.
    static var curves: [(title: String, value: @Sendable (Self) -> Double)] { get }
    /// The score on users set aside from training, on steps that measured it (higher is better).
    var validationReward: Double? { get }
}

extension TrainingRecord {
    public var validationReward: Double? { nil }
}
