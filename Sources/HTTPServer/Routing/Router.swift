/// Handlers answer one request; they may suspend and they run as a Task that is cancelled when the
/// client disconnects.
public typealias Handler = @Sendable (Request) async throws -> Response
public typealias Responder = @Sendable (Request) async -> Response

/// Routes by method and path pattern. Patterns are literal segments and `{name}` parameters
/// (`/v1/users/{user_id}/feedback`); a literal segment wins over a parameter at the same place.
/// Unknown paths answer 404, known paths with another method 405 with `Allow`. HEAD falls back to
/// the GET handler, and OPTIONS (including `OPTIONS *`) answers 204 with `Allow` unless routed.
/// Middleware runs in the order added, around the matched handler and around the 404/405 answers.
public struct Router: Sendable {
    struct Route: Sendable {
        let method: HTTPMethod
        let pattern: String
        let segments: [Segment]
        let handler: Handler
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    private(set) var routes: [Route] = []
    private(set) var middleware: [Middleware] = []

    public init() {}

    public mutating func use(_ middleware: Middleware) {
        self.middleware.append(middleware)
    }

    public mutating func on(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping Handler) {
        let segments = Self.segments(of: pattern)
        precondition(!routes.contains { $0.method == method && $0.segments == segments },
                     "duplicate route \(method) \(pattern)")
        routes.append(Route(method: method, pattern: pattern, segments: segments, handler: handler))
    }

    public mutating func get(_ pattern: String, _ handler: @escaping Handler) { on(.GET, pattern, handler) }
    public mutating func post(_ pattern: String, _ handler: @escaping Handler) { on(.POST, pattern, handler) }
    public mutating func put(_ pattern: String, _ handler: @escaping Handler) { on(.PUT, pattern, handler) }
    public mutating func patch(_ pattern: String, _ handler: @escaping Handler) { on(.PATCH, pattern, handler) }
    public mutating func delete(_ pattern: String, _ handler: @escaping Handler) { on(.DELETE, pattern, handler) }

    static func segments(of pattern: String) -> [Segment] {
        precondition(pattern.first == "/", "route patterns start with /")
        return pattern.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map { part in
            if part.first == "{" && part.last == "}" && part.count > 2 {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(String(part))
        }
    }
}

/// The router compiled into a trie with each route's middleware chain composed once.
final class CompiledRouter: Sendable {
    private final class Node: Sendable {
        let literals: [String: Node]
        let parameter: (name: String, node: Node)?
        let handlers: [HTTPMethod: (pattern: String, responder: Responder)]

        init(literals: [String: Node], parameter: (name: String, node: Node)?,
             handlers: [HTTPMethod: (pattern: String, responder: Responder)]) {
            self.literals = literals
            self.parameter = parameter
            self.handlers = handlers
        }
    }

    private let root: Node
    private let wrap: @Sendable (@escaping Responder) -> Responder
    private let allMethods: String
    let onError: (@Sendable (any Error, Request) -> Void)?

    init(_ router: Router, onError: (@Sendable (any Error, Request) -> Void)? = nil) {
        self.onError = onError
        let chain = router.middleware
        let wrap: @Sendable (@escaping Responder) -> Responder = { inner in
            chain.reversed().reduce(inner) { next, middleware in
                { request in
                    do {
                        return try await middleware.respond(request, next)
                    } catch {
                        return CompiledRouter.errorResponse(error, request, onError)
                    }
                }
            }
        }
        self.wrap = wrap
        root = Self.build(router.routes, depth: 0, wrap: wrap, onError: onError)
        var methods = Set(router.routes.map(\.method))
        if methods.contains(.GET) { methods.insert(.HEAD) }
        methods.insert(.OPTIONS)
        allMethods = HTTPMethod.allowList(methods)
        notFound = wrap { _ in HTTPError.notFound().response }
    }

    private let notFound: Responder

    private static func build(_ routes: [Router.Route], depth: Int,
                              wrap: @Sendable (@escaping Responder) -> Responder,
                              onError: (@Sendable (any Error, Request) -> Void)?) -> Node {
        var handlers: [HTTPMethod: (pattern: String, responder: Responder)] = [:]
        var literalGroups: [String: [Router.Route]] = [:]
        var parameterRoutes: [Router.Route] = []
        var parameterName: String?
        for route in routes {
            if route.segments.count == depth {
                let handler = route.handler
                handlers[route.method] = (route.pattern, wrap { request in
                    do {
                        return try await handler(request)
                    } catch {
                        return errorResponse(error, request, onError)
                    }
                })
                continue
            }
            switch route.segments[depth] {
            case .literal(let text):
                literalGroups[text, default: []].append(route)
            case .parameter(let name):
                precondition(parameterName == nil || parameterName == name,
                             "routes \(route.pattern) name the same path parameter differently")
                parameterName = name
                parameterRoutes.append(route)
            }
        }
        let literals = literalGroups.mapValues { build($0, depth: depth + 1, wrap: wrap, onError: onError) }
        let parameter = parameterName.map { ($0, build(parameterRoutes, depth: depth + 1, wrap: wrap, onError: onError)) }
        return Node(literals: literals, parameter: parameter, handlers: handlers)
    }

    /// Routes and answers; never throws (errors become JSON error responses).
    func respond(_ request: Request) async -> Response {
        var request = request
        if request.path == "*" {
            return await wrap { _ in Response(status: .noContent, headers: ["Allow": self.allMethods]) }(request)
        }
        var node = root
        var parameters: [(String, Substring)] = []
        var path = request.path.utf8.dropFirst()
        while true {
            let end = path.firstIndex(of: 0x2F) ?? path.endIndex
            let segment = Substring(path[path.startIndex..<end])
            if let next = node.literals[String(segment)] {
                node = next
            } else if let (name, next) = node.parameter, !segment.isEmpty {
                parameters.append((name, segment))
                node = next
            } else {
                return await notFound(request)
            }
            if end == path.endIndex { break }
            path = path[path.index(after: end)...]
        }
        var match = node.handlers[request.method]
        if match == nil && request.method == .HEAD { match = node.handlers[.GET] }
        if let match {
            request.route = match.pattern
            for (name, raw) in parameters {
                guard let value = PercentDecoding.decode(raw) else {
                    return await wrap { _ in HTTPError.badRequest("invalid percent-encoding in path").response }(request)
                }
                request.pathParameters[name] = value
            }
            return await match.responder(request)
        }
        if node.handlers.isEmpty { return await notFound(request) }
        var methods = Set(node.handlers.keys)
        if methods.contains(.GET) { methods.insert(.HEAD) }
        methods.insert(.OPTIONS)
        let allow = HTTPMethod.allowList(methods)
        request.route = node.handlers.values.first?.pattern
        if request.method == .OPTIONS {
            return await wrap { _ in Response(status: .noContent, headers: ["Allow": allow]) }(request)
        }
        return await wrap { _ in
            HTTPError(.methodNotAllowed, code: "method_not_allowed", message: "method not allowed",
                      headers: ["Allow": allow]).response
        }(request)
    }

    static func errorResponse(_ error: any Error, _ request: Request,
                              _ onError: (@Sendable (any Error, Request) -> Void)?) -> Response {
        switch error {
        case let error as HTTPError:
            return error.response
        case is CancellationError:
            return HTTPError(.serviceUnavailable, code: "cancelled", message: "request cancelled").response
        default:
            onError?(error, request)
            return HTTPError.internalError.response
        }
    }
}
