import Foundation
import HTTPServer
import Logging
import Personalization
import Store
import Synchronization

/// The HTTP API: every route, wired to the store, the POPI engine and the upstreams.
final class PopiAPI: Sendable {
    let store: DataStore
    let models: ServedModels
    /// The base model: counts tokens and scores summaries.
    var model: any PreferenceModel { models.base }
    let upstreams: UpstreamRegistry
    let configuration: APIConfiguration
    let metrics: ServiceMetrics
    let logger: Logger
    let authenticator: KeyAuthenticator
    let rateLimiter: RateLimiter
    let generations: ConcurrencyGate
    /// Readiness beyond the database: false while starting or shutting down.
    let accepting: Readiness

    init(store: DataStore, models: ServedModels, upstreams: UpstreamRegistry,
                configuration: APIConfiguration, metrics: ServiceMetrics, logger: Logger) {
        self.store = store
        self.models = models
        self.upstreams = upstreams
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        authenticator = KeyAuthenticator(store: store, cacheSeconds: configuration.keyCacheSeconds)
        rateLimiter = RateLimiter(ratePerSecond: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst)
        generations = ConcurrencyGate(limit: configuration.maxConcurrentGenerations, queueLimit: configuration.generationQueue)
        accepting = Readiness()
        metrics.registry.addCollector { [generations] in
            metrics.registry.set("popi_generations_in_flight", to: Double(generations.inFlight))
            metrics.registry.set("popi_generations_queued", to: Double(generations.queued))
        }
    }

    var prompts: PromptBuilder { PromptBuilder(model: model, limits: configuration.summary.limits) }

    /// The full router: middleware (request id, metrics and access log), ops routes, the API.
    func router() -> Router {
        var router = Router()
        router.use(.requestID())
        router.use(metrics.middleware(logger: logger))
        addOpsRoutes(to: &router)
        addFeedbackRoutes(to: &router)
        addSummaryRoutes(to: &router)
        addGenerationRoutes(to: &router)
        addOpenAIRoutes(to: &router)
        addUserDataRoutes(to: &router)
        addAdminRoutes(to: &router)
        return router
    }

    /// Wraps a handler with authentication (the key must carry `scope`) and the key's rate limit.
    func authorized(_ scope: Scope, _ handler: @escaping @Sendable (Request, Caller) async throws -> Response) -> Handler {
        { [self, authenticator, rateLimiter] request in
            let caller: Caller
            do {
                caller = try await authenticator.authenticate(request, scope: scope)
            } catch {
                throw storeError(error)
            }
            if let wait = rateLimiter.acquire(caller.keyID.description) {
                throw HTTPError(.tooManyRequests, code: "rate_limited", message: "too many requests for this key",
                                headers: ["Retry-After": String(Int(wait.rounded(.up)))])
            }
            return try await handler(request, caller)
        }
    }

    /// A user id (path parameter, `user` field, `X-Popi-User`): 1–256 bytes, no control characters.
    static func isValidUserID(_ id: String) -> Bool {
        (1...256).contains(id.utf8.count) && !id.containsControlCharacters
    }

    /// The `{user_id}` path parameter.
    func userID(_ request: Request) throws -> String {
        guard let id = request.parameter("user_id"), Self.isValidUserID(id) else {
            throw HTTPError.badRequest("user_id must be 1-256 bytes without control characters", code: "invalid_user_id")
        }
        return id
    }

    /// The request body as JSON, within the body limit, with a JSON content type.
    func jsonBody(_ request: Request) async throws -> JSONValue {
        if let type = request.headers["Content-Type"]?.lowercased(),
           !type.hasPrefix("application/json"), !type.hasSuffix("+json") {
            throw HTTPError(.unsupportedMediaType, code: "unsupported_media_type", message: "send application/json")
        }
        return try JSONValue.parse(try await request.body.collect(upTo: configuration.maxBodyBytes))
    }

    static func userNotFound() -> HTTPError {
        HTTPError(.notFound, code: "user_not_found", message: "no such user")
    }

    /// Store failures become 503 when the database is unreachable, 500 otherwise (logged, not shown).
    func storeError(_ error: Error) -> Error {
        if let error = error as? HTTPError { return error }
        if error is CancellationError { return error }
        if let error = error as? StoreError, error.isTransient {
            return HTTPError(.serviceUnavailable, code: "database_unavailable",
                             message: "the database is unavailable; try again", headers: ["Retry-After": "1"])
        }
        logger.error("store error", metadata: ["error": "\(error)"])
        return HTTPError(.internalServerError, code: "internal", message: "internal server error")
    }
}

/// Whether the service takes traffic (false once shutdown starts, so `/readyz` drains replicas).
final class Readiness: Sendable {
    private let flag = Mutex(true)
    var isAccepting: Bool { flag.withLock { $0 } }
    func stop() { flag.withLock { $0 = false } }
}
