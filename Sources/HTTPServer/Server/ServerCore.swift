import Crypto
import Dispatch
import Logging
import Synchronization

/// What every connection of one server shares: configuration, router, TLS context and the set of
/// open connections (for the timeout sweeper, the connection limit and shutdown).
final class ServerCore: Sendable {
    let configuration: HTTPServerConfiguration
    let router: CompiledRouter
    let logger: Logger?
    let tls: TLSContext?
    let connectionTargetQueue = DispatchQueue.global()
    let timeouts: ConnectionTimeouts
    private let connections = Mutex<[UInt64: Connection]>([:])
    private let nextToken = Atomic<UInt64>(1 << 32)
    /// Set once by `HTTPServer.start()` before any connection exists.
    nonisolated(unsafe) var poller: Poller?
    private let draining = Atomic<Bool>(false)
    private let emptied = Mutex<[EmptyWaiter]>([])

    init(configuration: HTTPServerConfiguration, router: CompiledRouter, logger: Logger?, tls: TLSContext?) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        self.tls = tls
        timeouts = ConnectionTimeouts(header: configuration.headerTimeout.nanoseconds,
                                      bodyIdle: configuration.bodyIdleTimeout.nanoseconds,
                                      keepAlive: configuration.keepAliveTimeout.nanoseconds,
                                      write: configuration.writeTimeout.nanoseconds)
    }

    var isDraining: Bool { draining.load(ordering: .relaxed) }

    var connectionCount: Int { connections.withLock { $0.count } }

    /// Connection tokens start above the listeners' and are never reused, so a stale epoll event
    /// can never reach a newer connection on the same descriptor number.
    func makeToken() -> UInt64 {
        nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    var hasRoom: Bool { connections.withLock { $0.count < configuration.maxConnections } }

    func add(_ connection: Connection) {
        connections.withLock { $0[connection.token] = connection }
    }

    func remove(_ connection: Connection) {
        let empty = connections.withLock { all -> Bool in
            all[connection.token] = nil
            return all.isEmpty
        }
        if empty { wakeEmptyWaiters() }
    }

    /// Hands an epoll event to its connection's queue. Runs on the poller thread.
    func deliver(token: UInt64, events: UInt32) {
        guard let connection = connections.withLock({ $0[token] }) else { return }
        connection.queue.async { connection.handle(events: events) }
    }

    /// Asks each connection whose deadline passed to check it on its own queue.
    func sweep(now: UInt64) {
        let due = connections.withLock { all in
            all.values.filter { connection in
                let deadline = connection.deadline.load(ordering: .relaxed)
                return deadline != 0 && deadline <= now
            }
        }
        for connection in due {
            connection.queue.async { connection.checkTimeout() }
        }
    }

    func beginDraining() {
        draining.store(true, ordering: .relaxed)
        let all = connections.withLock { Array($0.values) }
        for connection in all {
            connection.queue.async { connection.beginDraining() }
        }
    }

    func closeAll() {
        let all = connections.withLock { Array($0.values) }
        for connection in all {
            connection.queue.async { connection.close() }
        }
    }

    /// Returns true once no connection is open, or false when `timeout` passes first.
    func waitUntilEmpty(timeout: Duration?) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let waiter = EmptyWaiter(continuation)
            let empty = connections.withLock { all -> Bool in
                if all.isEmpty { return true }
                emptied.withLock { $0.append(waiter) }
                return false
            }
            if empty {
                waiter.resume(true)
            } else if let timeout {
                DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(timeout.nanoseconds))) {
                    waiter.resume(false)
                }
            }
        }
    }

    private func wakeEmptyWaiters() {
        let waiters = emptied.withLock { waiters -> [EmptyWaiter] in
            defer { waiters.removeAll() }
            return waiters
        }
        waiters.forEach { $0.resume(true) }
    }
}

/// A continuation resumed by whichever comes first: the last connection closing or a timeout.
final class EmptyWaiter: Sendable {
    private let continuation = Mutex<CheckedContinuation<Bool, Never>?>(nil)

    init(_ continuation: CheckedContinuation<Bool, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(_ value: Bool) {
        continuation.withLock { $0.take() }?.resume(returning: value)
    }
}
