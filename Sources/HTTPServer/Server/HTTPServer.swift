import Crypto
import Dispatch
public import Logging
import Synchronization
import Glibc

/// popi's HTTP/1.1 server: POSIX sockets, readiness from one epoll instance waited on by a few
/// event threads, one serial `ConnectionQueue` per connection owning its state machine. The event
/// thread that sees a request on an idle connection reads it, runs its handler until the handler
/// first suspends, and writes the response, with no thread hop in between. See `Router` for
/// routing and `HTTPServerConfiguration` for limits, timeouts and event threads.
///
///     var router = Router()
///     router.get("/healthz") { _ in .json(#"{"status":"ok"}"#) }
///     let server = HTTPServer(configuration: .init(port: 8080), router: router)
///     try server.start()
///     …
///     await server.shutdown(gracePeriod: .seconds(10))
public final class HTTPServer: Sendable {
    private struct Running {
        var listeners: [Int32]
        var sweeper: SweeperSource
        var poller: Poller
        var port: Int
        var addresses: [String]
    }

    private let configuration: HTTPServerConfiguration
    private let compiledRouter: CompiledRouter
    private let logger: Logger?
    private let running = Mutex<Running?>(nil)
    private let core = Mutex<ServerCore?>(nil)

    public init(configuration: HTTPServerConfiguration, router: Router, logger: Logger? = nil) {
        self.configuration = configuration
        self.logger = logger
        compiledRouter = CompiledRouter(router) { error, request in
            logger?.error("handler failed", metadata: [
                "error": "\(error)", "route": "\(request.route ?? "-")",
                "request_id": "\(request.attributes[RequestID.self] ?? "-")",
            ])
        }
    }

    /// The bound port (useful with port 0); 0 before `start()`.
    public var port: Int { running.withLock { $0?.port ?? 0 } }

    /// The bound addresses, e.g. `["127.0.0.1:8080"]`.
    public var addresses: [String] { running.withLock { $0?.addresses ?? [] } }

    /// Connections, refusals, body timeouts and body memory; all zero before `start()`.
    public var statistics: HTTPServerStatistics { core.withLock { $0 }?.statistics ?? HTTPServerStatistics() }

    /// Binds and starts accepting. Throws `SocketError` or `TLSError`.
    public func start() throws {
        let tls = try configuration.tls.map { configuration throws(TLSError) in try TLSContext(configuration) }
        raiseDescriptorLimit(to: configuration.maxConnections + 64)
        // OpenSSL writes with write(2), which raises SIGPIPE when a TLS client has gone away;
        // plain sockets use MSG_NOSIGNAL. Either way the error is handled where it happens.
        signal(SIGPIPE, SIG_IGN)
        let listener = try Listener.open(host: configuration.host, port: configuration.port, backlog: configuration.backlog)
        let core = ServerCore(configuration: configuration, router: compiledRouter, logger: logger, tls: tls)
        let descriptors = listener.descriptors
        let logger = logger
        let poller: Poller
        do {
            poller = try Poller(threads: configuration.eventThreads) { token, events in
                if token < UInt64(descriptors.count) {
                    let listener = descriptors[Int(token)]
                    core.accepting {
                        Self.acceptAll(listener, core: core, logger: logger)
                        if !core.isDraining { core.poller?.rearmListener(listener, token: token) }
                    }
                } else {
                    core.deliver(token: token, events: events)
                }
            }
            for (index, fd) in descriptors.enumerated() {
                try poller.registerListener(fd, token: UInt64(index))
            }
        } catch {
            descriptors.forEach(Syscall.close)
            throw error
        }
        core.poller = poller
        self.core.withLock { $0 = core }
        poller.start()
        let sweeper = SweeperSource(DispatchSource.makeTimerSource(queue: DispatchQueue(label: "popi.http.sweeper")))
        sweeper.source.schedule(deadline: .now() + .milliseconds(250), repeating: .milliseconds(250), leeway: .milliseconds(50))
        sweeper.source.setEventHandler { core.sweep(now: monotonicNanoseconds()) }
        sweeper.source.resume()
        running.withLock {
            $0 = Running(listeners: descriptors, sweeper: sweeper, poller: poller, port: listener.port, addresses: listener.addresses)
        }
        logger?.info("HTTP server listening", metadata: [
            "addresses": "\(listener.addresses.joined(separator: ", "))", "tls": "\(tls != nil)",
        ])
    }

