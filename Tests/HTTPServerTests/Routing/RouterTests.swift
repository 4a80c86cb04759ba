import Foundation
import Testing
@testable import HTTPServer

/// Routing, middleware and error mapping through the in-process client (no sockets).
@Suite struct RouterTests {
    enum Caller: RequestAttributeKey { typealias Value = String }

    private func router() -> Router {
        var router = Router()
        router.get("/v1/users/{user_id}/feedback") { request in
            .text("list \(request.parameter("user_id")!) route=\(request.route!)")
        }
        router.post("/v1/users/{user_id}/feedback") { request in
            let body = try await request.body.collect(upTo: 10)
            return .text("posted \(body.count) by \(request.attributes[Caller.self] ?? "-")")
        }
        router.get("/v1/users/me/feedback") { _ in .text("literal wins") }
        router.delete("/v1/users/{user_id}") { request in .text("deleted \(request.parameter("user_id")!)") }
        router.get("/") { _ in .text("root") }
        router.get("/fail") { _ in throw HTTPError(.tooManyRequests, code: "rate_limited", message: "slow \"down\"", headers: ["Retry-After": "3"]) }
        router.get("/crash") { _ in throw SomeError() }
        router.get("/query") { request in .text(request.queryValue("q") ?? "none") }
        return router
    }

    struct SomeError: Error {}

    @Test func pathParametersAndLiterals() async {
        let client = InProcessClient(router: router())
        #expect(await client.send(.GET, "/v1/users/u%2042/feedback").text == "list u 42 route=/v1/users/{user_id}/feedback")
        #expect(await client.send(.GET, "/v1/users/me/feedback").text == "literal wins")
        #expect(await client.send(.DELETE, "/v1/users/abc").text == "deleted abc")
        #expect(await client.send(.GET, "/").text == "root")
        #expect(await client.send(.GET, "/query?q=a+b%21").text == "a b!")
    }

    @Test func notFoundAndMethodNotAllowed() async {
        let client = InProcessClient(router: router())
        let missing = await client.send(.GET, "/v1/users")
        #expect(missing.status == .notFound)
        #expect(missing.text == #"{"error":{"code":"not_found","message":"not found"}}"#)
        #expect(await client.send(.GET, "/v1/users/x/feedback/extra").status == .notFound)
        #expect(await client.send(.GET, "/v1/users//feedback").status == .notFound, "empty parameter")
        let wrong = await client.send(.PUT, "/v1/users/x/feedback")
        #expect(wrong.status == .methodNotAllowed)
        #expect(wrong.headers["Allow"] == "GET, HEAD, POST, OPTIONS")
        let options = await client.send(.OPTIONS, "/v1/users/x/feedback")
        #expect(options.status == .noContent)
        #expect(options.headers["Allow"] == "GET, HEAD, POST, OPTIONS")
        let head = await client.send(.HEAD, "/v1/users/x/feedback")
        #expect(head.status == .ok)
        #expect(head.body.isEmpty)
        #expect(await client.send(.GET, "/v1/users/%zz/feedback").status == .badRequest)
    }

    @Test func anyOtherMethodIs405WithAllowOnAKnownPathAnd404Elsewhere() async throws {
        var router = router()
        let report = try #require(HTTPMethod(rawValue: "REPORT"))
        router.on(report, "/v1/users/{user_id}") { _ in .text("report") }
        let client = InProcessClient(router: router)
        let query = try #require(HTTPMethod(rawValue: "QUERY"))
        let wrong = await client.send(query, "/v1/users/x/feedback")
        #expect(wrong.status == .methodNotAllowed)
        #expect(wrong.headers["Allow"] == "GET, HEAD, POST, OPTIONS")
        #expect(wrong.text == #"{"error":{"code":"method_not_allowed","message":"method not allowed"}}"#)
        #expect(await client.send(query, "/v1/users").status == .notFound)
        // Methods outside RFC 9110 are listed after the standard ones.
        let other = await client.send(.GET, "/v1/users/x")
        #expect(other.headers["Allow"] == "DELETE, OPTIONS, REPORT")
        #expect(await client.send(report, "/v1/users/x").text == "report")
    }

