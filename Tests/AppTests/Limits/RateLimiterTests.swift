import Foundation
import Store
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
        let limiter = RateLimiter<String>(ratePerSecond: 2, burst: 3, now: { clock.now })
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

    @Test func aRefundGivesBackATokenUpToTheBurst() {
        let clock = Clock()
        let limiter = RateLimiter<String>(ratePerSecond: 0.001, burst: 2, now: { clock.now })
        #expect(limiter.acquire("k") == nil && limiter.acquire("k") == nil && limiter.acquire("k") != nil)
        limiter.refund("k")
        #expect(limiter.acquire("k") == nil && limiter.acquire("k") != nil)
        limiter.refund("k")
        limiter.refund("k")
        limiter.refund("k")
        #expect(limiter.acquire("k") == nil && limiter.acquire("k") == nil && limiter.acquire("k") != nil, "never above the burst")
    }

    /// API key ids are keys as they are (hashed, never formatted as text).
    @Test func keyIDsHaveTheirOwnBuckets() {
        let clock = Clock()
        let limiter = RateLimiter<APIKeyID>(ratePerSecond: 0.001, burst: 1, now: { clock.now })
        let a = APIKeyID(rawValue: UUID()), b = APIKeyID(rawValue: UUID())
        #expect(limiter.acquire(a) == nil && limiter.acquire(a) != nil)
        #expect(limiter.acquire(b) == nil)
    }

    /// Memory is bounded: past `capacity` keys, new ones share one bucket until a sweep (at most
    /// once a second) finds refilled buckets to drop.
    @Test func pastItsCapacityNewKeysShareOneBucket() {
        let clock = Clock()
        let limiter = RateLimiter<String>(ratePerSecond: 1, burst: 2, capacity: 100, now: { clock.now })
        for i in 0..<100 { #expect(limiter.acquire("k\(i)") == nil) }
        #expect(limiter.count == 100)
        #expect(limiter.acquire("new1") == nil && limiter.acquire("new2") == nil)
        #expect(limiter.acquire("new3") != nil, "the newcomers share the overflow bucket")
        for i in 0..<10_000 { _ = limiter.acquire("flood\(i)") }
        #expect(limiter.count <= 101)
        #expect(limiter.acquire("k5") == nil, "known keys keep their own bucket")
        clock.advance(5)
        #expect(limiter.acquire("later") == nil)
        #expect(limiter.count <= 2, "refilled buckets were swept to make room")
    }
}
