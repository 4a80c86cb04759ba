import Testing
@testable import HTTPServer

/// Every timeout and keep-alive rule of a connection, driven by events and a manual clock: no
/// sockets, no sleeps. `ConformanceTests` and `TimeoutTests` check the same rules over sockets.
@Suite struct ConnectionStateMachineTests {
    /// Time moves only when a test says so.
    final class ManualClock: MonotonicClock {
        var time: UInt64 = 1_000
        func now() -> UInt64 { time }
        func advance(_ nanoseconds: UInt64) { time += nanoseconds }
    }

    typealias Machine = ConnectionStateMachine<ManualClock>

    static let timeouts = ConnectionTimeouts(header: 10, bodyIdle: 30, bodyTotal: 50, keepAlive: 60, write: 20, linger: 5)

    /// A machine whose connection was accepted at the clock's current time.
    private func accepted(_ clock: ManualClock) -> Machine {
        Machine(clock: clock, timeouts: Self.timeouts)
    }

    /// A machine that has served one keep-alive request and is idle again.
    private func idleAfterOneRequest(_ clock: ManualClock) -> Machine {
        var machine = accepted(clock)
        _ = machine.receivedHead(hasBody: false, expectsContinue: false, draining: false)
        _ = machine.receivedEnd()
        _ = machine.responseStarts(responseAsksClose: false, requestKeepAlive: true, endsAtClose: false)
        _ = machine.handlerFinished()
        return machine
    }

    // MARK: Request heads

    @Test func aSilentNewConnectionClosesAtTheHeaderTimeoutCountedFromAccept() {
        let clock = ManualClock()
        var machine = accepted(clock)
        #expect(machine.deadline(parserIdle: true) == 1_010)
        clock.advance(9)
        let action = machine.timerFired(parserIdle: true)
        #expect(action == .rearm(1_010))
        clock.advance(1)
        let action2 = machine.timerFired(parserIdle: true)
        #expect(action2 == .close(.header))
    }

    @Test func aHalfReceivedHeadIsAnswered408WhenTheHeaderTimeoutPasses() {
        let clock = ManualClock()
        var machine = accepted(clock)
        clock.advance(4)
        machine.inputParsed(parserIdle: false)
        // The first head's clock started at accept, not at its first byte.
        #expect(machine.deadline(parserIdle: false) == 1_010)
        clock.advance(6)
        let action = machine.timerFired(parserIdle: false)
        #expect(action == .answerRequestTimeout)
        #expect(machine.phase == .closing)
        #expect(machine.closeAfterResponse)
        #expect(machine.deadline(parserIdle: false) == 0, "a closing connection waits only on its writes")
    }

    @Test func anIdleKeepAliveConnectionClosesAtTheKeepAliveTimeout() {
        let clock = ManualClock()
        var machine = idleAfterOneRequest(clock)
        #expect(machine.phase == .head)
        #expect(machine.deadline(parserIdle: true) == 1_060)
        clock.advance(59)
        let action = machine.timerFired(parserIdle: true)
        #expect(action == .rearm(1_060))
        clock.advance(1)
        let action2 = machine.timerFired(parserIdle: true)
        #expect(action2 == .close(.idle))
    }

    @Test func theNextHeadsFirstByteSwitchesFromKeepAliveToHeaderTimeout() {
        let clock = ManualClock()
        var machine = idleAfterOneRequest(clock)
        clock.advance(50)
        machine.inputParsed(parserIdle: false)
        #expect(machine.deadline(parserIdle: false) == 1_060)
        clock.advance(9)
        machine.inputParsed(parserIdle: false)
        #expect(machine.deadline(parserIdle: false) == 1_060, "more bytes of the same head do not extend it")
        clock.advance(1)
        let action = machine.timerFired(parserIdle: false)
        #expect(action == .answerRequestTimeout)
    }

    // MARK: Bodies

    /// Routing and authentication run on the head: a body is read only when its handler asks,
    /// so a request refused on its head never gets its body buffered.
    @Test func theHandlerStartsOnTheHeadAndItsBodyIsReadOnlyWhenItAsks() {
        let clock = ManualClock()
        var machine = accepted(clock)
        let action = machine.receivedHead(hasBody: true, expectsContinue: false, draining: false)
        #expect(action == .startHandlerWithDeferredBody)
        #expect(machine.phase == .handler)
        #expect(machine.deferred == .notAsked)
        #expect(!machine.isParsing, "no body byte is parsed before the handler asks")
        #expect(machine.deadline(parserIdle: false) == 0, "no body timeout before the handler asks")
        clock.advance(100)
        let action2 = machine.deferredBodyRequested(limit: 64, contentLength: 10)
        #expect(action2 == .read(sendContinue: false), "no 100 Continue for a client that did not ask for one")
        #expect(machine.isParsing)
        #expect(machine.deadline(parserIdle: false) == 1_130)
    }

