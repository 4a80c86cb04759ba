import Foundation
import Logging
import Testing
@testable import App
@testable import HTTPServer
import LLMClient
import Personalization
@testable import Store

/// What every socket-level API test shares, set up once per test process: the real model
/// (loaded once), a database of their own on the test PostgreSQL server (DATABASE_URL), created
/// and migrated once, and one set of refresh workers on it while some test needs them.
///
/// App tests get a database of their own because the refresh workers claim every due summary
/// job in their database: sharing one with StoreTests would let them take those tests' jobs.
enum AppTestEnvironment {
    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "DATABASE_URL is not set: the App API tests need a real PostgreSQL; run them through "
                + "`scripts/with-test-postgres.sh swift test` (or `make test`)"
        }
    }

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let modelPath = packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    /// Quiet unless something is wrong: the access log of hundreds of requests helps no one.
    static let logger: Logger = {
        var logger = Logger(label: "popi-apptests")
        logger.logLevel = .error
        return logger
    }()

    /// The summary settings of every test service and of the shared workers: POPI's best-of-N
    /// with 2 candidates and short summaries, so a refresh takes seconds.
    static let summaryOptions = SummaryOptions(candidates: 2, maxSummaryTokens: 24)

    private static let sharedModel = Task<RuntimeModel, Error> {
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw TestHTTPClient.Failure(description: "model file missing at \(modelPath): run scripts/setup.sh")
        }
        // One thread: no worker spinning between kernels, so these tests take little CPU from
        // the rest of `swift test`, which runs in the same process (and has timing-sensitive tests).
        // Loading blocks: not on the concurrency pool, which every other test needs meanwhile.
        return try await TestHTTPClient.onOwnThread { try RuntimeModel.load(path: modelPath, threads: 1) }
    }

    static func model() async throws -> RuntimeModel { try await sharedModel.value }

    private static let sharedStore = Task<DataStore, Error> {
        guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else { throw NotConfigured() }
        let server = try DatabaseConfiguration(connectionString: url, poolSize: 16)
        let name = "\(databasePrefix)\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        let bootstrap = ConnectionPool(configuration: try DatabaseConfiguration(connectionString: url, poolSize: 1))
        defer { bootstrap.shutdown() }
        try await dropLeftovers(bootstrap)
        // Database names cannot be parameters; this one is made here from hex digits only.
        try await bootstrap.query(SQL(unsafeRaw: "CREATE DATABASE \(name)"))
        let configuration = server.database(named: name)
        _ = try await TestHTTPClient.onOwnThread { try Migrator().migrate(configuration) }
        return DataStore(pool: ConnectionPool(configuration: configuration))
    }

    static let databasePrefix = "popi_apptests_"

    /// Drops the databases of earlier runs (none under `make test`, whose cluster is thrown
    /// away). Done at start rather than at exit: by then OpenSSL, which libpq needs to log in,
    /// may already be cleaned up. A database still in use by another test process is refused
    /// by the server (no FORCE), and left alone.
    private static func dropLeftovers(_ pool: ConnectionPool) async throws {
        let names = try await pool.query("SELECT datname::text FROM pg_database WHERE starts_with(datname, \(databasePrefix))")
            .map { try $0.decode(0, as: String.self) }
        for name in names where name.dropFirst(databasePrefix.count).allSatisfy(\.isHexDigit) {
            _ = try? await pool.query(SQL(unsafeRaw: "DROP DATABASE IF EXISTS \(name)"))
        }
    }

    static func store() async throws -> DataStore { try await sharedStore.value }

    /// Runs `body` with a store on a database of its own (created, migrated, dropped afterwards):
    /// for tests whose workers or claims must meet no other test's jobs.
    static func withScratchStore<T: Sendable>(_ body: (DataStore) async throws -> T) async throws -> T {
        let shared = try await store()
        let name = "\(databasePrefix)\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        // Database names cannot be parameters; this one is made here from hex digits only.
        try await shared.pool.query(SQL(unsafeRaw: "CREATE DATABASE \(name)"))
        var configuration = shared.pool.configuration.database(named: name)
        configuration.poolSize = 4
        let result: Result<T, Error>
        do {
            _ = try await TestHTTPClient.onOwnThread { [configuration] in try Migrator().migrate(configuration) }
            let scratch = DataStore(pool: ConnectionPool(configuration: configuration))
            do {
                result = .success(try await body(scratch))
            } catch {
                result = .failure(error)
            }
            scratch.pool.shutdown()
        } catch {
            result = .failure(error)
        }
        _ = try? await shared.pool.query(SQL(unsafeRaw: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
        return try result.get()
    }

    /// A store on the shared test database with a pool of its own (close it with `pool.shutdown()`).
    static func ownStore(poolSize: Int = 4) async throws -> DataStore {
        var configuration = try await store().pool.configuration
        configuration.poolSize = poolSize
        return DataStore(pool: ConnectionPool(configuration: configuration))
    }

    /// The refresh workers run only while some test needs them, so no inference is left running
    /// in the background when the test process exits.
    static let workers = WorkerLease()
}

/// Shares one set of refresh workers (one worker) among the tests that hold a lease.
actor WorkerLease {
    private var holders = 0
    private var running: RefreshWorkers?

    func acquire() async throws {
        // Both awaits come first: the actor may interleave another acquire at each of them.
        let store = try await AppTestEnvironment.store(), model = try await AppTestEnvironment.model()
        holders += 1
        guard running == nil else { return }
        let workers = RefreshWorkers(store: store, models: ServedModels(base: model),
                                     options: AppTestEnvironment.summaryOptions, metrics: ServiceMetrics(),
                                     logger: AppTestEnvironment.logger, count: 1, pollInterval: .milliseconds(100))
        workers.start()
        running = workers
    }

    func release() async {
        holders -= 1
        guard holders == 0, let workers = running else { return }
        running = nil
        await workers.stop()
    }
}

/// The API on a real socket: `PopiAPI` in an `HTTPServer` on 127.0.0.1, a free port, with the
/// shared model and database. Each test starts its own (so each can set its own limits and
/// upstreams) and works in tenants of its own, so tests run in parallel.
final class TestService: Sendable {
    let api: PopiAPI
    let server: HTTPServer
    let store: DataStore
    let model: RuntimeModel
    let metrics: ServiceMetrics

    var port: Int { server.port }

    /// The API limits the tests start from: refreshes queued by new feedback are debounced for an
    /// hour, so a summary appears only when a test asks for one (no background inference racing
    /// the tests); rate limits out of the way unless a test sets them.
    static var baseConfiguration: APIConfiguration {
        var configuration = APIConfiguration()
        configuration.refreshDebounceSeconds = 3600
        configuration.refreshMaxDelaySeconds = 7200
        configuration.summary = AppTestEnvironment.summaryOptions
        configuration.editedSummaryScoringPairs = 4
        configuration.rateLimitPerSecond = 1000
        configuration.rateLimitBurst = 1000
        return configuration
    }

    /// `models` picks the served models from the shared base model (default: the base alone);
    /// `store` replaces the shared store (e.g. a pool of its own, whose statistics only this
    /// service moves).
    init(configure: (inout APIConfiguration) -> Void = { _ in }, upstreams: [UpstreamConfiguration] = [],
         models: (RuntimeModel) throws -> ServedModels = { ServedModels(base: $0) }, store: DataStore? = nil) async throws {
        if let store {
            self.store = store
        } else {
            self.store = try await AppTestEnvironment.store()
        }
        model = try await AppTestEnvironment.model()
        var configuration = Self.baseConfiguration
        configure(&configuration)
        metrics = ServiceMetrics()
        metrics.watch(pool: self.store.pool)
        api = PopiAPI(store: self.store, models: try models(model), upstreams: try UpstreamRegistry(upstreams), configuration: configuration,
                      metrics: metrics, logger: AppTestEnvironment.logger)
        server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0),
                            router: api.router(), logger: AppTestEnvironment.logger)
        try server.start()
    }

    func stop() async {
        await server.shutdown(gracePeriod: .seconds(5))
    }

    /// A client sending `key` (or no Authorization header).
    func client(_ key: String?) -> TestHTTPClient {
        TestHTTPClient(port: port, key: key)
    }

    /// A new tenant with a unique name and a key with `scopes`.
    func tenant(_ label: String = #function, scopes: Set<Scope> = [.read, .write, .generate]) async throws -> TestTenant {
        let tenant = try await store.tenants.create(name: "apptest \(label) \(UUID().uuidString)")
        let key = try await self.key(for: tenant.id, scopes: scopes)
        return TestTenant(id: tenant.id, key: key, client: client(key))
    }

    /// Another key of a tenant.
    func key(for tenant: TenantID, scopes: Set<Scope>, name: String = "test") async throws -> String {
        try await APIKeySecret.issue(in: store.apiKeys, tenant: tenant, name: name, scopes: scopes).0.full
    }

    /// The internal id of a tenant's user (nil when the user does not exist).
    func userID(_ tenant: TestTenant, _ externalID: String) async throws -> UserID? {
        try await store.users.find(tenant: tenant.id, externalID: externalID)?.id
    }
}

