import Testing
@testable import HTTPServer

/// Events with body bytes merged, so different ways of splitting the input compare equal.
enum Parsed: Equatable {
    case head(RequestHead)
    case body([UInt8])
    case end(HTTPHeaders)
    case error(Int)
}

/// Feeds `input` in pieces cut at `cuts`, keeping unconsumed bytes like a connection does.
func parse(_ input: [UInt8], cuts: [Int], limits: HTTPRequestParser.Limits = .init()) -> [Parsed] {
    var parser = HTTPRequestParser(limits: limits)
    var events: [Parsed] = []
    var pending: [UInt8] = []
    var start = 0
    for end in (cuts.filter { $0 > 0 && $0 < input.count }.sorted() + [input.count]) {
        pending += input[start..<end]
        start = end
        var offset = 0
        loop: while true {
            let (consumed, event) = pending.withUnsafeBytes { parser.parse($0, from: offset) }
            guard consumed >= 0, offset + consumed <= pending.count else {
                Issue.record("consumed \(consumed) of \(pending.count - offset) bytes")
                return events
            }
            var bodyBytes: [UInt8] = []
            if case .body(let range)? = event { bodyBytes = Array(pending[range]) }
            offset += consumed
            switch event {
            case nil: break loop
            case .head(let head)?: events.append(.head(head))
            case .body?:
                if case .body(let previous)? = events.last { events[events.count - 1] = .body(previous + bodyBytes) } else { events.append(.body(bodyBytes)) }
            case .end(let trailers)?: events.append(.end(trailers))
            case .error(let error)?:
                events.append(.error(error.status.code))
                return events
            }
        }
        pending.removeFirst(offset)
    }
    return events
}

/// Parses `text` all at once, one byte at a time and at 20 random cut sets, and checks all agree.
func parseEverySplit(_ text: String, limits: HTTPRequestParser.Limits = .init()) -> [Parsed] {
    let input = Array(text.utf8)
    let whole = parse(input, cuts: [], limits: limits)
    let bytewise = parse(input, cuts: Array(0..<input.count), limits: limits)
    #expect(bytewise == whole, "byte-at-a-time differs for \(text.debugDescription)")
    var generator = SplitMix(seed: UInt64(input.count))
    for _ in 0..<20 {
        let cuts = (0..<Int.random(in: 1...6, using: &generator)).map { _ in Int.random(in: 0...input.count, using: &generator) }
        #expect(parse(input, cuts: cuts, limits: limits) == whole, "cuts \(cuts) differ for \(text.debugDescription)")
    }
    return whole
}

/// Deterministic generator so a failing split can be reproduced.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E3779B97F4A7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

func errorStatus(_ text: String, limits: HTTPRequestParser.Limits = .init()) -> Int? {
    if case .error(let status)? = parseEverySplit(text, limits: limits).last { return status }
    return nil
}

@Suite struct HTTPRequestParserTests {
    @Test func simpleGet() throws {
        let events = parseEverySplit("GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nAccept:  */*  \r\n\r\n")
        #expect(events.count == 2)
        guard case .head(let head) = events[0] else { Issue.record("no head"); return }
        #expect(head.method == .GET)
        #expect(head.target == "/a/b?x=1&y=2")
        #expect(head.path == "/a/b")
        #expect(head.query == "x=1&y=2")
        #expect(head.version == .http1_1)
        #expect(head.headers["host"] == "example.com")
        #expect(head.headers["Accept"] == "*/*")
        #expect(head.framing == .none)
        #expect(head.keepAlive)
        #expect(events[1] == .end(HTTPHeaders()))
    }

