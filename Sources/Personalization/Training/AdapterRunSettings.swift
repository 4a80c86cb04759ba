import InferenceRuntime

/// What every adapter run is set with, whatever it optimizes.
public protocol AdapterRunSettings: Codable, Equatable, Sendable {
    var steps: Int { get }
    /// The peak rate, reached after `warmupSteps` of linear warm-up and then held.
    var learningRate: Double { get }
    var warmupSteps: Int { get }
    var rank: Int { get }
    var alpha: Double { get }
    /// Seeds the adapter's start (and whatever else the run draws).
    var seed: UInt64 { get }
    /// Checkpoint every this many steps (and after the last).
    var checkpointEvery: Int { get }
}

extension AdapterRunSettings {
    var schedule: LearningRateSchedule {
        LearningRateSchedule(peak: learningRate, warmupSteps: warmupSteps, totalSteps: steps)
    }
}
