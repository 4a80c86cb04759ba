import Crypto
import Dispatch
import Logging
import Synchronization
import Glibc

/// What every connection of one server shares: configuration, router, TLS context, the set of
/// open connections (for the timeout sweeper, the connection limits and shutdown) and the counters
/// behind `HTTPServerStatistics`.
final class ServerCore: Sendable {
    /// Whether a new connection may stay, decided at accept.
    enum Admission {
        case admitted
        /// `maxConnections` are open.
        case serverFull
        /// `maxConnectionsPerAddress` are open from the connection's address.
        case addressFull
    }

    private struct Open {
        var connections: [UInt64: Connection] = [:]
        /// Connections admitted and not yet added (see `admission`).
        var admitted = 0
        /// Added and admitted connections by address.
        var perAddress: [PeerAddress: Int] = [:]
    }

    private static func release(_ peer: PeerAddress, in open: inout Open) {
        let left = open.perAddress[peer, default: 1] - 1
        open.perAddress[peer] = left > 0 ? left : nil
    }

    let configuration: HTTPServerConfiguration
    let router: CompiledRouter
    let logger: Logger?
    let tls: TLSContext?
    let timeouts: ConnectionTimeouts
    private let open = Mutex(Open())
    private let refusedServerFull = Atomic<Int>(0)
    private let refusedAddressFull = Atomic<Int>(0)
    private let bodyIdleTimeouts = Atomic<Int>(0)
    private let bodyTotalTimeouts = Atomic<Int>(0)
    private let bufferedBodyBytes = Atomic<Int>(0)
    private let reservedBodyBytes = Atomic<Int>(0)
    private let nextToken = Atomic<UInt64>(1 << 32)
    /// Set once by `HTTPServer.start()` before any connection exists.
    nonisolated(unsafe) var poller: Poller?
    private let draining = Atomic<Bool>(false)
    /// Event threads accepting from a listener now.
    private let acceptors = Atomic<Int>(0)
    private let emptied = Mutex<[EmptyWaiter]>([])

