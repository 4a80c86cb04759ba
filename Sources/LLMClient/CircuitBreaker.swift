import Foundation

/// Per-upstream circuit breaker: after `failureThreshold` consecutive failures the circuit opens
/// and calls fail at once for `openDuration`; then one trial call is let through (half-open),
/// whose outcome closes or re-opens the circuit.
public final class CircuitBreaker: @unchecked Sendable {
    public enum State: Equatable, Sendable { case closed, open, halfOpen }

    private let threshold: Int
    private let openSeconds: Double
    private let now: @Sendable () -> Double
    private let lock = NSLock()
    private var failures = 0
    private var openedAt: Double?
    private var trialInFlight = false

    public init(failureThreshold: Int, openDuration: Duration,
                now: @escaping @Sendable () -> Double = { Date().timeIntervalSinceReferenceDate }) {
        threshold = failureThreshold
        openSeconds = openDuration.seconds
        self.now = now
    }

    public var state: State {
        lock.withLock { currentState() }
    }

    /// Asks to make a call: nil when allowed, otherwise the seconds until the circuit half-opens.
    public func acquire() -> Double? {
        lock.withLock {
            switch currentState() {
            case .closed:
                return nil
            case .open:
                return max(0.001, (openedAt ?? 0) + openSeconds - now())
            case .halfOpen:
                if trialInFlight { return openSeconds }
                trialInFlight = true
                return nil
            }
        }
    }

    public func recordSuccess() {
        lock.withLock {
            failures = 0
            openedAt = nil
            trialInFlight = false
        }
    }

    public func recordFailure() {
        lock.withLock {
            failures += 1
            if trialInFlight || failures >= threshold {
                openedAt = now()
            }
            trialInFlight = false
        }
    }

    /// A call that ended without telling anything about the upstream's health (cancelled, or a
    /// client error) releases a half-open trial slot.
    public func recordNeutral() {
        lock.withLock { trialInFlight = false }
    }

    private func currentState() -> State {
        guard let opened = openedAt else { return .closed }
        return now() - opened >= openSeconds ? .halfOpen : .open
    }
}
