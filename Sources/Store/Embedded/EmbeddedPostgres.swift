public import Foundation

/// A PostgreSQL cluster that popi owns, kept in its data folder.
///
/// Used when no `DATABASE_URL` is given: `initdb` on first start (with a generated password),
/// a unix socket inside the cluster folder and no TCP port, `pg_ctl` start and stop, reuse on the
/// next start. PostgreSQL refuses to run as root, so when popi runs as root the cluster belongs
/// to the unprivileged `postgres` system user and every server binary runs through `runuser`.
public final class EmbeddedPostgres: Sendable {
    public let clusterDirectory: URL
    public let binDirectory: URL
    public let port: Int
    /// True when this process started the server (false when it adopted a running one):
    /// short-lived commands such as `popi migrate` stop only what they started.
    public let didStart: Bool
    private let password: String
    private let runAsUser: String?

    /// libpq connection string for the running cluster.
    public var connectionString: String {
        Self.connectionString(socketDirectory: clusterDirectory.path, port: port, password: password)
    }

    static func connectionString(socketDirectory: String, port: Int, password: String) -> String {
        [("host", socketDirectory), ("port", String(port)), ("user", "popi"), ("dbname", "postgres"), ("password", password)]
            .map { "\($0.0)=\(DatabaseConfiguration.conninfoQuoted($0.1))" }
            .joined(separator: " ")
    }

