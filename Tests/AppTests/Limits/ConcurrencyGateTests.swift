import Foundation
import Synchronization
import Testing
@testable import App

/// The gate that shares generation and upstream slots: limits, the per-owner share, turns.
@Suite struct ConcurrencyGateTests {
    /// Waits (bounded) until `condition` holds; the gate's waiters resume on other tasks.
    private func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<2_000 where !condition() { try? await Task.sleep(for: .milliseconds(5)) }
        return condition()
    }

    @Test func oneOwnerGetsItsShareAndTheOthersTheRest() async throws {
        let gate = ConcurrencyGate<String>(limit: 4, queueLimit: 4, ownerShare: 0.5)
        #expect(gate.ownerLimit == 2 && gate.ownerQueueLimit == 2)
        try await gate.acquire("a")
        try await gate.acquire("a")
        // "a" holds its two slots; it may wait for two more places, then it is refused.
        let waitingA = (0..<2).map { _ in Task { try await gate.acquire("a") } }
        #expect(await eventually { gate.queued == 2 })
        #expect(gate.refusal(for: "a") == .ownerShareFull)
        await #expect(throws: ConcurrencyGate<String>.Refusal.ownerShareFull) { try await gate.acquire("a") }
        // Two slots are still free, and another owner takes them at once.
        try await gate.acquire("b")
        try await gate.acquire("b")
        #expect(gate.inFlight == 4 && gate.queued == 2)
        gate.release("a")
        gate.release("a")
        for waiter in waitingA { try await waiter.value }
        #expect(gate.inFlight == 4 && gate.queued == 0)
    }

    @Test func freedSlotsGoToTheWaitingOwnersInTurn() async throws {
        let gate = ConcurrencyGate<String>(limit: 1, queueLimit: 10)
        try await gate.acquire("held")
        let started = StartOrder()
        // "a" queues three before "b" and "c" queue one each.
        for owner in ["a", "a", "a", "b", "c"] {
            let queued = gate.queued
            Task {
                try await gate.acquire(owner)
                started.append(owner)
            }
            #expect(await eventually { gate.queued == queued + 1 })
        }
        var holder = "held"
        for count in 1...5 {
            gate.release(holder)
            #expect(await eventually { started.owners.count == count })
            holder = started.owners.last!
        }
        gate.release(holder)
        #expect(started.owners == ["a", "b", "c", "a", "a"])
        #expect(gate.inFlight == 0 && gate.queued == 0)
    }

    @Test func limitsRunningAndRefusesWhenQueueIsFull() async throws {
        let gate = ConcurrencyGate<String>(limit: 1, queueLimit: 1)
        try await gate.acquire("a")
        let waiter = Task { try await gate.run("a") { 42 } }
        while gate.queued < 1 { await Task.yield() }
        await #expect(throws: ConcurrencyGate<String>.Refusal.queueFull) { try await gate.acquire("a") }
        gate.release("a")
        #expect(try await waiter.value == 42)
        #expect(gate.inFlight == 0 && gate.queued == 0)
    }

    @Test func cancelledWaiterLeavesTheQueue() async throws {
        let gate = ConcurrencyGate<String>(limit: 1, queueLimit: 4)
        try await gate.acquire("a")
        let waiter = Task { try await gate.acquire("a") }
        while gate.queued < 1 { await Task.yield() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(gate.queued == 0)
        gate.release("a")
        #expect(gate.inFlight == 0)
    }

    @Test func manyConcurrentCallersNeverExceedTheLimit() async throws {
        let gate = ConcurrencyGate<String>(limit: 3, queueLimit: 100)
        let peak = Peak()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await gate.run("a") {
                        peak.enter()
                        try await Task.sleep(for: .milliseconds(2))
                        peak.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(peak.max <= 3 && peak.max >= 1)
        #expect(gate.inFlight == 0)
    }
}

private final class Peak: @unchecked Sendable {
    private let lock = NSLock()
    private var current = 0
    private(set) var max = 0
    func enter() { lock.withLock { current += 1; max = Swift.max(max, current) } }
    func leave() { lock.withLock { current -= 1 } }
}

/// The owners in the order the gate let them start.
private final class StartOrder: Sendable {
    private let order = Mutex<[String]>([])
    var owners: [String] { order.withLock { $0 } }
    func append(_ owner: String) { order.withLock { $0.append(owner) } }
}
