import Dispatch
import CEpoll
import Synchronization
import Glibc

/// One client connection. Every mutable field is owned by `queue`: readiness events from the
/// poller are delivered there, and handler tasks run there through `executor`, so the state
/// machine needs no locks.
///
/// Requests are answered strictly in order: while a handler runs, later pipelined bytes wait in
/// the input buffer (reading continues only to notice a disconnect, up to the buffer's size).
final class Connection: @unchecked Sendable {
    private enum Phase {
        /// Waiting for, or reading, a request head.
        case head
        /// Reading a body before running the handler.
        case body
        /// A handler (and its streamed response) is running.
        case handler
        /// Sending what is buffered, then closing.
        case closing
        /// Write side shut; discarding input until the client closes or a short timeout.
        case lingering
        case closed
    }

    /// The body of an `Expect: 100-continue` request, read only when the handler asks.
    private enum DeferredBody {
        case none
        case notAsked
        case reading(limit: Int, continuation: CheckedContinuation<[UInt8], any Error>)
        case done
    }

    static let queueKey = DispatchSpecificKey<ObjectIdentifier>()
    private static let lingerNanoseconds: UInt64 = 2_000_000_000
    private static let readBufferSize = 16 * 1024

    let queue: DispatchQueue
    let executor: ConnectionExecutor
    /// Monotonic nanoseconds after which `checkTimeout` acts; 0 for none. Read by the sweeper.
    let deadline = Atomic<UInt64>(0)
    let token: UInt64
    let fd: Int32
    private let server: ServerCore
    private let remoteAddress: String?

    private var transport: Transport
    /// Input stopped because the buffer is full while a handler runs; with edge-triggered
    /// readiness no new event comes for bytes already waiting, so reading resumes by itself.
    private var readBlocked = false

    private var parser: HTTPRequestParser
    private let inbound: UnsafeMutableRawBufferPointer
    private var inStart = 0
    private var inEnd = 0
    private var outbound: [UInt8] = []
    private var outStart = 0
    private var date = HTTPDate()

    private var phase = Phase.head
    private var head: RequestHead?
    private var body: [UInt8] = []
    private var deferred = DeferredBody.none
    private var task: Task<Void, Never>?
    private var closeAfterResponse = false
    private var processing = false
    private var requestsServed = 0
    /// Writers suspended until buffered output drains: a handler may write from several tasks.
    private var drainWaiters: [CheckedContinuation<Void, any Error>] = []
    private var readWantsWritable = false

    private var headStartedAt: UInt64
    private var idleSince: UInt64 = 0
    private var lastBodyProgress: UInt64 = 0
    private var lastWriteProgress: UInt64 = 0
    private var lingerStartedAt: UInt64 = 0

