import CLibPQ
import Foundation

/// Where the database is and how the pool behaves. The connection string is validated once,
/// here, with libpq's own parser (PQconninfoParse), so a bad DATABASE_URL fails at start-up
/// with libpq's explanation instead of on the first query.
public struct DatabaseConfiguration: Sendable {
    /// The connection string as given: a `postgresql://` URI or `key=value` pairs.
    public let connectionString: String
    /// Parameters found in the connection string (keyword → value), password included.
    private(set) var parameters: [String: String]
    /// Settings that win over the connection string's (see `database(named:)`).
    private var overrides: [(String, String)] = []
    /// Number of connections (and dedicated threads) in the pool.
    public var poolSize: Int
    /// How long a caller waits for a free connection before `StoreError.poolTimeout`.
    public var acquireTimeout: Double
    /// libpq connect timeout in seconds, used unless the connection string sets `connect_timeout`.
    public var connectTimeout: Int
    /// First and largest pause between reconnect attempts once the server went away; while
    /// paused, calls fail at once with `StoreError.unavailable` instead of piling up. The largest
    /// is also how long a replica may go on failing once the server is back (it notices only at
    /// its next attempt): half a second, since an attempt on a server that refuses costs a round trip.
    public var reconnectBackoff: ClosedRange<Double>

    public init(connectionString: String, poolSize: Int = 10, acquireTimeout: Double = 10,
                connectTimeout: Int = 5, reconnectBackoff: ClosedRange<Double> = 0.05...0.5) throws {
        guard (1...1000).contains(poolSize) else {
            throw StoreError.invalidValue("pool size must be between 1 and 1000, not \(poolSize)")
        }
        self.connectionString = connectionString
        self.parameters = try Self.parse(connectionString)
        self.poolSize = poolSize
        self.acquireTimeout = acquireTimeout
        self.connectTimeout = connectTimeout
        self.reconnectBackoff = reconnectBackoff
    }

    /// Where the connection goes, without the password: safe for logs.
    public var redactedDescription: String {
        let host = parameters["host"] ?? parameters["hostaddr"] ?? "default host"
        let port = parameters["port"].map { ":\($0)" } ?? ""
        let user = parameters["user"].map { "\($0)@" } ?? ""
        let database = parameters["dbname"].map { "/\($0)" } ?? ""
        return "postgresql \(user)\(host)\(port)\(database)"
    }

    /// The hosts libpq connects to, in order: each entry of `hostaddr` (which wins) or of
    /// `host`, a unix socket folder when it starts with `/` or `@`. Empty when the string names
    /// none, and libpq falls back to `PGHOSTADDR` / `PGHOST`, else its local socket. Nil when a
    /// `service` entry (pg_service.conf) may name them instead.
    public var hosts: [String]? {
        guard parameters["service"] == nil else { return nil }
        let split = { (text: String?) in text.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? [] }
        let names = split(parameters["host"]), addresses = split(parameters["hostaddr"])
        return (0..<max(names.count, addresses.count)).map { i in
            i < addresses.count && !addresses[i].isEmpty ? addresses[i] : i < names.count ? names[i] : ""
        }
    }

    /// `value` as a value of a libpq `key=value` connection string: in single quotes, with `\`
    /// and `'` escaped by a backslash, so spaces and quotes (e.g. in a socket path) survive.
    static func conninfoQuoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    static func parse(_ connectionString: String) throws -> [String: String] {
        guard !connectionString.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw StoreError.invalidDatabaseURL("it is empty")
        }
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &errorMessage) else {
            let message = errorMessage.map { String(cString: $0) } ?? "out of memory"
            if let errorMessage { PQfreemem(errorMessage) }
            throw StoreError.invalidDatabaseURL(message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        defer { PQconninfoFree(options) }
        var result: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                result[String(cString: keyword)] = String(cString: value)
            }
            option += 1
        }
        return result
    }

    /// Keyword/value pairs for PQconnectdbParams, which applies them in order (later wins):
    /// popi's defaults, the connection string itself (expanded by libpq), then what popi must
    /// fix (UTF-8, since text is bound as UTF-8 bytes) and explicit overrides.
    var connectParameters: [(String, String)] {
        var pairs: [(String, String)] = []
        if parameters["connect_timeout"] == nil { pairs.append(("connect_timeout", String(connectTimeout))) }
        if parameters["application_name"] == nil { pairs.append(("application_name", "popi")) }
        pairs.append(("dbname", connectionString))
        pairs.append(("client_encoding", "UTF8"))
        return pairs + overrides
    }

    /// The same server and credentials, another database on it (tests, benchmarks).
    public func database(named name: String) -> DatabaseConfiguration {
        overriding("dbname", with: name)
    }

    /// The same settings with one connection parameter replaced.
    func overriding(_ keyword: String, with value: String) -> DatabaseConfiguration {
        var copy = self
        copy.overrides.append((keyword, value))
        copy.parameters[keyword] = value
        return copy
    }
}
