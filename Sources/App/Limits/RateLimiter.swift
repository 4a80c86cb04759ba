import Foundation
import Synchronization

/// Per-key token buckets: each key may make `burst` requests at once and `ratePerSecond`
/// sustained. Idle buckets are forgotten so memory stays bounded by active keys; with a
/// `capacity`, by that many keys too: once full, new keys share one bucket until a sweep frees room.
/// Keys are API key ids or client addresses: generic so that an id is hashed as it is, not
/// formatted as text on every request.
final class RateLimiter<Key: Hashable & Sendable>: Sendable {
    let ratePerSecond: Double
    let burst: Double
    let capacity: Int?
    private let now: @Sendable () -> Double
    /// A caller's own bucket, or the one keys share while the table is full (so no caller's own
    /// bucket is ever shared).
    private enum Slot: Hashable {
        case key(Key)
        case overflow
    }
    private struct State {
        var buckets: [Slot: (tokens: Double, updated: Double)] = [:]
        var lastSweep: Double
    }
    private let state: Mutex<State>

    init(ratePerSecond: Double, burst: Int, capacity: Int? = nil,
         now: @escaping @Sendable () -> Double = { Date().timeIntervalSinceReferenceDate }) {
        self.ratePerSecond = ratePerSecond
        self.burst = Double(burst)
        self.capacity = capacity
        self.now = now
        state = Mutex(State(lastSweep: now()))
    }

    /// Keys with a bucket now (the shared overflow bucket included).
    var count: Int { state.withLock { $0.buckets.count } }

    /// Takes one token for `key`: nil when allowed, otherwise the seconds until one is available.
    func acquire(_ key: Key) -> Double? {
        state.withLock { state in
            let t = now()
            sweep(&state, at: t)
            let key = room(for: key, in: &state, at: t)
            var bucket = refilled(state.buckets[key], at: t)
            defer { state.buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return (1 - bucket.tokens) / ratePerSecond
        }
    }

    /// Gives back a token taken by `acquire` for work that turned out not to count against the key.
    func refund(_ key: Key) {
        state.withLock { state in
            let t = now()
            let key = state.buckets[.key(key)] == nil ? Slot.overflow : .key(key)
            guard state.buckets[key] != nil else { return }
            var bucket = refilled(state.buckets[key], at: t)
            bucket.tokens = min(burst, bucket.tokens + 1)
            state.buckets[key] = bucket
        }
    }

    private func refilled(_ bucket: (tokens: Double, updated: Double)?, at t: Double) -> (tokens: Double, updated: Double) {
        guard let bucket else { return (burst, t) }
        return (min(burst, bucket.tokens + max(0, t - bucket.updated) * ratePerSecond), t)
    }

    /// `key` itself, or the shared overflow bucket when the table is full (after a sweep, at most
    /// once a second, so a flood of new keys cannot make every call scan the table).
    private func room(for key: Key, in state: inout State, at t: Double) -> Slot {
        guard let capacity, state.buckets[.key(key)] == nil, state.buckets.count >= capacity else { return .key(key) }
        if t - state.lastSweep >= 1 {
            state.lastSweep = t
            state.buckets = state.buckets.filter { t - $0.value.updated < burst / ratePerSecond }
        }
        return state.buckets.count >= capacity ? .overflow : .key(key)
    }

    /// Drops buckets that have refilled completely: they hold no state worth keeping.
    private func sweep(_ state: inout State, at t: Double) {
        let refillSeconds = burst / ratePerSecond
        guard t - state.lastSweep > max(60, refillSeconds) else { return }
        state.lastSweep = t
        state.buckets = state.buckets.filter { t - $0.value.updated < refillSeconds }
    }
}
