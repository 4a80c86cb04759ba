import HTTPTypes
import Hummingbird
import Logging
import Synchronization

// Usage: HummingbirdPeer [port] [key] [models-json]
//
// GET /healthz: the same body as popi's, no middleware (the peer at its barest).
// GET /v1/models: the work popi's keyed routes do before their handler, done the way a Hummingbird
// service would: a request id (taken from X-Request-Id or made), request metrics (in-flight gauge,
// counter by route/method/status, latency histogram by route) and one access log line at info,
// then `Authorization: Bearer <key>` compared in constant time with the one key, then `models-json`
// (popi's own answer, fetched by bench/http.sh) as the body.
let arguments = CommandLine.arguments
let port = arguments.count > 1 ? Int(arguments[1]) ?? 8081 : 8081
let key = Array((arguments.count > 2 ? arguments[2] : "").utf8)
let modelsBody = ByteBuffer(string: arguments.count > 3 ? arguments[3] : #"{"data":[],"object":"list"}"#)
let healthBody = ByteBuffer(string: #"{"status":"ok"}"#)
let requestIDHeader = HTTPField.Name("X-Request-Id")!

struct PeerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var requestID = "-"

    init(source: Source) {
        coreContext = .init(source: source)
    }
}

/// A per-process prefix and a counter, like popi's request ids.
final class RequestIDs: Sendable {
    private let prefix = UInt64.random(in: 0...UInt64.max)
    private let counter = Atomic<UInt64>(0)

    func next() -> String {
        let count = counter.wrappingAdd(1, ordering: .relaxed).newValue
        let hex = Array("0123456789abcdef".utf8)
        var bytes = [UInt8](repeating: 0x2D, count: 25)
        for i in 0..<12 { bytes[i] = hex[Int((prefix >> (60 - 4 * UInt64(i))) & 15)] }
        for i in 0..<12 { bytes[13 + i] = hex[Int((count >> (44 - 4 * UInt64(i))) & 15)] }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Letters, digits, `.`, `_` and `-`.
func isIDByte(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F: true
    default: false
    }
}

struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = PeerContext
    let ids = RequestIDs()

    func handle(_ request: Request, context: PeerContext, next: (Request, PeerContext) async throws -> Response) async throws -> Response {
        var context = context
        if let given = request.headers[requestIDHeader], (1...64).contains(given.utf8.count), given.utf8.allSatisfy(isIDByte) {
            context.requestID = given
        } else {
            context.requestID = ids.next()
        }
        var response = try await next(request, context)
        response.headers[requestIDHeader] = context.requestID
        return response
    }
}

/// Counters and histograms behind one lock, as a small in-process metrics registry would keep them.
final class Metrics: Sendable {
    static let buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    private struct Histogram {
        var counts = [UInt64](repeating: 0, count: Metrics.buckets.count)
        var sum = 0.0
        var count: UInt64 = 0
    }
    private struct State {
        var inFlight = 0
        var requests: [[String]: UInt64] = [:]
        var durations: [String: Histogram] = [:]
    }
    private let state = Mutex(State())

    func started() { state.withLock { $0.inFlight += 1 } }

    func finished(route: String, method: String, status: Int, seconds: Double) {
        state.withLock { state in
            state.inFlight -= 1
            state.requests[[route, method, String(status)], default: 0] += 1
            var histogram = state.durations[route] ?? Histogram()
            for (index, bound) in Metrics.buckets.enumerated() where seconds <= bound { histogram.counts[index] += 1 }
            histogram.sum += seconds
            histogram.count += 1
            state.durations[route] = histogram
        }
    }
}

struct MetricsMiddleware: RouterMiddleware {
    typealias Context = PeerContext
    let metrics = Metrics()

    func handle(_ request: Request, context: PeerContext, next: (Request, PeerContext) async throws -> Response) async throws -> Response {
        metrics.started()
        let start = ContinuousClock.now
        let status: Int
        do {
            let response = try await next(request, context)
            status = response.status.code
            record(request, context, status, start)
            return response
        } catch let error as HTTPError {
            status = error.status.code
            record(request, context, status, start)
            throw error
        }
    }

    private func record(_ request: Request, _ context: PeerContext, _ status: Int, _ start: ContinuousClock.Instant) {
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        let route = context.endpointPath ?? "unmatched"
        metrics.finished(route: route, method: request.method.rawValue, status: status, seconds: seconds)
        context.logger.info("request", metadata: [
            "request_id": "\(context.requestID)", "method": "\(request.method)", "route": "\(route)",
            "status": "\(status)", "duration_ms": "\(Double(Int(seconds * 10_000)) / 10)",
        ])
    }
}

struct BearerKeyMiddleware: RouterMiddleware {
    typealias Context = PeerContext
    let key: [UInt8]

    func handle(_ request: Request, context: PeerContext, next: (Request, PeerContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.utf8.count > 7,
              header.utf8.prefix(7).map({ $0 | 0x20 }) == Array("bearer ".utf8) else {
            throw HTTPError(.unauthorized)
        }
        let presented = Array(header.utf8.dropFirst(7))
        var difference = UInt8(presented.count == key.count ? 0 : 1)
        for (index, byte) in presented.enumerated() { difference |= byte ^ key[index % max(1, key.count)] }
        guard difference == 0 else { throw HTTPError(.unauthorized) }
        return try await next(request, context)
    }
}

let router = Router(context: PeerContext.self)
router.get("healthz") { _, _ in
    Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: healthBody))
}
router.group("v1")
    .add(middleware: RequestIDMiddleware())
    .add(middleware: MetricsMiddleware())
    .add(middleware: BearerKeyMiddleware(key: key))
    .get("models") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: modelsBody))
    }
// Threads: the default event loop group, one loop per core (NIO's `System.coreCount`).
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
