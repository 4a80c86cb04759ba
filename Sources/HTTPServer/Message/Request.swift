/// A request as handlers see it. Values are as received (path and query still percent-encoded);
/// `parameter(_:)` decodes path parameters.
public struct Request: Sendable {
    public var method: HTTPMethod
    /// The request target as sent.
    public var target: String
    public var path: String
    public var query: String?
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: RequestBody
    /// The matched route pattern (e.g. `/v1/users/{user_id}/feedback`), nil when nothing matched.
    /// Use it, not `path`, as a metrics label.
    public internal(set) var route: String?
    /// Percent-decoded path parameters of the matched route.
    public internal(set) var pathParameters: [String: String]
    /// Per-request values set by middleware (request id, authenticated tenant, …).
    public var attributes: RequestAttributes
    /// The peer address, e.g. `127.0.0.1:51234` or `[::1]:51234`; nil in the in-process client.
    public var remoteAddress: String?

    public init(method: HTTPMethod, target: String, headers: HTTPHeaders = HTTPHeaders(),
                body: RequestBody = .empty, version: HTTPVersion = .http1_1, remoteAddress: String? = nil) {
        self.method = method
        self.target = target
        let split = HTTPRequestParser.splitTarget(target, method: method)
        self.path = split?.path ?? target
        self.query = split?.query
        self.version = version
        self.headers = headers
        self.body = body
        self.route = nil
        self.pathParameters = [:]
        self.attributes = RequestAttributes()
        self.remoteAddress = remoteAddress
    }

    init(head: RequestHead, body: RequestBody, remoteAddress: String?) {
        method = head.method
        target = head.target
        path = head.path
        query = head.query
        version = head.version
        headers = head.headers
        self.body = body
        route = nil
        pathParameters = [:]
        attributes = RequestAttributes()
        self.remoteAddress = remoteAddress
    }

    /// A decoded path parameter of the matched route.
    public func parameter(_ name: String) -> String? { pathParameters[name] }

    /// The first value of a query parameter, percent-decoded (`+` as space); nil when absent or malformed.
    public func queryValue(_ name: String) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = PercentDecoding.decode(parts[0], plusAsSpace: true), key == name else { continue }
            return parts.count == 2 ? PercentDecoding.decode(parts[1], plusAsSpace: true) : ""
        }
        return nil
    }
}

/// Typed keys for `RequestAttributes`.
public protocol RequestAttributeKey {
    associatedtype Value: Sendable
}

/// A small typed store that middleware uses to hand values to handlers.
public struct RequestAttributes: Sendable {
    private var storage: [ObjectIdentifier: any Sendable] = [:]

    public init() {}

    public subscript<Key: RequestAttributeKey>(_ key: Key.Type) -> Key.Value? {
        get { storage[ObjectIdentifier(key)] as? Key.Value }
        set { storage[ObjectIdentifier(key)] = newValue }
    }
}

enum PercentDecoding {
    /// Decodes `%XX` escapes; nil for a malformed escape or invalid UTF-8.
    static func decode<S: StringProtocol>(_ text: S, plusAsSpace: Bool = false) -> String? {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == 0x25 || (plusAsSpace && $0 == 0x2B) }) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var iterator = utf8.makeIterator()
        while let b = iterator.next() {
            if b == 0x25 {
                guard let h = iterator.next().flatMap(hex), let l = iterator.next().flatMap(hex) else { return nil }
                bytes.append(h << 4 | l)
            } else if plusAsSpace && b == 0x2B {
                bytes.append(0x20)
            } else {
                bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }
}
