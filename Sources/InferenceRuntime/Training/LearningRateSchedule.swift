import Foundation

/// The learning rate of each optimizer step: a linear warm-up to `peak`, then either constant or
/// a cosine decay to `floor` over the remaining steps of `totalSteps` (the floor after them).
public struct LearningRateSchedule: Sendable, Equatable {
    public enum Decay: Sendable, Equatable {
        case constant
        /// Half a cosine from the peak down to `floor` (an absolute rate, at most the peak).
        case cosine(floor: Double)
    }

    public var peak: Double
    /// Steps 1...warmupSteps rise linearly: step s gets peak · s / warmupSteps (no step at zero).
    public var warmupSteps: Int
    /// Steps of the whole run, warm-up included (the cosine reaches its floor at this step).
    public var totalSteps: Int
    public var decay: Decay

    public init(peak: Double, warmupSteps: Int = 0, totalSteps: Int, decay: Decay = .constant) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.decay = decay
    }

    /// The rate of step `step` (1 for the first step).
    public func learningRate(atStep step: Int) -> Double {
        if step <= warmupSteps { return peak * Double(max(step, 0)) / Double(warmupSteps) }
        switch decay {
        case .constant:
            return peak
        case .cosine(let floor):
            let span = max(totalSteps - warmupSteps, 1)
            let progress = min(Double(step - warmupSteps) / Double(span), 1)
            return floor + (peak - floor) * 0.5 * (1 + cos(Double.pi * progress))
        }
    }

    func validate() throws(OptimizerError) {
        guard peak.isFinite, peak > 0 else { throw .invalidSetting(name: "learning rate", reason: "must be a number > 0, got \(peak)") }
        guard warmupSteps >= 0 else { throw .invalidSetting(name: "warm-up steps", reason: "must be at least 0, got \(warmupSteps)") }
        guard totalSteps >= max(warmupSteps, 1) else {
            throw .invalidSetting(name: "total steps", reason: "must be at least 1 and the warm-up steps (\(warmupSteps)), got \(totalSteps)")
        }
        if case .cosine(let floor) = decay, !(floor >= 0 && floor <= peak) {
            throw .invalidSetting(name: "learning rate floor", reason: "must be between 0 and the peak \(peak), got \(floor)")
        }
    }
}
