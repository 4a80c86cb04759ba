/// Why a request was rejected before reaching a handler. Every parse error closes the connection.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: HTTPStatus
    /// Stable machine-readable code for the JSON error body.
    public let code: String
    /// Safe to show the client: it never echoes request bytes.
    public let message: String

    public init(_ status: HTTPStatus, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    static func bad(_ message: String) -> HTTPParseError { .init(.badRequest, "bad_request", message) }
    static let uriTooLong = HTTPParseError(.uriTooLong, "uri_too_long", "request line too long")
    static let headersTooLarge = HTTPParseError(.headerFieldsTooLarge, "header_fields_too_large", "header section too large")
    static let tooManyHeaders = HTTPParseError(.headerFieldsTooLarge, "header_fields_too_large", "too many header fields")
    static let bodyTooLarge = HTTPParseError(.payloadTooLarge, "payload_too_large", "request body too large")
    static let methodNotImplemented = HTTPParseError(.notImplemented, "not_implemented", "request method not implemented")
    static let codingNotImplemented = HTTPParseError(.notImplemented, "not_implemented", "transfer coding not implemented")
    static let versionNotSupported = HTTPParseError(.httpVersionNotSupported, "http_version_not_supported", "only HTTP/1.x is supported")
    static let expectationFailed = HTTPParseError(.expectationFailed, "expectation_failed", "only Expect: 100-continue is supported")
}