    /// What popi appends to the cluster's postgresql.conf: only the unix socket in the cluster
    /// folder, no TCP listener at all.
    static func serverSettings(socketDirectory: String, port: Int) -> String {
        // A quoted value in postgresql.conf takes `''` for a quote and `\\` for a backslash.
        let quoted = socketDirectory.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "''")
        return """

            # Added by popi: embedded cluster, reachable only through the unix socket below.
            listen_addresses = ''
            unix_socket_directories = '\(quoted)'
            unix_socket_permissions = 0700
            port = \(port)

            """
    }

    private init(clusterDirectory: URL, binDirectory: URL, port: Int, password: String, runAsUser: String?,
                 didStart: Bool = false) {
        self.clusterDirectory = clusterDirectory
        self.binDirectory = binDirectory
        self.port = port
        self.didStart = didStart
        self.password = password
        self.runAsUser = runAsUser
    }

    /// Creates the cluster if it does not exist yet, then starts it (or adopts a running one).
    public static func start(dataDirectory: URL, port: Int = 5432, binDirectory: URL? = nil) throws -> EmbeddedPostgres {
        let cluster = dataDirectory.appendingPathComponent("pg", isDirectory: true).standardizedFileURL
        // The socket path is `<cluster>/.s.PGSQL.<port>` and must fit in sockaddr_un.sun_path.
        let socketPath = cluster.path + "/.s.PGSQL.\(port)"
        guard socketPath.utf8.count < 104 else {
            throw EmbeddedPostgresError.socketPathTooLong(socketPath)
        }
        let bin = try binDirectory ?? PostgresBinaries.locate()
        let runAs: String? = geteuid() == 0 ? "postgres" : nil
        let passwordFile = dataDirectory.appendingPathComponent("pg-password")
        let fm = FileManager.default
        try fm.createDirectory(at: dataDirectory, withIntermediateDirectories: true)

        let password: String
        if fm.fileExists(atPath: cluster.appendingPathComponent("PG_VERSION").path) {
            guard let stored = try? String(contentsOf: passwordFile, encoding: .utf8) else {
                throw EmbeddedPostgresError.missingPassword(passwordFile.path)
            }
            password = stored.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            password = try Self.generatePassword()
            try PrivateFile.write(password + "\n", to: passwordFile)
            try Self.initialize(cluster: cluster, bin: bin, port: port, password: password, runAs: runAs)
        }
        let probe = EmbeddedPostgres(clusterDirectory: cluster, binDirectory: bin, port: port,
                                     password: password, runAsUser: runAs)
        if try probe.isRunning() { return probe }
        try probe.runServerTool("pg_ctl", ["start", "-D", cluster.path, "-w", "-t", "60",
                                           "-l", cluster.appendingPathComponent("server.log").path],
                                failure: { .startFailed($0) })
        return EmbeddedPostgres(clusterDirectory: cluster, binDirectory: bin, port: port, password: password,
                                runAsUser: runAs, didStart: true)
    }

    /// Stops the server (fast shutdown: open sessions are ended, data is flushed).
    public func stop() throws {
        guard try isRunning() else { return }
        try runServerTool("pg_ctl", ["stop", "-D", clusterDirectory.path, "-m", "fast", "-w", "-t", "60"],
                          failure: { .stopFailed($0) })
    }

    public func isRunning() throws -> Bool {
        // pg_ctl status exits 0 when running, 3 when not running.
        let result = try runServerToolRaw("pg_ctl", ["status", "-D", clusterDirectory.path])
        return result.status == 0
    }

    private static func initialize(cluster: URL, bin: URL, port: Int, password: String, runAs: String?) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: cluster, withIntermediateDirectories: true,
                               attributes: [.posixPermissions: 0o700])
        // initdb reads the password from a file that the server user can read; it is removed at once.
        let pwfile = fm.temporaryDirectory.appendingPathComponent("popi-pw-\(UUID().uuidString)")
        try PrivateFile.write(password + "\n", to: pwfile)
        defer { try? fm.removeItem(at: pwfile) }
        if let user = runAs {
            try chown(user: user, paths: [cluster.path, pwfile.path])
            // A root-only parent folder (e.g. under /root) would make initdb fail obscurely.
            let reachable = try Subprocess.run("/usr/sbin/runuser", ["-u", user, "--", "/usr/bin/test", "-w", cluster.path])
            guard reachable.status == 0 else {
                throw EmbeddedPostgresError.initdbFailed(
                    "the \(user) user cannot reach \(cluster.path); every parent folder must be searchable by it (chmod o+x), or set DATABASE_URL")
            }
        }
        let tool = EmbeddedPostgres(clusterDirectory: cluster, binDirectory: bin, port: port,
                                    password: password, runAsUser: runAs)
        try tool.runServerTool("initdb", ["-D", cluster.path, "-U", "popi", "--pwfile", pwfile.path,
                                          "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C"],
                               failure: { .initdbFailed($0) })
        let settings = serverSettings(socketDirectory: cluster.path, port: port)
        let conf = cluster.appendingPathComponent("postgresql.conf")
        let handle = try FileHandle(forWritingTo: conf)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(settings.utf8))
    }

    private func runServerTool(_ name: String, _ arguments: [String],
                               failure: (String) -> EmbeddedPostgresError) throws {
        let result = try runServerToolRaw(name, arguments)
        guard result.status == 0 else { throw failure(result.output) }
    }

    private func runServerToolRaw(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let tool = binDirectory.appendingPathComponent(name).path
        if let user = runAsUser {
            return try Subprocess.run("/usr/sbin/runuser", ["-u", user, "--", tool] + arguments)
        }
        return try Subprocess.run(tool, arguments)
    }

    private static func chown(user: String, paths: [String]) throws {
        let result = try Subprocess.run("/bin/chown", ["-R", "\(user):", ] + paths)
        guard result.status == 0 else { throw EmbeddedPostgresError.initdbFailed(result.output) }
    }

    private static func generatePassword() throws -> String {
        var bytes = [UInt8](repeating: 0, count: 24)
        let fd = open("/dev/urandom", O_RDONLY)
        guard fd >= 0 else { throw EmbeddedPostgresError.randomUnavailable }
        defer { close(fd) }
        guard read(fd, &bytes, bytes.count) == bytes.count else { throw EmbeddedPostgresError.randomUnavailable }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }
}

public enum EmbeddedPostgresError: Error, CustomStringConvertible, Equatable {
    case binariesNotFound
    case socketPathTooLong(String)
    case missingPassword(String)
    case randomUnavailable
    case initdbFailed(String)
    case startFailed(String)
    case stopFailed(String)
    case fileNotWritten(String, Int32)

    public var description: String {
        switch self {
        case .binariesNotFound:
            return "PostgreSQL server binaries not found (tried POPI_PG_BINDIR, `pg_config --bindir` and /usr/lib/postgresql/*/bin); install the `postgresql` package or set DATABASE_URL"
        case .socketPathTooLong(let path):
            return "the embedded database socket path \(path) is longer than a unix socket allows; use a shorter --data-dir"
        case .missingPassword(let path):
            return "the embedded database exists but its password file \(path) is missing"
        case .randomUnavailable:
            return "could not read /dev/urandom to generate the database password"
        case .initdbFailed(let output):
            return "initdb failed: \(output)"
        case .startFailed(let output):
            return "the embedded PostgreSQL did not start (see data/pg/server.log): \(output)"
        case .stopFailed(let output):
            return "the embedded PostgreSQL did not stop cleanly: \(output)"
        case .fileNotWritten(let path, let code):
            return "could not write \(path): \(String(cString: strerror(code)))"
        }
    }
}
