import HTTPServer
import Logging
import Foundation
import Store
import Synchronization

/// popi's metric families and the middleware that records requests. Labels are bounded: route
/// patterns (not paths), methods, statuses, configured upstream names, outcomes.
final class ServiceMetrics: Sendable {
    let registry: MetricsRegistry
    /// Requests being handled now: an atomic the middleware changes, published at each scrape.
    private let requestsInFlight = Atomic<Int>(0)

    static let latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    init(registry: MetricsRegistry = MetricsRegistry()) {
        self.registry = registry
        registry.register("popi_http_requests_total", .counter, help: "HTTP requests answered, by route pattern, method and status.",
                          labels: ["route", "method", "status"])
        registry.register("popi_http_request_duration_seconds", .histogram,
                          help: "Time until the response head was ready, by route pattern.", labels: ["route"], buckets: Self.latencyBuckets)
        registry.register("popi_http_requests_in_flight", .gauge, help: "Requests being handled now.")
        registry.addCollector { [weak self, registry] in
            guard let self else { return }
            registry.set("popi_http_requests_in_flight", to: Double(requestsInFlight.load(ordering: .relaxed)))
        }
        registry.register("popi_http_json_too_deep_total", .counter, help: "Request bodies refused for nesting deeper than the JSON depth limit.")
        registry.register("popi_auth_failures_total", .counter,
                          help: "Requests refused 401: no key, or a malformed, unknown, wrong or revoked one.")
        registry.register("popi_auth_limited_total", .counter,
                          help: "Requests refused 429 without a key lookup: their client address failed authentication too often.")
        registry.register("popi_http_connections", .gauge, help: "Open HTTP connections.")
        registry.register("popi_http_connections_refused_total", .counter,
                          help: "Connections answered 503 and closed at accept, by the limit reached (max_connections, per_address).",
                          labels: ["limit"])
        registry.register("popi_http_request_body_timeouts_total", .counter,
                          help: "Request bodies answered 408, by the timeout that expired (idle, total).", labels: ["timeout"])
        registry.register("popi_http_request_body_bytes", .gauge,
                          help: "Request body bytes held for handlers now, by state (buffered: received; reserved: memory).",
                          labels: ["state"])
        registry.register("popi_prompt_tokens_total", .counter, help: "Prompt tokens read by generations, by generator.", labels: ["generator"])
        registry.register("popi_generated_tokens_total", .counter, help: "Tokens generated, by generator.", labels: ["generator"])
        registry.register("popi_generation_tokens_per_second", .histogram, help: "Decode speed of in-process generations, from the first token to the last.",
                          buckets: [5, 10, 25, 50, 100, 200, 400, 800])
        registry.register("popi_generations_in_flight", .gauge, help: "In-process generations running now.")
        registry.register("popi_generations_queued", .gauge, help: "In-process generations waiting for a slot.")
        registry.register("popi_prefix_cache_lookups_total", .counter,
                          help: "In-process generations for a known user, by whether their last prompt's KV was reused (hit) or not (miss).",
                          labels: ["result"])
        registry.register("popi_prefix_cache_dropped_total", .counter,
                          help: "Users' kept prompts dropped, to fit the budget (evicted) or after a new summary version (invalidated).",
                          labels: ["reason"])
        registry.register("popi_prefix_cache_reused_tokens_total", .counter, help: "Prompt tokens whose KV came from the prefix cache.")
        registry.register("popi_prefix_cache_entries", .gauge, help: "Users whose last prompt is kept.")
        registry.register("popi_prefix_cache_bytes", .gauge, help: "KV memory the kept prompts hold.")
        registry.register("popi_prefix_cache_budget_bytes", .gauge, help: "The prefix cache's memory budget (--prefix-cache-mib).")
        registry.register("popi_generations_rejected_total", .counter,
                          help: "Generations refused: the wait queue was full (queue_full) or the tenant had its share (tenant_share).",
                          labels: ["reason"])
        registry.register("popi_quota_rejections_total", .counter,
                          help: "Feedback posts refused by a storage quota, by scope (user, tenant) and measure (events, bytes).",
                          labels: ["scope", "measure"])
        registry.register("popi_upstream_calls_in_flight", .gauge, help: "Calls to upstream APIs in progress.")
        registry.register("popi_upstream_calls_rejected_total", .counter,
                          help: "Upstream calls refused: all slots and waiting places taken (queue_full) or the tenant had its share (tenant_share).",
                          labels: ["reason"])
        registry.register("popi_refresh_queue_depth", .gauge, help: "Summary refresh jobs pending (due or debounced).")
        registry.register("popi_refresh_jobs_running", .gauge, help: "Summary refresh jobs running on any replica.")
        registry.register("popi_refresh_queue_oldest_due_seconds", .gauge, help: "Age of the oldest due refresh job.")
        registry.register("popi_refresh_job_duration_seconds", .histogram, help: "Summary refresh job time, by outcome.",
                          labels: ["outcome"], buckets: [0.5, 1, 2, 5, 10, 20, 40, 80, 160])
        registry.register("popi_refresh_job_failures_total", .counter, help: "Summary refresh attempts that failed.")
        registry.register("popi_refresh_jobs_dropped_total", .counter,
                          help: "Summary refreshes not queued by this replica because their tenant's queue was full.")
        registry.register("popi_refresh_lease_expiries_total", .counter,
                          help: "Refresh jobs this replica's claims found under an expired lease (their worker crashed or hung): reclaimed or failed (last attempt).",
                          labels: ["outcome"])
        // From zero, not from the first expiry: a rate over a series that appears at 1 misses it.
        for outcome in ["reclaimed", "failed"] { registry.set("popi_refresh_lease_expiries_total", [outcome], to: 0) }
        registry.register("popi_refresh_reward", .histogram, help: "Mean POPI reward r(s) of the summaries refreshes stored.",
                          buckets: [-100, -80, -70, -69.3, -69, -68, -65, -60, -50, -25, 0])
        registry.register("popi_refresh_accuracy", .histogram, help: "POPI accuracy (share of held-out pairs with h > 0) of the summaries refreshes stored.",
                          buckets: [0, 0.25, 0.5, 0.75, 1])
        registry.register("popi_ready", .gauge,
                          help: "1 while this replica is ready (as /readyz: database reachable and migrated, not draining), else 0.")
        registry.register("popi_db_pool_connections", .gauge, help: "Database connections, by state.", labels: ["state"])
        registry.register("popi_db_pool_waiting", .gauge, help: "Callers waiting for a database connection.")
        registry.register("popi_db_pool_connect_failures_total", .counter,
                          help: "Attempts to open a database connection that failed (the database unreachable or refusing).")
        registry.register("popi_db_rows_fetched_total", .counter, help: "Rows read from the database.")
        registry.register("popi_upstream_requests_total", .counter, help: "Calls to upstream APIs, by upstream and outcome.",
                          labels: ["upstream", "outcome"])
    }

