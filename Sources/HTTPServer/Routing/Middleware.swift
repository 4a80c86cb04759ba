import Synchronization
import Glibc

/// A step around handlers: inspect or change the request, call `next`, inspect or change the
/// response. Errors thrown here become JSON error responses for the middleware further out.
///
/// An auth hook is a middleware that throws `HTTPError(.unauthorized, …)` or stores the caller in
/// `request.attributes` before calling `next`.
public struct Middleware: Sendable {
    public let respond: @Sendable (Request, _ next: Responder) async throws -> Response

    public init(_ respond: @escaping @Sendable (Request, _ next: Responder) async throws -> Response) {
        self.respond = respond
    }
}

/// The request id set by `Middleware.requestID()`.
public enum RequestID: RequestAttributeKey {
    public typealias Value = String
}

/// One finished request, as the access log hook sees it. No query, headers or bodies: they may
/// carry keys or user text.
public struct AccessLogEntry: Sendable {
    public var method: HTTPMethod
    public var path: String
    /// The matched route pattern, nil when nothing matched (use it as a metrics label).
    public var route: String?
    public var status: Int
    /// Time until the response head was ready (streamed bodies continue after it).
    public var durationNanoseconds: UInt64
    public var requestID: String?
    public var remoteAddress: String?
}

extension Middleware {
    /// Takes a well-formed `X-Request-Id` from the client (1–64 of `A-Za-z0-9._-`) or makes a new
    /// one, stores it in `request.attributes[RequestID.self]` and echoes it in the response.
    public static func requestID(header: String = "X-Request-Id") -> Middleware {
        Middleware { request, next in
            var request = request
            let id: String
            if let given = request.headers[header], (1...64).contains(given.utf8.count),
               given.utf8.allSatisfy({ isTokenChar($0) && $0 != 0x27 }) {
                id = given
            } else {
                id = newRequestID()
            }
            request.attributes[RequestID.self] = id
            var response = await next(request)
            response.headers.set(header, id)
            return response
        }
    }

    /// Calls `sink` once per request with its status and duration.
    public static func accessLog(_ sink: @escaping @Sendable (AccessLogEntry) -> Void) -> Middleware {
        Middleware { request, next in
            let start = monotonicNanoseconds()
            let response = await next(request)
            sink(AccessLogEntry(method: request.method, path: request.path, route: request.route,
                                status: response.status.code, durationNanoseconds: monotonicNanoseconds() - start,
                                requestID: request.attributes[RequestID.self], remoteAddress: request.remoteAddress))
            return response
        }
    }
}

/// A random per-process prefix and a counter: unique, and no system call per request.
private let requestIDPrefix: UInt64 = {
    var generator = SystemRandomNumberGenerator()
    return generator.next()
}()
private let requestIDCounter = Atomic<UInt64>(0)

/// `<12 hex digits of the prefix>-<12 hex digits of the counter>`, written straight into the
/// string's storage.
func newRequestID() -> String {
    let count = requestIDCounter.wrappingAdd(1, ordering: .relaxed).newValue
    return String(unsafeUninitializedCapacity: 25) { bytes in
        for i in 0..<12 {
            bytes[i] = hexDigit(requestIDPrefix >> (60 - 4 * UInt64(i)))
            bytes[13 + i] = hexDigit(count >> (44 - 4 * UInt64(i)))
        }
        bytes[12] = 0x2D
        return 25
    }
}

@inline(__always) private func hexDigit(_ value: UInt64) -> UInt8 {
    let nibble = UInt8(truncatingIfNeeded: value & 15)
    return nibble < 10 ? 0x30 + nibble : 0x57 + nibble
}

func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
