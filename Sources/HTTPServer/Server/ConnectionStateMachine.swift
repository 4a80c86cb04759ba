/// Monotonic time in nanoseconds, injected so the connection's timeouts can be tested without
/// waiting.
protocol MonotonicClock {
    func now() -> UInt64
}

/// The process's monotonic clock.
struct SystemClock: MonotonicClock {
    func now() -> UInt64 { monotonicNanoseconds() }
}

/// The timeouts of one connection, in nanoseconds.
struct ConnectionTimeouts: Equatable {
    /// From accept, or from a request head's first byte, to the end of the head.
    var header: UInt64
    /// Longest pause while reading a request body.
    var bodyIdle: UInt64
    /// Longest time to read a whole request body, from when the handler asks for it: a client
    /// trickling a byte now and then never trips `bodyIdle`.
    var bodyTotal: UInt64
    /// Longest wait for the next request on an idle keep-alive connection.
    var keepAlive: UInt64
    /// Longest time buffered output may wait for the client to read.
    var write: UInt64
    /// How long a half-closed connection discards input before it closes.
    var linger: UInt64 = 2_000_000_000
}

/// Every decision of one HTTP/1.1 connection: which phase it is in, when it must time out, whether
/// it stays open after a response. `Connection` feeds it events (a head, body bytes, the handler's
/// end, a blocked or drained write, a timer) and carries out the actions it returns (start a
/// handler, answer an error, close, linger) with the socket; nothing here touches one.
///
/// Requests are answered strictly in order. Every request starts its handler once its head is in
/// (routing and authentication never wait for a body); a body is read only when the handler asks
/// (`deferredBody...`), after `100 Continue` when the client expects one.
struct ConnectionStateMachine<Clock: MonotonicClock> {
    enum Phase: Equatable {
        /// Waiting for, or reading, a request head.
        case head
        /// The head of a request without a body is in; the parser reports its end at once.
        case awaitingEnd
        /// A handler (and its streamed response) is running.
        case handler
        /// Sending what is buffered, then closing.
        case closing
        /// Write side shut; discarding input until the client closes or `linger` passes.
        case lingering
        case closed
    }

    /// The body of the current request, read only when its handler asks.
    enum DeferredBody: Equatable {
        /// The request has no body.
        case none
        /// The handler has not asked for it (with `Expect: 100-continue` the client waits).
        case notAsked
        /// Being read for the handler, up to `limit` bytes.
        case reading(limit: Int)
        /// Read, discarded, refused or failed.
        case done
    }

    /// Which body timeout expired.
    enum BodyTimeout: Equatable {
        /// A pause longer than `bodyIdle`.
        case idle
        /// The whole body took longer than `bodyTotal`.
        case total
    }

    /// Why a deferred body is not delivered.
    enum DeferredBodyFailure: Equatable {
        case tooLarge(limit: Int)
        case timedOut(BodyTimeout)
    }

    enum HeadAction: Equatable {
        /// Run the handler now; its body arrives only if it asks.
        case startHandlerWithDeferredBody
        /// No body: run the handler at the request's end, which follows at once.
        case awaitEnd
    }

    enum BodyAction: Equatable {
        case append
        /// The deferred body exceeds the handler's limit: fail it and stop parsing.
        case failDeferred(DeferredBodyFailure)
    }

    enum EndAction: Equatable {
        case startHandler
        case deliverDeferred
        case none
    }

    enum ParseErrorAction: Equatable {
        /// Answer with the error and close.
        case answerAndClose
        /// Fail the handler's deferred body with the parse error; the handler answers.
        case failDeferred
        case none
    }

    enum DeferredRequestAction: Equatable {
        /// Read the body, after sending `100 Continue` when the client waits for it.
        case read(sendContinue: Bool)
        case tooLarge(limit: Int)
        case alreadyRead
        /// The exchange is over (the connection closed).
        case cancelled
    }

    enum FinishAction: Equatable {
        /// Parse the next pipelined request, if any.
        case readNext
        /// Send what is buffered, then close.
        case closeWhenFlushed
        case none
    }

    enum DrainedAction: Equatable {
        /// The response is out and the connection closes next (`finishClosing`).
        case finishClosing
        case none
    }

