import CEpoll
import Synchronization
import Glibc

/// One client connection. Every mutable field is owned by `queue`: readiness events run there
/// (on the event thread that saw them when the connection is idle), and handler tasks run there
/// through `executor`, so the state machine needs no locks.
///
/// Requests are answered strictly in order: while a handler runs, later pipelined bytes wait in
/// the input buffer (reading continues only to notice a disconnect, up to the buffer's size).
final class Connection: @unchecked Sendable {
    private static let readBufferSize = 16 * 1024

    let queue = ConnectionQueue()
    let executor: ConnectionExecutor
    /// Monotonic nanoseconds after which `checkTimeout` acts; 0 for none. Read by the sweeper.
    let deadline = Atomic<UInt64>(0)
    let token: UInt64
    let fd: Int32
    /// The client's address, for the per-address connection limit.
    let peer: PeerAddress?
    private let server: ServerCore
    private let remoteAddress: String?

    /// Phases, keep-alive and timeouts: this class carries out its decisions with the socket.
    private var state: ConnectionStateMachine<SystemClock>
    private var transport: Transport
    /// Input stopped because the buffer is full while a handler runs; with edge-triggered
    /// readiness no new event comes for bytes already waiting, so reading resumes by itself.
    private var readBlocked = false
    private var readWantsWritable = false

    private var parser: HTTPRequestParser
    private let inbound: UnsafeMutableRawBufferPointer
    private var inStart = 0
    private var inEnd = 0
    private var outbound: [UInt8] = []
    private var outStart = 0
    private var date = HTTPDate()

    private var head: RequestHead?
    /// The body being read for the handler that asked for it.
    private var body = BodyBuffer(ceiling: 0)
    /// The handler waiting for its body.
    private var deferredWaiter: CheckedContinuation<[UInt8], any Error>?
    private var task: Task<Void, Never>?
    private var processing = false
    /// Writers suspended until buffered output drains: a handler may write from several tasks.
    private var drainWaiters: [CheckedContinuation<Void, any Error>] = []

