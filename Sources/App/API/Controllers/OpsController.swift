import HTTPServer
import Store

/// `/healthz` (alive), `/readyz` (database reachable and migrated, model and adapters loaded, not draining)
/// and `/metrics` (Prometheus text). None needs a key: they carry no user data.
struct OpsController: Sendable {
    let store: DataStore
    let models: ServedModels
    let accepting: Readiness
    let metrics: ServiceMetrics

    func register(in router: inout Router) {
        router.get("/healthz") { _ in JSONValue.object(["status": .string("ok")]).response() }

        router.get("/readyz") { [store, models, accepting] _ in
            let health = await store.health()
            let database: JSONValue = health.isReady ? .string("ok") : .string(health.problem ?? (
                health.reachable ? "migrations pending: \(health.pendingMigrations.joined(separator: ", "))" : "unreachable"))
            let ready = health.isReady && accepting.isAccepting
            return JSONValue.object([
                "status": .string(ready ? "ready" : "not_ready"),
                "checks": .object([
                    "database": database,
                    "model": .string(models.base.modelID),
                    "adapters": models.adaptersJSON,
                    "accepting": .bool(accepting.isAccepting),
                ]),
            ]).response(status: ready ? .ok : .serviceUnavailable)
        }

        router.get("/metrics") { [metrics] _ in
            Response(status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                     body: .bytes(Array(metrics.registry.render().utf8)))
        }
    }
}
