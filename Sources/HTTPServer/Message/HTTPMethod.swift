import Glibc

/// The request methods popi implements. Any other syntactically valid method is answered 501.
public enum HTTPMethod: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE, CONNECT

    public var description: String { rawValue }

    /// Matches the method token exactly (methods are case-sensitive, RFC 9110 §9.1).
    init?(token: UnsafeRawBufferPointer) {
        switch token.count {
        case 3:
            if Self.equals(token, "GET") { self = .GET } else if Self.equals(token, "PUT") { self = .PUT } else { return nil }
        case 4:
            if Self.equals(token, "POST") { self = .POST } else if Self.equals(token, "HEAD") { self = .HEAD } else { return nil }
        case 5:
            if Self.equals(token, "PATCH") { self = .PATCH } else if Self.equals(token, "TRACE") { self = .TRACE } else { return nil }
        case 6:
            if Self.equals(token, "DELETE") { self = .DELETE } else { return nil }
        case 7:
            if Self.equals(token, "OPTIONS") { self = .OPTIONS } else if Self.equals(token, "CONNECT") { self = .CONNECT } else { return nil }
        default:
            return nil
        }
    }

    private static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let other = UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        return memcmp(bytes.baseAddress!, other.baseAddress!, bytes.count) == 0
    }
}
