import HTTPServer
import Store

/// What every authenticated route shares: the key check (with the route's scope), the key's rate
/// limit, the mapping of failures to HTTP errors, and reading the request's parts (user id, JSON
/// body, integer query parameters) with the API's error messages.
struct RequestGuard: Sendable {
    let authenticator: KeyAuthenticator
    let rateLimiter: RateLimiter<APIKeyID>
    let maxBodyBytes: Int
    let maxJSONDepth: Int
    let metrics: ServiceMetrics

    /// Wraps a handler with authentication (the key must carry `scope`) and the key's rate limit.
    func authorized(_ scope: Scope, _ handler: @escaping @Sendable (Request, Caller) async throws -> Response) -> Handler {
        { [authenticator, rateLimiter] request in
            do {
                let caller = try await authenticator.authenticate(request, scope: scope)
                if let wait = rateLimiter.acquire(caller.keyID) {
                    throw HTTPError.rateLimited(retryAfter: wait)
                }
                return try await handler(request, caller)
            } catch {
                throw HTTPError.from(error)
            }
        }
    }

    /// The request body as JSON, within the body and nesting limits, with a JSON content type.
    func jsonBody(_ request: Request) async throws -> JSONValue {
        if let type = request.headers["Content-Type"]?.lowercased(),
           !type.hasPrefix("application/json"), !type.hasSuffix("+json") {
            throw HTTPError.unsupportedMediaType
        }
        let bytes = try await request.body.collect(upTo: maxBodyBytes)
        if JSONValue.nests(bytes, deeperThan: maxJSONDepth) {
            metrics.registry.increment("popi_http_json_too_deep_total")
            throw HTTPError.jsonTooDeep(limit: maxJSONDepth)
        }
        return try JSONValue.parse(bytes)
    }

    /// Runs a store write for a user the request found earlier. The user's erasure may commit in
    /// between: the write then finds the user gone (`notFound`, or a foreign key violation of a
    /// row that references the user), and the answer is what it would have been after the
    /// erasure, 404 `user_not_found`, not a server error.
    static func writeForUser<T: Sendable>(_ write: () async throws -> T) async throws -> T {
        do {
            return try await write()
        } catch StoreError.notFound {
            throw HTTPError.userNotFound
        } catch StoreError.server(let error) where error.isForeignKeyViolation {
            throw HTTPError.userNotFound
        }
    }

    /// A user id (path parameter, `user` field, `X-Popi-User`): 1–256 bytes, no control characters.
    static func isValidUserID(_ id: String) -> Bool {
        (1...256).contains(id.utf8.count) && !id.containsControlCharacters
    }

    /// The `{user_id}` path parameter.
    static func userID(_ request: Request) throws -> String {
        guard let id = request.parameter("user_id"), isValidUserID(id) else {
            throw HTTPError.invalidUserID
        }
        return id
    }

    /// An integer query parameter within `range`; nil when absent.
    static func queryInteger(_ request: Request, _ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = request.queryValue(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw HTTPError.invalidRequest("\(name) must be an integer between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }
}