    enum CloseAction: Equatable {
        case close
        /// Shut the write side and discard input for a while, so a reset does not destroy the
        /// response before the client reads it.
        case linger
    }

    enum TimeoutAction: Equatable {
        /// Not due: arm the timer for this deadline (0 for none).
        case rearm(UInt64)
        /// Close without an answer (an idle connection, a stalled write, a finished linger).
        case close(TimeoutReason)
        /// A request head is half received: answer 408 and close.
        case answerRequestTimeout
        /// The handler's body stalled or took too long: fail it; the handler answers (408).
        case failDeferred(DeferredBodyFailure)
    }

    enum TimeoutReason: Equatable {
        case idle
        case header
        case write
        case linger
    }

    private(set) var phase = Phase.head
    private(set) var deferred = DeferredBody.none
    /// Set when the connection must close after the current response (the client asked, an error,
    /// an unread body, shutdown).
    private(set) var closeAfterResponse = false

    let clock: Clock
    let timeouts: ConnectionTimeouts
    /// When the current request head started (its first byte, or accept); 0 between requests.
    private var headStartedAt: UInt64
    /// When the previous response ended, for the keep-alive timeout.
    private var idleSince: UInt64 = 0
    /// The current request's client sent `Expect: 100-continue`.
    private var expectsContinue = false
    /// When the handler asked for the body, for `bodyTotal`.
    private var bodyStartedAt: UInt64 = 0
    private var lastBodyProgress: UInt64 = 0
    /// Since when (or since the last progress) output has waited for the client; 0 when it is not
    /// waiting.
    private var writeStalledSince: UInt64 = 0
    private var lingerStartedAt: UInt64 = 0

    init(clock: Clock, timeouts: ConnectionTimeouts) {
        self.clock = clock
        self.timeouts = timeouts
        headStartedAt = clock.now()
    }

    /// Whether input is parsed now (as opposed to waiting behind a running handler).
    var isParsing: Bool {
        switch phase {
        case .head, .awaitingEnd: return true
        case .handler: if case .reading = deferred { return true } else { return false }
        case .closing, .lingering, .closed: return false
        }
    }

    // MARK: - Input

    /// Bytes were parsed; `parserIdle` is false when a request head is partly received.
    mutating func inputParsed(parserIdle: Bool) {
        if phase == .head, !parserIdle, headStartedAt == 0 { headStartedAt = clock.now() }
    }

    mutating func receivedHead(hasBody: Bool, expectsContinue: Bool, draining: Bool) -> HeadAction {
        headStartedAt = 0
        if draining { closeAfterResponse = true }
        guard hasBody else {
            phase = .awaitingEnd
            return .awaitEnd
        }
        self.expectsContinue = expectsContinue
        deferred = .notAsked
        phase = .handler
        return .startHandlerWithDeferredBody
    }

    /// Body bytes arrived, making `total` so far.
    mutating func receivedBody(total: Int) -> BodyAction {
        if case .reading(let limit) = deferred, total > limit {
            deferred = .done
            closeAfterResponse = true
            return .failDeferred(.tooLarge(limit: limit))
        }
        lastBodyProgress = clock.now()
        return .append
    }

    mutating func receivedEnd() -> EndAction {
        switch phase {
        case .awaitingEnd:
            phase = .handler
            return .startHandler
        case .handler:
            guard case .reading = deferred else { return .none }
            deferred = .done
            return .deliverDeferred
        default:
            return .none
        }
    }

    mutating func receivedParseError() -> ParseErrorAction {
        closeAfterResponse = true
        if phase == .handler {
            guard case .reading = deferred else { return .none }
            deferred = .done
            return .failDeferred
        }
        phase = .closing
        return .answerAndClose
    }

    // MARK: - Handler

    /// The handler asked for its deferred body.
    mutating func deferredBodyRequested(limit: Int, contentLength: Int?) -> DeferredRequestAction {
        guard phase == .handler else { return .cancelled }
        guard deferred == .notAsked else { return .alreadyRead }
        if let contentLength, contentLength > limit { return .tooLarge(limit: limit) }
        deferred = .reading(limit: limit)
        bodyStartedAt = clock.now()
        lastBodyProgress = bodyStartedAt
        return .read(sendContinue: expectsContinue)
    }

