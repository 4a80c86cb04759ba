import Foundation
import HTTPServer
import Synchronization
@testable import LLMClient

/// A fake OpenAI-compatible upstream on popi's own HTTP server, on a real socket on 127.0.0.1,
/// for the faults a real server will not produce on demand. Every request to
/// `POST /v1/chat/completions` is logged and answered by the test's `respond`, which gets the
/// 1-based attempt number; handlers report through `noteDisconnect` when they see the client go.
final class StubUpstream: Sendable {
    struct Received: Sendable {
        var attempt: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var at: ContinuousClock.Instant

        /// The request body as a JSON object.
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        }
    }

    private struct State {
        var received: [Received] = []
        var disconnects: [Int] = []
        var released = false
    }

    typealias Respond = @Sendable (_ attempt: Int, _ stub: StubUpstream) async throws -> Response

    private let server: HTTPServer
    private let state = Mutex(State())

    init(_ respond: @escaping Respond) throws {
        let box = StubBox()
        var router = Router()
        router.post("/v1/chat/completions") { request in
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let stub = box.stub else { throw HTTPError(.serviceUnavailable, code: "stub", message: "not ready") }
            let attempt = stub.state.withLock { state in
                state.received.append(Received(attempt: state.received.count + 1, headers: request.headers,
                                               body: body, at: .now))
                return state.received.count
            }
            return try await respond(attempt, stub)
        }
        server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), router: router)
        box.stub = self
        try server.start()
    }

    var baseURL: String { "http://127.0.0.1:\(server.port)/v1" }
    var received: [Received] { state.withLock { $0.received } }
    var attempts: Int { state.withLock { $0.received.count } }

    func noteDisconnect(_ attempt: Int) {
        state.withLock { $0.disconnects.append(attempt) }
    }

    /// Waits until a handler saw its client go away. The limit only keeps a broken client from
    /// hanging the suite; nothing is measured against it.
    func waitForDisconnect(of attempt: Int, limit: Duration = .seconds(20)) async -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if state.withLock({ $0.disconnects.contains(attempt) }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// Ends held requests, then stops the server.
    func stop() async {
        state.withLock { $0.released = true }
        await server.shutdown(gracePeriod: .seconds(5))
    }

    /// Suspends until `stop()` (or until the client leaves: then throws).
    private func holdUntilStopped() async throws {
        while !state.withLock({ $0.released }) {
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func configuration(name: String = "stub", key: String? = "sk-test-0123456789", models: [String: String] = [:],
                       timeouts: UpstreamConfiguration.Timeouts = .init(connect: .seconds(5), firstByte: .seconds(20), idle: .seconds(20), total: .seconds(60)),
                       retry: UpstreamConfiguration.Retry = .init(maxAttempts: 1),
                       breaker: UpstreamConfiguration.Breaker = .init(failureThreshold: 100)) throws -> UpstreamConfiguration {
        try UpstreamConfiguration(name: name, baseURL: baseURL, apiKey: key.map { try APIKey($0) }, models: models,
                                  timeouts: timeouts, retry: retry, breaker: breaker)
    }

    // MARK: canned answers

    static func completion(_ content: String, model: String = "stub-model") -> Response {
        .json(#"{"id":"chatcmpl-1","object":"chat.completion","model":"\#(model)","choices":[{"index":0,"message":{"role":"assistant","content":\#(JSONString.quoted(content))},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#)
    }

    static func chunk(_ content: String) -> String {
        #"{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"stub-model","choices":[{"index":0,"delta":{"content":\#(JSONString.quoted(content))},"finish_reason":null}]}"#
    }

    /// A `text/event-stream` body of raw text pieces, each written as its own chunk; when
    /// `thenHold` it then stays open without sending, until the client leaves or the stub stops.
    func stream(_ attempt: Int, _ pieces: [String], thenHold: Bool = false) -> Response {
        Response(status: .ok, headers: ["Content-Type": "text/event-stream"], body: .stream { writer in
            do {
                for piece in pieces { try await writer.write(piece) }
                if thenHold { try await self.holdUntilStopped() }
            } catch {
                self.noteDisconnect(attempt)
                throw error
            }
        })
    }

    /// Holds the request without answering until the client leaves or the stub stops.
    func hold(_ attempt: Int) async throws -> Response {
        do {
            try await holdUntilStopped()
        } catch {
            noteDisconnect(attempt)
            throw error
        }
        return Self.completion("too late")
    }
}

/// Lets the route reach the stub, which is created after its router.
private final class StubBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: StubUpstream?
    var stub: StubUpstream? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

/// Runs a stream to its end: the chunks received and the error it ended with, if any.
func drain(_ stream: ChatCompletionChunks) async -> (chunks: [ChatCompletionChunk], error: Error?) {
    var chunks: [ChatCompletionChunk] = []
    do {
        for try await chunk in stream { chunks.append(chunk) }
        return (chunks, nil)
    } catch {
        return (chunks, error)
    }
}

extension ChatCompletionRequest {
    static func hello(model: String = "popi-gen", user: String? = nil) -> ChatCompletionRequest {
        ChatCompletionRequest(model: model, messages: [ChatCompletionMessage(role: "user", content: "Say hello.")],
                              maxTokens: 8, temperature: 0, user: user)
    }
}
