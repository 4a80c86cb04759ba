/// A response: status, headers and a body of bytes or a stream. The server adds `Date`, the framing
/// (`Content-Length` or chunked) and `Connection`; a handler's own framing headers are ignored.
public struct Response: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: ResponseBody

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: ResponseBody = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON document given as encoded bytes.
    public static func json(_ bytes: [UInt8], status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders()) -> Response {
        var headers = headers
        headers.set("Content-Type", "application/json")
        return Response(status: status, headers: headers, body: .bytes(bytes))
    }

    public static func json(_ text: String, status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders()) -> Response {
        json(Array(text.utf8), status: status, headers: headers)
    }

    public static func text(_ text: String, status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders()) -> Response {
        var headers = headers
        headers.set("Content-Type", "text/plain; charset=utf-8")
        return Response(status: status, headers: headers, body: .bytes(Array(text.utf8)))
    }
}

public enum ResponseBody: Sendable {
    case bytes([UInt8])
    /// Written while the response is sent (chunked on HTTP/1.1, close-delimited on HTTP/1.0).
    /// Not run for HEAD requests.
    case stream(@Sendable (any ResponseBodyWriter) async throws -> Void)

    public static let empty = ResponseBody.bytes([])
}

/// Where a streamed response body goes.
public protocol ResponseBodyWriter: Sendable {
    /// Sends `bytes` to the client now, as one chunk. Suspends while too much is already waiting for
    /// a slow client (bounded buffering), and throws once the client is gone.
    func write(_ bytes: [UInt8]) async throws
}

extension ResponseBodyWriter {
    public func write(_ text: String) async throws { try await write(Array(text.utf8)) }
}
