import Foundation
import Synchronization

/// Caps concurrent work (in-process generations, upstream calls) with a bounded wait queue, and
/// shares both fairly between owners (tenants): up to `limit` run at once and up to `queueLimit`
/// wait; one owner holds at most `ownerLimit` of the running slots and `ownerQueueLimit` of the
/// waiting places, and a freed slot goes to the waiting owners in turn, not to whoever queued
/// most. Beyond the limits callers are turned away at once, so a burst cannot pile up unbounded
/// latency. A waiting caller whose task is cancelled leaves the queue.
final class ConcurrencyGate<Owner: Hashable & Sendable>: Sendable {
    enum Refusal: Error, Equatable {
        /// Every waiting place is taken.
        case queueFull
        /// This owner has its share of running slots and of waiting places.
        case ownerShareFull
    }

    let limit: Int
    let queueLimit: Int
    let ownerLimit: Int
    let ownerQueueLimit: Int
    /// False when one owner may take everything: a full gate is then simply busy.
    private let shared: Bool

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, Error>
    }
    private struct State {
        var running = 0
        var runningBy: [Owner: Int] = [:]
        /// Each owner's waiters in arrival order.
        var waiting: [Owner: [Waiter]] = [:]
        /// Owners with waiters, in the order they get their next turn.
        var turns: [Owner] = []
        var queued = 0
        var nextID: UInt64 = 0
        var undecided = Set<UInt64>()
        var cancelled = Set<UInt64>()
    }
    private let state = Mutex(State())

    /// `ownerShare` (0-1] is the part of the slots and of the queue one owner may take, rounded up
    /// (at least one slot); 1 lets a single owner use everything.
    init(limit: Int, queueLimit: Int, ownerShare: Double = 1) {
        self.limit = max(1, limit)
        self.queueLimit = max(0, queueLimit)
        let share = ownerShare.isFinite ? min(1, max(0, ownerShare)) : 1
        ownerLimit = max(1, Int((Double(self.limit) * share).rounded(.up)))
        ownerQueueLimit = Int((Double(self.queueLimit) * share).rounded(.up))
        shared = share < 1
    }

    var inFlight: Int { state.withLock { $0.running } }
    var queued: Int { state.withLock { $0.queued } }

    /// The refusal `owner` would get now, if any: lets a caller refuse before it starts a response.
    func refusal(for owner: Owner) -> Refusal? {
        state.withLock { Self.refusal(for: owner, in: $0, limits: self) }
    }

    /// Runs `body` once a slot is free; throws a `Refusal` when there is no place to wait.
    func run<T: Sendable>(_ owner: Owner, _ body: () async throws -> T) async throws -> T {
        try await acquire(owner)
        defer { release(owner) }
        return try await body()
    }

    func acquire(_ owner: Owner) async throws {
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
                    if let refusal = Self.refusal(for: owner, in: state, limits: self) { return .failure(refusal) }
                    if Self.mayStart(owner, in: state, limits: self) {
                        state.running += 1
                        state.runningBy[owner, default: 0] += 1
                        return .success(())
                    }
                    if state.waiting[owner] == nil { state.turns.append(owner) }
                    state.waiting[owner, default: []].append(Waiter(id: id, continuation: continuation))
                    state.queued += 1
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Error>? in
                guard let index = state.waiting[owner]?.firstIndex(where: { $0.id == id }) else {
                    // Not queued yet: the enqueue step will see this. (Already running: nothing to do.)
                    if state.undecided.contains(id) { state.cancelled.insert(id) }
                    return nil
                }
                let waiter = state.waiting[owner]!.remove(at: index)
                state.queued -= 1
                if state.waiting[owner]!.isEmpty {
                    state.waiting[owner] = nil
                    state.turns.removeAll { $0 == owner }
                }
                return waiter.continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    func release(_ owner: Owner) {
        let started = state.withLock { state -> [CheckedContinuation<Void, Error>] in
            state.running -= 1
            let held = state.runningBy[owner, default: 1] - 1
            state.runningBy[owner] = held > 0 ? held : nil
            return Self.startWaiters(&state, limits: self)
        }
        for continuation in started { continuation.resume() }
    }

    private static func mayStart(_ owner: Owner, in state: State, limits: ConcurrencyGate) -> Bool {
        state.running < limits.limit && state.runningBy[owner, default: 0] < limits.ownerLimit
    }

    private static func refusal(for owner: Owner, in state: State, limits: ConcurrencyGate) -> Refusal? {
        if mayStart(owner, in: state, limits: limits) { return nil }
        // An owner at its share of both is told so (its own doing) before the queue is blamed.
        if limits.shared && state.runningBy[owner, default: 0] >= limits.ownerLimit
            && state.waiting[owner]?.count ?? 0 >= limits.ownerQueueLimit {
            return .ownerShareFull
        }
        if state.queued >= limits.queueLimit { return .queueFull }
        if state.waiting[owner]?.count ?? 0 >= limits.ownerQueueLimit { return .ownerShareFull }
        return nil
    }

    /// Hands free slots to waiters, one owner per turn; an owner at its share waits for its own
    /// slots to free while the others go ahead.
    private static func startWaiters(_ state: inout State, limits: ConcurrencyGate) -> [CheckedContinuation<Void, Error>] {
        var started: [CheckedContinuation<Void, Error>] = []
        while state.running < limits.limit,
              let turn = state.turns.firstIndex(where: { state.runningBy[$0, default: 0] < limits.ownerLimit }) {
            let owner = state.turns.remove(at: turn)
            let waiter = state.waiting[owner]!.removeFirst()
            if state.waiting[owner]!.isEmpty {
                state.waiting[owner] = nil
            } else {
                state.turns.append(owner)
            }
            state.queued -= 1
            state.running += 1
            state.runningBy[owner, default: 0] += 1
            started.append(waiter.continuation)
        }
        return started
    }
}
