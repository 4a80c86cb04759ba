import Foundation
@testable import App
import Glibc

/// A small HTTP/1.1 client on a raw socket, so the API tests see exactly what a real client sees:
/// status line, headers, chunked framing, SSE bytes. One connection per request
/// (`Connection: close`). The blocking socket work runs on a thread of its own, never on the
/// Swift concurrency pool that the in-process server's handlers need.
struct TestHTTPClient: Sendable {
    let port: Int
    /// Sent as `Authorization: Bearer <key>` unless a request says otherwise.
    var key: String?

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> TestResponse {
        try await send("GET", path, headers: headers)
    }

    func delete(_ path: String, headers: [(String, String)] = []) async throws -> TestResponse {
        try await send("DELETE", path, headers: headers)
    }

    func post(_ path: String, _ json: JSONValue? = nil, headers: [(String, String)] = []) async throws -> TestResponse {
        try await send("POST", path, json: json, headers: headers)
    }

    func put(_ path: String, _ json: JSONValue, headers: [(String, String)] = []) async throws -> TestResponse {
        try await send("PUT", path, json: json, headers: headers)
    }

    /// Sends one request. `json` is sent as `application/json`; `body` as given (with the
    /// `Content-Type` in `headers`, if any). `authorization` overrides the key's header
    /// (`.some(nil)` sends none).
    func send(_ method: String, _ path: String, json: JSONValue? = nil, body: [UInt8]? = nil,
              headers: [(String, String)] = [], authorization: String?? = .none) async throws -> TestResponse {
        let request = self.request(method, path, json: json, body: body, headers: headers, authorization: authorization)
        let port = self.port
        return try await Self.onOwnThread {
            let socket = try BlockingSocket(port: port)
            try socket.send(request)
            return try socket.readResponse(head: method == "HEAD")
        }
    }

    /// Sends a request and leaves the response to be read piece by piece (streams), so a test
    /// can act in the middle of it, e.g. go away.
    func open(_ method: String, _ path: String, json: JSONValue? = nil) async throws -> TestStream {
        let request = self.request(method, path, json: json, body: nil, headers: [], authorization: .none)
        let port = self.port
        return try await Self.onOwnThread {
            let socket = try BlockingSocket(port: port)
            try socket.send(request)
            return TestStream(socket: socket)
        }
    }

    private func request(_ method: String, _ path: String, json: JSONValue?, body: [UInt8]?,
                         headers: [(String, String)], authorization: String??) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        let auth: String? = switch authorization {
        case .none: key.map { "Bearer \($0)" }
        case .some(let value): value
        }
        if let auth { head += "Authorization: \(auth)\r\n" }
        var payload = body ?? []
        if let json {
            payload = json.bytes
            head += "Content-Type: application/json\r\n"
        }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if json != nil || body != nil || method == "POST" || method == "PUT" {
            head += "Content-Length: \(payload.count)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + payload
    }

    /// Runs blocking work on a new thread and awaits its result.
    static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.start()
        }
    }
}

/// A response being read: the head first, then one chunk at a time.
final class TestStream: @unchecked Sendable {
    // Used by one test at a time, each call on a thread of its own, one after the other.
    private let socket: BlockingSocket

    fileprivate init(socket: BlockingSocket) {
        self.socket = socket
    }

    func readHead() async throws -> TestResponse {
        try await TestHTTPClient.onOwnThread { [socket] in try socket.readResponse(head: true) }
    }

    /// The next chunk of a chunked body; nil at its end.
    func readChunk() async throws -> [UInt8]? {
        try await TestHTTPClient.onOwnThread { [socket] in try socket.readChunk() }
    }

    /// Goes away mid-response.
    func close() async {
        _ = try? await TestHTTPClient.onOwnThread { [socket] in socket.close() }
    }
}

/// One response as it came off the wire.
struct TestResponse: Sendable, CustomStringConvertible {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    /// The chunks of a chunked body, in order (SSE events are written one per chunk).
    var chunks: [[UInt8]]
    var chunked: Bool

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as JSON (`.null` when it is not JSON, so expectations fail with the body shown).
    var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }

    /// `error.code` of a JSON error body.
    var errorCode: String? { json["error"]?["code"]?.string }
    var errorMessage: String? { json["error"]?["message"]?.string }

    /// The body read as server-sent events.
    var events: [SSEEvent] { SSEEvent.parse(text) }

    var description: String { "HTTP \(status) \(text.prefix(600))" }
}