struct TestTenant: Sendable {
    let id: TenantID
    let key: String
    let client: TestHTTPClient
}

/// Runs `body` with a started service (and the refresh workers, if asked) and stops them
/// afterwards, whatever happens.
@discardableResult
func withService<T: Sendable>(configure: (inout APIConfiguration) -> Void = { _ in }, upstreams: [UpstreamConfiguration] = [],
                              models: (RuntimeModel) throws -> ServedModels = { ServedModels(base: $0) },
                              store: DataStore? = nil, workers: Bool = false,
                              _ body: (TestService) async throws -> T) async throws -> T {
    let service = try await TestService(configure: configure, upstreams: upstreams, models: models, store: store)
    if workers {
        do {
            try await AppTestEnvironment.workers.acquire()
        } catch {
            await service.stop()
            throw error
        }
    }
    let result: Result<T, Error>
    do {
        result = .success(try await body(service))
    } catch {
        result = .failure(error)
    }
    if workers { await AppTestEnvironment.workers.release() }
    await service.stop()
    return try result.get()
}

/// Checks `condition` every 50 ms until it holds; gives up (throws) after `seconds`. Nothing is
/// measured against the time: it only keeps a broken test from hanging.
func waitUntil(_ what: String, seconds: Int = 120, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TestHTTPClient.Failure(description: "gave up waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(50))
    }
}

// MARK: feedback fixtures

/// Small, distinct preference pairs (a user who likes short answers).
enum Fixtures {
    static func pair(_ n: Int, id: String? = nil) -> JSONValue {
        var fields: [String: JSONValue] = [
            "kind": "pair",
            "prompt": .string("Question \(n): how do I boil an egg?"),
            "chosen": .string("Boil it for \(n + 6) minutes."),
            "rejected": .string("Eggs are a versatile ingredient with a long culinary history; boiling one, case \(n), takes some care."),
        ]
        if let id { fields["id"] = .string(id) }
        return .object(fields)
    }

    static func batch(_ events: [JSONValue]) -> JSONValue { .object(["events": .array(events)]) }

    static func pairs(_ count: Int, from first: Int = 1) -> JSONValue {
        batch((first..<first + count).map { pair($0) })
    }
}
