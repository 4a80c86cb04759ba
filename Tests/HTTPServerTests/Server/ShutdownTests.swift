import Foundation
import Testing
@testable import HTTPServer

@Suite struct ShutdownTests {
    @Test func gracefulShutdownFinishesInFlightAndClosesIdle() async throws {
        let started = Gate(), release = Gate()
        let router = TestRoutes.router { router in
            router.get("/work") { _ in
                started.open()
                await release.wait()
                return .text("finished")
            }
        }
        let server = try TestServer(router: router)
        let idle = try server.client()
        try idle.send("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
        _ = try idle.readResponse()
        let busy = try server.client()
        try busy.send("GET /work HTTP/1.1\r\nHost: h\r\n\r\n")
        await started.wait()

        async let stopped: Void = server.server.shutdown(gracePeriod: .seconds(5))
        // Shutdown stops accepting after telling connections to drain: wait for that, then let
        // the in-flight handler finish. The wait is long because the shutdown task needs a thread
        // of the cooperative pool, which parallel suites on a 2-core machine can hold for seconds
        // (a 5-second wait failed once in CI); a passing run ends it within milliseconds.
        let port = server.port
        let refused = try await offPool {
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                guard (try? RawClient(port: port)) != nil else { return true }
                usleep(10_000)
            }
            return false
        }
        #expect(refused, "no longer accepting")
        release.open()
        let response = try await offPool { try busy.readResponse() }
        #expect(response.text == "finished", "the in-flight request completed")
        #expect(response.header("Connection") == "close")
        #expect(try busy.isClosedByServer())
        #expect(try idle.isClosedByServer(), "idle keep-alive connections are closed")
        await stopped
    }

    @Test func gracePeriodEndsStuckRequests() async throws {
        let outcome = StreamOutcome()
        let started = Gate()
        let router = TestRoutes.router { router in
            router.get("/stuck") { _ in
                started.open()
                do {
                    try await Task.sleep(for: .seconds(60))
                } catch {
                    outcome.sawCancellation()
                    throw error
                }
                return .text("never")
            }
        }
        let server = try TestServer(router: router)
        let client = try server.client()
        try client.send("GET /stuck HTTP/1.1\r\nHost: h\r\n\r\n")
        await started.wait()
        await server.server.shutdown(gracePeriod: .milliseconds(200))
        #expect(try client.isClosedByServer())
        #expect(outcome.wasCancelled)
    }
}