    /// Stops accepting, lets in-flight requests finish for up to `gracePeriod` (idle keep-alive
    /// connections close at once, busy ones after their response), then closes what is left.
    public func shutdown(gracePeriod: Duration = .seconds(10)) async {
        let state = running.withLock { state -> Running? in
            defer { state = nil }
            return state
        }
        guard let state, let core = core.withLock({ $0 }) else { return }
        // Stop accepting first: drain mode makes event threads ignore listener events, then the
        // listening sockets leave epoll and, once no thread is still accepting from them, close
        // (new clients get a connection refusal).
        core.beginDraining()
        for fd in state.listeners {
            state.poller.deregister(fd)
        }
        core.waitForAcceptors()
        state.listeners.forEach(Syscall.close)
        let finished = await core.waitUntilEmpty(timeout: gracePeriod)
        if !finished {
            logger?.warning("closing connections still busy after the grace period", metadata: ["open": "\(core.connectionCount)"])
            core.closeAll()
            _ = await core.waitUntilEmpty(timeout: nil)
        }
        state.sweeper.source.cancel()
        state.poller.stop()
        logger?.info("HTTP server stopped")
    }

    /// Stops at once: closes every connection and cancels running handlers.
    public func stop() async {
        await shutdown(gracePeriod: .zero)
    }

    /// Accepts until the backlog is empty. Runs on the event thread the listener reported to.
    private static func acceptAll(_ listenFD: Int32, core: ServerCore, logger: Logger?) {
        // A burst of refused connections shares one date and one encoding of each refusal.
        var date = HTTPDate()
        var refusals: [ServerCore.Admission: [UInt8]] = [:]
        while !core.isDraining {
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd: Int32
            do throws(SocketError) {
                fd = try Syscall.call("accept", {
                    withUnsafeMutablePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Accept4.accept(listenFD, $0, &length) }
                    }
                })
            } catch {
                switch error.kind {
                case .wouldBlock:
                    return
                case .disconnected:
                    continue
                case .resourceExhausted:
                    // Level-triggered listener: back off briefly instead of spinning.
                    logger?.warning("cannot accept: \(error)")
                    usleep(10_000)
                    return
                default:
                    logger?.error("accept failed: \(error)")
                    return
                }
            }
            let peer = PeerAddress(&address)
            let admission = core.admission(for: peer)
            guard admission == .admitted else {
                // Plain connections get a best-effort answer; a TLS client would need a handshake first.
                if core.tls == nil {
                    let answer = refusals[admission] ?? refusal(admission, date: &date)
                    refusals[admission] = answer
                    _ = answer.withUnsafeBytes { try? Syscall.write(fd, $0) }
                }
                Syscall.close(fd)
                continue
            }
            try? Syscall.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            let transport: Transport
            if let tls = core.tls {
                guard let session = TLSSession(context: tls, fd: fd) else {
                    core.cancelAdmission(for: peer)
                    Syscall.close(fd)
                    continue
                }
                transport = .tls(session)
            } else {
                transport = .plain(fd)
            }
            let connection = Connection(token: core.makeToken(), fd: fd, remoteAddress: SocketAddress.describe(&address),
                                        peer: peer, server: core, transport: transport)
            core.add(connection)
            do {
                try core.poller?.register(fd, token: connection.token)
            } catch {
                logger?.error("cannot watch a connection: \(error)")
                connection.queue.async { connection.close() }
            }
        }
    }

    /// The answer to a connection over a limit.
    private static func refusal(_ admission: ServerCore.Admission, date: inout HTTPDate) -> [UInt8] {
        let error = admission == .serverFull
            ? HTTPError(.serviceUnavailable, code: "overloaded", message: "too many connections", headers: ["Retry-After": "1"])
            : HTTPError(.serviceUnavailable, code: "too_many_connections", message: "too many connections from this address",
                        headers: ["Retry-After": "1"])
        var out: [UInt8] = []
        ResponseHead.appendClosing(error, date: &date, to: &out)
        return out
    }

    private func raiseDescriptorLimit(to wanted: Int) {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < rlim_t(wanted) else { return }
        limit.rlim_cur = min(limit.rlim_max, rlim_t(wanted))
        _ = setrlimit(resource, &limit)
    }
}

/// The sweeper's timer source, created in `start()` and cancelled in `shutdown`.
final class SweeperSource: @unchecked Sendable {
    let source: any DispatchSourceTimer
    init(_ source: any DispatchSourceTimer) { self.source = source }
}
