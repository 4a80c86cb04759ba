import Foundation
import Testing
@testable import App
import Glibc

/// What every route shares, on a real socket: the key is checked on the request head, before
/// anything reads the body, and JSON bodies have a nesting limit.
@Suite struct RequestGuardTests {
    /// A client with a wrong key declaring a 1 MB body and never sending it is answered 401 at
    /// once: neither the server nor the handler waits for (or buffers) the body.
    @Test func aWrongKeyIsRefusedWithoutReadingTheBody() async throws {
        try await withService { service in
            let head = "POST /v1/users/u/feedback HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer popi_wrong\r\n"
                + "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
            let port = service.port
            let answer = try await TestHTTPClient.onOwnThread { try Self.sendHeadOnly(head, port: port) }
            #expect(answer.hasPrefix("HTTP/1.1 401 "), "\(answer.prefix(300))")
            #expect(answer.contains("WWW-Authenticate: Bearer realm=\"popi\"\r\n"))
            #expect(answer.contains("Connection: close\r\n"), "the body may still come: the connection is not kept for it")
            #expect(answer.contains(#""code":"unauthorized""#))
        }
    }

    /// Sends `head` and no body, then reads until the server closes (its answer, all of it).
    private static func sendHeadOnly(_ head: String, port: Int) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestHTTPClient.Failure(description: "socket() failed: errno \(errno)") }
        defer { Glibc.close(fd) }
        // Longer than the server's 30 s body timeout: a server waiting for the body answers 408 first.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestHTTPClient.Failure(description: "connect failed: errno \(errno)") }
        let bytes = Array(head.utf8)
        guard bytes.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            throw TestHTTPClient.Failure(description: "send failed: errno \(errno)")
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received += chunk[0..<n]
            } else if n == 0 || errno == ECONNRESET {
                return String(decoding: received, as: UTF8.self)
            } else {
                throw TestHTTPClient.Failure(description: errno == EAGAIN ? "no answer in time" : "recv failed: errno \(errno)")
            }
        }
    }

    /// Nesting deeper than the limit (64 by default) is a 400 of its own, counted, whatever the
    /// depth: decoding is never reached, so 100,000 levels cannot exhaust the stack.
    @Test func jsonNestedDeeperThanTheLimitIs400() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            let arrays = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
            let objects = Array((String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_000)).utf8)
            func nested(_ depth: Int, inner: JSONValue = 1) -> JSONValue {
                (0..<depth).reduce(inner) { value, _ in .object(["m": value]) }
            }
            // The body is one level, so metadata may nest 63 more.
            let deepest: JSONValue = ["kind": "statement", "text": "x", "metadata": nested(63)]
            let tooDeep: JSONValue = ["kind": "statement", "text": "x", "metadata": nested(64)]
            for (what, body) in [("100,000 [", arrays), ("100,000 objects", objects), ("65 levels", tooDeep.bytes)] {
                let refused = try await client.send("POST", "/v1/users/deep/feedback", body: body,
                                                    headers: [("Content-Type", "application/json")])
                #expect(refused.status == 400 && refused.errorCode == "json_too_deep", "\(what): \(refused)")
                #expect(refused.errorMessage?.contains("more than 64 deep") == true, "\(what): \(refused)")
            }
            #expect(service.metrics.registry.value("popi_http_json_too_deep_total") == 3)

            let accepted = try await client.post("/v1/users/deep/feedback", deepest)
            #expect(accepted.status == 200 && accepted.json["inserted"]?.int == 1, "64 levels: \(accepted)")
            // Brackets inside strings are text, not nesting.
            let text: JSONValue = ["kind": "statement", "text": .string(String(repeating: "[{", count: 100)),
                                   "metadata": ["note": .string(String(repeating: "\\\"[", count: 100))]]
            let brackets = try await client.post("/v1/users/deep/feedback", text)
            #expect(brackets.status == 200 && brackets.json["inserted"]?.int == 1, "\(brackets)")
        }
    }
}
