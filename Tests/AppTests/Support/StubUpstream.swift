import Foundation
@testable import App
import HTTPServer
import LLMClient
import Synchronization

/// A stand-in OpenAI-compatible upstream on popi's own HTTP server, on a real socket, for what
/// a real server will not do on demand (fail with a given status, stall, die mid-stream). It
/// records every request to `POST /v1/chat/completions` and answers with the test's `respond`
/// (given the 1-based attempt number). Same idea as LLMClientTests' stub, seen from the App.
final class StubUpstream: Sendable {
    typealias Respond = @Sendable (_ attempt: Int, _ request: JSONValue, _ stub: StubUpstream) async throws -> Response

    private let server: HTTPServer
    private let requests = Mutex<[JSONValue]>([])
    private let disconnects = Mutex(0)

    init(_ respond: @escaping Respond) throws {
        let box = Box()
        var router = Router()
        router.post("/v1/chat/completions") { request in
            let json = (try? JSONValue.parse(try await request.body.collect(upTo: 1 << 20))) ?? .null
            guard let stub = box.stub else { throw HTTPError(.serviceUnavailable, code: "stub", message: "not ready") }
            let attempt = stub.requests.withLock { requests in
                requests.append(json)
                return requests.count
            }
            return try await respond(attempt, json, stub)
        }
        server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), router: router)
        box.stub = self
        try server.start()
    }

    var baseURL: String { "http://127.0.0.1:\(server.port)/v1" }

    /// The request bodies received, in order.
    var received: [JSONValue] { requests.withLock { $0 } }

    /// Waits until a held response saw its client (popi) go away. The limit only keeps a
    /// broken client from hanging the suite; nothing is measured against it.
    func waitForDisconnect(limit: Duration = .seconds(60)) async -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if disconnects.withLock({ $0 }) > 0 { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    func stop() async {
        await server.shutdown(gracePeriod: .seconds(5))
    }

    /// An upstream named `name` serving client model `model` (sent upstream as `stub-model`),
    /// no retries and a breaker that does not open unless the test asks.
    func configuration(name: String = "stub", model: String = "stub-chat", firstByte: Duration = .seconds(30),
                       breakerFailures: Int = 100, breakerOpen: Duration = .seconds(60)) throws -> UpstreamConfiguration {
        try UpstreamConfiguration(name: name, baseURL: baseURL, apiKey: try APIKey("sk-stub-0123456789"),
                                  models: [model: "stub-model"],
                                  timeouts: .init(connect: .seconds(5), firstByte: firstByte, idle: .seconds(30), total: .seconds(60)),
                                  retry: .init(maxAttempts: 1),
                                  breaker: .init(failureThreshold: breakerFailures, openDuration: breakerOpen))
    }

    // MARK: answers

    static func completion(_ content: String) -> Response {
        .json(#"{"id":"chatcmpl-stub","object":"chat.completion","created":1,"model":"stub-model","choices":[{"index":0,"message":{"role":"assistant","content":\#(quoted(content))},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":3,"total_tokens":14}}"#)
    }

    static func chunk(_ content: String) -> String {
        #"data: {"id":"chatcmpl-stub","object":"chat.completion.chunk","created":1,"model":"stub-model","choices":[{"index":0,"delta":{"content":\#(quoted(content))},"finish_reason":null}]}"# + "\n\n"
    }

    static let finish = #"data: {"id":"chatcmpl-stub","object":"chat.completion.chunk","created":1,"model":"stub-model","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"# + "\n\n"

    /// A complete event stream of `pieces`, with a finish chunk and `[DONE]`.
    static func stream(_ pieces: [String]) -> Response {
        Response(status: .ok, headers: ["Content-Type": "text/event-stream"], body: .stream { writer in
            for piece in pieces { try await writer.write(chunk(piece)) }
            try await writer.write(finish)
            try await writer.write("data: [DONE]\n\n")
        })
    }

    /// A stream that sends `pieces` and then breaks off: the connection is cut with the chunked
    /// body unfinished, as when the upstream process dies.
    static func brokenStream(_ pieces: [String]) -> Response {
        Response(status: .ok, headers: ["Content-Type": "text/event-stream"], body: .stream { writer in
            for piece in pieces { try await writer.write(chunk(piece)) }
            try await Task.sleep(for: .milliseconds(50))
            throw CancellationError()
        })
    }

    static func error(_ status: Int, _ message: String) -> Response {
        .json(#"{"error":{"message":\#(quoted(message)),"type":"invalid_request_error"}}"#, status: HTTPStatus(status))
    }

    /// Streams `pieces`, then holds the stream open without a word until the client leaves
    /// (noted for `waitForDisconnect`).
    func heldStream(_ pieces: [String]) -> Response {
        Response(status: .ok, headers: ["Content-Type": "text/event-stream"], body: .stream { writer in
            for piece in pieces { try await writer.write(Self.chunk(piece)) }
            do {
                try await Task.sleep(for: .seconds(600))
            } catch {
                self.disconnects.withLock { $0 += 1 }
                throw error
            }
        })
    }

    /// Never answers (until the client gives up and the handler is cancelled).
    static func stallForever() async throws -> Response {
        try await Task.sleep(for: .seconds(600))
        return completion("too late")
    }

    private static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        JSONString.append(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Lets the route reach the stub, which exists only after its router.
private final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private var value: StubUpstream?
    var stub: StubUpstream? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
