/// Percentile bootstrap confidence intervals for a mean over users, with a seeded generator so
/// the same data always gives the same interval.
public struct Bootstrap: Sendable {
    public var resamples: Int
    public var seed: UInt64

    public init(resamples: Int = 2000, seed: UInt64 = 1) {
        self.resamples = resamples
        self.seed = seed
    }

    /// The mean and its 95% interval (2.5th and 97.5th percentiles of resampled means).
    public func meanInterval(_ values: [Double]) -> (mean: Double, low: Double, high: Double) {
        guard !values.isEmpty else { return (0, 0, 0) }
        let mean = values.reduce(0, +) / Double(values.count)
        guard values.count > 1 else { return (mean, mean, mean) }
        var rng = SplitMix64(seed: seed)
        var means: [Double] = []
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var sum = 0.0
            for _ in 0..<values.count {
                sum += values[Int(rng.next() % UInt64(values.count))]
            }
            means.append(sum / Double(values.count))
        }
        means.sort()
        return (mean, Self.percentile(means, 0.025), Self.percentile(means, 0.975))
    }

    /// Linear interpolation between closest ranks.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        let position = p * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }
}

/// SplitMix64: small, fast, and fully determined by its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
