import Foundation
import HTTPServer
import Personalization
import Store
import Synchronization
import Testing
@testable import App

/// `/healthz`, `/readyz`, `/metrics` on a real socket.
@Suite struct OpsControllerTests {
    @Test func healthAndReadinessNeedNoKey() async throws {
        try await withService { service in
            let anonymous = service.client(nil)
            let health = try await anonymous.get("/healthz")
            #expect(health.status == 200 && health.json["status"]?.string == "ok", "\(health)")

            let ready = try await anonymous.get("/readyz")
            #expect(ready.status == 200 && ready.json["status"]?.string == "ready", "\(ready)")
            #expect(ready.json["checks"]?["database"]?.string == "ok")
            #expect(ready.json["checks"]?["model"]?.string == service.model.modelID)

            // Draining (shutdown started): not ready, so load balancers move on; still alive.
            service.api.accepting.stop()
            let draining = try await anonymous.get("/readyz")
            #expect(draining.status == 503 && draining.json["checks"]?["accepting"]?.bool == false, "\(draining)")
            #expect(try await anonymous.get("/healthz").status == 200)
            #expect(try await anonymous.get("/metrics").text.contains("\npopi_ready 0\n"))
        }
    }

    @Test func metricsCountRequestsByRoutePatternAndNeverNameUsersOrTenants() async throws {
        try await withService { service in
            let tenant = try await service.tenant()
            let user = "metrics-user-\(UUID().uuidString)"
            #expect(try await tenant.client.post("/v1/users/\(user)/feedback", Fixtures.pair(1)).status == 200)
            #expect(try await tenant.client.get("/v1/users/\(user)/feedback?limit=5").status == 200)
            #expect(try await tenant.client.get("/v1/users/\(user)/summary/versions/7").status == 404)
            #expect(try await tenant.client.post("/v1/users/\(user)/generate", ["prompt": "Hi", "max_tokens": 2]).status == 200)
            #expect(try await service.client(nil).get("/v1/users/\(user)/summary").status == 401)

            let metrics = try await service.client(nil).get("/metrics")
            #expect(metrics.status == 200, "\(metrics)")
            #expect(metrics.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = metrics.text
            #expect(text.contains(#"popi_http_requests_total{route="/v1/users/{user_id}/feedback",method="POST",status="200"} 1"#), "\(text)")
            #expect(text.contains(#"route="/v1/users/{user_id}/summary/versions/{version}",method="GET",status="404"} 1"#))
            #expect(text.contains(#"route="/v1/users/{user_id}/summary",method="GET",status="401"} 1"#))
            #expect(text.contains("# TYPE popi_http_request_duration_seconds histogram"))
            #expect(text.contains(#"popi_generated_tokens_total{generator="local"}"#))
            #expect(text.contains("popi_db_pool_connections"))
            // Bounded labels only: no user id, tenant id, key or query string.
            #expect(!text.contains(user) && !text.contains("metrics-user"))
            #expect(!text.contains(tenant.id.description) && !text.lowercased().contains(tenant.id.description.lowercased()))
            #expect(!text.contains(tenant.key) && !text.contains("limit=5"))
            // Every sample line is `name{labels} value` with a declared family.
            let families = Set(text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] })
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let name = line.prefix { $0 != "{" && $0 != " " }
                let family = families.first { name == $0 || name == "\($0)_bucket" || name == "\($0)_sum" || name == "\($0)_count" }
                #expect(family != nil, "sample without a TYPE line: \(line)")
                #expect(Double(line.split(separator: " ").last ?? "") != nil, "not a number: \(line)")
            }
        }
    }

    /// A database that cannot be reached: `/readyz` says so in one word; libpq's message (the
    /// socket path, the user) stays in the log.
    @Test func aFailingDatabaseIsReportedWithoutTheDatabasesMessage() async throws {
        let configuration = try DatabaseConfiguration(
            connectionString: "host=/nonexistent-popi-readyz port=5999 user=readyz_secret_user dbname=readyz_db", poolSize: 1)
        let pool = ConnectionPool(configuration: configuration)
        defer { pool.shutdown() }
        let api = PopiAPI(store: DataStore(pool: pool), models: ServedModels(base: try await AppTestEnvironment.model()),
                          upstreams: try UpstreamRegistry([]), configuration: TestService.baseConfiguration,
                          metrics: ServiceMetrics(), logger: AppTestEnvironment.logger)
        let response = await InProcessClient(router: api.router()).send(.GET, "/readyz")
        #expect(response.status.code == 503)
        let body = try JSONValue.parse(response.body)
        #expect(body["checks"]?["database"]?.string == "unreachable", "\(response.text)")
        for secret in ["nonexistent-popi-readyz", "readyz_secret_user", "readyz_db", "5999", "PGSQL", "socket"] {
            #expect(!response.text.contains(secret), "\(secret) in \(response.text)")
        }
        #expect(api.metrics.registry.render().contains("\npopi_ready 0\n"))
    }

    /// `popi_ready` says what `/readyz` would, without a scrape ever waiting on the database: a
    /// scrape shows the latest check and starts the next one when that is older than the cache window.
    @Test func theReadyGaugeFollowsReadinessWithoutWaitingForTheDatabase() async throws {
        let store = try await AppTestEnvironment.store()
        let gate = Gate(), checks = Box(0), clock = Box(0.0)
        defer { gate.open() }
        let metrics = ServiceMetrics(), accepting = Readiness()
        _ = OpsController(databaseHealth: { checks.update { $0 += 1 }; await gate.wait(); return await store.health() },
                          models: ServedModels(base: try await AppTestEnvironment.model()), accepting: accepting,
                          metrics: metrics, logger: AppTestEnvironment.logger, now: { clock.value })
        // No check has finished: the scrape starts one and answers without the gauge.
        #expect(!metrics.registry.render().contains("\npopi_ready "))
        try await waitUntil("the first check starts") { checks.value == 1 }
        #expect(!metrics.registry.render().contains("\npopi_ready "), "the check still runs")
        gate.open()
        try await waitUntil("the check's result shows") { metrics.registry.render().contains("\npopi_ready 1\n") }
        accepting.stop()
        #expect(metrics.registry.render().contains("\npopi_ready 0\n"))
        #expect(checks.value == 1, "within the window, scrapes reuse the check")
        clock.update { $0 += OpsController.readinessCacheSeconds + 0.5 }
        _ = metrics.registry.render()
        try await waitUntil("an old result starts a new check") { checks.value == 2 }
    }

    /// Many callers within the cache window, at once or one after another, cause one database
    /// check; the next check comes once the window has passed.
    @Test func readinessChecksTheDatabaseOncePerWindow() async throws {
        let store = try await AppTestEnvironment.store()
        let checks = Box(0), clock = Box(0.0)
        let ops = OpsController(databaseHealth: { checks.update { $0 += 1 }; return await store.health() },
                                models: ServedModels(base: try await AppTestEnvironment.model()), accepting: Readiness(),
                                metrics: ServiceMetrics(), logger: AppTestEnvironment.logger, now: { clock.value })
        var router = Router()
        ops.register(in: &router)
        let client = InProcessClient(router: router)
        let statuses = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<20 { group.addTask { await client.send(.GET, "/readyz").status.code } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 20))
        for _ in 0..<5 { #expect(await client.send(.GET, "/readyz").status.code == 200) }
        #expect(checks.value == 1)
        clock.update { $0 += OpsController.readinessCacheSeconds + 0.5 }
        #expect(await client.send(.GET, "/readyz").status.code == 200)
        #expect(await client.send(.GET, "/readyz").status.code == 200)
        #expect(checks.value == 2)
    }
}

/// A value shared with closures (a call counter, a test clock).
private final class Box<Value: Sendable>: Sendable {
    private let state: Mutex<Value>
    init(_ value: Value) { state = Mutex(value) }
    var value: Value { state.withLock { $0 } }
    func update(_ change: (inout Value) -> Void) { state.withLock { change(&$0) } }
}