    init(token: UInt64, fd: Int32, remoteAddress: String?, peer: PeerAddress?, server: ServerCore, transport: Transport) {
        self.token = token
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.peer = peer
        self.server = server
        self.transport = transport
        executor = ConnectionExecutor(queue: queue)
        parser = HTTPRequestParser(limits: server.configuration.limits)
        inbound = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readBufferSize, alignment: 16)
        state = ConnectionStateMachine(clock: SystemClock(), timeouts: server.timeouts)
        deadline.store(state.deadline(parserIdle: true), ordering: .relaxed)
    }

    deinit {
        inbound.deallocate()
    }

    var isOnQueue: Bool { queue.isCurrent }

    private var isClosed: Bool { state.phase == .closed }
    private var outputPending: Bool { outStart < outbound.count }

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
        guard !isClosed, !readWantsWritable else { return }
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
                    if state.phase == .lingering {
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
                    if state.peerClosed() {
                        if state.phase == .handler { server.logger?.debug("client went away during a request") }
                        close()
                    }
                    return
                case .failed(let reason):
                    server.logger?.debug("connection read failed", metadata: ["reason": "\(reason)"])
                    close()
                    return
                }
            }
            if state.phase == .lingering {
                if drained { return }
                continue
            }
            processInput()
            if drained || isClosed { return }
            if !state.isParsing && inEnd == inbound.count {
                // A handler runs and the pipeline buffer is full: resume when it is done.
                readBlocked = true
                return
            }
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
        guard !processing, !isClosed else { return }
        processing = true
        parseBufferedInput()
        processing = false
        state.inputParsed(parserIdle: parser.isIdle)
        flush()
        armTimer()
    }

    private func parseBufferedInput() {
        while state.isParsing {
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
        switch state.receivedHead(hasBody: head.framing != .none, expectsContinue: head.expectsContinue,
                                  draining: server.isDraining) {
        case .startHandlerWithDeferredBody:
            startHandler(head, body: RequestBody(deferred: DeferredBodyReader(connection: self)))
        case .awaitEnd:
            break
        }
    }

    private func receivedBody(_ bytes: UnsafeRawBufferPointer) {
        switch state.receivedBody(total: body.count + bytes.count) {
        case .append:
            let grown = body.append(bytes)
            server.bodyBufferChanged(bytes: bytes.count, capacity: grown)
        case .failDeferred(let failure):
            parserAbandoned()
            failDeferredBody(failure)
        }
    }

    private func receivedEnd() {
        guard let head else { return }
        switch state.receivedEnd() {
        case .startHandler:
            startHandler(head, body: .empty)
        case .deliverDeferred:
            let bytes = takeBody()
            deferredWaiter.take()?.resume(returning: bytes)
        case .none:
            break
        }
    }

    /// The body read so far, no longer counted as the server's.
    private func takeBody() -> [UInt8] {
        server.bodyBufferChanged(bytes: -body.count, capacity: -body.capacity)
        return body.take()
    }

    private func receivedError(_ error: HTTPParseError) {
        server.logger?.debug("rejected request", metadata: ["status": "\(error.status.code)", "reason": "\(error.message)"])
        switch state.receivedParseError() {
        case .answerAndClose:
            ResponseHead.appendClosing(HTTPError(error), date: &date, to: &outbound)
        case .failDeferred:
            // The handler asked for a body that turned out malformed or too large.
            _ = takeBody()
            deferredWaiter.take()?.resume(throwing: HTTPError(error))
        case .none:
            break
        }
    }

    private func failDeferredBody(_ failure: ConnectionStateMachine<SystemClock>.DeferredBodyFailure) {
        let error: any Error
        switch failure {
        case .tooLarge(let limit):
            error = HTTPError.payloadTooLarge(limit: limit)
        case .timedOut(let timeout):
            server.logger?.debug("request body timeout", metadata: ["timeout": "\(timeout)"])
            server.countBodyTimeout(total: timeout == .total)
            error = HTTPError(.requestTimeout, code: "request_timeout",
                              message: timeout == .total ? "request body not received in time" : "request body timed out")
        }
        _ = takeBody()
        deferredWaiter.take()?.resume(throwing: error)
    }

    /// Input after this point will not be parsed: forget it and close once the response is out.
    private func parserAbandoned() {
        inStart = 0
        inEnd = 0
    }

    // MARK: - Handlers

    private func startHandler(_ head: RequestHead, body: RequestBody) {
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
        guard state.phase == .handler else { return }
        // A streamed body may still read the request body while it writes.
        if case .bytes = response.body, state.deferred == .notAsked, !state.closeAfterResponse { discardUnreadBody() }
        let noBody = head.method == .HEAD || !response.status.allowsBody
        let asksClose = response.headers.containsToken("close", in: "Connection")
        switch response.body {
        case .bytes(let bytes):
            let closing = state.responseStarts(responseAsksClose: asksClose, requestKeepAlive: head.keepAlive, endsAtClose: false)
            ResponseHead.append(status: response.status, headers: response.headers, framing: .length(bytes.count),
                                close: closing, keepAliveHeader: !head.version.isAtLeast1_1, date: &date, to: &outbound)
            if !noBody { outbound.append(contentsOf: bytes) }
        case .stream(let write):
            let chunked = head.version.isAtLeast1_1
            let closing = state.responseStarts(responseAsksClose: asksClose, requestKeepAlive: head.keepAlive, endsAtClose: !chunked)
            ResponseHead.append(status: response.status, headers: response.headers,
                                framing: chunked ? .chunked : .untilClose, close: closing,
                                keepAliveHeader: !head.version.isAtLeast1_1, date: &date, to: &outbound)
            if noBody { return }
            flush()
            do {
                try await write(ConnectionBodyWriter(connection: self, chunked: chunked))
                guard state.phase == .handler else { return }
                if chunked { outbound.append(contentsOf: "0\r\n\r\n".utf8) }
            } catch {
                // The status is already sent: cut the connection so the client sees an incomplete body.
                if !isClosed, !(error is CancellationError) {
                    server.logger?.warning("streamed response failed", metadata: ["error": "\(error)"])
                }
                close()
            }
        }
    }

    /// Runs on `queue` when the handler task is done.
    private func exchangeFinished() {
        task = nil
        guard state.handlerFinished() != .none else { return }
        head = nil
        if !processing {
            processInput()
            if readBlocked { readable() }
        }
    }

    /// The handler answers without reading its body. A body already received in full is skipped
    /// so that the connection can serve the next request; one still arriving is not waited for
    /// (the connection closes after the response instead).
    private func discardUnreadBody() {
        skipping: while true {
            let (consumed, event) = parser.parse(UnsafeRawBufferPointer(rebasing: inbound[0..<inEnd]), from: inStart)
            inStart += consumed
            switch event {
            case .body?:
                continue
            case .end?:
                state.unreadBodyDiscarded()
                break skipping
            case .head?, .error?, nil:
                break skipping
            }
        }
        if inStart == inEnd {
            inStart = 0
            inEnd = 0
        }
    }

    // MARK: - Deferred bodies

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
        switch state.deferredBodyRequested(limit: limit, contentLength: head?.contentLength) {
        case .cancelled:
            throw CancellationError()
        case .alreadyRead:
            throw HTTPError(.internalServerError, code: "internal", message: "request body already read")
        case .tooLarge(let limit):
            throw HTTPError.payloadTooLarge(limit: limit)
        case .read(let sendContinue):
            body = BodyBuffer(ceiling: min(limit, head?.contentLength ?? server.configuration.limits.maxBodyBytes))
            return try await withCheckedThrowingContinuation { continuation in
                deferredWaiter = continuation
                if sendContinue { outbound.append(contentsOf: "HTTP/1.1 100 Continue\r\n\r\n".utf8) }
                if processing {
                    flush()
                } else {
                    processInput()
                    // Input may have stopped at a full buffer while the handler ran.
                    if readBlocked { readable() }
                }
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
        guard state.phase == .handler else { throw CancellationError() }
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
        guard state.phase == .handler else { throw CancellationError() }
        if outbound.count - outStart > server.configuration.maxBufferedOutput {
            try await withCheckedThrowingContinuation { drainWaiters.append($0) }
        }
    }

    // MARK: - Writing

    private func flush() {
        guard !isClosed else { return }
        var wrote = false
        while outputPending {
            let result = outbound.withUnsafeBytes { transport.write(UnsafeRawBufferPointer(rebasing: $0[outStart...])) }
            switch result {
            case .bytes(let n):
                outStart += n
                wrote = true
            case .wouldBlock:
                state.writeBlocked(progressed: wrote)
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
        resumeDrainWaiters()
        if state.writeDrained() == .finishClosing { finishClosing() }
    }

    private func resumeDrainWaiters(throwing error: (any Error)? = nil) {
        let waiters = drainWaiters
        drainWaiters = []
        for waiter in waiters {
            if let error { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }

    private func writable() {
        guard !isClosed else { return }
        if readWantsWritable {
            readWantsWritable = false
            readable()
        }
        if outputPending {
            flush()
            armTimer()
        }
    }

    // MARK: - Closing

    /// Everything is sent: close, or shut the write side and drain input first when unread bytes
    /// may follow.
    private func finishClosing() {
        transport.closeNotify()
        switch state.finishClosing(unread: inStart < inEnd || !parser.isIdle || head != nil) {
        case .close:
            closeSocket()
        case .linger:
            shutdown(fd, Int32(SHUT_WR))
            inStart = 0
            inEnd = 0
            armTimer()
            if readBlocked { readable() }
        }
    }

    /// Closes now, cancelling a running handler. Safe to call more than once.
    func close() {
        guard !isClosed else { return }
        state.closed()
        closeSocket()
    }

    private func closeSocket() {
        deadline.store(0, ordering: .relaxed)
        task?.cancel()
        task = nil
        _ = takeBody()
        deferredWaiter.take()?.resume(throwing: CancellationError())
        resumeDrainWaiters(throwing: CancellationError())
        server.poller?.deregister(fd)
        Syscall.close(fd)
        server.remove(self)
    }

    // MARK: - Timeouts and shutdown

    private func armTimer() {
        deadline.store(state.deadline(parserIdle: parser.isIdle), ordering: .relaxed)
    }

    /// Called on `queue` by the server's sweeper when `deadline` has passed.
    func checkTimeout() {
        switch state.timerFired(parserIdle: parser.isIdle) {
        case .rearm(let due):
            deadline.store(due, ordering: .relaxed)
        case .close(let reason):
            if reason == .write { server.logger?.debug("write timeout: client stopped reading") }
            close()
        case .answerRequestTimeout:
            server.logger?.debug("request timeout")
            ResponseHead.appendClosing(HTTPError(.requestTimeout, code: "request_timeout", message: "request not received in time"),
                                       date: &date, to: &outbound)
            parserAbandoned()
            processing = true
            flush()
            processing = false
            armTimer()
        case .failDeferred(let failure):
            parserAbandoned()
            failDeferredBody(failure)
        }
    }

    /// Graceful shutdown: idle connections close now, busy ones after their current response.
    func beginDraining() {
        if state.beginDraining(parserIdle: parser.isIdle, outputPending: outputPending) { close() }
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
