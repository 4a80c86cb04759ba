import Dispatch
import Foundation
import Synchronization

/// A fixed number of connection slots, each with its own dedicated thread.
///
/// `withConnection` / `transaction` wait (asynchronously) for a free slot, then run their
/// synchronous body on that slot's thread, where the blocking libpq calls happen. A slot
/// connects lazily, checks its connection before each use (a server restart shows up as a
/// closed socket, so the stale connection is replaced before any statement is sent), and
/// reconnects with exponential backoff: while the server is away, calls fail at once with
/// `StoreError.unavailable` instead of queueing.
public final class ConnectionPool: Sendable {
    public let configuration: DatabaseConfiguration
    /// LISTEN for the pool's users, on a connection of its own outside the slots (opened on first use).
    public let notifications: NotificationListener
    private let slots: [Slot]
    private let state: Mutex<State>
    private let breaker: Mutex<Breaker>

    struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Int, Error>
    }

    struct State {
        var idle: [Int]
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var closed = false
        var openConnections = 0
        var acquisitions: UInt64 = 0
        var timeouts: UInt64 = 0
        var connectFailures: UInt64 = 0
        var connectionsLost: UInt64 = 0
        var rowsFetched: UInt64 = 0
    }

    struct Breaker {
        var retryAt: DispatchTime?
        var delay: Double = 0
        var lastError = ""
    }

    public init(configuration: DatabaseConfiguration) {
        self.configuration = configuration
        self.notifications = NotificationListener(configuration: configuration)
        self.slots = (0..<configuration.poolSize).map { _ in Slot() }
        self.state = Mutex(State(idle: Array((0..<configuration.poolSize).reversed())))
        self.breaker = Mutex(Breaker())
    }

    /// Convenience: parse a connection string and build a pool with default settings.
    public convenience init(connectionString: String, poolSize: Int = 10) throws {
        self.init(configuration: try DatabaseConfiguration(connectionString: connectionString, poolSize: poolSize))
    }

    // MARK: Running work

    /// Runs `body` with a connection of its own, on that connection's dedicated thread.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let index = try await acquire()
        let slot = slots[index]
        return try await withCheckedThrowingContinuation { continuation in
            let submitted = slot.thread.submit {
                let result = Result { try self.perform(body, on: slot) }
                // Freed here rather than when the caller resumes: a caller whose executor is busy
                // must not keep a connection it no longer uses from the callers waiting for one.
                self.release(index)
                continuation.resume(with: result)
            }
            // The slot was taken just before `shutdown` stopped its thread.
            if !submitted {
                release(index)
                continuation.resume(throwing: StoreError.poolClosed)
            }
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await withConnection { connection in try connection.transaction(body) }
    }

    /// A read-only transaction on one snapshot: every query in `body` sees the same committed state.
    public func snapshot<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await transaction { connection in
            try connection.simple("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return try body(connection)
        }
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    public func query(_ sql: SQL) async throws -> QueryResult {
        try await withConnection { connection in try connection.query(sql) }
    }

    /// Round trip to the server (`SELECT 1`); throws when the database cannot be reached.
    public func ping() async throws {
        try await withConnection { connection in
            let value = try connection.query("SELECT 1").first?.decode(0, as: Int.self)
            guard value == 1 else { throw StoreError.decoding("SELECT 1 returned \(String(describing: value))") }
        }
    }

    /// Closes every connection (the listener's too) and stops the slot threads; later calls fail
    /// with `poolClosed`.
    public func shutdown() {
        notifications.stop()
        let waiters = state.withLock { state -> [Waiter] in
            state.closed = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        waiters.forEach { $0.continuation.resume(throwing: StoreError.poolClosed) }
        for slot in slots {
            // Refused only by a second shutdown, when the threads are already gone.
            _ = slot.thread.submit {
                if slot.connection != nil {
                    slot.connection = nil
                    self.state.withLock { $0.openConnections -= 1 }
                }
            }
            slot.thread.stop()
        }
    }

    /// Pool use, for metrics.
    public var statistics: PoolStatistics {
        state.withLock { state in
            PoolStatistics(size: slots.count, inUse: slots.count - state.idle.count,
                           open: state.openConnections, waiting: state.waiters.count,
                           acquisitions: state.acquisitions, timeouts: state.timeouts,
                           connectFailures: state.connectFailures, connectionsLost: state.connectionsLost,
                           rowsFetched: state.rowsFetched)
        }
    }

    /// True on one of the pool's own threads (where `withConnection` bodies run).
    var isOnPoolThread: Bool { slots.contains { $0.thread.isCurrent } }

    // MARK: Slots

    private func acquire() async throws -> Int {
        try Task.checkCancellation()
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, Error>) in
                let immediate: Result<Int, Error>? = state.withLock { state in
                    if state.closed { return .failure(StoreError.poolClosed) }
                    // Checked under the lock the cancellation handler takes: no waiter is left behind.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if let index = state.idle.popLast() {
                        state.acquisitions += 1
                        return .success(index)
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate {
                    continuation.resume(with: immediate)
                    return
                }
                let timeout = configuration.acquireTimeout
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [self] in
                    removeWaiter(id, error: StoreError.poolTimeout(seconds: timeout), countTimeout: true)
                }
            }
        } onCancel: {
            removeWaiter(id, error: CancellationError(), countTimeout: false)
        }
    }

    private func removeWaiter(_ id: UInt64, error: Error, countTimeout: Bool) {
        let waiter = state.withLock { state -> Waiter? in
            guard let position = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            if countTimeout { state.timeouts += 1 }
            return state.waiters.remove(at: position)
        }
        waiter?.continuation.resume(throwing: error)
    }

    private func release(_ index: Int) {
        let waiter = state.withLock { state -> Waiter? in
            if state.waiters.isEmpty {
                state.idle.append(index)
                return nil
            }
            state.acquisitions += 1
            return state.waiters.removeFirst()
        }
        waiter?.continuation.resume(returning: index)
    }

    /// On the slot's thread: a usable connection, the body, and the connection left clean.
    private func perform<T>(_ body: (Connection) throws -> T, on slot: Slot) throws -> T {
        let connection = try usableConnection(slot)
        let fetchedBefore = connection.rowsFetched
        defer {
            let fetched = connection.rowsFetched - fetchedBefore
            state.withLock { $0.rowsFetched += fetched }
        }
        do {
            let value = try body(connection)
            if !connection.isIdle {
                // The body left a transaction open: end it rather than leak it to the next user.
                try? connection.simple("ROLLBACK")
            }
            return value
        } catch let error as StoreError {
            if case .connectionLost = error {
                drop(slot)
            } else if !connection.isUsable {
                drop(slot)
                throw StoreError.connectionLost(error.description)
            } else if !connection.isIdle {
                try? connection.simple("ROLLBACK")
            }
            throw error
        } catch {
            if connection.isInFailedOrOpenTransaction { try? connection.simple("ROLLBACK") }
            throw error
        }
    }

    private func drop(_ slot: Slot) {
        guard slot.connection != nil else { return }
        slot.connection = nil
        state.withLock {
            $0.openConnections -= 1
            $0.connectionsLost += 1
        }
    }

    private func usableConnection(_ slot: Slot) throws -> Connection {
        if let connection = slot.connection {
            if connection.isUsable { return connection }
            drop(slot)
        }
        // Work queued before `shutdown` may run after the slot's connection was closed: it must
        // not open one that nothing would close.
        if state.withLock({ $0.closed }) { throw StoreError.poolClosed }
        // While the backoff window is open, fail at once with the last error.
        let blocked = breaker.withLock { breaker -> String? in
            guard let retryAt = breaker.retryAt, DispatchTime.now() < retryAt else { return nil }
            return breaker.lastError
        }
        if let blocked { throw StoreError.unavailable(blocked) }
        do {
            let connection = try Connection.connect(configuration)
            breaker.withLock { $0 = Breaker() }
            state.withLock { $0.openConnections += 1 }
            slot.connection = connection
            return connection
        } catch let error as StoreError {
            let message: String
            if case .unavailable(let text) = error { message = text } else { message = error.description }
            let bounds = configuration.reconnectBackoff
            breaker.withLock { breaker in
                breaker.delay = min(max(breaker.delay * 2, bounds.lowerBound), bounds.upperBound)
                breaker.retryAt = .now() + breaker.delay
                breaker.lastError = message
            }
            state.withLock { $0.connectFailures += 1 }
            throw error
        }
    }

    /// A dedicated thread and the connection that lives on it (touched only on that thread).
    final class Slot: @unchecked Sendable {
        let thread: DedicatedThread
        var connection: Connection?

        init() {
            thread = DedicatedThread()
        }
    }
}

/// How the pool is used, for `/metrics`.
public struct PoolStatistics: Sendable, Equatable {
    public let size: Int
    public let inUse: Int
    public let open: Int
    public let waiting: Int
    public let acquisitions: UInt64
    public let timeouts: UInt64
    public let connectFailures: UInt64
    public let connectionsLost: UInt64
    /// Rows read from the database, in total: what queries cost the process in memory.
    public let rowsFetched: UInt64
}
