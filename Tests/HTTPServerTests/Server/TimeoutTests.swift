import Foundation
import Testing
@testable import HTTPServer

/// Timeouts with short settings: each case checks the answer (408 or a silent close) and that the
/// connection is closed. Read timeouts on the client are generous; no case measures speed.
@Suite struct TimeoutTests {
    private var configuration: HTTPServerConfiguration {
        var configuration = HTTPServerConfiguration()
        configuration.headerTimeout = .milliseconds(400)
        configuration.bodyIdleTimeout = .milliseconds(400)
        configuration.keepAliveTimeout = .milliseconds(400)
        configuration.writeTimeout = .milliseconds(400)
        configuration.maxBufferedOutput = 64 * 1024
        return configuration
    }

    @Test func silentConnectionDroppedAtHeaderTimeout() async throws {
        let server = try TestServer(configuration)
        let client = try server.client()
        #expect(try client.isClosedByServer())
        await server.stop()
    }

    @Test func slowHeadGets408AndClose() async throws {
        let server = try TestServer(configuration)
        let client = try server.client()
        // Trickle the head like slowloris: each byte keeps the connection busy, none extends the deadline.
        try client.send("GET /hello HTTP/1.1\r\n")
        for _ in 0..<4 {
            try await Task.sleep(for: .milliseconds(150))
            try? client.send("X-A: b\r\n")
        }
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(response.header("Connection") == "close")
        #expect(try client.isClosedByServer())
        await server.stop()
    }

    @Test func idleKeepAliveClosed() async throws {
        let server = try TestServer(configuration)
        let client = try server.client()
        try client.send("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        #expect(try client.isClosedByServer(), "closed silently after the keep-alive timeout")
        await server.stop()
    }

    @Test func stalledBodyGets408() async throws {
        let server = try TestServer(configuration)
        let client = try server.client()
        try client.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(response.header("Connection") == "close")
        #expect(try client.isClosedByServer())
        await server.stop()
    }

    /// A byte now and then, each well inside the idle timeout, used to hold a connection forever:
    /// the whole body has its own deadline.
    @Test func tricklingBodyGets408AtTheTotalBodyTimeout() async throws {
        var configuration = self.configuration
        configuration.bodyIdleTimeout = .seconds(10)
        configuration.bodyTotalTimeout = .seconds(1)
        let server = try TestServer(configuration)
        let client = try server.client(readTimeout: 10)
        try client.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n")
        // One byte every 100 ms (the body would take 100 s), until the server answers.
        var answeredWhileSending = false
        for _ in 0..<100 {
            if client.hasInput() {
                answeredWhileSending = true
                break
            }
            try? client.send("x")
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(answeredWhileSending, "the server answered while the body was still trickling in")
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(response.text == #"{"error":{"code":"request_timeout","message":"request body not received in time"}}"#)
        #expect(response.header("Connection") == "close")
        #expect(try client.isClosedByServer())
        #expect(server.server.statistics.bodyTotalTimeouts == 1)
        #expect(server.server.statistics.bodyIdleTimeouts == 0)
        await server.stop()
    }

    @Test func clientThatStopsReadingIsDropped() async throws {
        let outcome = StreamOutcome()
        let router = TestRoutes.router { router in
            router.get("/flood") { _ in
                Response(body: .stream { writer in
                    let chunk = [UInt8](repeating: 0x61, count: 64 * 1024)
                    do {
                        for _ in 0..<100_000 {
                            try await writer.write(chunk)
                            outcome.wrote(chunk.count)
                        }
                    } catch {
                        outcome.failed()
                        throw error
                    }
                })
            }
        }
        let server = try TestServer(configuration, router: router)
        let client = try server.client()
        var small: Int32 = 4096
        setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        try client.send("GET /flood HTTP/1.1\r\nHost: h\r\n\r\n")
        // Never read: the writer must block (bounded buffering), then the write timeout cuts it off.
        for _ in 0..<100 where !outcome.didFail {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(outcome.didFail, "the writer saw the connection drop")
        #expect(outcome.bytes < 64 * 1024 * 1024, "buffering stayed bounded: \(outcome.bytes) bytes accepted")
        await server.stop()
    }
}

/// What a streaming handler observed, shared with the test.
final class StreamOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var written = 0
    private var failure = false
    private var cancelled = false

    func wrote(_ count: Int) { lock.withLock { written += count } }
    func failed() { lock.withLock { failure = true } }
    func sawCancellation() { lock.withLock { cancelled = true } }
    var bytes: Int { lock.withLock { written } }
    var didFail: Bool { lock.withLock { failure } }
    var wasCancelled: Bool { lock.withLock { cancelled } }
}
