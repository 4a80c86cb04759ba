import Foundation

/// Per-key token buckets: each key may make `burst` requests at once and `ratePerSecond`
/// sustained. Idle buckets are forgotten so memory stays bounded by active keys.
public final class RateLimiter: @unchecked Sendable {
    public let ratePerSecond: Double
    public let burst: Double
    private let now: @Sendable () -> Double
    private let lock = NSLock()
    private var buckets: [String: (tokens: Double, updated: Double)] = [:]
    private var lastSweep: Double

    public init(ratePerSecond: Double, burst: Int,
                now: @escaping @Sendable () -> Double = { Date().timeIntervalSinceReferenceDate }) {
        self.ratePerSecond = ratePerSecond
        self.burst = Double(burst)
        self.now = now
        lastSweep = now()
    }

    /// Takes one token for `key`: nil when allowed, otherwise the seconds until one is available.
    public func acquire(_ key: String) -> Double? {
        lock.withLock {
            let t = now()
            sweep(at: t)
            var bucket = buckets[key] ?? (burst, t)
            bucket.tokens = min(burst, bucket.tokens + (t - bucket.updated) * ratePerSecond)
            bucket.updated = t
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return (1 - bucket.tokens) / ratePerSecond
        }
    }

    /// Drops buckets that have refilled completely: they hold no state worth keeping.
    private func sweep(at t: Double) {
        let refillSeconds = burst / ratePerSecond
        guard t - lastSweep > max(60, refillSeconds) else { return }
        lastSweep = t
        buckets = buckets.filter { t - $0.value.updated < refillSeconds }
    }
}
