import Foundation
@testable import HTTPServer
import Glibc

/// A blocking test client on a raw socket: sends exact bytes and reads responses byte-exactly,
/// so tests see what a real client sees (status, headers, framing, whether the server closed).
final class RawClient: @unchecked Sendable {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let fd: Int32
    private var buffer: [UInt8] = []

    /// `source`: an IPv4 address to connect from (any of 127.0.0.0/8 works on Linux loopback).
    init(port: Int, host: String = "127.0.0.1", source: String? = nil, readTimeout: Double = 5) throws {
        let v6 = host.contains(":")
        fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        var timeout = timeval(tv_sec: Int(readTimeout), tv_usec: Int((readTimeout - Double(Int(readTimeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard bound == 0 else { throw Failure(description: "bind \(source) failed: errno \(errno)") }
        }
        let rc: Int32
        if v6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = UInt16(port).bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard rc == 0 else { throw Failure(description: "connect failed: errno \(errno)") }
    }

    /// Also runs when init throws after `fd` is set, so the failure paths above leave the close to
    /// it: closing there too would close whatever another thread opened since under that number.
    deinit { if fd >= 0 { Glibc.close(fd) } }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            offset += n
        }
    }

    /// Reads more bytes; nil at end of stream or on reset.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
        if n == 0 || errno == ECONNRESET { return false }
        throw Failure(description: errno == EAGAIN ? "read timed out" : "recv failed: errno \(errno)")
    }

    private func readLine() throws -> String {
        while true {
            if let index = buffer.firstIndex(of: 0x0A), index > 0, buffer[index - 1] == 0x0D {
                let line = String(decoding: buffer[0..<(index - 1)], as: UTF8.self)
                buffer.removeFirst(index + 1)
                return line
            }
            guard try fill() else { throw Failure(description: "connection closed mid-line") }
        }
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill() else { throw Failure(description: "connection closed mid-body") }
        }
        let bytes = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return bytes
    }

    /// Reads one response. `head: true` for HEAD requests (no body whatever the headers say).
    func readResponse(head: Bool = false) throws -> Response {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0] == "HTTP/1.1", let status = Int(parts[1]) else {
            throw Failure(description: "bad status line \(statusLine)")
        }
        var headers: [(String, String)] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { throw Failure(description: "bad header \(line)") }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var response = Response(status: status, headers: headers, body: [])
        if head || status < 200 || status == 204 || status == 304 { return response }
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            while true {
                let sizeLine = try readLine()
                guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else { throw Failure(description: "bad chunk \(sizeLine)") }
                if size == 0 {
                    while try !readLine().isEmpty {}
                    break
                }
                response.body += try readExactly(size)
                guard try readLine().isEmpty else { throw Failure(description: "chunk without CRLF") }
            }
        } else if let length = response.header("Content-Length").flatMap({ Int($0) }) {
            response.body = try readExactly(length)
        } else {
            while try fill() {}
            response.body = buffer
            buffer = []
        }
        return response
    }

    /// Reads one chunk of a chunked body (after the head was read with `readHeadOnly`).
    func readChunk() throws -> [UInt8]? {
        let sizeLine = try readLine()
        guard let size = Int(sizeLine, radix: 16) else { throw Failure(description: "bad chunk \(sizeLine)") }
        if size == 0 {
            while try !readLine().isEmpty {}
            return nil
        }
        let bytes = try readExactly(size)
        _ = try readLine()
        return bytes
    }

    /// Reads a response head only (for streamed bodies read chunk by chunk).
    func readHeadOnly() throws -> Response {
        try readResponse(head: true)
    }

    /// True when the server has sent something (or closed) that is not read yet; never waits.
    func hasInput() -> Bool {
        if !buffer.isEmpty { return true }
        var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&ready, 1, 0) > 0
    }

    /// Closes both directions now (the descriptor itself closes with the client).
    func hangUp() {
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    /// True when the server closed the connection (end of stream or reset) with nothing more to read.
    func isClosedByServer() throws -> Bool {
        guard buffer.isEmpty else { return false }
        return try !fill()
    }
}

/// A server on a free loopback port for one test.
struct TestServer {
    let server: HTTPServer
    var port: Int { server.port }

    init(_ configuration: HTTPServerConfiguration = HTTPServerConfiguration(), router: Router = TestRoutes.router()) throws {
        var configuration = configuration
        configuration.port = 0
        server = HTTPServer(configuration: configuration, router: router)
        try server.start()
    }

    func client(readTimeout: Double = 5) throws -> RawClient {
        try RawClient(port: port, readTimeout: readTimeout)
    }

    func stop() async {
        await server.shutdown(gracePeriod: .seconds(2))
    }
}

/// Routes shared by the socket tests.
enum TestRoutes {
    static func router(extra: (inout Router) -> Void = { _ in }) -> Router {
        var router = Router()
        router.get("/hello") { _ in .text("hello") }
        router.post("/echo") { request in
            let body = try await request.body.collect()
            return Response(status: .ok, headers: ["Content-Type": "application/octet-stream"], body: .bytes(body))
        }
        router.post("/ignore") { _ in .text("ignored") }
        router.get("/close") { _ in Response(status: .ok, headers: ["Connection": "close"], body: .bytes(Array("bye".utf8))) }
        router.get("/delay") { request in
            let ms = Int(request.queryValue("ms") ?? "0") ?? 0
            try await Task.sleep(for: .milliseconds(ms))
            return .text("delayed \(ms)")
        }
        router.get("/users/{user_id}/feedback") { request in .text("user \(request.parameter("user_id") ?? "?")") }
        router.get("/stream") { _ in
            Response(status: .ok, headers: ["Content-Type": "text/plain"], body: .stream { writer in
                try await writer.write("one,")
                try await writer.write("two,")
                try await writer.write("three")
            })
        }
        extra(&router)
        return router
    }
}

/// Runs blocking socket calls on a Dispatch thread instead of a Swift concurrency thread.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