    @Test func errorsBecomeJSON() async {
        let client = InProcessClient(router: router())
        let limited = await client.send(.GET, "/fail")
        #expect(limited.status.code == 429)
        #expect(limited.headers["Retry-After"] == "3")
        #expect(limited.headers["Content-Type"] == "application/json")
        #expect(limited.text == #"{"error":{"code":"rate_limited","message":"slow \"down\""}}"#)
        let crashed = await client.send(.GET, "/crash")
        #expect(crashed.status.code == 500)
        #expect(crashed.text == #"{"error":{"code":"internal","message":"internal server error"}}"#)
        let large = await client.send(.POST, "/v1/users/x/feedback", body: Array(repeating: 1, count: 11))
        #expect(large.status.code == 413)
    }

    @Test func middlewareOrderAuthRequestIDAndAccessLog() async {
        let log = LogSink()
        var router = router()
        router.use(.requestID())
        router.use(.accessLog { log.append($0) })
        router.use(Middleware { request, next in
            guard request.headers["Authorization"] == "Bearer good" else {
                throw HTTPError(.unauthorized, code: "unauthorized", message: "missing or invalid key")
            }
            var request = request
            request.attributes[Caller.self] = "tenant-1"
            return await next(request)
        })
        let client = InProcessClient(router: router)
        let denied = await client.send(.POST, "/v1/users/x/feedback", headers: ["X-Request-Id": "abc-123"])
        #expect(denied.status == .unauthorized)
        #expect(denied.headers["X-Request-Id"] == "abc-123")
        let allowed = await client.send(.POST, "/v1/users/x/feedback", headers: ["Authorization": "Bearer good"], body: [1, 2])
        #expect(allowed.text == "posted 2 by tenant-1")
        let generated = allowed.headers["X-Request-Id"]
        #expect(generated?.utf8.count == 25)
        let missing = await client.send(.GET, "/nothing", headers: ["X-Request-Id": "bad id with spaces"])
        #expect(missing.headers["X-Request-Id"] != "bad id with spaces")

        let entries = log.entries
        // Auth runs before the handler, so an unknown path without a key is a 401, not a 404.
        #expect(entries.map(\.status) == [401, 200, 401])
        #expect(entries[0].route == "/v1/users/{user_id}/feedback")
        #expect(entries[0].requestID == "abc-123")
        #expect(entries[2].route == nil)
    }

    /// Made request ids: 12 hex digits of a per-process prefix, `-`, 12 of a counter.
    @Test func madeRequestIDsArePrefixAndCounter() {
        let ids = (0..<3).map { _ in newRequestID() }
        for id in ids {
            #expect(id.utf8.count == 25 && id.utf8[id.utf8.index(id.utf8.startIndex, offsetBy: 12)] == 0x2D, "\(id)")
            #expect(id.utf8.enumerated().allSatisfy { $0.offset == 12 || (0x30...0x39).contains($0.element) || (0x61...0x66).contains($0.element) }, "\(id)")
        }
        #expect(Set(ids.map { $0.prefix(12) }).count == 1)
        let counters = ids.map { UInt64($0.suffix(12), radix: 16)! }
        #expect(counters[0] < counters[1] && counters[1] < counters[2])
    }

    @Test func streamedBodiesInProcess() async {
        var router = Router()
        router.get("/events") { _ in
            .eventStream { events in
                try await events.send(data: "a")
                try await events.send(data: "b", event: "done")
            }
        }
        let result = await InProcessClient(router: router).send(.GET, "/events")
        #expect(result.headers["Content-Type"] == "text/event-stream")
        #expect(result.chunks.map { String(decoding: $0, as: UTF8.self) } == ["data: a\n\n", "event: done\ndata: b\n\n"])
    }
}

final class LogSink: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [AccessLogEntry] = []
    func append(_ entry: AccessLogEntry) { lock.withLock { stored.append(entry) } }
    var entries: [AccessLogEntry] { lock.withLock { stored } }
}
