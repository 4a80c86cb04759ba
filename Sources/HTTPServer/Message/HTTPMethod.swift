/// A request method: any token (RFC 9110 §9.1), case-sensitive. The router answers a method it has
/// no route for with 405 and `Allow` on a known path, 404 elsewhere; only `CONNECT` (a proxy's
/// tunnel, whose target is not a path) and absurdly long tokens are refused by the parser, 501.
public struct HTTPMethod: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    public let rawValue: String

    /// Nil unless `rawValue` is a token: 1 or more of the characters RFC 9110 §5.6.2 allows.
    public init?(rawValue: String) {
        guard !rawValue.isEmpty, rawValue.utf8.allSatisfy(isTokenChar) else { return nil }
        self.rawValue = rawValue
    }

    private init(token: String) { rawValue = token }

    public var description: String { rawValue }

    public static let GET = HTTPMethod(token: "GET")
    public static let HEAD = HTTPMethod(token: "HEAD")
    public static let POST = HTTPMethod(token: "POST")
    public static let PUT = HTTPMethod(token: "PUT")
    public static let DELETE = HTTPMethod(token: "DELETE")
    public static let PATCH = HTTPMethod(token: "PATCH")
    public static let OPTIONS = HTTPMethod(token: "OPTIONS")
    public static let TRACE = HTTPMethod(token: "TRACE")
    public static let CONNECT = HTTPMethod(token: "CONNECT")

    /// The methods of RFC 9110 and PATCH, in the order `Allow` lists them.
    public static let standard: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .DELETE, .PATCH, .OPTIONS, .TRACE, .CONNECT]

    /// One of `standard`. Other tokens come from clients: keep them out of metric labels.
    public var isStandard: Bool { Self.standard.contains(self) }

    /// An `Allow` value: the standard methods in their order, then any others alphabetically.
    static func allowList(_ methods: Set<HTTPMethod>) -> String {
        let others = methods.filter { !$0.isStandard }.sorted { $0.rawValue < $1.rawValue }
        return (standard.filter(methods.contains) + others).map(\.rawValue).joined(separator: ", ")
    }

    /// The parser's method bytes, already checked to be token characters.
    init(token: UnsafeRawBufferPointer) {
        self.init(token: String(decoding: token, as: UTF8.self))
    }
}
