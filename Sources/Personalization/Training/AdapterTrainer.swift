public import InferenceRuntime

/// What a `TrainingRun` drives: one optimizer step at a time on one adapter (GRPO of the
/// summarizer, DPO of the generator).
public protocol AdapterTrainer: AnyObject, Sendable {
    associatedtype Settings: AdapterRunSettings
    associatedtype Record: TrainingRecord

    /// Names the kind of run in checkpoints ("summarizer", "generator").
    static var kind: String { get }
    var settings: Settings { get }
    var adapter: LoRAAdapter { get }
    var optimizer: AdamW { get }
    var completedSteps: Int { get }
    /// Runs the next step.
    func step() async throws -> Record
}

extension AdapterTrainer {
    public var totalSteps: Int { settings.steps }
    public var checkpointEvery: Int { settings.checkpointEvery }
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
    /// What the optimizer did: the rate and gradient norm of an applied step, or why it skipped.
    var learningRate: Double { get set }
    var gradientNorm: Double { get set }
    var skipped: String? { get set }
}

extension TrainingRecord {
    public var validationReward: Double? { nil }

    /// Records the optimizer's step.
    mutating func note(_ outcome: OptimizerStep) {
        switch outcome {
        case .applied(_, let learningRate, let gradientNorm, _):
            self.learningRate = learningRate
            self.gradientNorm = gradientNorm
        case .skipped(let reason):
            skipped = reason.description
        }
    }
}
