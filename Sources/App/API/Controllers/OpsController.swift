import Dispatch
import HTTPServer
import Logging
import Store

/// `/healthz` (alive), `/readyz` (database reachable and migrated, model and adapters loaded, not draining)
/// and `/metrics` (Prometheus text). None needs a key: they carry no user data.
///
/// `/readyz` is open to anyone and probed often: its database check runs at most once per
/// `readinessCacheSeconds` however many callers ask, and says only what failed (unreachable,
/// migrations pending, schema mismatch); the database's own message, which names hosts and
/// users, goes to the log.
struct OpsController: Sendable {
    static let readinessCacheSeconds = 1.0

    private let database: SharedCheck<DataStore.Health>
    let models: ServedModels
    let accepting: Readiness
    let metrics: ServiceMetrics

    /// `databaseHealth` is the check (`DataStore.health`); `now` the clock of its cache.
    init(databaseHealth: @escaping @Sendable () async -> DataStore.Health, models: ServedModels, accepting: Readiness,
         metrics: ServiceMetrics, logger: Logger,
         now: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }) {
        let check: @Sendable () async -> DataStore.Health = {
            let health = await databaseHealth()
            if !health.isReady {
                logger.warning("readiness: database not ready", metadata: [
                    "problem": "\(health.problem ?? "none")", "pending_migrations": "\(health.pendingMigrations.joined(separator: ","))",
                ])
            }
            return health
        }
        database = SharedCheck(lifetime: Self.readinessCacheSeconds, now: now, check: check)
        self.models = models
        self.accepting = accepting
        self.metrics = metrics
        // A scrape never waits on the database (it may be what is failing): it shows the latest
        // check, /readyz's or one an earlier scrape started.
        metrics.registry.addCollector { [database, accepting, registry = metrics.registry] in
            guard let health = database.latest() else { return }
            registry.set("popi_ready", to: Self.isReady(health, accepting: accepting) ? 1 : 0)
        }
    }

    /// What `/readyz` and `popi_ready` decide from.
    static func isReady(_ health: DataStore.Health, accepting: Readiness) -> Bool {
        health.isReady && accepting.isAccepting
    }

    /// Encoded once: the body never changes, and probes call this route more than any other.
    private static let healthBody: [UInt8] = {
        // A struct of one constant string always encodes.
        guard let bytes = try? JSONBody.encode(API.Health()) else { preconditionFailure("API.Health did not encode") }
        return bytes
    }()

    /// What `/readyz` shows of the database's state: a fixed word, never the error's text.
    static func summary(_ health: DataStore.Health) -> String {
        if health.isReady { return "ok" }
        if !health.reachable { return "unreachable" }
        return health.problem == nil ? "migrations pending" : "schema mismatch"
    }

    func register(in router: inout Router) {
        router.get("/healthz") { _ in Response.json(Self.healthBody) }

        router.get("/readyz") { [database, models, accepting] _ in
            let health = await database.value()
            let ready = Self.isReady(health, accepting: accepting)
            let checks = API.Readiness.Checks(database: Self.summary(health), model: models.base.modelID,
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
