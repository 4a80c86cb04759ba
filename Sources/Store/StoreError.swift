/// What went wrong in the store. `description` is safe to show a user (no passwords, no row
/// values); `detail` may carry the server's detail text and belongs in logs only.
public enum StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// DATABASE_URL could not be parsed (libpq's own explanation).
    case invalidDatabaseURL(String)
    /// No connection could be made (server down or unreachable, authentication failed, …).
    case unavailable(String)
    /// The connection broke while a statement was in flight; a write's outcome is unknown.
    case connectionLost(String)
    /// No pooled connection became free within the pool's acquire timeout.
    case poolTimeout(seconds: Double)
    /// The pool was shut down.
    case poolClosed
    /// The server rejected a statement.
    case server(ServerError)
    /// A value could not be bound as a parameter.
    case invalidValue(String)
    /// A result did not have the expected shape or types (a program error).
    case decoding(String)
    /// A statement returned more bytes than one result can hold.
    case resultTooLarge(limit: Int)
    /// A migration problem: see `MigrationError`.
    case migration(MigrationError)
    /// The thing to create exists already (e.g. a tenant name, a key prefix).
    case conflict(String)
    /// The row an operation needs does not exist (e.g. the user was erased meanwhile).
    case notFound(String)
    /// A write would pass a storage quota; nothing was written.
    case quotaExceeded(StorageQuota.Exceeded)
    /// The tenant already has `limit` jobs of the kind queued (`NewJob.maxQueuedPerTenant`).
    case queueFull(limit: Int)

    public var description: String {
        switch self {
        case .invalidDatabaseURL(let message):
            return "DATABASE_URL is not a valid PostgreSQL connection string: \(message)"
        case .unavailable(let message):
            return "the database is unavailable: \(message)"
        case .connectionLost(let message):
            return "the database connection was lost during a statement (its outcome is unknown): \(message)"
        case .poolTimeout(let seconds):
            return "no database connection became free within \(seconds) s"
        case .poolClosed:
            return "the database pool is shut down"
        case .server(let error):
            return "the database rejected a statement: \(error.message) (SQLSTATE \(error.sqlState))"
        case .invalidValue(let message):
            return "invalid value for the database: \(message)"
        case .decoding(let message):
            return "unexpected database result: \(message)"
        case .resultTooLarge(let limit):
            return "a database result is larger than \(limit) bytes"
        case .migration(let error):
            return error.description
        case .conflict(let message):
            return message
        case .notFound(let message):
            return message
        case .quotaExceeded(let exceeded):
            return exceeded.description
        case .queueFull(let limit):
            return "the tenant already has \(limit) jobs of this kind queued"
        }
    }

    /// True when retrying later may succeed (the server or network is the problem, not the request).
    public var isTransient: Bool {
        switch self {
        case .unavailable, .connectionLost, .poolTimeout: return true
        // Class 53 (insufficient resources: disk full, out of memory, too many connections)
        // passes once the server has room again.
        case .server(let error):
            return error.sqlState.hasPrefix("08") || error.sqlState.hasPrefix("57P") || error.sqlState.hasPrefix("53")
                || error.sqlState == "40001" || error.sqlState == "40P01"
        default: return false
        }
    }
}

/// An error the server reported for a statement.
public struct ServerError: Sendable, Equatable, CustomStringConvertible {
    /// Five-character SQLSTATE code, e.g. "23505" for a unique violation.
    public let sqlState: String
    public let message: String
    /// Server detail text; may quote row values, so never shown to users.
    public let detail: String?
    public let constraint: String?

    public var description: String { "\(message) (SQLSTATE \(sqlState))" }

    public var isUniqueViolation: Bool { sqlState == "23505" }
    public var isForeignKeyViolation: Bool { sqlState == "23503" }
    /// The server's disk is full (disk_full): writes fail, reads still work.
    public var isOutOfSpace: Bool { sqlState == "53100" }
}
