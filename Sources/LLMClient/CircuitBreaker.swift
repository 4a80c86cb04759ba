public import Foundation
import Synchronization

/// Per-upstream circuit breaker: after `failureThreshold` consecutive failures the circuit opens
/// and calls fail at once for `openDuration`; then one trial call is let through (half-open),
/// whose outcome closes or re-opens the circuit.
public final class CircuitBreaker: Sendable {
    public enum State: Equatable, Sendable { case closed, open, halfOpen }

    private let threshold: Int
    private let openSeconds: Double
    private let now: @Sendable () -> Double
    private struct Counts {
        var failures = 0
        var openedAt: Double?
        var trialInFlight = false
    }
    private let counts = Mutex(Counts())

    public init(failureThreshold: Int, openDuration: Duration,
                now: @escaping @Sendable () -> Double = { Date().timeIntervalSinceReferenceDate }) {
        threshold = failureThreshold
        openSeconds = openDuration.seconds
        self.now = now
    }

    public var state: State {
        counts.withLock { currentState($0) }
    }

    /// Asks to make a call: nil when allowed, otherwise the seconds until the circuit half-opens.
    public func acquire() -> Double? {
        counts.withLock { counts in
            switch currentState(counts) {
            case .closed:
                return nil
            case .open:
                return max(0.001, (counts.openedAt ?? 0) + openSeconds - now())
            case .halfOpen:
                if counts.trialInFlight { return openSeconds }
                counts.trialInFlight = true
                return nil
            }
        }
    }

    public func recordSuccess() {
        counts.withLock { $0 = Counts() }
    }

    public func recordFailure() {
        counts.withLock { counts in
            counts.failures += 1
            if counts.trialInFlight || counts.failures >= threshold {
                counts.openedAt = now()
            }
            counts.trialInFlight = false
        }
    }

    /// A call that ended without telling anything about the upstream's health (cancelled, or a
    /// client error) releases a half-open trial slot.
    public func recordNeutral() {
        counts.withLock { $0.trialInFlight = false }
    }

    private func currentState(_ counts: Counts) -> State {
        guard let opened = counts.openedAt else { return .closed }
        return now() - opened >= openSeconds ? .halfOpen : .open
    }
}
