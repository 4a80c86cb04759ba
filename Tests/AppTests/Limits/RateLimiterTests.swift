import Foundation
import Testing
@testable import App

private final class Clock: @unchecked Sendable {
    private let lock = NSLock()
    private var t: Double = 0
    var now: Double { lock.withLock { t } }
    func advance(_ s: Double) { lock.withLock { t += s } }
}

@Suite struct RateLimiterTests {
    @Test func burstThenSustainedRatePerKey() {
        let clock = Clock()
        let limiter = RateLimiter(ratePerSecond: 2, burst: 3, now: { clock.now })
        for _ in 0..<3 { #expect(limiter.acquire("k") == nil) }
        let wait = limiter.acquire("k")
        #expect(wait != nil && abs(wait! - 0.5) < 1e-9)
        #expect(limiter.acquire("other") == nil, "keys are independent")
        clock.advance(0.5)
        #expect(limiter.acquire("k") == nil)
        #expect(limiter.acquire("k") != nil)
        clock.advance(100)
        for _ in 0..<3 { #expect(limiter.acquire("k") == nil) }
        #expect(limiter.acquire("k") != nil, "refill is capped at the burst")
    }
}
