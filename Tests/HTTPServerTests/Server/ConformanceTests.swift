import Foundation
import Testing
@testable import HTTPServer

/// Raw-socket conformance: one case per rule of the parser and connection lists of issue 5, each
/// checking the status, the key headers and whether the connection stays open.
@Suite struct ConformanceTests {
    /// Sends `request`, reads one response, and reports whether the server then closed.
    private func exchange(_ request: String, head: Bool = false,
                          configuration: HTTPServerConfiguration = HTTPServerConfiguration()) async throws
        -> (RawClient.Response, closed: Bool) {
        let server = try TestServer(configuration)
        let client = try server.client()
        try client.send(request)
        let response = try client.readResponse(head: head)
        #expect(response.header("Date") != nil, "every response carries Date")
        // A server that announced close must close; one that did not must serve the next request.
        let closed = response.header("Connection") == "close" ? try client.isClosedByServer() : !(try stillServes(client))
        await server.stop()
        return (response, closed)
    }

    /// A keep-alive check: the response, then a second request on the same connection.
    private func stillServes(_ client: RawClient) throws -> Bool {
        try client.send("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
        return try client.readResponse().text == "hello"
    }

    private func expectRejected(_ request: String, _ status: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let (response, closed) = try await exchange(request)
        #expect(response.status == status, sourceLocation: sourceLocation)
        #expect(response.header("Connection") == "close", sourceLocation: sourceLocation)
        #expect(response.header("Content-Type") == "application/json", sourceLocation: sourceLocation)
        #expect(response.text.hasPrefix(#"{"error":{"code":"#), sourceLocation: sourceLocation)
        #expect(closed, "the connection is closed after \(status)", sourceLocation: sourceLocation)
    }

    // MARK: Parser rules

    @Test func contentLengthDigitsOnly() async throws {
        try await expectRejected("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc", 400)
        try await expectRejected("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 0x3\r\n\r\nabc", 400)
    }

    @Test func contentLengthSingleValue() async throws {
        try await expectRejected("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc", 400)
        try await expectRejected("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400)
    }

    @Test func chunkedWithExtensionsAndTrailers() async throws {
        let server = try TestServer()
        let client = try server.client()
        try client.send("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nwiki\r\n5;a=\"q\"\r\npedia\r\n0\r\nChecksum: x\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "wikipedia")
        #expect(response.header("Content-Length") == "9")
        #expect(try stillServes(client))
        await server.stop()
    }

    @Test func chunkSizeFollowedByWhitespaceRejected() async throws {
        try await expectRejected("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2 \r\nab\r\n0\r\n\r\n", 400)
    }

    @Test func contentLengthWithTransferEncodingRejected() async throws {
        try await expectRejected("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)
    }

    @Test func transferEncodingOnHTTP10RejectedAndClosed() async throws {
        try await expectRejected("POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)
    }

    @Test func unknownTransferCoding501() async throws {
        try await expectRejected("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501)
    }

    @Test func obsFoldRejected() async throws {
        try await expectRejected("GET /hello HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  2\r\n\r\n", 400)
    }

    @Test func bareLFRejected() async throws {
        try await expectRejected("GET /hello HTTP/1.1\nHost: h\n\n", 400)
    }

    @Test func tokenCharactersInMethodAndNames() async throws {
        try await expectRejected("GE@T /hello HTTP/1.1\r\nHost: h\r\n\r\n", 400)
        try await expectRejected("GET /hello HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", 400)
        try await expectRejected("GET /hello HTTP/1.1\r\nHost: h\r\nName : x\r\n\r\n", 400)
    }

    @Test func controlCharactersInValuesRejected() async throws {
        try await expectRejected("GET /hello HTTP/1.1\r\nHost: h\r\nX: a\u{1B}b\r\n\r\n", 400)
    }

    @Test func hostExactlyOnceOnHTTP11() async throws {
        try await expectRejected("GET /hello HTTP/1.1\r\n\r\n", 400)
        try await expectRejected("GET /hello HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400)
    }

    @Test func absoluteFormAccepted() async throws {
        let (response, closed) = try await exchange("GET http://example.com/hello HTTP/1.1\r\nHost: example.com\r\n\r\n")
        #expect(response.status == 200)
        #expect(response.text == "hello")
        #expect(!closed)
    }

    @Test func otherVersions505() async throws {
        try await expectRejected("GET /hello HTTP/2.0\r\nHost: h\r\n\r\n", 505)
        try await expectRejected("GET /hello HTTP/3.0\r\nHost: h\r\n\r\n", 505)
    }

    @Test func requestLineTooLong414() async throws {
        try await expectRejected("GET /\(String(repeating: "x", count: 9000)) HTTP/1.1\r\nHost: h\r\n\r\n", 414)
    }

    @Test func headerSectionTooLarge431() async throws {
        try await expectRejected("GET /hello HTTP/1.1\r\nHost: h\r\nX: \(String(repeating: "v", count: 40000))\r\n\r\n", 431)
        let many = (0..<101).map { "X-\($0): v\r\n" }.joined()
        try await expectRejected("GET /hello HTTP/1.1\r\nHost: h\r\n\(many)\r\n", 431)
    }

    @Test func bodyTooLargeDecidedFromContentLength() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.limits.maxBodyBytes = 100
        let server = try TestServer(configuration)
        let client = try server.client()
        // Only the head is sent: the answer must not wait for the body.
        try client.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 413)
        #expect(response.header("Connection") == "close")
        #expect(try client.isClosedByServer())
        await server.stop()
    }

    @Test func bodyTooLargeWhileReadingChunks() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.limits.maxBodyBytes = 100
        let server = try TestServer(configuration)
        let client = try server.client()
        try client.send("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n\(String(repeating: "a", count: 64))\r\n40\r\n")
        let response = try client.readResponse()
        #expect(response.status == 413)
        #expect(response.header("Connection") == "close")
        #expect(try client.isClosedByServer())
        await server.stop()
    }

    @Test func expectContinueWhenHandlerReadsBody() async throws {
        let server = try TestServer()
        let client = try server.client()
        try client.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        let interim = try client.readResponse()
        #expect(interim.status == 100)
        try client.send("hello")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "hello")
        #expect(try stillServes(client))
        await server.stop()
    }

    @Test func expectContinueNotSentWhenHandlerIgnoresBody() async throws {
        let server = try TestServer()
        let client = try server.client()
        try client.send("POST /ignore HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 200, "the final status comes first, no 100")
        #expect(response.text == "ignored")
        #expect(response.header("Connection") == "close")
        #expect(try client.isClosedByServer())
        await server.stop()
    }

    /// Routing and the handler's own checks (authentication, say) run on the head: a request
    /// refused there is answered at once, without its body being read (here it never comes).
    @Test func aRequestRefusedOnItsHeadIsAnsweredWithoutWaitingForItsBody() async throws {
        var configuration = HTTPServerConfiguration()
        // Far beyond the client's read timeout: a server waiting for the body cannot answer in time.
        configuration.bodyIdleTimeout = .seconds(120)
        let router = TestRoutes.router { router in
            router.post("/guarded") { request in
                guard request.headers["Authorization"] == "Bearer good" else {
                    throw HTTPError(.unauthorized, code: "unauthorized", message: "bad key")
                }
                return .text("\(try await request.body.collect().count)")
            }
        }
        let server = try TestServer(configuration, router: router)
        let client = try server.client(readTimeout: 30)
        try client.send("POST /guarded HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer bad\r\nContent-Length: 1000000\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 401)
        #expect(response.header("Connection") == "close", "the body may still come: the connection is not kept for it")
        #expect(try client.isClosedByServer())
        #expect(server.server.statistics.bufferedBodyBytes == 0)
        // The same route reads the body once the request passes.
        let accepted = try server.client()
        try accepted.send("POST /guarded HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer good\r\nContent-Length: 3\r\n\r\nabc")
        #expect(try accepted.readResponse().text == "3")
        await server.stop()
    }

    /// A body the handler did not read but that is already here is skipped: the connection stays.
    @Test func anUnreadBodyReceivedInFullKeepsTheConnection() async throws {
        let server = try TestServer()
        let client = try server.client()
        try client.send("POST /ignore HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
        let response = try client.readResponse()
        #expect(response.text == "ignored")
        #expect(response.header("Connection") == nil)
        #expect(try stillServes(client))
        try client.send("POST /ignore HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        #expect(try client.readResponse().header("Connection") == nil)
        #expect(try stillServes(client))
        await server.stop()
    }

    @Test func otherExpectations417() async throws {
        try await expectRejected("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: something\r\n\r\nx", 417)
    }

    @Test func headLikeGetWithoutBody() async throws {
        let server = try TestServer()
        let client = try server.client()
        try client.send("HEAD /hello HTTP/1.1\r\nHost: h\r\n\r\n")
        let response = try client.readResponse(head: true)
        #expect(response.status == 200)
        #expect(response.header("Content-Length") == "5")
        #expect(try stillServes(client), "no body bytes were sent after the HEAD response")
        try client.send("HEAD /stream HTTP/1.1\r\nHost: h\r\n\r\n")
        let streamed = try client.readResponse(head: true)
        #expect(streamed.header("Transfer-Encoding") == "chunked")
        #expect(try stillServes(client))
        await server.stop()
    }

    @Test func optionsAsterisk() async throws {
        let (response, closed) = try await exchange("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(response.status == 204)
        #expect(response.header("Allow")?.contains("GET") == true)
        #expect(response.header("Allow")?.contains("POST") == true)
        #expect(!closed)
    }

    // MARK: Connections

    @Test func keepAlive() async throws {
        let server = try TestServer()
        let client = try server.client()
        for _ in 0..<3 {
            try client.send("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("Connection") == nil)
        }
        await server.stop()
    }

    @Test func pipeliningAnswersInOrder() async throws {
        let server = try TestServer()
        let client = try server.client()
        try client.send("GET /delay?ms=150 HTTP/1.1\r\nHost: h\r\n\r\nGET /hello HTTP/1.1\r\nHost: h\r\n\r\n"
                        + "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /delay?ms=10 HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse().text == "delayed 150")
        #expect(try client.readResponse().text == "hello")
        #expect(try client.readResponse().text == "abc")
        #expect(try client.readResponse().text == "delayed 10")
        #expect(try stillServes(client))
        await server.stop()
    }

    @Test func connectionCloseFromClientAnyCaseAnyPosition() async throws {
        let (response, closed) = try await exchange("GET /hello HTTP/1.1\r\nHost: h\r\nConnection: upgrade, ClOsE\r\n\r\n")
        #expect(response.status == 200)
        #expect(response.header("Connection") == "close")
        #expect(closed)
    }

    @Test func connectionCloseFromHandler() async throws {
        let (response, closed) = try await exchange("GET /close HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(response.text == "bye")
        #expect(response.header("Connection") == "close")
        #expect(closed)
    }

    @Test func http10ClosesUnlessKeepAlive() async throws {
        let (plain, closed) = try await exchange("GET /hello HTTP/1.0\r\n\r\n")
        #expect(plain.status == 200)
        #expect(plain.header("Connection") == "close")
        #expect(closed)

        let server = try TestServer()
        let client = try server.client()
        try client.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let kept = try client.readResponse()
        #expect(kept.header("Connection") == "keep-alive")
        #expect(try stillServes(client))
        // A streamed body to an HTTP/1.0 client is delimited by closing.
        try client.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let streamed = try client.readResponse()
        #expect(streamed.text == "one,two,three")
        #expect(streamed.header("Transfer-Encoding") == nil)
        await server.stop()
    }

    @Test func framingOnEveryResponse() async throws {
        let server = try TestServer()
        let client = try server.client()
        try client.send("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.readResponse().header("Content-Length") == "5")
        try client.send("GET /stream HTTP/1.1\r\nHost: h\r\n\r\n")
        let streamed = try client.readResponse()
        #expect(streamed.header("Transfer-Encoding") == "chunked")
        #expect(streamed.text == "one,two,three")
        try client.send("GET /missing HTTP/1.1\r\nHost: h\r\n\r\n")
        let missing = try client.readResponse()
        #expect(missing.status == 404)
        #expect(missing.header("Content-Length") != nil)
        await server.stop()
    }

    @Test func parseErrorGets400WithDateAndClose() async throws {
        try await expectRejected("this is not http\r\n\r\n", 400)
    }

    @Test func notFoundAndMethodNotAllowed() async throws {
        let (missing, missingClosed) = try await exchange("GET /nope HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(missing.status == 404)
        #expect(missing.text == #"{"error":{"code":"not_found","message":"not found"}}"#)
        #expect(!missingClosed)
        let (wrong, wrongClosed) = try await exchange("DELETE /hello HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(wrong.status == 405)
        #expect(wrong.header("Allow") == "GET, HEAD, OPTIONS")
        #expect(!wrongClosed)
    }

    /// Any method token parses; one the path does not serve is 405 with `Allow`, and an unknown
    /// path stays 404 (RFC 9110 §15.5.6).
    @Test func undeclaredMethodIs405WithAllowOnAKnownPath() async throws {
        for method in ["QUERY", "BREW", "get"] {
            let (wrong, wrongClosed) = try await exchange("\(method) /hello HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(wrong.status == 405, "\(method)")
            #expect(wrong.header("Allow") == "GET, HEAD, OPTIONS", "\(method)")
            #expect(wrong.text == #"{"error":{"code":"method_not_allowed","message":"method not allowed"}}"#, "\(method)")
            #expect(!wrongClosed)
            let (missing, missingClosed) = try await exchange("\(method) /nope HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(missing.status == 404, "\(method)")
            #expect(!missingClosed)
        }
    }

    @Test func maxConnectionsAnswers503() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.maxConnections = 2
        let server = try TestServer(configuration)
        let first = try server.client(), second = try server.client()
        try first.send("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
        try second.send("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
        _ = try first.readResponse()
        _ = try second.readResponse()
        let third = try server.client()
        let refused = try third.readResponse()
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "1")
        #expect(try third.isClosedByServer())
        await server.stop()
    }

    /// One address cannot take every connection: beyond its own limit it gets 503, while other
    /// addresses are served, and a connection it closes frees its place.
    @Test func maxConnectionsPerAddressAnswers503ToThatAddressOnly() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.maxConnectionsPerAddress = 2
        let server = try TestServer(configuration)
        let first = try server.client(), second = try server.client()
        for client in [first, second] {
            try client.send("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(try client.readResponse().status == 200)
        }
        let third = try server.client()
        let refused = try third.readResponse()
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "1")
        #expect(refused.header("Connection") == "close")
        #expect(refused.text == #"{"error":{"code":"too_many_connections","message":"too many connections from this address"}}"#)
        #expect(try third.isClosedByServer())

        let other = try RawClient(port: server.port, source: "127.0.0.2")
        try other.send("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try other.readResponse().status == 200, "another address is served")

        first.hangUp()
        var servedAgain = false
        for _ in 0..<100 where !servedAgain {
            let next = try server.client()
            try next.send("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
            servedAgain = try next.readResponse().status == 200
            if !servedAgain { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(servedAgain, "a closed connection frees its address's place")
        #expect(server.server.statistics.refusedAddressFull >= 1)
        #expect(server.server.statistics.refusedServerFull == 0)
        await server.stop()
    }

    @Test func handlerStatusAndReasonCannotCorruptTheResponse() async throws {
        let router = TestRoutes.router { router in
            router.get("/odd") { _ in Response(status: HTTPStatus(42, "x\r\nX-Injected: 1"), body: .bytes(Array("odd".utf8))) }
            router.get("/split") { _ in
                Response(status: HTTPStatus(299, "Fine\r\nX-Injected: 1"),
                         headers: ["X-Bad": "a\r\nX-Injected: 2", "X-Good": "b"], body: .bytes(Array("ok".utf8)))
            }
        }
        let server = try TestServer(router: router)
        let client = try server.client()
        try client.send("GET /odd HTTP/1.1\r\nHost: h\r\n\r\n")
        let odd = try client.readResponse()
        #expect(odd.status == 500)
        #expect(odd.text == "odd")
        try client.send("GET /split HTTP/1.1\r\nHost: h\r\n\r\n")
        let split = try client.readResponse()
        #expect(split.status == 299)
        #expect(split.header("X-Injected") == nil)
        #expect(split.header("X-Bad") == nil, "a field value with CR LF is dropped")
        #expect(split.header("X-Good") == "b")
        #expect(try stillServes(client))
        await server.stop()
    }

    @Test func ipv6Loopback() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.host = "::1"
        let server = try TestServer(configuration)
        let client = try RawClient(port: server.port, host: "::1")
        try client.send("GET /hello HTTP/1.1\r\nHost: [::1]\r\n\r\n")
        #expect(try client.readResponse().text == "hello")
        #expect(server.server.addresses.first?.hasPrefix("[::1]:") == true)
        await server.stop()
    }
}