    @Test func pipelinedRequestsWithBodies() {
        let text = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
            + "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;name=value;q=\"a \\\"b\"\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n"
            + "GET /c HTTP/1.1\r\nHost: h\r\n\r\n"
        let events = parseEverySplit(text)
        #expect(events.count == 8)
        #expect(events[1] == .body(Array("hello".utf8)))
        #expect(events[2] == .end(HTTPHeaders()))
        if case .head(let head) = events[3] { #expect(head.framing == .chunked) } else { Issue.record("no second head") }
        #expect(events[4] == .body(Array("abcde".utf8)))
        #expect(events[5] == .end(["X-Trailer": "t"]))
        if case .head(let head) = events[6] { #expect(head.path == "/c") } else { Issue.record("no third head") }
        #expect(events[7] == .end(HTTPHeaders()))
    }

    @Test func leadingEmptyLinesAreSkipped() {
        let events = parseEverySplit("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(events.count == 2)
    }

    @Test func contentLengthMustBeDigitsAndSingle() {
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello") == 400)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5a\r\n\r\nhello") == 400)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n") == 400)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello") == 400)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello") == 400)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n") == 413)
    }

    @Test func transferEncodingRules() {
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400)
        #expect(errorStatus("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == 501)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n") == 501)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n") == 400)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n") == 400)
        // Case-insensitive coding name.
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n") == nil)
    }

    @Test func chunkSyntax() {
        let prefix = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(errorStatus(prefix + "x\r\n") == 400)
        #expect(errorStatus(prefix + "3\r\nabcd\r\n") == 400)
        #expect(errorStatus(prefix + "3;\r\nabc\r\n") == 400)
        #expect(errorStatus(prefix + "3;a=\"unterminated\r\nabc\r\n") == 400)
        #expect(errorStatus(prefix + "3\nabc\r\n") == 400)
        #expect(errorStatus(prefix + "3 ; a = b\r\nabc\r\n0\r\n\r\n") == nil)
        #expect(errorStatus(prefix + "3;a=\"b \"\r\nabc\r\n0\r\n\r\n") == nil)
        #expect(errorStatus(prefix + "FFFFFFFFFFFFFFFFFFFF\r\n") == 413)
        #expect(errorStatus(prefix + "0\r\nBad Trailer: x\r\n\r\n") == 400)
    }

    /// chunk-size = 1*HEXDIG; whitespace may only precede an extension's `;` or surround its `=`.
    @Test func whitespaceAfterAChunkSizeWithoutAnExtensionIsRejected() {
        let prefix = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(errorStatus(prefix + "2 \r\nab\r\n0\r\n\r\n") == 400)
        #expect(errorStatus(prefix + "2\t\r\nab\r\n0\r\n\r\n") == 400)
        #expect(errorStatus(prefix + "2\r\nab\r\n0 \r\n\r\n") == 400, "the last chunk too")
        #expect(errorStatus(prefix + "2;a \r\nab\r\n0\r\n\r\n") == 400, "after an extension name")
        #expect(errorStatus(prefix + "2;a=b\t\r\nab\r\n0\r\n\r\n") == 400, "after an extension value")
    }

    @Test func noObsFoldNoBareLFNoControls() {
        #expect(errorStatus("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n") == 400)
        #expect(errorStatus("GET / HTTP/1.1\r\n Host: h\r\n\r\n") == 400)
        #expect(errorStatus("GET / HTTP/1.1\nHost: h\r\n\r\n") == 400)
        #expect(errorStatus("GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n") == 400)
        #expect(errorStatus("GET / HTTP/1.1\r\nHost: h\r\n\n") == 400)
        #expect(errorStatus("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n") == 400)
        #expect(errorStatus("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{01}b\r\n\r\n") == 400)
        #expect(errorStatus("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{7F}b\r\n\r\n") == 400)
        #expect(errorStatus("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{00}b\r\n\r\n") == 400)
        // Tabs and obs-text are allowed in values.
        #expect(errorStatus("GET / HTTP/1.1\r\nHost: h\r\nX: a\tb\u{E9}\r\n\r\n") == nil)
    }

    @Test func tokenCharacters() {
        #expect(errorStatus("G(T / HTTP/1.1\r\nHost: h\r\n\r\n") == 400)
        #expect(errorStatus("GET / HTTP/1.1\r\nHost : h\r\n\r\n") == 400)
        #expect(errorStatus("GET / HTTP/1.1\r\nX(y): h\r\nHost: h\r\n\r\n") == 400)
        #expect(errorStatus("GET / HTTP/1.1\r\n: h\r\nHost: h\r\n\r\n") == 400)
        #expect(errorStatus("GET  / HTTP/1.1\r\nHost: h\r\n\r\n") == 400)
        #expect(errorStatus("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n") == 400)
        #expect(errorStatus("GET /\u{7F} HTTP/1.1\r\nHost: h\r\n\r\n") == 400)
        #expect(errorStatus("CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n") == 501)
    }

    /// Any token is a method (the router answers 405 or 404); case matters.
    @Test func anyTokenIsAMethod() {
        for method in ["QUERY", "BREW", "get", "M-SEARCH", "UPDATEREDIRECTREF", "X!#$%&'*+-.^_`|~1"] {
            if case .head(let head)? = parseEverySplit("\(method) / HTTP/1.1\r\nHost: h\r\n\r\n").first {
                #expect(head.method.rawValue == method)
                #expect(head.method == HTTPMethod(rawValue: method))
            } else { Issue.record("\(method) rejected") }
        }
        if case .head(let head)? = parseEverySplit("GET / HTTP/1.1\r\nHost: h\r\n\r\n").first {
            #expect(head.method == .GET)
            #expect(head.method.isStandard)
        } else { Issue.record("GET rejected") }
        #expect(errorStatus("\(String(repeating: "Q", count: 32)) / HTTP/1.1\r\nHost: h\r\n\r\n") == nil)
        #expect(errorStatus("\(String(repeating: "Q", count: 33)) / HTTP/1.1\r\nHost: h\r\n\r\n") == 501)
        #expect(HTTPMethod(rawValue: "") == nil)
        #expect(HTTPMethod(rawValue: "GE T") == nil)
    }

    @Test func hostRules() {
        #expect(errorStatus("GET / HTTP/1.1\r\n\r\n") == 400)
        #expect(errorStatus("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400)
        #expect(errorStatus("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") == 400)
        #expect(errorStatus("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n") == 400)
        #expect(errorStatus("GET / HTTP/1.0\r\n\r\n") == nil)
        #expect(errorStatus("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n") == nil)
        #expect(errorStatus("GET / HTTP/1.1\r\nHost:\r\n\r\n") == nil)
    }

    @Test func targetForms() {
        let absolute = parseEverySplit("GET http://example.com:80/p/q?x=y HTTP/1.1\r\nHost: example.com\r\n\r\n")
        if case .head(let head)? = absolute.first {
            #expect(head.path == "/p/q")
            #expect(head.query == "x=y")
        } else { Issue.record("absolute-form rejected") }
        let bare = parseEverySplit("GET HTTPS://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n")
        if case .head(let head)? = bare.first { #expect(head.path == "/") } else { Issue.record("absolute-form without path rejected") }
        let star = parseEverySplit("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
        if case .head(let head)? = star.first { #expect(head.path == "*") } else { Issue.record("OPTIONS * rejected") }
        #expect(errorStatus("GET * HTTP/1.1\r\nHost: h\r\n\r\n") == 400)
        #expect(errorStatus("GET example.com/ HTTP/1.1\r\nHost: h\r\n\r\n") == 400)
        #expect(errorStatus("GET ftp://x/ HTTP/1.1\r\nHost: h\r\n\r\n") == 400)
        #expect(errorStatus("GET /#frag HTTP/1.1\r\nHost: h\r\n\r\n") == 400)
    }

    @Test func versions() {
        #expect(errorStatus("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == 505)
        #expect(errorStatus("GET / HTTP/0.9\r\nHost: h\r\n\r\n") == 505)
        #expect(errorStatus("GET / HTTP/1.10\r\nHost: h\r\n\r\n") == 400)
        #expect(errorStatus("GET / http/1.1\r\nHost: h\r\n\r\n") == 400)
        #expect(errorStatus("GET /\r\n\r\n") == 400)
        // A higher 1.x minor is treated as 1.1 (RFC 9110 §6.2).
        if case .head(let head)? = parseEverySplit("GET / HTTP/1.2\r\nHost: h\r\n\r\n").first {
            #expect(head.version.isAtLeast1_1)
        } else { Issue.record("HTTP/1.2 rejected") }
    }

    @Test func limits() {
        let limits = HTTPRequestParser.Limits(maxRequestLineBytes: 64, maxHeaderBytes: 128, maxHeaderCount: 4, maxBodyBytes: 10)
        #expect(errorStatus("GET /\(String(repeating: "a", count: 60)) HTTP/1.1\r\nHost: h\r\n\r\n", limits: limits) == 414)
        #expect(errorStatus("GET /\(String(repeating: "a", count: 40)) HTTP/1.1\r\nHost: h\r\n\r\n", limits: limits) == nil)
        #expect(errorStatus("GET / HTTP/1.1\r\nHost: h\r\nX: \(String(repeating: "v", count: 130))\r\n\r\n", limits: limits) == 431)
        #expect(errorStatus("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", limits: limits) == 431)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits: limits) == 413)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits) == nil)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n", limits: limits) == 413)
        // Found by the fuzzer: the verdict must not depend on where the input was split, so the
        // limit is counted byte by byte, after each byte is validated.
        let tight = HTTPRequestParser.Limits(maxHeaderBytes: 16)
        #expect(errorStatus("GET / HTTP/1.1\r\nABCDEFGHIJKLMNOPQRST(: v\r\n\r\n", limits: tight) == 431)
        #expect(errorStatus("GET / HTTP/1.1\r\nABC(: v\r\n\r\n", limits: tight) == 400)
        #expect(errorStatus("GET / HTTP/1.1\r\nA: 0123456789012345\u{01}\r\n\r\n", limits: tight) == 431)
    }

    @Test func connectionAndExpect() {
        func head(_ text: String) -> RequestHead? {
            if case .head(let head)? = parseEverySplit(text).first { return head }
            return nil
        }
        #expect(head("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, CLOSE\r\n\r\n")?.keepAlive == false)
        #expect(head("GET / HTTP/1.0\r\n\r\n")?.keepAlive == false)
        #expect(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")?.keepAlive == true)
        #expect(head("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n")?.expectsContinue == true)
        #expect(head("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n")?.expectsContinue == false)
        #expect(errorStatus("POST / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx") == 417)
    }

    @Test func randomGarbageNeverTraps() {
        var generator = SplitMix(seed: 42)
        let alphabet = Array("GET /HTP1.\r\n:; \t0a-Zz\u{0}\u{7F}chunked,Content-Length".utf8)
        for _ in 0..<300 {
            let length = Int.random(in: 0..<200, using: &generator)
            let bytes = (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
            let whole = parse(bytes, cuts: [])
            #expect(parse(bytes, cuts: Array(0..<bytes.count)) == whole)
        }
    }
}