    /// Publishes the pool's state at every scrape.
    func watch(pool: ConnectionPool) {
        registry.addCollector { [registry] in
            let stats = pool.statistics
            registry.set("popi_db_pool_connections", ["in_use"], to: Double(stats.inUse))
            registry.set("popi_db_pool_connections", ["open"], to: Double(stats.open))
            registry.set("popi_db_pool_connections", ["max"], to: Double(stats.size))
            registry.set("popi_db_pool_waiting", to: Double(stats.waiting))
            registry.set("popi_db_pool_connect_failures_total", to: Double(stats.connectFailures))
            registry.set("popi_db_rows_fetched_total", to: Double(stats.rowsFetched))
        }
    }

    /// Publishes the HTTP server's connection and body counters at every scrape.
    func watch(server: HTTPServer) {
        registry.addCollector { [registry] in
            let stats = server.statistics
            registry.set("popi_http_connections", to: Double(stats.openConnections))
            registry.set("popi_http_connections_refused_total", ["max_connections"], to: Double(stats.refusedServerFull))
            registry.set("popi_http_connections_refused_total", ["per_address"], to: Double(stats.refusedAddressFull))
            registry.set("popi_http_request_body_timeouts_total", ["idle"], to: Double(stats.bodyIdleTimeouts))
            registry.set("popi_http_request_body_timeouts_total", ["total"], to: Double(stats.bodyTotalTimeouts))
            registry.set("popi_http_request_body_bytes", ["buffered"], to: Double(stats.bufferedBodyBytes))
            registry.set("popi_http_request_body_bytes", ["reserved"], to: Double(stats.reservedBodyBytes))
        }
    }

    func record(droppedRefreshes: UInt64) {
        registry.set("popi_refresh_jobs_dropped_total", to: Double(droppedRefreshes))
    }

    /// Counts the expired leases a claim met.
    func record(claim: ClaimResult) {
        if claim.reclaimed > 0 { registry.increment("popi_refresh_lease_expiries_total", ["reclaimed"], by: Double(claim.reclaimed)) }
        if claim.failedOnExpiredLease > 0 {
            registry.increment("popi_refresh_lease_expiries_total", ["failed"], by: Double(claim.failedOnExpiredLease))
        }
    }

    func record(queue: QueueStatistics) {
        registry.set("popi_refresh_queue_depth", to: Double(queue.pending))
        registry.set("popi_refresh_jobs_running", to: Double(queue.running))
        registry.set("popi_refresh_queue_oldest_due_seconds", to: queue.oldestDueAge)
    }

    /// Counts and times every request, and writes the access log line (method, route, status,
    /// duration, request id: never the query, headers or body). Per request: an atomic for the
    /// in-flight gauge, two short registry updates, and the log line only when `info` is enabled.
    func middleware(logger: Logger) -> Middleware {
        let registry = self.registry
        return Middleware { [self] request, next in
            requestsInFlight.add(1, ordering: .relaxed)
            let start = ContinuousClock.now
            let response = await next(request)
            let elapsed = ContinuousClock.now - start
            requestsInFlight.subtract(1, ordering: .relaxed)
            let route = request.route ?? "unmatched"
            // Any token is a method: one a client made up must not grow a new series.
            let method = request.method.isStandard ? request.method.rawValue : "other"
            let status = String(response.status.code)
            registry.increment("popi_http_requests_total", [route, method, status])
            registry.observe("popi_http_request_duration_seconds", [route], elapsed / .seconds(1))
            logger.info("request", metadata: [
                "request_id": .string(request.attributes[RequestID.self] ?? "-"), "method": .string(request.method.rawValue),
                "route": .string(route), "status": .string(status),
                "duration_ms": .string(Self.milliseconds(elapsed)),
            ])
            return response
        }
    }

    /// Milliseconds with one decimal, rounded half up (`12.3`), for the access log.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let tenths = max(0, seconds) * 10_000 + (max(0, attoseconds) + 50_000_000_000_000) / 100_000_000_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}