    init(configuration: HTTPServerConfiguration, router: CompiledRouter, logger: Logger?, tls: TLSContext?) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        self.tls = tls
        timeouts = ConnectionTimeouts(header: configuration.headerTimeout.nanoseconds,
                                      bodyIdle: configuration.bodyIdleTimeout.nanoseconds,
                                      bodyTotal: configuration.bodyTotalTimeout.nanoseconds,
                                      keepAlive: configuration.keepAliveTimeout.nanoseconds,
                                      write: configuration.writeTimeout.nanoseconds)
    }

    var isDraining: Bool { draining.load(ordering: .sequentiallyConsistent) }

    /// Runs `accept` (an event thread's work on a listener) counted in `acceptors`.
    func accepting(_ accept: () -> Void) {
        acceptors.add(1, ordering: .sequentiallyConsistent)
        defer { acceptors.subtract(1, ordering: .sequentiallyConsistent) }
        accept()
    }

    /// Once draining, returns when no event thread accepts any more, so listeners can close: a
    /// thread that starts accepting later sees the drain and leaves them alone.
    func waitForAcceptors() {
        while acceptors.load(ordering: .sequentiallyConsistent) > 0 {
            usleep(1000)
        }
    }

    var connectionCount: Int { open.withLock { $0.connections.count } }

    /// Connection tokens start above the listeners' and are never reused, so a stale epoll event
    /// can never reach a newer connection on the same descriptor number.
    func makeToken() -> UInt64 {
        nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Whether a connection just accepted from `peer` may stay; a refusal is counted. An admitted
    /// connection holds its place (in the total and for its address) from here on, since other
    /// event threads accept too: `add` it, or give the place back with `cancelAdmission`.
    func admission(for peer: PeerAddress?) -> Admission {
        let admission = open.withLock { open -> Admission in
            if open.connections.count + open.admitted >= configuration.maxConnections { return .serverFull }
            if let peer, open.perAddress[peer, default: 0] >= configuration.maxConnectionsPerAddress { return .addressFull }
            open.admitted += 1
            if let peer { open.perAddress[peer, default: 0] += 1 }
            return .admitted
        }
        switch admission {
        case .admitted: break
        case .serverFull: refusedServerFull.add(1, ordering: .relaxed)
        case .addressFull: refusedAddressFull.add(1, ordering: .relaxed)
        }
        return admission
    }

    /// An admitted connection that will not be added after all.
    func cancelAdmission(for peer: PeerAddress?) {
        open.withLock { open in
            open.admitted -= 1
            if let peer { Self.release(peer, in: &open) }
        }
    }

    func add(_ connection: Connection) {
        open.withLock { open in
            open.admitted -= 1
            open.connections[connection.token] = connection
        }
    }

    func remove(_ connection: Connection) {
        let empty = open.withLock { open -> Bool in
            guard open.connections.removeValue(forKey: connection.token) != nil else { return open.connections.isEmpty }
            if let peer = connection.peer { Self.release(peer, in: &open) }
            return open.connections.isEmpty
        }
        if empty { wakeEmptyWaiters() }
    }

    // MARK: - Statistics

    func countBodyTimeout(total: Bool) {
        if total {
            bodyTotalTimeouts.add(1, ordering: .relaxed)
        } else {
            bodyIdleTimeouts.add(1, ordering: .relaxed)
        }
    }

    /// A connection's body buffer changed by `bytes` held and `capacity` reserved (negative when released).
    func bodyBufferChanged(bytes: Int, capacity: Int) {
        if bytes != 0 { bufferedBodyBytes.add(bytes, ordering: .relaxed) }
        if capacity != 0 { reservedBodyBytes.add(capacity, ordering: .relaxed) }
    }

    var statistics: HTTPServerStatistics {
        var statistics = HTTPServerStatistics()
        statistics.openConnections = connectionCount
        statistics.refusedServerFull = refusedServerFull.load(ordering: .relaxed)
        statistics.refusedAddressFull = refusedAddressFull.load(ordering: .relaxed)
        statistics.bodyIdleTimeouts = bodyIdleTimeouts.load(ordering: .relaxed)
        statistics.bodyTotalTimeouts = bodyTotalTimeouts.load(ordering: .relaxed)
        statistics.bufferedBodyBytes = bufferedBodyBytes.load(ordering: .relaxed)
        statistics.reservedBodyBytes = reservedBodyBytes.load(ordering: .relaxed)
        return statistics
    }

    // MARK: - Events

    /// Hands an epoll event to its connection: run now on this event thread when the connection is
    /// idle, else after its running work.
    func deliver(token: UInt64, events: UInt32) {
        guard let connection = open.withLock({ $0.connections[token] }) else { return }
        connection.queue.run { connection.handle(events: events) }
    }

    /// Asks each connection whose deadline passed to check it on its own queue.
    func sweep(now: UInt64) {
        let due = open.withLock { open in
            open.connections.values.filter { connection in
                let deadline = connection.deadline.load(ordering: .relaxed)
                return deadline != 0 && deadline <= now
            }
        }
        for connection in due {
            connection.queue.async { connection.checkTimeout() }
        }
    }

    func beginDraining() {
        draining.store(true, ordering: .sequentiallyConsistent)
        let all = open.withLock { Array($0.connections.values) }
        for connection in all {
            connection.queue.async { connection.beginDraining() }
        }
    }

    func closeAll() {
        let all = open.withLock { Array($0.connections.values) }
        for connection in all {
            connection.queue.async { connection.close() }
        }
    }

    /// Returns true once no connection is open, or false when `timeout` passes first.
    func waitUntilEmpty(timeout: Duration?) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let waiter = EmptyWaiter(continuation)
            let empty = open.withLock { open -> Bool in
                if open.connections.isEmpty { return true }
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