    @Test func aHandlerThatAnswersWithoutItsBodyClosesUnlessTheWholeBodyWasSkipped() {
        let clock = ManualClock()
        var unread = accepted(clock)
        _ = unread.receivedHead(hasBody: true, expectsContinue: false, draining: false)
        let action = unread.responseStarts(responseAsksClose: false, requestKeepAlive: true, endsAtClose: false)
        #expect(action, "the rest of the body may still come: close rather than read it")
        let action2 = unread.handlerFinished()
        #expect(action2 == .closeWhenFlushed)

        var skipped = accepted(clock)
        _ = skipped.receivedHead(hasBody: true, expectsContinue: false, draining: false)
        skipped.unreadBodyDiscarded()
        #expect(skipped.deferred == .done)
        let action3 = skipped.responseStarts(responseAsksClose: false, requestKeepAlive: true, endsAtClose: false)
        #expect(!action3)
        let action4 = skipped.handlerFinished()
        #expect(action4 == .readNext)
    }

    @Test func aBodyTimesOutOnlyAfterAPauseLongerThanTheBodyIdleTimeout() {
        let clock = ManualClock()
        var machine = accepted(clock)
        _ = machine.receivedHead(hasBody: true, expectsContinue: false, draining: false)
        _ = machine.deferredBodyRequested(limit: 64, contentLength: 20)
        #expect(machine.deadline(parserIdle: false) == 1_030)
        clock.advance(15)
        let action2 = machine.receivedBody(total: 10)
        #expect(action2 == .append)
        #expect(machine.deadline(parserIdle: false) == 1_045, "each byte restarts the pause")
        clock.advance(29)
        let action3 = machine.timerFired(parserIdle: false)
        #expect(action3 == .rearm(1_045))
        clock.advance(1)
        let action4 = machine.timerFired(parserIdle: false)
        #expect(action4 == .failDeferred(.timedOut(.idle)))
        #expect(machine.closeAfterResponse)
        let action5 = machine.handlerFinished()
        #expect(action5 == .closeWhenFlushed)
    }

    /// A client sending a byte just inside every pause would hold the connection forever: the
    /// whole body has its own deadline, counted from when the handler asked.
    @Test func aTricklingBodyIsCutOffAtTheTotalBodyTimeout() {
        let clock = ManualClock()
        var machine = accepted(clock)
        _ = machine.receivedHead(hasBody: true, expectsContinue: false, draining: false)
        clock.advance(5)
        _ = machine.deferredBodyRequested(limit: 64, contentLength: 60)
        for total in 1...2 {
            clock.advance(20)
            let action = machine.receivedBody(total: total)
            #expect(action == .append)
        }
        #expect(machine.deadline(parserIdle: false) == 1_055, "the total deadline comes before the next pause's")
        clock.advance(9)
        let action = machine.timerFired(parserIdle: false)
        #expect(action == .rearm(1_055))
        clock.advance(1)
        let action2 = machine.timerFired(parserIdle: false)
        #expect(action2 == .failDeferred(.timedOut(.total)))
        #expect(machine.deferred == .done)
        #expect(machine.closeAfterResponse)
        let action3 = machine.handlerFinished()
        #expect(action3 == .closeWhenFlushed)
    }

    @Test func aRequestWithoutBodyStartsTheHandlerAtItsEndAndTheHandlerHasNoTimeout() {
        let clock = ManualClock()
        var machine = accepted(clock)
        let head = machine.receivedHead(hasBody: false, expectsContinue: false, draining: false)
        #expect(head == .awaitEnd)
        let action = machine.receivedEnd()
        #expect(action == .startHandler)
        #expect(machine.phase == .handler)
        #expect(!machine.isParsing, "pipelined requests wait behind the handler")
        #expect(machine.deadline(parserIdle: true) == 0)
        clock.advance(1_000_000)
        let action2 = machine.timerFired(parserIdle: true)
        #expect(action2 == .rearm(0))
    }

    // MARK: Expect: 100-continue

    @Test func aDeferredBodyIsReadOnlyWhenTheHandlerAsksAndThenHasTheBodyIdleTimeout() {
        let clock = ManualClock()
        var machine = accepted(clock)
        let action = machine.receivedHead(hasBody: true, expectsContinue: true, draining: false)
        #expect(action == .startHandlerWithDeferredBody)
        #expect(machine.deferred == .notAsked)
        #expect(!machine.isParsing)
        #expect(machine.deadline(parserIdle: true) == 0, "no body timeout before the 100 Continue")
        clock.advance(100)
        let action2 = machine.deferredBodyRequested(limit: 64, contentLength: 10)
        #expect(action2 == .read(sendContinue: true))
        #expect(machine.isParsing)
        #expect(machine.deadline(parserIdle: false) == 1_130)
        clock.advance(30)
        let action3 = machine.timerFired(parserIdle: false)
        #expect(action3 == .failDeferred(.timedOut(.idle)))
        #expect(machine.closeAfterResponse)
        let action4 = machine.handlerFinished()
        #expect(action4 == .closeWhenFlushed)
    }

