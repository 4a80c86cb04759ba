import Synchronization

/// Drives a router without sockets: same routing, middleware and error mapping as the server, so
/// App tests can exercise handlers quickly. Framing, limits and timeouts are the socket layer's
/// and are not involved.
public struct InProcessClient: Sendable {
    private let router: CompiledRouter

    public init(router: Router) {
        self.router = CompiledRouter(router)
    }

    public struct Result: Sendable {
        public var status: HTTPStatus
        public var headers: HTTPHeaders
        /// The whole body; for streams, every written chunk in order.
        public var body: [UInt8]
        /// The chunks a streamed body wrote, one element per `write`.
        public var chunks: [[UInt8]]

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public func send(_ method: HTTPMethod, _ target: String, headers: HTTPHeaders = HTTPHeaders(),
                     body: [UInt8] = []) async -> Result {
        await send(Request(method: method, target: target, headers: headers, body: RequestBody(bytes: body)))
    }

    public func send(_ request: Request) async -> Result {
        let response = await router.respond(request)
        switch response.body {
        case .bytes(let bytes):
            return Result(status: response.status, headers: response.headers,
                          body: request.method == .HEAD ? [] : bytes, chunks: [])
        case .stream(let write):
            let collector = Collector()
            if request.method != .HEAD {
                do {
                    try await write(collector)
                } catch {
                    collector.failed()
                }
            }
            let chunks = collector.chunks
            return Result(status: response.status, headers: response.headers, body: chunks.flatMap { $0 }, chunks: chunks)
        }
    }

    private final class Collector: ResponseBodyWriter, Sendable {
        private let state = Mutex<[[UInt8]]>([])

        var chunks: [[UInt8]] { state.withLock { $0 } }

        func write(_ bytes: [UInt8]) async throws {
            try Task.checkCancellation()
            state.withLock { $0.append(bytes) }
        }

        func failed() {}
    }
}
