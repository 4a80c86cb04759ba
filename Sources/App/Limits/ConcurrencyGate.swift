import Foundation

/// Caps concurrent work (in-process generations) with a bounded wait queue: up to `limit` run
/// at once, up to `queueLimit` wait in arrival order, and beyond that callers are turned away
/// at once so a burst cannot pile up unbounded latency. A waiting caller whose task is
/// cancelled leaves the queue.
public final class ConcurrencyGate: @unchecked Sendable {
    public enum Refusal: Error, Equatable { case queueFull }

    public let limit: Int
    public let queueLimit: Int
    private let lock = NSLock()
    private var running = 0
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, Error>)] = []
    private var nextID: UInt64 = 0
    private var undecided = Set<UInt64>()
    private var cancelled = Set<UInt64>()

    public init(limit: Int, queueLimit: Int) {
        self.limit = max(1, limit)
        self.queueLimit = max(0, queueLimit)
    }

    public var inFlight: Int { lock.withLock { running } }
    public var queued: Int { lock.withLock { waiters.count } }

    /// Runs `body` once a slot is free; throws `Refusal.queueFull` when the queue is full.
    public func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    func acquire() async throws {
        let id = lock.withLock { () -> UInt64 in
            nextID += 1
            undecided.insert(nextID)
            return nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                // Deciding and enqueueing under one lock: a release can never slip in between.
                let outcome = lock.withLock { () -> Result<Void, Error>? in
                    undecided.remove(id)
                    if cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if running < limit {
                        running += 1
                        return .success(())
                    }
                    guard waiters.count < queueLimit else { return .failure(Refusal.queueFull) }
                    waiters.append((id, continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = lock.withLock { () -> CheckedContinuation<Void, Error>? in
                guard let index = waiters.firstIndex(where: { $0.id == id }) else {
                    // Not queued yet: the enqueue step will see this. (Already running: nothing to do.)
                    if undecided.contains(id) { cancelled.insert(id) }
                    return nil
                }
                return waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    func release() {
        let next = lock.withLock { () -> CheckedContinuation<Void, Error>? in
            if waiters.isEmpty {
                running -= 1
                return nil
            }
            return waiters.removeFirst().continuation  // the slot passes straight to the next waiter
        }
        next?.resume()
    }
}
