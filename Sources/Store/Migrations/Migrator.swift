import Foundation

/// Applies numbered migrations in order, each in its own transaction, recorded in
/// `schema_migrations` with a SHA-256 checksum of the file. A PostgreSQL advisory lock held
/// for the whole run makes concurrent replicas take turns: the first applies, the others
/// then find nothing pending.
public struct Migrator: Sendable {
    /// Arbitrary constant naming popi's migration lock (pg_advisory_lock takes a bigint).
    static let lockKey: Int64 = 0x706f_7069_6d69_6772   // "popimigr"

    public let migrations: [Migration]

    public init(migrations: [Migration] = Migration.bundled) throws {
        self.migrations = try Migration.validated(migrations)
    }

    /// What `migrate` did.
    public struct Report: Sendable {
        /// Migrations this run applied, in order.
        public let applied: [Migration]
        /// Migrations that were already in the database.
        public let alreadyApplied: Int
    }

    /// Where the database stands relative to the known migrations.
    public struct Status: Sendable {
        public let applied: [Int]
        public let pending: [Migration]
        public var isUpToDate: Bool { pending.isEmpty }
    }

    /// Connects (a connection of its own, on the calling thread: this is start-up work),
    /// takes the lock, applies what is pending and disconnects.
    public func migrate(_ configuration: DatabaseConfiguration) throws -> Report {
        let connection = try Connection.connect(configuration)
        return try migrate(on: connection)
    }

    /// Checks applied checksums and lists pending migrations without changing anything.
    public func status(_ pool: ConnectionPool) async throws -> Status {
        let migrations = self.migrations
        return try await pool.withConnection { connection in
            let exists = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL")
                .first?.decode(0, as: Bool.self) ?? false
            let applied = exists ? try Self.appliedChecksums(connection) : [:]
            try Self.verify(applied: applied, against: migrations, connection: connection)
            return Status(applied: applied.keys.sorted(), pending: migrations.filter { applied[$0.version] == nil })
        }
    }

    func migrate(on connection: Connection) throws -> Report {
        try connection.execute("SELECT pg_advisory_lock(\(Self.lockKey))")
        defer { _ = try? connection.execute("SELECT pg_advisory_unlock(\(Self.lockKey))") }
        try connection.simple("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                duration_ms double precision NOT NULL
            )
            """)
        let applied = try Self.appliedChecksums(connection)
        try Self.verify(applied: applied, against: migrations, connection: connection)

        var done: [Migration] = []
        for migration in migrations where applied[migration.version] == nil {
            let started = DispatchTime.now()
            do {
                try connection.transaction { connection in
                    try connection.simple(migration.sql)
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6
                    try connection.execute("""
                        INSERT INTO schema_migrations (version, name, checksum, duration_ms)
                        VALUES (\(Int64(migration.version)), \(migration.name), \(try Self.checksum(migration, connection)), \(elapsed))
                        """)
                }
            } catch let error as StoreError {
                switch error {
                case .server(let server):
                    throw StoreError.migration(.failed(version: migration.version, name: migration.name, message: server.description))
                default:
                    throw error
                }
            }
            done.append(migration)
        }
        return Report(applied: done, alreadyApplied: applied.count)
    }

    static func appliedChecksums(_ connection: Connection) throws -> [Int: (name: String, checksum: String)] {
        var applied: [Int: (name: String, checksum: String)] = [:]
        for row in try connection.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version") {
            let (version, name, checksum) = try row.decode(Int.self, String.self, String.self)
            applied[version] = (name, checksum)
        }
        return applied
    }

    static func verify(applied: [Int: (name: String, checksum: String)], against migrations: [Migration],
                       connection: Connection) throws {
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, record) in applied.sorted(by: { $0.key < $1.key }) {
            guard let migration = known[version] else {
                throw StoreError.migration(.unknownApplied(version: version, name: record.name))
            }
            guard try checksum(migration, connection) == record.checksum else {
                throw StoreError.migration(.checksumMismatch(version: version, name: migration.name))
            }
        }
    }

    /// SHA-256 of the file's bytes, hex. Computed by the server so the store needs no crypto library.
    static func checksum(_ migration: Migration, _ connection: Connection) throws -> String {
        try connection.query("SELECT encode(sha256(\(Data(migration.sql.utf8))), 'hex')")
            .first?.decode(0, as: String.self) ?? ""
    }
}
