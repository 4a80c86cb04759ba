/// A parsed and validated request line plus header section.
public struct RequestHead: Sendable, Equatable {
    /// How the request's body is delimited (RFC 9112 §6).
    public enum Framing: Sendable, Equatable {
        case none
        case length(Int)
        case chunked
    }

    public var method: HTTPMethod
    /// The request target exactly as sent (origin-form, absolute-form or `*`).
    public var target: String
    /// The path of the target, still percent-encoded; `*` for `OPTIONS *`.
    public var path: String
    /// The query without `?`, still percent-encoded; nil when the target has none.
    public var query: String?
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var framing: Framing
    /// Whether the client allows the connection to stay open after this exchange.
    public var keepAlive: Bool
    /// The client sent `Expect: 100-continue` and waits before sending the body.
    public var expectsContinue: Bool
}
