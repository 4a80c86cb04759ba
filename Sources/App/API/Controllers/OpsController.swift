import HTTPServer
import Store

/// `/healthz` (alive), `/readyz` (database reachable and migrated, model and adapters loaded, not draining)
/// and `/metrics` (Prometheus text). None needs a key: they carry no user data.
struct OpsController: Sendable {
    let store: DataStore
    let models: ServedModels
    let accepting: Readiness
    let metrics: ServiceMetrics

    /// Encoded once: the body never changes, and probes call this route more than any other.
    private static let healthBody: [UInt8] = {
        // A struct of one constant string always encodes.
        guard let bytes = try? JSONBody.encode(API.Health()) else { preconditionFailure("API.Health did not encode") }
        return bytes
    }()

    func register(in router: inout Router) {
        router.get("/healthz") { _ in Response.json(Self.healthBody) }

        router.get("/readyz") { [store, models, accepting] _ in
            let health = await store.health()
            let database = health.isReady ? "ok" : health.problem ?? (
                health.reachable ? "migrations pending: \(health.pendingMigrations.joined(separator: ", "))" : "unreachable")
            let ready = health.isReady && accepting.isAccepting
            let checks = API.Readiness.Checks(database: database, model: models.base.modelID,
                                              adapters: API.LoadedAdapters(models), accepting: accepting.isAccepting)
            return try Response.json(API.Readiness(status: ready ? "ready" : "not_ready", checks: checks),
                                     status: ready ? .ok : .serviceUnavailable)
        }

        router.get("/metrics") { [metrics] _ in
            Response(status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                     body: .bytes(Array(metrics.registry.render().utf8)))
        }
    }
}