    @Test func aDeferredBodyIsDeliveredAndTheConnectionStaysOpen() {
        let clock = ManualClock()
        var machine = accepted(clock)
        _ = machine.receivedHead(hasBody: true, expectsContinue: true, draining: false)
        _ = machine.deferredBodyRequested(limit: 64, contentLength: 3)
        let action = machine.receivedBody(total: 3)
        #expect(action == .append)
        let action2 = machine.receivedEnd()
        #expect(action2 == .deliverDeferred)
        #expect(machine.deferred == .done)
        let action3 = machine.responseStarts(responseAsksClose: false, requestKeepAlive: true, endsAtClose: false)
        #expect(!action3)
        let action4 = machine.handlerFinished()
        #expect(action4 == .readNext)
    }

    @Test func aDeferredBodyOverTheLimitIsRefusedByLengthOrByBytes() {
        let clock = ManualClock()
        var byLength = accepted(clock)
        _ = byLength.receivedHead(hasBody: true, expectsContinue: true, draining: false)
        let action = byLength.deferredBodyRequested(limit: 8, contentLength: 9)
        #expect(action == .tooLarge(limit: 8))
        #expect(byLength.deferred == .notAsked, "the body was never requested")
        let action2 = byLength.responseStarts(responseAsksClose: false, requestKeepAlive: true, endsAtClose: false)
        #expect(action2, "its bytes may still come, so the connection closes")

        var byBytes = accepted(clock)
        _ = byBytes.receivedHead(hasBody: true, expectsContinue: true, draining: false)
        _ = byBytes.deferredBodyRequested(limit: 8, contentLength: nil)
        let action3 = byBytes.receivedBody(total: 8)
        #expect(action3 == .append)
        let action4 = byBytes.receivedBody(total: 9)
        #expect(action4 == .failDeferred(.tooLarge(limit: 8)))
        #expect(byBytes.closeAfterResponse)
        #expect(!byBytes.isParsing)
    }

    @Test func aDeferredBodyIsReadOnceAndNotAfterTheExchange() {
        let clock = ManualClock()
        var machine = accepted(clock)
        _ = machine.receivedHead(hasBody: true, expectsContinue: true, draining: false)
        _ = machine.deferredBodyRequested(limit: 8, contentLength: 1)
        let action = machine.deferredBodyRequested(limit: 8, contentLength: 1)
        #expect(action == .alreadyRead)
        machine.closed()
        let action2 = machine.deferredBodyRequested(limit: 8, contentLength: 1)
        #expect(action2 == .cancelled)
    }

    @Test func aMalformedDeferredBodyFailsTheHandlersReadNotTheConnection() {
        let clock = ManualClock()
        var machine = accepted(clock)
        _ = machine.receivedHead(hasBody: true, expectsContinue: true, draining: false)
        _ = machine.deferredBodyRequested(limit: 8, contentLength: nil)
        let action = machine.receivedParseError()
        #expect(action == .failDeferred)
        #expect(machine.phase == .handler, "the handler answers")
        #expect(machine.closeAfterResponse)
    }

    @Test func anUnfinishedDeferredBodyClosesTheConnectionAfterTheResponse() {
        let clock = ManualClock()
        var machine = accepted(clock)
        _ = machine.receivedHead(hasBody: true, expectsContinue: true, draining: false)
        _ = machine.deferredBodyRequested(limit: 8, contentLength: nil)
        let action = machine.handlerFinished()
        #expect(action == .closeWhenFlushed)
    }

    // MARK: Keep-alive

    @Test func keepAliveHoldsUnlessTheRequestTheResponseOrTheFramingEndsIt() {
        let clock = ManualClock()
        let cases: [(asksClose: Bool, keepAlive: Bool, endsAtClose: Bool, closes: Bool)] = [
            (false, true, false, false),
            (true, true, false, true),
            (false, false, false, true),
            (false, true, true, true),
        ]
        for rule in cases {
            var machine = accepted(clock)
            _ = machine.receivedHead(hasBody: false, expectsContinue: false, draining: false)
            _ = machine.receivedEnd()
            let action = machine.responseStarts(responseAsksClose: rule.asksClose, requestKeepAlive: rule.keepAlive, endsAtClose: rule.endsAtClose)
            #expect(action == rule.closes, "\(rule)")
            let action2 = machine.handlerFinished()
            #expect(action2 == (rule.closes ? .closeWhenFlushed : .readNext), "\(rule)")
        }
    }

