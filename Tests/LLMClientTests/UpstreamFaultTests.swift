import Foundation
import HTTPServer
import Testing
@testable import LLMClient

/// `OpenAIClient` against a stub upstream (our own HTTP server on a real socket) that produces
/// faults on demand. No case measures speed: timeouts are short so the cases end quickly, and
/// delays are only checked as minimums. The time limit only turns a hang into a failure.
@Suite(.timeLimit(.minutes(1))) struct UpstreamFaultTests {
    /// Longer than the time limit: a case that passes with these cannot have waited for them.
    static let patient = UpstreamConfiguration.Timeouts(connect: .seconds(5), firstByte: .seconds(120),
                                                        idle: .seconds(120), total: .seconds(120))

    @Test func sendsBearerKeyMappedModelAndUserField() async throws {
        let stub = try StubUpstream { attempt, stub in
            attempt == 1 ? StubUpstream.completion("Hello!")
                : stub.stream(attempt, ["data: \(StubUpstream.chunk("Hi"))\n\n", "data: [DONE]\n\n"])
        }
        let client = OpenAIClient(configuration: try stub.configuration(models: ["popi-gen": "upstream-model"]))
        let completion = try await client.complete(.hello(user: "u-5f2a"))
        #expect(completion.choices.first?.message == ChatCompletionMessage(role: "assistant", content: "Hello!"))
        #expect(completion.usage == Usage(promptTokens: 3, completionTokens: 2, totalTokens: 5))
        let streamed = await drain(client.stream(.hello(model: "unmapped", user: "u-5f2a")))
        #expect(streamed.error == nil)
        #expect(streamed.chunks.compactMap { $0.choices.first?.delta.content } == ["Hi"])

        let received = stub.received
        try #require(received.count == 2)
        for request in received {
            #expect(request.headers["Authorization"] == "Bearer sk-test-0123456789")
            #expect(request.headers["Content-Type"] == "application/json")
            #expect(request.json["user"] as? String == "u-5f2a")
            #expect(request.json["max_tokens"] as? Int == 8)
        }
        #expect(received[0].json["model"] as? String == "upstream-model")
        #expect(received[0].json["stream"] == nil)
        #expect(received[1].json["model"] as? String == "unmapped", "a model without a mapping is sent as is")
        #expect(received[1].json["stream"] as? Bool == true)
        await stub.stop()
    }

    @Test func timeoutsTooLongToCountInNanosecondsDoNotTrap() async throws {
        let stub = try StubUpstream { _, _ in StubUpstream.completion("ok") }
        let forever = Duration.seconds(Int64.max)
        let client = OpenAIClient(configuration: try stub.configuration(
            timeouts: .init(connect: forever, firstByte: forever, idle: forever, total: forever),
            breaker: .init(failureThreshold: 1, openDuration: forever)))
        _ = try await client.complete(.hello())
        #expect(client.breaker.state == .closed)
        await stub.stop()
    }

    @Test func noKeyMeansNoAuthorizationHeader() async throws {
        let stub = try StubUpstream { _, _ in StubUpstream.completion("ok") }
        let client = OpenAIClient(configuration: try stub.configuration(key: nil))
        _ = try await client.complete(.hello())
        #expect(stub.received.first?.headers["Authorization"] == nil)
        await stub.stop()
    }

    @Test func redirectsAreNotFollowedSoTheKeyStaysHome() async throws {
        let elsewhere = try StubUpstream { _, _ in StubUpstream.completion("followed") }
        let target = elsewhere.baseURL + "/chat/completions"
        let stub = try StubUpstream { _, _ in
            Response(status: HTTPStatus(307), headers: ["Location": target])
        }
        let client = OpenAIClient(configuration: try stub.configuration())
        await #expect(throws: LLMClientError.upstreamStatus(upstream: "stub", status: 307, message: "no error message", retryAfter: nil)) {
            _ = try await client.complete(.hello())
        }
        let streamed = await drain(client.stream(.hello()))
        #expect(streamed.error as? LLMClientError
                == .upstreamStatus(upstream: "stub", status: 307, message: "no error message", retryAfter: nil))
        #expect(stub.attempts == 2)
        #expect(elsewhere.attempts == 0, "the request and its key never went to the redirect target")
        await stub.stop()
        await elsewhere.stop()
    }

    @Test func slowFirstByteTimesOutAndIsNotRetried() async throws {
        let stub = try StubUpstream { attempt, stub in try await stub.hold(attempt) }
        let timeouts = UpstreamConfiguration.Timeouts(connect: .seconds(5), firstByte: .milliseconds(300),
                                                      idle: .seconds(20), total: .seconds(60))
        let client = OpenAIClient(configuration: try stub.configuration(
            timeouts: timeouts, retry: .init(maxAttempts: 3, baseDelay: .milliseconds(1))))
        await #expect(throws: LLMClientError.timeout(upstream: "stub", .firstByte)) {
            _ = try await client.complete(.hello())
        }
        #expect(await stub.waitForDisconnect(of: 1), "the timed-out request's connection is closed")
        #expect(stub.attempts == 1, "a first-byte timeout may have reached the model: not retried")

        let streamed = await drain(client.stream(.hello()))
        #expect(streamed.error as? LLMClientError == .timeout(upstream: "stub", .firstByte))
        #expect(await stub.waitForDisconnect(of: 2))
        await stub.stop()
    }

    @Test func unansweredConnectIsAConnectTimeoutAndRetried() async throws {
        let listener = try FullBacklogListener()
        let timeouts = UpstreamConfiguration.Timeouts(connect: .milliseconds(200), firstByte: .seconds(20),
                                                      idle: .seconds(20), total: .seconds(60))
        let config = try UpstreamConfiguration(name: "silent", baseURL: "http://127.0.0.1:\(listener.port)/v1", apiKey: nil,
                                               timeouts: timeouts, retry: .init(maxAttempts: 2, baseDelay: .milliseconds(1)),
                                               breaker: .init(failureThreshold: 2, openDuration: .seconds(60)))
        let client = OpenAIClient(configuration: config)
        await #expect(throws: LLMClientError.timeout(upstream: "silent", .connect)) {
            _ = try await client.complete(.hello())
        }
        #expect(client.breaker.state == .open, "both attempts ran and failed")
    }

    @Test func stallMidStreamIsAnIdleTimeout() async throws {
        let stub = try StubUpstream { attempt, stub in
            stub.stream(attempt, ["data: \(StubUpstream.chunk("one"))\n\n"], thenHold: true)
        }
        let timeouts = UpstreamConfiguration.Timeouts(connect: .seconds(5), firstByte: .seconds(20),
                                                      idle: .milliseconds(300), total: .seconds(60))
        let client = OpenAIClient(configuration: try stub.configuration(timeouts: timeouts))
        let streamed = await drain(client.stream(.hello()))
        #expect(streamed.chunks.map { $0.choices.first?.delta.content } == ["one"])
        #expect(streamed.error as? LLMClientError == .timeout(upstream: "stub", .idle))
        #expect(await stub.waitForDisconnect(of: 1))
        await stub.stop()
    }

    @Test func serverErrorThenSuccessIsRetried() async throws {
        let stub = try StubUpstream { attempt, _ in
            attempt == 1 ? .json(#"{"error":{"message":"overloaded"}}"#, status: .internalServerError)
                : StubUpstream.completion("second time")
        }
        let client = OpenAIClient(configuration: try stub.configuration(
            retry: .init(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50))))
        let completion = try await client.complete(.hello())
        #expect(completion.choices.first?.message.content == "second time")
        #expect(stub.attempts == 2)
        let bodies = stub.received.map(\.body)
        #expect(bodies[0] == bodies[1], "the retry sends the same request")
        #expect(client.breaker.state == .closed)
        await stub.stop()
    }

    @Test func retriesStopAtMaxAttempts() async throws {
        let stub = try StubUpstream { _, _ in .json(#"{"error":{"message":"down"}}"#, status: HTTPStatus(503)) }
        let client = OpenAIClient(configuration: try stub.configuration(
            retry: .init(maxAttempts: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20))))
        await #expect(throws: LLMClientError.upstreamStatus(upstream: "stub", status: 503, message: "down", retryAfter: nil)) {
            _ = try await client.complete(.hello())
        }
        #expect(stub.attempts == 3)
        await stub.stop()
    }

    @Test func tooManyRequestsWaitsForRetryAfter() async throws {
        let stub = try StubUpstream { attempt, _ in
            attempt == 1 ? .json(#"{"error":{"message":"slow down"}}"#, status: HTTPStatus(429), headers: ["Retry-After": "1"])
                : StubUpstream.completion("after the pause")
        }
        // Backoff alone would wait at most 1 ms: a gap of a second can only come from Retry-After.
        let client = OpenAIClient(configuration: try stub.configuration(
            retry: .init(maxAttempts: 2, baseDelay: .milliseconds(1), maxDelay: .seconds(5))))
        let completion = try await client.complete(.hello())
        #expect(completion.choices.first?.message.content == "after the pause")
        let received = stub.received
        try #require(received.count == 2)
        #expect(received[0].at.duration(to: received[1].at) >= .seconds(1))
        await stub.stop()
    }

    @Test func clientErrorsAreNotRetried() async throws {
        let stub = try StubUpstream { _, _ in .json(#"{"error":{"message":"bad model"}}"#, status: .badRequest) }
        let client = OpenAIClient(configuration: try stub.configuration(
            retry: .init(maxAttempts: 3, baseDelay: .milliseconds(1)), breaker: .init(failureThreshold: 1)))
        await #expect(throws: LLMClientError.upstreamStatus(upstream: "stub", status: 400, message: "bad model", retryAfter: nil)) {
            _ = try await client.complete(.hello())
        }
        #expect(stub.attempts == 1)
        #expect(client.breaker.state == .closed, "our own bad request says nothing about the upstream's health")
        await stub.stop()
    }

    @Test func garbageEventsAreAnInvalidResponseAndEndTheExchange() async throws {
        let stub = try StubUpstream { attempt, stub in
            stub.stream(attempt, ["data: \(StubUpstream.chunk("fine"))\n\n", "data: {not json at all\n\n"], thenHold: true)
        }
        let client = OpenAIClient(configuration: try stub.configuration(timeouts: Self.patient))
        let streamed = await drain(client.stream(.hello()))
        #expect(streamed.chunks.count == 1)
        guard case .invalidResponse(upstream: "stub", _)? = streamed.error as? LLMClientError else {
            Issue.record("expected invalidResponse, got \(String(describing: streamed.error))")
            return
        }
        #expect(await stub.waitForDisconnect(of: 1), "the client hangs up instead of reading on")
        await stub.stop()
    }

    @Test func anEventThatNeverEndsIsAnInvalidResponseAndEndsTheExchange() async throws {
        // 64 KiB data lines and never a blank line: past the parser's 4 MiB event limit.
        let line = "data: " + String(repeating: "x", count: 64 << 10) + "\n"
        let stub = try StubUpstream { attempt, stub in
            stub.stream(attempt, Array(repeating: line, count: 80), thenHold: true)
        }
        let client = OpenAIClient(configuration: try stub.configuration(timeouts: Self.patient))
        let streamed = await drain(client.stream(.hello()))
        #expect(streamed.error as? LLMClientError == .invalidResponse(
            upstream: "stub", reason: SSEParser.ParseError.eventTooLarge(4 << 20).description))
        #expect(await stub.waitForDisconnect(of: 1), "the client hangs up instead of reading on")
        await stub.stop()
    }

    @Test func aStreamLongerThanTheLimitIsAnInvalidResponseAndEndsTheExchange() async throws {
        let chunk = "data: \(StubUpstream.chunk("word"))\n\n"
        let stub = try StubUpstream { attempt, stub in
            stub.stream(attempt, Array(repeating: chunk, count: 200), thenHold: true)
        }
        let client = OpenAIClient(configuration: try stub.configuration(timeouts: Self.patient), userAgent: "popi",
                                  maxStreamBytes: 50 * chunk.utf8.count)
        let streamed = await drain(client.stream(.hello()))
        #expect(streamed.chunks.count <= 50)
        #expect(streamed.error as? LLMClientError == .invalidResponse(
            upstream: "stub", reason: "event stream longer than \(50 * chunk.utf8.count) bytes"))
        #expect(await stub.waitForDisconnect(of: 1), "the client hangs up instead of reading on")
        await stub.stop()
    }

    @Test func aReaderFallingBehindEndsTheCallInsteadOfBufferingTheWholeStream() async throws {
        let chunk = "data: \(StubUpstream.chunk("word"))\n\n"
        let stub = try StubUpstream { attempt, stub in
            stub.stream(attempt, Array(repeating: chunk, count: 200), thenHold: true)
        }
        let eventBytes = StubUpstream.chunk("word").utf8.count
        let client = OpenAIClient(configuration: try stub.configuration(timeouts: Self.patient), userAgent: "popi",
                                  maxStreamBytes: OpenAIClient.streamLimit, maxBacklogBytes: 20 * eventBytes)
        // Nobody reads yet: the call must end by itself once 20 chunks wait, not hold all 200.
        let stream = client.stream(.hello())
        #expect(await stub.waitForDisconnect(of: 1), "the client hangs up once its reader is 20 chunks behind")
        let streamed = await drain(stream)
        #expect(streamed.chunks.count == 20)
        #expect(streamed.error as? LLMClientError == .readerTooSlow(upstream: "stub"))
        await stub.stop()
    }

    @Test func errorEventInAStreamIsReportedRedacted() async throws {
        let stub = try StubUpstream { attempt, stub in
            stub.stream(attempt, [#"data: {"error":{"message":"key sk-test-0123456789 revoked"}}"# + "\n\n"], thenHold: true)
        }
        let client = OpenAIClient(configuration: try stub.configuration(timeouts: Self.patient))
        let streamed = await drain(client.stream(.hello()))
        let error = try #require(streamed.error as? LLMClientError)
        #expect(error == .invalidResponse(upstream: "stub", reason: "error event: key [redacted] revoked"))
        await stub.stop()
    }

    @Test func nonJSONCompletionIsAnInvalidResponse() async throws {
        let stub = try StubUpstream { _, _ in .text("<html>gateway</html>") }
        let client = OpenAIClient(configuration: try stub.configuration())
        await #expect(throws: LLMClientError.invalidResponse(upstream: "stub", reason: "not a chat completion object")) {
            _ = try await client.complete(.hello())
        }
        await stub.stop()
    }

    @Test func streamWithoutDoneEndedEarly() async throws {
        let stub = try StubUpstream { attempt, stub in
            stub.stream(attempt, ["data: \(StubUpstream.chunk("partial"))\n\n"])
        }
        let client = OpenAIClient(configuration: try stub.configuration())
        let streamed = await drain(client.stream(.hello()))
        #expect(streamed.chunks.map { $0.choices.first?.delta.content } == ["partial"])
        #expect(streamed.error as? LLMClientError == .streamEndedEarly(upstream: "stub"))
        #expect(client.breaker.state == .closed)
        await stub.stop()
    }

    @Test func streamEndsAtDoneEvenIfTheUpstreamKeepsTheBodyOpen() async throws {
        let stub = try StubUpstream { attempt, stub in
            stub.stream(attempt, ["data: \(StubUpstream.chunk("a"))\n\ndata: [DONE]\n\n"], thenHold: true)
        }
        let client = OpenAIClient(configuration: try stub.configuration(timeouts: Self.patient))
        let streamed = await drain(client.stream(.hello()))
        #expect(streamed.error == nil)
        #expect(streamed.chunks.count == 1)
        await stub.stop()
    }

    @Test func upstreamErrorEchoingTheKeyIsRedacted() async throws {
        let key = "sk-test-0123456789"
        let stub = try StubUpstream { attempt, _ in
            attempt == 1
                ? .json(#"{"error":{"message":"Incorrect API key provided: \#(key). Check it.","type":"invalid_request_error"}}"#, status: .unauthorized)
                : .text("denied for \(key)", status: .forbidden)
        }
        let client = OpenAIClient(configuration: try stub.configuration(key: key, retry: .init(maxAttempts: 3)))
        for (status, message) in [(401, "Incorrect API key provided: [redacted]. Check it."), (403, "denied for [redacted]")] {
            do {
                _ = try await client.complete(.hello())
                Issue.record("expected \(status)")
            } catch let error as LLMClientError {
                #expect(error == .upstreamStatus(upstream: "stub", status: status, message: message, retryAfter: nil))
                #expect(!error.description.contains(key))
                #expect(!String(reflecting: error).contains(key))
            }
        }
        #expect(stub.attempts == 2, "4xx answers are not retried")
        await stub.stop()
    }

    @Test func streamedErrorStatusCarriesTheMessage() async throws {
        let stub = try StubUpstream { _, _ in
            .json(#"{"error":{"message":"quota exceeded"}}"#, status: HTTPStatus(429), headers: ["Retry-After": "7"])
        }
        let client = OpenAIClient(configuration: try stub.configuration())
        let streamed = await drain(client.stream(.hello()))
        #expect(streamed.error as? LLMClientError
                == .upstreamStatus(upstream: "stub", status: 429, message: "quota exceeded", retryAfter: 7))
        #expect(stub.attempts == 1, "streamed calls are never retried")
        await stub.stop()
    }

    @Test func circuitOpensRefusesAndRecoversAfterHalfOpen() async throws {
        let stub = try StubUpstream { attempt, _ in
            attempt <= 2 ? .json(#"{"error":{"message":"down"}}"#, status: HTTPStatus(502)) : StubUpstream.completion("back")
        }
        let client = OpenAIClient(configuration: try stub.configuration(
            breaker: .init(failureThreshold: 2, openDuration: .milliseconds(500))))
        for _ in 0..<2 {
            await #expect(throws: LLMClientError.self) { _ = try await client.complete(.hello()) }
        }
        #expect(client.breaker.state == .open)

        var retryAfter = 0.0
        do {
            _ = try await client.complete(.hello())
            Issue.record("an open circuit refuses calls")
        } catch let LLMClientError.circuitOpen(upstream, wait) {
            #expect(upstream == "stub")
            #expect(wait > 0 && wait <= 0.5)
            retryAfter = wait
        }
        let streamed = await drain(client.stream(.hello()))
        guard case .circuitOpen? = streamed.error as? LLMClientError else {
            Issue.record("an open circuit refuses streams too, got \(String(describing: streamed.error))")
            return
        }
        #expect(stub.attempts == 2, "refused calls never reach the upstream")

        try await Task.sleep(for: .milliseconds(Int(retryAfter * 1000) + 50))
        #expect(client.breaker.state == .halfOpen)
        let completion = try await client.complete(.hello())
        #expect(completion.choices.first?.message.content == "back")
        #expect(client.breaker.state == .closed, "the successful trial call closes the circuit")
        #expect(stub.attempts == 3)
        await stub.stop()
    }

    @Test func cancellingTheConsumerCancelsTheStreamedRequest() async throws {
        let stub = try StubUpstream { attempt, stub in
            stub.stream(attempt, ["data: \(StubUpstream.chunk("first"))\n\n"], thenHold: true)
        }
        let client = OpenAIClient(configuration: try stub.configuration(breaker: .init(failureThreshold: 1)))
        let firstChunk = AsyncStream<Void>.makeStream()
        let consumer = Task {
            var error: Error?
            do {
                for try await _ in client.stream(.hello()) { firstChunk.continuation.yield() }
            } catch let caught {
                error = caught
            }
            return error
        }
        for await _ in firstChunk.stream { break }
        consumer.cancel()
        #expect(await stub.waitForDisconnect(of: 1), "the upstream sees its connection close")
        let error = await consumer.value
        #expect(error == nil || error as? LLMClientError == .cancelled)
        #expect(client.breaker.state == .closed, "a cancellation is not the upstream's failure")
        await stub.stop()
    }

    @Test func cancellingTheCallerCancelsTheWholeRequest() async throws {
        let stub = try StubUpstream { attempt, stub in try await stub.hold(attempt) }
        let client = OpenAIClient(configuration: try stub.configuration())
        let caller = Task { try await client.complete(.hello()) }
        while stub.attempts == 0 { try await Task.sleep(for: .milliseconds(10)) }
        caller.cancel()
        #expect(await stub.waitForDisconnect(of: 1))
        await #expect(throws: LLMClientError.cancelled) { _ = try await caller.value }
        await stub.stop()
    }

    @Test func cancellingDuringBackoffStopsRetrying() async throws {
        let stub = try StubUpstream { _, _ in
            .json(#"{"error":{"message":"busy"}}"#, status: HTTPStatus(429), headers: ["Retry-After": "30"])
        }
        let client = OpenAIClient(configuration: try stub.configuration(
            retry: .init(maxAttempts: 2, baseDelay: .milliseconds(1), maxDelay: .seconds(60))))
        let caller = Task { try await client.complete(.hello()) }
        while stub.attempts == 0 { try await Task.sleep(for: .milliseconds(10)) }
        caller.cancel()
        await #expect(throws: LLMClientError.cancelled) { _ = try await caller.value }
        #expect(stub.attempts == 1)
        await stub.stop()
    }
}
