import Foundation
import Synchronization

/// Caps concurrent work (in-process generations) with a bounded wait queue: up to `limit` run
/// at once, up to `queueLimit` wait in arrival order, and beyond that callers are turned away
/// at once so a burst cannot pile up unbounded latency. A waiting caller whose task is
/// cancelled leaves the queue.
final class ConcurrencyGate: Sendable {
    enum Refusal: Error, Equatable { case queueFull }

    let limit: Int
    let queueLimit: Int
    private struct State {
        var running = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, Error>)] = []
        var nextID: UInt64 = 0
        var undecided = Set<UInt64>()
        var cancelled = Set<UInt64>()
    }
    private let state = Mutex(State())

    init(limit: Int, queueLimit: Int) {
        self.limit = max(1, limit)
        self.queueLimit = max(0, queueLimit)
    }

    var inFlight: Int { state.withLock { $0.running } }
    var queued: Int { state.withLock { $0.waiters.count } }

    /// Runs `body` once a slot is free; throws `Refusal.queueFull` when the queue is full.
    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    func acquire() async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            state.undecided.insert(state.nextID)
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                // Deciding and enqueueing under one lock: a release can never slip in between.
                let outcome = state.withLock { state -> Result<Void, Error>? in
                    state.undecided.remove(id)
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if state.running < limit {
                        state.running += 1
                        return .success(())
                    }
                    guard state.waiters.count < queueLimit else { return .failure(Refusal.queueFull) }
                    state.waiters.append((id, continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                    // Not queued yet: the enqueue step will see this. (Already running: nothing to do.)
                    if state.undecided.contains(id) { state.cancelled.insert(id) }
                    return nil
                }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Error>? in
            if state.waiters.isEmpty {
                state.running -= 1
                return nil
            }
            return state.waiters.removeFirst().continuation  // the slot passes straight to the next waiter
        }
        next?.resume()
    }
}
