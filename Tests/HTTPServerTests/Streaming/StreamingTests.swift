import Foundation
import Testing
@testable import HTTPServer

@Suite struct StreamingTests {
    @Test func serverSentEventsAreFlushedOnePerEvent() async throws {
        let gate = Gate()
        let router = TestRoutes.router { router in
            router.get("/events") { _ in
                .eventStream { events in
                    try await events.send(data: "first\nline", event: "token", id: "1")
                    // The second event waits for the test to have read the first.
                    await gate.wait()
                    try await events.send(data: "second")
                }
            }
        }
        let server = try TestServer(router: router)
        let client = try server.client()
        try client.send("GET /events HTTP/1.1\r\nHost: h\r\n\r\n")
        let head = try client.readHeadOnly()
        #expect(head.status == 200)
        #expect(head.header("Content-Type") == "text/event-stream")
        #expect(head.header("Cache-Control") == "no-cache")
        #expect(head.header("Transfer-Encoding") == "chunked")
        let first = try #require(try client.readChunk())
        #expect(String(decoding: first, as: UTF8.self) == "event: token\nid: 1\ndata: first\ndata: line\n\n")
        gate.open()
        let second = try #require(try client.readChunk())
        #expect(String(decoding: second, as: UTF8.self) == "data: second\n\n")
        #expect(try client.readChunk() == nil)
        await server.stop()
    }

    @Test func clientDisconnectCancelsTheHandler() async throws {
        let outcome = StreamOutcome()
        let started = Gate()
        let router = TestRoutes.router { router in
            router.get("/wait") { _ in
                started.open()
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch is CancellationError {
                    outcome.sawCancellation()
                    throw CancellationError()
                }
                return .text("too late")
            }
        }
        let server = try TestServer(router: router)
        var client: RawClient? = try server.client()
        try client?.send("GET /wait HTTP/1.1\r\nHost: h\r\n\r\n")
        await started.wait()
        client = nil
        for _ in 0..<100 where !outcome.wasCancelled {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(outcome.wasCancelled)
        await server.stop()
    }

    @Test func disconnectStopsAStreamingHandler() async throws {
        let outcome = StreamOutcome()
        let router = TestRoutes.router { router in
            router.get("/tokens") { _ in
                .eventStream { events in
                    do {
                        for i in 0..<10_000 {
                            try await events.send(data: "token \(i)")
                            outcome.wrote(1)
                            try await Task.sleep(for: .milliseconds(5))
                        }
                    } catch {
                        outcome.failed()
                        throw error
                    }
                }
            }
        }
        let server = try TestServer(router: router)
        var client: RawClient? = try server.client()
        try client?.send("GET /tokens HTTP/1.1\r\nHost: h\r\n\r\n")
        _ = try client?.readHeadOnly()
        _ = try client?.readChunk()
        client = nil
        for _ in 0..<100 where !outcome.didFail {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(outcome.didFail, "the generator loop stopped when nobody listened")
        #expect(outcome.bytes < 10_000)
        await server.stop()
    }

    @Test func slowReaderBoundsBuffering() async throws {
        let outcome = StreamOutcome()
        var configuration = HTTPServerConfiguration()
        configuration.maxBufferedOutput = 64 * 1024
        let router = TestRoutes.router { router in
            router.get("/flood") { _ in
                Response(body: .stream { writer in
                    let chunk = [UInt8](repeating: 0x62, count: 16 * 1024)
                    for _ in 0..<3072 {
                        try await writer.write(chunk)
                        outcome.wrote(chunk.count)
                    }
                })
            }
        }
        let server = try TestServer(configuration, router: router)
        let client = try server.client()
        try client.send("GET /flood HTTP/1.1\r\nHost: h\r\n\r\n")
        try await Task.sleep(for: .milliseconds(500))
        let accepted = outcome.bytes
        // Kernel socket buffers (a few MiB on loopback) plus our 64 KiB bound: far below the 48 MiB
        // the handler wants to send.
        #expect(accepted < 24 * 1024 * 1024, "handler got ahead of the client by \(accepted) bytes")
        // Reading everything lets the handler finish: backpressure released, nothing lost.
        let response = try client.readResponse()
        #expect(response.body.count == 3072 * 16 * 1024)
        #expect(outcome.bytes == 3072 * 16 * 1024)
        await server.stop()
    }

    /// Two tasks of one handler writing at once both wait for the slow client to drain.
    static func twoWriterRoute(_ outcome: StreamOutcome) -> Router {
        TestRoutes.router { router in
            router.get("/two") { _ in
                Response(body: .stream { writer in
                    let chunk = [UInt8](repeating: 0x62, count: 16 * 1024)
                    do {
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            for _ in 0..<2 {
                                group.addTask {
                                    for _ in 0..<1024 {
                                        try await writer.write(chunk)
                                        outcome.wrote(chunk.count)
                                    }
                                }
                            }
                            try await group.waitForAll()
                        }
                    } catch {
                        outcome.failed()
                        throw error
                    }
                })
            }
        }
    }

    @Test func concurrentWritersWaitingForTheClientAllResume() async throws {
        let outcome = StreamOutcome()
        var configuration = HTTPServerConfiguration()
        configuration.maxBufferedOutput = 64 * 1024
        let server = try TestServer(configuration, router: Self.twoWriterRoute(outcome))
        let client = try server.client(readTimeout: 20)
        try client.send("GET /two HTTP/1.1\r\nHost: h\r\n\r\n")
        // Not reading yet: both writers fill the socket and the buffer, then wait.
        try await Task.sleep(for: .milliseconds(500))
        #expect(outcome.bytes < 2 * 1024 * 16 * 1024)
        let response = try client.readResponse()
        #expect(response.body.count == 2 * 1024 * 16 * 1024)
        #expect(outcome.bytes == 2 * 1024 * 16 * 1024)
        #expect(!outcome.didFail)
        await server.stop()
    }

    @Test func concurrentWritersWaitingForTheClientAllFailWhenItLeaves() async throws {
        let outcome = StreamOutcome()
        var configuration = HTTPServerConfiguration()
        configuration.maxBufferedOutput = 64 * 1024
        let server = try TestServer(configuration, router: Self.twoWriterRoute(outcome))
        var client: RawClient? = try server.client()
        try client?.send("GET /two HTTP/1.1\r\nHost: h\r\n\r\n")
        try await Task.sleep(for: .milliseconds(500))
        client = nil
        for _ in 0..<250 where !outcome.didFail {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(outcome.didFail, "the handler ended: no writer was left waiting")
        await server.stop()
    }

    @Test func eventFormatting() {
        #expect(ServerSentEvent(data: "a\r\nb\rc").bytes == Array("data: a\ndata: b\ndata: c\n\n".utf8))
        #expect(ServerSentEvent(data: "", event: "x\ny", retry: 5).bytes == Array("event: xy\nretry: 5\ndata: \n\n".utf8))
    }
}

/// A one-shot signal between a handler and the test.
final class Gate: @unchecked Sendable {
    private let lock = NSLock()
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func open() {
        let waiting = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            isOpen = true
            defer { waiters = [] }
            return waiters
        }
        waiting.forEach { $0.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let ready = lock.withLock { () -> Bool in
                if isOpen { return true }
                waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
