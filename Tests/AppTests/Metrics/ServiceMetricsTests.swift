import Foundation
import HTTPServer
import Logging
import Store
import Testing
@testable import App

@Suite struct ServiceMetricsTests {
    /// The text of every family popi registers, as `/metrics` renders it.
    static let families: [(name: String, kind: String)] = ServiceMetrics().registry.render()
        .split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }
        .map { line in
            let parts = line.split(separator: " ")
            return (String(parts[2]), String(parts[3]))
        }

    @Test func registersTheFamiliesTheAPIPromises() {
        let names = Set(Self.families.map(\.name))
        for name in ["popi_http_requests_total", "popi_http_request_duration_seconds", "popi_http_requests_in_flight",
                     "popi_prompt_tokens_total", "popi_generated_tokens_total", "popi_generation_tokens_per_second",
                     "popi_refresh_queue_depth", "popi_refresh_job_duration_seconds", "popi_refresh_job_failures_total",
                     "popi_refresh_reward", "popi_refresh_accuracy", "popi_db_pool_connections", "popi_upstream_requests_total",
                     "popi_refresh_queue_oldest_due_seconds", "popi_refresh_lease_expiries_total", "popi_ready"] {
            #expect(names.contains(name), "\(name) is not registered")
        }
    }

    /// promtool's lint rules (`promtool check metrics`): a name never spells a metric type, and
    /// counters end in `_total`.
    @Test func namesPassPromtoolsLint() {
        #expect(!Self.families.isEmpty)
        for (name, kind) in Self.families {
            for type in ["counter", "gauge", "histogram", "summary", "untyped"] {
                #expect(!name.contains("_\(type)_") && !name.hasSuffix("_\(type)"), "\(name) contains the type name \(type)")
            }
            #expect((kind == "counter") == name.hasSuffix("_total"), "\(name) (\(kind)): only counters end in _total")
            #expect(name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }, "\(name)")
        }
    }

    /// Any token is a method; the ones clients make up share one label, so they cannot grow the
    /// series without bound.
    @Test func requestsWithAMadeUpMethodShareOneLabel() async throws {
        let metrics = ServiceMetrics()
        var logger = Logger(label: "popi-metrics-test")
        logger.logLevel = .critical
        var router = Router()
        router.use(metrics.middleware(logger: logger))
        router.get("/x") { _ in .text("x") }
        let client = InProcessClient(router: router)
        for token in ["QUERY", "BREW", "X-\(UUID().uuidString)"] {
            _ = await client.send(try #require(HTTPMethod(rawValue: token)), "/x")
        }
        _ = await client.send(.GET, "/x")
        #expect(metrics.registry.value("popi_http_requests_total", ["/x", "other", "405"]) == 3)
        #expect(metrics.registry.value("popi_http_requests_total", ["/x", "GET", "200"]) == 1)
    }

    /// The access log's duration: milliseconds, one decimal, rounded half up, without Foundation's
    /// formatter.
    @Test func accessLogDurationsHaveOneDecimal() {
        #expect(ServiceMetrics.milliseconds(.zero) == "0.0")
        #expect(ServiceMetrics.milliseconds(.nanoseconds(49_999)) == "0.0")
        #expect(ServiceMetrics.milliseconds(.nanoseconds(50_000)) == "0.1")
        #expect(ServiceMetrics.milliseconds(.nanoseconds(1_234_567)) == "1.2")
        #expect(ServiceMetrics.milliseconds(.nanoseconds(1_250_000)) == "1.3")
        #expect(ServiceMetrics.milliseconds(.seconds(2) + .nanoseconds(960_000)) == "2001.0")
        #expect(ServiceMetrics.milliseconds(.seconds(86_400)) == "86400000.0")
    }

    /// The in-flight gauge is an atomic published at each scrape: present from the start, one
    /// while a request runs, zero after.
    @Test func theInFlightGaugeIsPublishedAtEachScrape() async {
        let metrics = ServiceMetrics()
        #expect(metrics.registry.render().contains("\npopi_http_requests_in_flight 0\n"))
        var logger = Logger(label: "popi-metrics-test")
        logger.logLevel = .critical
        var router = Router()
        router.use(metrics.middleware(logger: logger))
        router.get("/x") { _ in .text(metrics.registry.render().contains("\npopi_http_requests_in_flight 1\n") ? "one" : "not one") }
        let response = await InProcessClient(router: router).send(.GET, "/x")
        #expect(response.text == "one")
        #expect(metrics.registry.render().contains("\npopi_http_requests_in_flight 0\n"))
        #expect(metrics.registry.value("popi_http_requests_total", ["/x", "GET", "200"]) == 1)
    }

    /// Lease expiries are rare: both series exist from the start, so the first one is an increase
    /// that `rate` and `increase` can see.
    @Test func leaseExpiriesAreCountedFromZero() {
        let text = ServiceMetrics().registry.render()
        for outcome in ["reclaimed", "failed"] {
            #expect(text.contains("\npopi_refresh_lease_expiries_total{outcome=\"\(outcome)\"} 0\n"), "\(outcome) missing")
        }
    }

    /// Failed connection attempts show on `/metrics`: the database unreachable from this replica.
    @Test func failedDatabaseConnectionsAreCounted() async throws {
        let pool = ConnectionPool(configuration: try DatabaseConfiguration(
            connectionString: "host=/nonexistent-popi-metrics port=5999 user=popi dbname=popi", poolSize: 1))
        defer { pool.shutdown() }
        let metrics = ServiceMetrics()
        metrics.watch(pool: pool)
        #expect(metrics.registry.render().contains("\npopi_db_pool_connect_failures_total 0\n"))
        await #expect(throws: StoreError.self) { try await pool.ping() }
        #expect(metrics.registry.render().contains("\npopi_db_pool_connect_failures_total 1\n"))
    }

    @Test func theHTTPServersConnectionAndBodyCountersAreExported() throws {
        let metrics = ServiceMetrics()
        let server = HTTPServer(configuration: HTTPServerConfiguration(port: 0), router: Router())
        metrics.watch(server: server)
        let text = metrics.registry.render()
        for line in ["popi_http_connections 0", #"popi_http_connections_refused_total{limit="max_connections"} 0"#,
                     #"popi_http_connections_refused_total{limit="per_address"} 0"#,
                     #"popi_http_request_body_timeouts_total{timeout="idle"} 0"#,
                     #"popi_http_request_body_timeouts_total{timeout="total"} 0"#,
                     #"popi_http_request_body_bytes{state="buffered"} 0"#, #"popi_http_request_body_bytes{state="reserved"} 0"#] {
            #expect(text.contains("\n\(line)\n"), "\(line) missing")
        }
    }
}
