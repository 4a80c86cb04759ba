import Foundation
import Testing
@testable import HTTPServer

/// The event threads: a request on an idle keep-alive connection is read, handled and answered on
/// the thread that saw it arrive, and a handler holding its thread leaves the others serving.
@Suite struct PollerTests {
    /// The name of the thread running the caller (procfs), e.g. `popi-http-0`.
    static func threadName() -> String {
        ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .newlines)
    }

    @Test func aHandlerThatNeverSuspendsRunsOnTheEventThreadThatReadItsRequest() async throws {
        let router = TestRoutes.router { router in
            router.get("/thread") { _ in .text(PollerTests.threadName()) }
        }
        let server = try TestServer(router: router)
        let client = try server.client()
        let names = try await offPool {
            try (0..<5).map { _ in
                try client.send("GET /thread HTTP/1.1\r\nHost: h\r\n\r\n")
                return try client.readResponse().text
            }
        }
        for name in names {
            #expect(name.hasPrefix("popi-http-"), "handled on \(name)")
        }
        await server.stop()
    }

    /// The handler of /hold keeps its event thread (a synchronous wait) until /hello, on another
    /// connection, was answered: by another event thread.
    @Test func aHandlerHoldingItsThreadDoesNotStopTheOthers() async throws {
        let answered = DispatchSemaphore(value: 0)
        let router = TestRoutes.router { router in
            router.get("/hold") { _ in
                // Bounded: a server that cannot answer /hello fails the test instead of hanging it
                // (generously: a debug build beside the other suites on 2 busy cores once took 10 s).
                let released = answered.wait(timeout: .now() + 60) == .success
                return .text(released ? "released" : "timed out")
            }
        }
        let server = try TestServer(router: router)
        let holding = try server.client(readTimeout: 65)
        try holding.send("GET /hold HTTP/1.1\r\nHost: h\r\n\r\n")
        let other = try server.client()
        let hello = try await offPool {
            try other.send("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
            return try other.readResponse().text
        }
        #expect(hello == "hello")
        answered.signal()
        let held = try await offPool { try holding.readResponse().text }
        #expect(held == "released")
        await server.stop()
    }
}
