import Foundation
import Testing
@testable import LLMClient

/// A clock the test moves by hand.
private final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Double = 1000
    var now: Double { lock.withLock { value } }
    func advance(_ seconds: Double) { lock.withLock { value += seconds } }
}

@Suite struct CircuitBreakerTests {
    @Test func opensAfterThresholdAndHalfOpensAfterDuration() {
        let clock = ManualClock()
        let breaker = CircuitBreaker(failureThreshold: 3, openDuration: .seconds(10), now: { clock.now })
        for _ in 0..<2 {
            #expect(breaker.acquire() == nil)
            breaker.recordFailure()
        }
        #expect(breaker.state == .closed)
        #expect(breaker.acquire() == nil)
        breaker.recordFailure()
        #expect(breaker.state == .open)
        let wait = breaker.acquire()
        #expect(wait != nil && abs(wait! - 10) < 0.001)

        clock.advance(10)
        #expect(breaker.state == .halfOpen)
        #expect(breaker.acquire() == nil, "one trial call goes through")
        #expect(breaker.acquire() != nil, "a second concurrent trial is refused")
        breaker.recordFailure()
        #expect(breaker.state == .open, "a failed trial re-opens the circuit")

        clock.advance(10)
        #expect(breaker.acquire() == nil)
        breaker.recordSuccess()
        #expect(breaker.state == .closed)
        #expect(breaker.acquire() == nil)
    }

    @Test func successResetsTheFailureCount() {
        let clock = ManualClock()
        let breaker = CircuitBreaker(failureThreshold: 2, openDuration: .seconds(1), now: { clock.now })
        breaker.recordFailure()
        breaker.recordSuccess()
        breaker.recordFailure()
        #expect(breaker.state == .closed)
    }

    @Test func neutralOutcomeReleasesTheTrialSlot() {
        let clock = ManualClock()
        let breaker = CircuitBreaker(failureThreshold: 1, openDuration: .seconds(5), now: { clock.now })
        breaker.recordFailure()
        clock.advance(5)
        #expect(breaker.acquire() == nil)
        breaker.recordNeutral()
        #expect(breaker.acquire() == nil, "the trial slot is free again")
    }
}