    /// The handler answers without asking for its body, and the whole body was already received
    /// and skipped: the connection can stay open for the next request.
    mutating func unreadBodyDiscarded() {
        if deferred == .notAsked { deferred = .done }
    }

    /// The handler's response starts. Returns whether the connection closes after it (and says so
    /// in `Connection: close`): when the response or request asks for it, an HTTP/1.0 client did
    /// not ask to keep alive, a body was not read (its bytes may still come: reading them just to
    /// keep the connection would let a refused request cost what an accepted one does), or a
    /// streamed body cannot be chunked and so ends at the close.
    mutating func responseStarts(responseAsksClose: Bool, requestKeepAlive: Bool, endsAtClose: Bool) -> Bool {
        if responseAsksClose || deferred == .notAsked || !requestKeepAlive || endsAtClose {
            closeAfterResponse = true
        }
        return closeAfterResponse
    }

    /// The handler and its response are done.
    mutating func handlerFinished() -> FinishAction {
        guard phase == .handler else { return .none }
        if case .reading = deferred { closeAfterResponse = true }
        deferred = .none
        expectsContinue = false
        if closeAfterResponse {
            phase = .closing
            return .closeWhenFlushed
        }
        phase = .head
        idleSince = clock.now()
        headStartedAt = 0
        return .readNext
    }

    // MARK: - Output

    /// A write would block; `progressed` when some bytes went out first.
    mutating func writeBlocked(progressed: Bool) {
        if progressed || writeStalledSince == 0 { writeStalledSince = clock.now() }
    }

    /// Everything buffered is sent.
    mutating func writeDrained() -> DrainedAction {
        writeStalledSince = 0
        return phase == .closing ? .finishClosing : .none
    }

    /// The response is out and the connection is closing; `unread` when input may still follow.
    mutating func finishClosing(unread: Bool) -> CloseAction {
        guard unread else {
            phase = .closed
            return .close
        }
        phase = .lingering
        lingerStartedAt = clock.now()
        return .linger
    }

    /// The client closed its side. Returns whether to close now: a closing connection first sends
    /// its response (a half-closed client may still read).
    mutating func peerClosed() -> Bool {
        phase != .closing
    }

    /// Graceful shutdown: returns whether to close now (idle or lingering); a busy connection
    /// closes after its current response.
    mutating func beginDraining(parserIdle: Bool, outputPending: Bool) -> Bool {
        guard phase != .closed else { return false }
        closeAfterResponse = true
        return (phase == .head && parserIdle && !outputPending) || phase == .lingering
    }

    mutating func closed() {
        phase = .closed
        if case .reading = deferred { deferred = .done }
    }

    // MARK: - Timeouts

    /// When `timerFired` must next run (monotonic nanoseconds), 0 for never.
    func deadline(parserIdle: Bool) -> UInt64 {
        if writeStalledSince > 0 { return writeStalledSince + timeouts.write }
        switch phase {
        case .head:
            if parserIdle && headStartedAt == 0 { return idleSince + timeouts.keepAlive }
            return (headStartedAt == 0 ? clock.now() : headStartedAt) + timeouts.header
        case .awaitingEnd:
            return 0
        case .handler:
            if case .reading = deferred { return min(lastBodyProgress + timeouts.bodyIdle, bodyStartedAt + timeouts.bodyTotal) }
            return 0
        case .lingering:
            return lingerStartedAt + timeouts.linger
        case .closing, .closed:
            return 0
        }
    }

    mutating func timerFired(parserIdle: Bool) -> TimeoutAction {
        guard phase != .closed else { return .rearm(0) }
        let due = deadline(parserIdle: parserIdle)
        guard due != 0, clock.now() >= due else { return .rearm(due) }
        if writeStalledSince > 0 { return .close(.write) }
        switch phase {
        case .head where parserIdle:
            return .close(headStartedAt == 0 ? .idle : .header)
        case .head:
            closeAfterResponse = true
            phase = .closing
            return .answerRequestTimeout
        case .handler:
            deferred = .done
            closeAfterResponse = true
            return .failDeferred(.timedOut(clock.now() >= bodyStartedAt + timeouts.bodyTotal ? .total : .idle))
        case .lingering:
            return .close(.linger)
        case .awaitingEnd, .closing, .closed:
            return .rearm(0)
        }
    }
}
