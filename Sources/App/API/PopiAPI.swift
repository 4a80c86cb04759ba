import HTTPServer
import Logging
import Personalization
import Store

/// The HTTP API: middleware and one controller per resource, each given only what it uses.
struct PopiAPI: Sendable {
    let store: DataStore
    let models: ServedModels
    let upstreams: UpstreamRegistry
    let configuration: APIConfiguration
    let metrics: ServiceMetrics
    let logger: Logger
    let authenticator: KeyAuthenticator
    let rateLimiter: RateLimiter<APIKeyID>
    let generations: ConcurrencyGate<TenantID>
    let upstreamCalls: ConcurrencyGate<TenantID>
    /// Readiness beyond the database: false while starting or shutting down.
    let accepting: Readiness
    /// Health, readiness (its database check cached across routers) and metrics.
    let ops: OpsController

    init(store: DataStore, models: ServedModels, upstreams: UpstreamRegistry,
         configuration: APIConfiguration, metrics: ServiceMetrics, logger: Logger) {
        self.store = store
        self.models = models
        self.upstreams = upstreams
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        authenticator = KeyAuthenticator(store: store, cacheSeconds: configuration.keyCacheSeconds,
                                         failuresPerSecond: configuration.authFailureRatePerSecond,
                                         failureBurst: configuration.authFailureBurst, metrics: metrics)
        rateLimiter = RateLimiter(ratePerSecond: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst)
        generations = ConcurrencyGate(limit: configuration.maxConcurrentGenerations, queueLimit: configuration.generationQueue,
                                      ownerShare: configuration.tenantShare)
        upstreamCalls = ConcurrencyGate(limit: configuration.maxUpstreamCalls, queueLimit: configuration.maxUpstreamCalls,
                                        ownerShare: configuration.tenantShare)
        accepting = Readiness()
        ops = OpsController(databaseHealth: { [store] in await store.health() }, models: models, accepting: accepting,
                            metrics: metrics, logger: logger)
        metrics.registry.addCollector { [generations, upstreamCalls, prefixCache = models.prefixCache] in
            metrics.registry.set("popi_generations_in_flight", to: Double(generations.inFlight))
            metrics.registry.set("popi_generations_queued", to: Double(generations.queued))
            metrics.registry.set("popi_upstream_calls_in_flight", to: Double(upstreamCalls.inFlight))
            if let prefixCache {
                metrics.registry.set("popi_prefix_cache_lookups_total", ["hit"], to: Double(prefixCache.hits))
                metrics.registry.set("popi_prefix_cache_lookups_total", ["miss"], to: Double(prefixCache.misses))
                metrics.registry.set("popi_prefix_cache_dropped_total", ["evicted"], to: Double(prefixCache.evictions))
                metrics.registry.set("popi_prefix_cache_dropped_total", ["invalidated"], to: Double(prefixCache.invalidations))
                metrics.registry.set("popi_prefix_cache_reused_tokens_total", to: Double(prefixCache.reusedTokens))
                metrics.registry.set("popi_prefix_cache_entries", to: Double(prefixCache.entries))
                metrics.registry.set("popi_prefix_cache_bytes", to: Double(prefixCache.bytes))
                metrics.registry.set("popi_prefix_cache_budget_bytes", to: Double(prefixCache.budgetBytes))
            }
        }
    }

    /// The full router: middleware (request id, metrics and access log), ops routes, the API.
    func router() -> Router {
        var router = Router()
        router.use(.requestID())
        router.use(metrics.middleware(logger: logger))
        let requests = RequestGuard(authenticator: authenticator, rateLimiter: rateLimiter, maxBodyBytes: configuration.maxBodyBytes,
                                    maxJSONDepth: configuration.maxJSONDepth, metrics: metrics)
        let runner = GenerationRunner(models: models, slots: generations, upstreamSlots: upstreamCalls, maxPromptTokens: configuration.maxPromptTokens,
                                      metrics: metrics, logger: logger)
        let records = GenerationRecords(users: store.users, summaries: store.summaries, usage: store.usage)
        let prompts = PromptBuilder(model: models.base, limits: configuration.summary.limits)
        ops.register(in: &router)
        FeedbackController(requests: requests, users: store.users, feedback: store.feedback, configuration: configuration,
                           metrics: metrics)
            .register(in: &router)
        SummaryController(requests: requests, summaries: store.summaries, jobs: store.jobs, feedback: store.feedback,
                          model: models.base, prompts: prompts, generations: runner, configuration: configuration)
            .register(in: &router)
        GenerationController(requests: requests, records: records, generations: runner, upstreams: upstreams,
                             model: models.base, prompts: prompts, configuration: configuration)
            .register(in: &router)
        OpenAIController(requests: requests, records: records, generations: runner, upstreams: upstreams,
                         models: models, prompts: prompts, configuration: configuration)
            .register(in: &router)
        UserDataController(requests: requests, userData: store.userData).register(in: &router)
        AdminController(requests: requests, tenants: store.tenants, apiKeys: store.apiKeys, authenticator: authenticator)
            .register(in: &router)
        return router
    }
}