/// One server-sent event: its `event:` name (nil when absent) and its `data:` lines joined.
struct SSEEvent: Sendable, Equatable {
    var event: String?
    var data: String

    var json: JSONValue { (try? JSONValue.parse(Array(data.utf8))) ?? .null }

    /// Parses a whole `text/event-stream` body; a trailing event without its blank line is
    /// dropped, as a browser would.
    static func parse(_ text: String) -> [SSEEvent] {
        var events: [SSEEvent] = []
        var name: String?
        var data: [String] = []
        var sawField = false
        // The piece after the last line break is an unfinished line (or nothing): not a line.
        let lines = text.components(separatedBy: "\n").dropLast()
        for line in lines {
            if line.isEmpty {
                if sawField { events.append(SSEEvent(event: name, data: data.joined(separator: "\n"))) }
                name = nil
                data = []
                sawField = false
                continue
            }
            if line.hasPrefix(":") { continue }
            let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let field = String(parts[0])
            var value = parts.count > 1 ? String(parts[1]) : ""
            if value.hasPrefix(" ") { value.removeFirst() }
            switch field {
            case "event": name = value; sawField = true
            case "data": data.append(value); sawField = true
            default: sawField = true
            }
        }
        return events
    }
}

/// A blocking TCP connection to 127.0.0.1 with a read timeout (so a broken server fails the
/// test instead of hanging it; nothing is measured against it).
private final class BlockingSocket: @unchecked Sendable {
    private(set) var fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, readTimeoutSeconds: Int = 300) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestHTTPClient.Failure(description: "socket() failed: errno \(errno)") }
        var timeout = timeval(tv_sec: readTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // No close here: deinit runs when an initialized object's init throws, and closes the
        // socket once (closing it here too would close whatever another thread opened since
        // under the same descriptor number).
        guard rc == 0 else { throw TestHTTPClient.Failure(description: "connect to 127.0.0.1:\(port) failed: errno \(errno)") }
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // The server may answer (413) and close before reading everything: read its answer then.
            guard n > 0 else { return }
            offset += n
        }
    }

    /// More bytes; false at end of stream or reset.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
        if n == 0 || errno == ECONNRESET { return false }
        throw TestHTTPClient.Failure(description: errno == EAGAIN ? "read timed out" : "recv failed: errno \(errno)")
    }

    private func readLine() throws -> String {
        while true {
            if let index = buffer.firstIndex(of: 0x0A), index > 0, buffer[index - 1] == 0x0D {
                let line = String(decoding: buffer[0..<(index - 1)], as: UTF8.self)
                buffer.removeFirst(index + 1)
                return line
            }
            guard try fill() else { throw TestHTTPClient.Failure(description: "connection closed mid-line") }
        }
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill() else { throw TestHTTPClient.Failure(description: "connection closed mid-body") }
        }
        let bytes = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return bytes
    }

    /// One chunk of a chunked body (after the head); nil for the last.
    func readChunk() throws -> [UInt8]? {
        let sizeLine = try readLine()
        guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
            throw TestHTTPClient.Failure(description: "bad chunk size line \(sizeLine)")
        }
        if size == 0 {
            while try !readLine().isEmpty {}
            return nil
        }
        let chunk = try readExactly(size)
        guard try readLine().isEmpty else { throw TestHTTPClient.Failure(description: "chunk without CRLF") }
        return chunk
    }

    func readResponse(head: Bool) throws -> TestResponse {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0] == "HTTP/1.1", let status = Int(parts[1]) else {
            throw TestHTTPClient.Failure(description: "bad status line \(statusLine)")
        }
        var headers: [(String, String)] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { throw TestHTTPClient.Failure(description: "bad header \(line)") }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var response = TestResponse(status: status, headers: headers, body: [], chunks: [], chunked: false)
        if head || status < 200 || status == 204 || status == 304 { return response }
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            response.chunked = true
            while let chunk = try readChunk() {
                response.chunks.append(chunk)
                response.body += chunk
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
}

// MARK: reading JSON in expectations

extension JSONValue {
    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    var int: Int? { number.flatMap { $0 == $0.rounded() ? Int($0) : nil } }

    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var object: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    var isNull: Bool { self == .null }

    subscript(index: Int) -> JSONValue? {
        guard case .array(let values) = self, values.indices.contains(index) else { return nil }
        return values[index]
    }

    /// The compact JSON text (for "does this body mention X" checks).
    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// JSON bodies written as literals in tests: `["kind": "pair", "n": 3]`.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
                     ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
                     ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
