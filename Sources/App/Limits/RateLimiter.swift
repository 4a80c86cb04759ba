import Foundation
import Synchronization

/// Per-key token buckets: each key may make `burst` requests at once and `ratePerSecond`
/// sustained. Idle buckets are forgotten so memory stays bounded by active keys.
final class RateLimiter: Sendable {
    let ratePerSecond: Double
    let burst: Double
    private let now: @Sendable () -> Double
    private struct State {
        var buckets: [String: (tokens: Double, updated: Double)] = [:]
        var lastSweep: Double
    }
    private let state: Mutex<State>

    init(ratePerSecond: Double, burst: Int,
                now: @escaping @Sendable () -> Double = { Date().timeIntervalSinceReferenceDate }) {
        self.ratePerSecond = ratePerSecond
        self.burst = Double(burst)
        self.now = now
        state = Mutex(State(lastSweep: now()))
    }

    /// Takes one token for `key`: nil when allowed, otherwise the seconds until one is available.
    func acquire(_ key: String) -> Double? {
        state.withLock { state in
            let t = now()
            sweep(&state, at: t)
            var bucket = state.buckets[key] ?? (burst, t)
            bucket.tokens = min(burst, bucket.tokens + (t - bucket.updated) * ratePerSecond)
            bucket.updated = t
            defer { state.buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return (1 - bucket.tokens) / ratePerSecond
        }
    }

    /// Drops buckets that have refilled completely: they hold no state worth keeping.
    private func sweep(_ state: inout State, at t: Double) {
        let refillSeconds = burst / ratePerSecond
        guard t - state.lastSweep > max(60, refillSeconds) else { return }
        state.lastSweep = t
        state.buckets = state.buckets.filter { t - $0.value.updated < refillSeconds }
    }
}