    init(token: UInt64, fd: Int32, remoteAddress: String?, server: ServerCore, transport: Transport, now: UInt64) {
        self.token = token
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.server = server
        self.transport = transport
        queue = DispatchQueue(label: "popi.http.connection", target: server.connectionTargetQueue)
        executor = ConnectionExecutor(queue: queue)
        parser = HTTPRequestParser(limits: server.configuration.limits)
        inbound = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readBufferSize, alignment: 16)
        headStartedAt = now
        queue.setSpecific(key: Self.queueKey, value: ObjectIdentifier(self))
        deadline.store(now + server.headerTimeout, ordering: .relaxed)
    }

    deinit {
        inbound.deallocate()
    }

    var isOnQueue: Bool { DispatchQueue.getSpecific(key: Self.queueKey) == ObjectIdentifier(self) }

    /// Readiness from the poller (edge-triggered epoll events). Runs on `queue`.
    func handle(events: UInt32) {
        if events & (UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue) | UInt32(EPOLLHUP.rawValue) | UInt32(EPOLLERR.rawValue)) != 0 {
            readable()
        }
        if events & UInt32(EPOLLOUT.rawValue) != 0 {
            writable()
        }
    }

    // MARK: - Reading

    /// Reads until the socket is drained (edge-triggered), parsing as it goes.
    private func readable() {
        guard phase != .closed, !readWantsWritable else { return }
        readBlocked = false
        while true {
            var drained = false
            reading: while true {
                if inEnd == inbound.count {
                    compactInbound()
                    if inEnd == inbound.count { break reading }
                }
                let space = UnsafeMutableRawBufferPointer(rebasing: inbound[inEnd...])
                switch transport.read(into: space) {
                case .bytes(let n):
                    inEnd += n
                    if phase == .lingering {
                        inStart = 0
                        inEnd = 0
                    }
                    // A short plain read means the kernel queue is empty: skip the EAGAIN round trip.
                    if n < space.count && transport.isPlain {
                        drained = true
                        break reading
                    }
                case .wouldBlock(let wantsWritable):
                    readWantsWritable = wantsWritable
                    drained = true
                    break reading
                case .closed:
                    peerClosed()
                    return
                case .failed(let reason):
                    server.logger?.debug("connection read failed", metadata: ["reason": "\(reason)"])
                    close()
                    return
                }
            }
            if phase == .lingering {
                if drained { return }
                continue
            }
            processInput()
            if drained || phase == .closed { return }
            if !isParsing && inEnd == inbound.count {
                // A handler runs and the pipeline buffer is full: resume when it is done.
                readBlocked = true
                return
            }
        }
    }

    /// Whether input is being parsed now (as opposed to waiting behind a running handler).
    private var isParsing: Bool {
        switch phase {
        case .head, .body: return true
        case .handler: if case .reading = deferred { return true } else { return false }
        case .closing, .lingering, .closed: return false
        }
    }

    private func compactInbound() {
        guard inStart > 0 else { return }
        let count = inEnd - inStart
        if count > 0 {
            inbound.baseAddress!.copyMemory(from: inbound.baseAddress! + inStart, byteCount: count)
        }
        inStart = 0
        inEnd = count
    }

    private func processInput() {
        guard !processing, phase != .closed else { return }
        processing = true
        parseBufferedInput()
        processing = false
        if phase == .head, !parser.isIdle, headStartedAt == 0 {
            headStartedAt = monotonicNanoseconds()
        }
        flush()
        armTimer()
    }

    private func parseBufferedInput() {
        while true {
            switch phase {
            case .head, .body:
                break
            case .handler:
                guard case .reading = deferred else { return }
            case .closing, .lingering, .closed:
                return
            }
            let (consumed, event) = parser.parse(UnsafeRawBufferPointer(rebasing: inbound[0..<inEnd]), from: inStart)
            inStart += consumed
            defer { if inStart == inEnd { inStart = 0; inEnd = 0 } }
            guard let event else { return }
            switch event {
            case .head(let head):
                receivedHead(head)
            case .body(let range):
                receivedBody(UnsafeRawBufferPointer(rebasing: inbound[range]))
            case .end:
                receivedEnd()
            case .error(let error):
                receivedError(error)
                return
            }
        }
    }

    private func receivedHead(_ head: RequestHead) {
        self.head = head
        headStartedAt = 0
        if server.isDraining { closeAfterResponse = true }
        if head.expectsContinue {
            deferred = .notAsked
            startHandler(head, body: RequestBody(deferred: DeferredBodyReader(connection: self)))
        } else {
            phase = .body
            lastBodyProgress = monotonicNanoseconds()
            if case .length(let length) = head.framing { body.reserveCapacity(length) }
        }
    }

    private func receivedBody(_ bytes: UnsafeRawBufferPointer) {
        if case .reading(let limit, let continuation) = deferred, body.count + bytes.count > limit {
            deferred = .done
            closeAfterResponse = true
            parserAbandoned()
            continuation.resume(throwing: HTTPError.payloadTooLarge(limit: limit))
            return
        }
        body.append(contentsOf: bytes)
        lastBodyProgress = monotonicNanoseconds()
    }

    private func receivedEnd() {
        guard let head else { return }
        switch phase {
        case .body:
            let bytes = body
            body = []
            startHandler(head, body: RequestBody(bytes: bytes))
        case .handler:
            if case .reading(_, let continuation) = deferred {
                deferred = .done
                let bytes = body
                body = []
                continuation.resume(returning: bytes)
            }
        default:
            break
        }
    }

    private func receivedError(_ error: HTTPParseError) {
        server.logger?.debug("rejected request", metadata: ["status": "\(error.status.code)", "reason": "\(error.message)"])
        closeAfterResponse = true
        if phase == .handler {
            // The handler asked for a deferred body that turned out malformed or too large.
            if case .reading(_, let continuation) = deferred {
                deferred = .done
                continuation.resume(throwing: HTTPError(error))
            }
            return
        }
        phase = .closing
        ResponseHead.appendClosing(HTTPError(error), date: &date, to: &outbound)
    }

    /// Input after this point will not be parsed: forget it and close once the response is out.
    private func parserAbandoned() {
        inStart = 0
        inEnd = 0
    }

    // MARK: - Handlers

    private func startHandler(_ head: RequestHead, body: RequestBody) {
        phase = .handler
        let request = Request(head: head, body: body, remoteAddress: remoteAddress)
        let router = server.router
        let nested = executor.isDraining
        if !nested { executor.beginInline() }
        task = Task(executorPreference: executor) { [self] in
            let response = await router.respond(request)
            await send(response, for: head)
            exchangeFinished()
        }
        if !nested { executor.drain() }
    }

    /// Runs on `queue` (the task's executor).
    private func send(_ response: Response, for head: RequestHead) async {
        guard phase == .handler else { return }
        if response.headers.containsToken("close", in: "Connection") { closeAfterResponse = true }
        if case .notAsked = deferred { closeAfterResponse = true }
        let noBody = head.method == .HEAD || !response.status.allowsBody
        switch response.body {
        case .bytes(let bytes):
            let closing = closeAfterResponse || !head.keepAlive
            if closing { closeAfterResponse = true }
            ResponseHead.append(status: response.status, headers: response.headers, framing: .length(bytes.count),
                                close: closing, keepAliveHeader: !head.version.isAtLeast1_1, date: &date, to: &outbound)
            if !noBody { outbound.append(contentsOf: bytes) }
        case .stream(let write):
            let chunked = head.version.isAtLeast1_1
            let closing = closeAfterResponse || !head.keepAlive || !chunked
            if closing { closeAfterResponse = true }
            ResponseHead.append(status: response.status, headers: response.headers,
                                framing: chunked ? .chunked : .untilClose, close: closing,
                                keepAliveHeader: !head.version.isAtLeast1_1, date: &date, to: &outbound)
            if noBody { return }
            flush()
            do {
                try await write(ConnectionBodyWriter(connection: self, chunked: chunked))
                guard phase == .handler else { return }
                if chunked { outbound.append(contentsOf: "0\r\n\r\n".utf8) }
            } catch {
                // The status is already sent: cut the connection so the client sees an incomplete body.
                if phase != .closed, !(error is CancellationError) {
                    server.logger?.warning("streamed response failed", metadata: ["error": "\(error)"])
                }
                close()
            }
        }
    }

    /// Runs on `queue` when the handler task is done.
    private func exchangeFinished() {
        task = nil
        guard phase == .handler else { return }
        requestsServed += 1
        head = nil
        if case .reading = deferred { closeAfterResponse = true }
        deferred = .none
        if closeAfterResponse {
            phase = .closing
        } else {
            phase = .head
            idleSince = monotonicNanoseconds()
            headStartedAt = 0
        }
        if !processing {
            processInput()
            if readBlocked { readable() }
        }
    }

    // MARK: - Deferred bodies (Expect: 100-continue)

    func collectDeferredBody(upTo limit: Int) async throws -> [UInt8] {
        if !isOnQueue {
            return try await withCheckedThrowingContinuation { continuation in
                queue.async { [self] in
                    Task(executorPreference: executor) {
                        do { continuation.resume(returning: try await self.collectDeferredBody(upTo: limit)) } catch { continuation.resume(throwing: error) }
                    }
                }
            }
        }
        guard phase == .handler else { throw CancellationError() }
        guard case .notAsked = deferred else {
            throw HTTPError(.internalServerError, code: "internal", message: "request body already read")
        }
        if let length = head?.contentLength, length > limit {
            throw HTTPError.payloadTooLarge(limit: limit)
        }
        return try await withCheckedThrowingContinuation { continuation in
            deferred = .reading(limit: limit, continuation: continuation)
            outbound.append(contentsOf: "HTTP/1.1 100 Continue\r\n\r\n".utf8)
            lastBodyProgress = monotonicNanoseconds()
            if processing {
                flush()
            } else {
                processInput()
            }
        }
    }

    // MARK: - Streamed responses

    /// Appends one chunk and sends what it can; suspends while too much waits for the client.
    func writeChunk(_ bytes: [UInt8], chunked: Bool) async throws {
        if !isOnQueue {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                queue.async { [self] in
                    Task(executorPreference: executor) {
                        do { try await self.writeChunk(bytes, chunked: chunked); continuation.resume() } catch { continuation.resume(throwing: error) }
                    }
                }
            }
            return
        }
        guard phase == .handler else { throw CancellationError() }
        guard !bytes.isEmpty else { return }
        if chunked {
            ResponseHead.appendHex(bytes.count, to: &outbound)
            outbound.append(contentsOf: "\r\n".utf8)
            outbound.append(contentsOf: bytes)
            outbound.append(contentsOf: "\r\n".utf8)
        } else {
            outbound.append(contentsOf: bytes)
        }
        flush()
        guard phase == .handler else { throw CancellationError() }
        if outbound.count - outStart > server.configuration.maxBufferedOutput {
            try await withCheckedThrowingContinuation { drainWaiters.append($0) }
        }
    }

    // MARK: - Writing

    private func flush() {
        guard phase != .closed else { return }
        var wrote = false
        while outStart < outbound.count {
            let result = outbound.withUnsafeBytes { transport.write(UnsafeRawBufferPointer(rebasing: $0[outStart...])) }
            switch result {
            case .bytes(let n):
                outStart += n
                wrote = true
            case .wouldBlock:
                if wrote || lastWriteProgress == 0 { lastWriteProgress = monotonicNanoseconds() }
                if outbound.count - outStart <= server.configuration.maxBufferedOutput / 2 { resumeDrainWaiters() }
                armTimer()
                return
            case .closed, .failed:
                close()
                return
            }
        }
        if outbound.capacity > 256 * 1024 {
            outbound = []
        } else {
            outbound.removeAll(keepingCapacity: true)
        }
        outStart = 0
        lastWriteProgress = 0
        resumeDrainWaiters()
        if phase == .closing { finishClosing() }
    }

    private func resumeDrainWaiters(throwing error: (any Error)? = nil) {
        let waiters = drainWaiters
        drainWaiters = []
        for waiter in waiters {
            if let error { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }

    private func writable() {
        guard phase != .closed else { return }
        if readWantsWritable {
            readWantsWritable = false
            readable()
        }
        if outStart < outbound.count {
            flush()
            armTimer()
        }
    }

    // MARK: - Closing

    /// Everything is sent: close, or shut the write side and drain input first when unread bytes
    /// may follow (a reset would otherwise destroy the response before the client reads it).
    private func finishClosing() {
        let unread = inStart < inEnd || !parser.isIdle || head != nil
        transport.closeNotify()
        guard unread else {
            close()
            return
        }
        shutdown(fd, Int32(SHUT_WR))
        phase = .lingering
        lingerStartedAt = monotonicNanoseconds()
        inStart = 0
        inEnd = 0
        armTimer()
        if readBlocked { readable() }
    }

    private func peerClosed() {
        switch phase {
        case .handler:
            server.logger?.debug("client went away during a request")
            close()
        case .closing:
            // A half-closed client may still read: the flush closes once the response is out.
            break
        default:
            close()
        }
    }

    /// Closes now, cancelling a running handler. Safe to call more than once.
    func close() {
        guard phase != .closed else { return }
        phase = .closed
        deadline.store(0, ordering: .relaxed)
        task?.cancel()
        task = nil
        if case .reading(_, let continuation) = deferred {
            deferred = .done
            continuation.resume(throwing: CancellationError())
        }
        resumeDrainWaiters(throwing: CancellationError())
        server.poller?.deregister(fd)
        Syscall.close(fd)
        server.remove(self)
    }

    // MARK: - Timeouts and shutdown

    private func armTimer() {
        deadline.store(currentDeadline(), ordering: .relaxed)
    }

    private func currentDeadline() -> UInt64 {
        if outStart < outbound.count, lastWriteProgress > 0 {
            return lastWriteProgress + server.writeTimeout
        }
        switch phase {
        case .head:
            if parser.isIdle && headStartedAt == 0 { return idleSince + server.keepAliveTimeout }
            return (headStartedAt == 0 ? monotonicNanoseconds() : headStartedAt) + server.headerTimeout
        case .body:
            return lastBodyProgress + server.bodyIdleTimeout
        case .handler:
            if case .reading = deferred { return lastBodyProgress + server.bodyIdleTimeout }
            return 0
        case .closing:
            return 0
        case .lingering:
            return lingerStartedAt + Self.lingerNanoseconds
        case .closed:
            return 0
        }
    }

    /// Called on `queue` by the server's sweeper when `deadline` has passed.
    func checkTimeout(now: UInt64) {
        guard phase != .closed else { return }
        let due = currentDeadline()
        guard due != 0, now >= due else {
            deadline.store(due, ordering: .relaxed)
            return
        }
        if outStart < outbound.count, lastWriteProgress > 0 {
            server.logger?.debug("write timeout: client stopped reading")
            close()
            return
        }
        switch phase {
        case .head where parser.isIdle:
            close()
        case .head, .body:
            answerTimeout()
        case .handler:
            if case .reading(_, let continuation) = deferred {
                deferred = .done
                closeAfterResponse = true
                parserAbandoned()
                continuation.resume(throwing: HTTPError(.requestTimeout, code: "request_timeout", message: "request body timed out"))
            }
        default:
            close()
        }
    }

    private func answerTimeout() {
        server.logger?.debug("request timeout", metadata: ["phase": "\(phase)"])
        receivedError(HTTPParseError(.requestTimeout, "request_timeout", "request not received in time"))
        parserAbandoned()
        processing = true
        flush()
        processing = false
        armTimer()
    }

    /// Graceful shutdown: idle connections close now, busy ones after their current response.
    func beginDraining() {
        guard phase != .closed else { return }
        closeAfterResponse = true
        if (phase == .head && parser.isIdle && outStart == outbound.count) || phase == .lingering { close() }
    }
}

extension RequestHead {
    var contentLength: Int? {
        if case .length(let length) = framing { return length }
        return framing == .none ? 0 : nil
    }
}

/// The writer handed to streamed response bodies.
struct ConnectionBodyWriter: ResponseBodyWriter {
    let connection: Connection
    let chunked: Bool

    func write(_ bytes: [UInt8]) async throws {
        try await connection.writeChunk(bytes, chunked: chunked)
    }
}

/// The deferred body of an `Expect: 100-continue` request.
struct DeferredBodyReader: DeferredRequestBody {
    let connection: Connection

    func collect(upTo limit: Int) async throws -> [UInt8] {
        try await connection.collectDeferredBody(upTo: limit)
    }
}