    @Test func aRequestHeadArrivingWhileDrainingIsAnsweredThenClosed() {
        let clock = ManualClock()
        var machine = accepted(clock)
        _ = machine.receivedHead(hasBody: false, expectsContinue: false, draining: true)
        _ = machine.receivedEnd()
        let action = machine.responseStarts(responseAsksClose: false, requestKeepAlive: true, endsAtClose: false)
        #expect(action)
    }

    @Test func aParseErrorIsAnsweredThenTheConnectionCloses() {
        let clock = ManualClock()
        var machine = accepted(clock)
        let action = machine.receivedParseError()
        #expect(action == .answerAndClose)
        #expect(machine.phase == .closing)
        let action2 = machine.writeDrained()
        #expect(action2 == .finishClosing)
    }

    // MARK: Writes and closing

    @Test func aStalledWriteClosesAtTheWriteTimeoutAndProgressRestartsIt() {
        let clock = ManualClock()
        var machine = idleAfterOneRequest(clock)
        machine.writeBlocked(progressed: false)
        #expect(machine.deadline(parserIdle: true) == 1_020, "a stalled write outranks the keep-alive timeout")
        clock.advance(15)
        machine.writeBlocked(progressed: false)
        #expect(machine.deadline(parserIdle: true) == 1_020, "blocking again without progress does not extend it")
        machine.writeBlocked(progressed: true)
        #expect(machine.deadline(parserIdle: true) == 1_035)
        clock.advance(20)
        let action = machine.timerFired(parserIdle: true)
        #expect(action == .close(.write))
    }

    @Test func aDrainedWriteReturnsToThePhasesOwnTimeout() {
        let clock = ManualClock()
        var machine = idleAfterOneRequest(clock)
        machine.writeBlocked(progressed: false)
        let action = machine.writeDrained()
        #expect(action == .none)
        #expect(machine.deadline(parserIdle: true) == 1_060)
    }

    @Test func closingWithUnreadInputLingersThenCloses() {
        let clock = ManualClock()
        var machine = accepted(clock)
        _ = machine.receivedParseError()
        let action = machine.finishClosing(unread: true)
        #expect(action == .linger)
        #expect(machine.phase == .lingering)
        #expect(machine.deadline(parserIdle: false) == 1_005)
        clock.advance(5)
        let action2 = machine.timerFired(parserIdle: false)
        #expect(action2 == .close(.linger))
    }

    @Test func closingWithNothingUnreadClosesAtOnce() {
        let clock = ManualClock()
        var machine = accepted(clock)
        _ = machine.receivedParseError()
        let action = machine.finishClosing(unread: false)
        #expect(action == .close)
        #expect(machine.phase == .closed)
        let action2 = machine.timerFired(parserIdle: true)
        #expect(action2 == .rearm(0))
    }

    @Test func aClientThatHalfClosesStillGetsAResponseThatIsBeingSent() {
        let clock = ManualClock()
        var busy = accepted(clock)
        _ = busy.receivedHead(hasBody: false, expectsContinue: false, draining: false)
        _ = busy.receivedEnd()
        let action = busy.peerClosed()
        #expect(action, "a running handler is cancelled")
        var closing = accepted(clock)
        _ = closing.receivedParseError()
        let action2 = closing.peerClosed()
        #expect(!action2)
    }

    // MARK: Shutdown

    @Test func drainingClosesIdleAndLingeringConnectionsAndLetsBusyOnesFinish() {
        let clock = ManualClock()
        var idle = idleAfterOneRequest(clock)
        let action = idle.beginDraining(parserIdle: true, outputPending: false)
        #expect(action)

        var sending = idleAfterOneRequest(clock)
        let action2 = sending.beginDraining(parserIdle: true, outputPending: true)
        #expect(!action2)

        var halfHead = idleAfterOneRequest(clock)
        let action3 = halfHead.beginDraining(parserIdle: false, outputPending: false)
        #expect(!action3)
        #expect(halfHead.closeAfterResponse)

        var busy = accepted(clock)
        _ = busy.receivedHead(hasBody: false, expectsContinue: false, draining: false)
        _ = busy.receivedEnd()
        let action4 = busy.beginDraining(parserIdle: true, outputPending: false)
        #expect(!action4)
        let action5 = busy.handlerFinished()
        #expect(action5 == .closeWhenFlushed)

        var lingering = accepted(clock)
        _ = lingering.receivedParseError()
        _ = lingering.finishClosing(unread: true)
        let action6 = lingering.beginDraining(parserIdle: true, outputPending: false)
        #expect(action6)

        var closed = accepted(clock)
        closed.closed()
        let action7 = closed.beginDraining(parserIdle: true, outputPending: false)
        #expect(!action7)
    }
}
