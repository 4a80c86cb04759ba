import Foundation
import Testing

/// `popi serve` as a process: answers /healthz over a real socket and exits 0 on SIGTERM.
@Suite struct ServeProcessTests {
    static let databaseURL = ProcessInfo.processInfo.environment["DATABASE_URL"]

    /// The popi executable next to the test bundle.
    private var popi: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("popi")
    }

    /// A port nothing listens on right now (the kernel picks it). Retried for a moment: other
    /// suites of the same process open and close many sockets at once, and a port that comes back
    /// as 0 would make `serve` refuse its --port rather than test anything.
    private func freePort() throws -> Int {
        var failure = ""
        for _ in 0..<20 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else {
                failure = "socket: errno \(errno)"
                usleep(100_000)
                continue
            }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            let port = Int(UInt16(bigEndian: address.sin_port))
            if bound, port > 0 { return port }
            failure = "bind: errno \(errno)"
            usleep(100_000)
        }
        throw PortUnavailable(description: "no free port on 127.0.0.1 (\(failure))")
    }

    struct PortUnavailable: Error, CustomStringConvertible {
        let description: String
    }

    private func curl(_ url: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-sS", "-m", "2", url]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test(.enabled(if: databaseURL != nil, "needs DATABASE_URL (make test provides one)"))
    func healthzAndGracefulSIGTERM() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: popi.path), "build popi first (swift build)")
        let port = try freePort()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("popi-serve-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let process = Process()
        process.executableURL = popi
        process.arguments = ["serve", "--port", String(port), "--data-dir", data.path, "--workers", "0"]
        let log = Pipe()
        process.standardError = log
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var body = ""
        for _ in 0..<100 {
            body = (try? curl("http://127.0.0.1:\(port)/healthz")) ?? ""
            if !body.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(body == #"{"status":"ok"}"#)
        // A TLS peer that vanishes makes OpenSSL's write(2) raise SIGPIPE: the server must ignore it.
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let ignored = status.split(separator: "\n").first { $0.hasPrefix("SigIgn:") }
            .flatMap { UInt64($0.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) } ?? 0
        #expect(ignored & (1 << (UInt64(SIGPIPE) - 1)) != 0, "SIGPIPE is ignored")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let output = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output.contains("shutting down"))
        #expect(output.contains("HTTP server stopped"))
    }

    @Test func aNumericVariableThatDoesNotParseStopsPopi() throws {
        try #require(FileManager.default.isExecutableFile(atPath: popi.path), "build popi first (swift build)")
        for (name, value, message) in [("POPI_PORT", "80a", "POPI_PORT must be an integer"),
                                       ("POPI_RATE_LIMIT", "fast", "POPI_RATE_LIMIT must be a number")] {
            let (status, _, output) = try PopiProcess.run(["serve"], environment: [name: value])
            #expect(status == 64, "\(name): \(output)")
            #expect(output.contains(message), "\(output)")
        }
    }

    /// A bad adapter stops `serve` at start, before it opens a database or a port, naming the
    /// flag (or variable), the file and the reason.
    @Test func aBadAdapterStopsServeWithTheReason() throws {
        try #require(FileManager.default.isExecutableFile(atPath: popi.path), "build popi first (swift build)")
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("popi-bad-adapter-\(UUID().uuidString).gguf")
        try Data("GGUF but not really".utf8).write(to: garbage)
        defer { try? FileManager.default.removeItem(at: garbage) }
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("popi-serve-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let cases: [([String], [String: String], String)] = [
            (["--summarizer-adapter", garbage.path], [:], "--summarizer-adapter \(garbage.path): invalid adapter file"),
            ([], ["POPI_GENERATOR_ADAPTER": "/nonexistent/generator.gguf"], "--generator-adapter /nonexistent/generator.gguf: cannot read"),
            (["--generator-adapter", AppTestEnvironment.modelPath], [:], "not an adapter file"),
        ]
        for (arguments, environment, message) in cases {
            let (status, _, output) = try PopiProcess.run(
                ["serve", "--model", AppTestEnvironment.modelPath, "--data-dir", data.path, "--port", String(freePort())] + arguments,
                environment: environment)
            #expect(status == 1, "\(arguments) \(environment): \(output)")
            #expect(output.contains(message), "\(output)")
            #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("pg").path), "no cluster was started")
        }
    }

    /// Settings out of range stop `serve` at start with exit status 64 and a message naming the
    /// setting, before it reads a model or opens a database: a rate so small that a token's wait
    /// overflows Retry-After, a connection count that overflows the descriptor limit, malformed
    /// `--upstream` specs, and upstream timeouts and counts beyond what a duration or an Int holds.
    @Test func settingsThatWouldOverflowStopServeWithTheirName() throws {
        try #require(PopiProcess.isBuilt, "build popi first (swift build)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("popi-settings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func upstreamsFile(_ fields: String) throws -> String {
            let file = folder.appendingPathComponent("upstreams-\(UUID().uuidString).json")
            try Data(#"{"upstreams": [{"name": "a", "base_url": "http://127.0.0.1:9/v1", \#(fields)}]}"#.utf8).write(to: file)
            return file.path
        }
        let upstream = "name=a,base_url=http://127.0.0.1:9/v1"
        let cases: [([String], [String: String], String)] = [
            (["--rate-limit", "0.0000001"], [:], "--rate-limit must be between 0.001 and 1000000000"),
            (["--rate-limit", "1e-300"], [:], "--rate-limit must be between"),
            (["--rate-limit", "nan"], [:], "--rate-limit must be between"),
            ([], ["POPI_RATE_LIMIT": "1e-300"], "--rate-limit must be between"),
            (["--rate-burst", "9223372036854775807"], [:], "--rate-burst must be between 1 and 1000000000"),
            (["--auth-failure-rate", "1e-300"], [:], "--auth-failure-rate must be between 0.001 and 1000000000"),
            (["--max-connections", "9223372036854775807"], [:], "--max-connections must be between 1 and 1000000"),
            (["--upstream", "\(upstream),models=:"], [:], #"--upstream: models entry ":" must be"#),
            (["--upstream", "\(upstream),models=a:"], [:], #"--upstream: models entry "a:" must be"#),
            (["--upstream", "\(upstream),models=:b"], [:], #"--upstream: models entry ":b" must be"#),
            (["--upstream", "\(upstream),models="], [:], #"--upstream: models entry "" must be"#),
            (["--upstream", "\(upstream),models=a+"], [:], #"--upstream: models entry "" must be"#),
            (["--upstream", "\(upstream),=x"], [:], #"--upstream: expected key=value, got "=x""#),
            (["--upstream", "\(upstream),name=b"], [:], "--upstream: name is given twice"),
            (["--upstreams-file", try upstreamsFile(#""timeouts": {"total": 1e308}"#)], [:],
             "upstreams[0].timeouts.total must be a number of seconds from 0.001 to 86400"),
            (["--upstreams-file", try upstreamsFile(#""timeouts": {"idle": 1e-9}"#)], [:], "upstreams[0].timeouts.idle must be"),
            (["--upstreams-file", try upstreamsFile(#""timeouts": {"totl": 5}"#)], [:], "upstreams[0].timeouts.totl is not a timeout"),
            (["--upstreams-file", try upstreamsFile(#""max_attempts": 9223372036854775807"#)], [:],
             "upstreams[0].max_attempts must be a whole number from 1 to 100"),
            (["--upstreams-file", try upstreamsFile(#""max_attempts": 1e19"#)], [:], "upstreams[0].max_attempts must be"),
            (["--upstreams-file", try upstreamsFile(#""max_attempts": 2.5"#)], [:], "upstreams[0].max_attempts must be"),
            (["--upstreams-file", try upstreamsFile(#""breaker_failures": 1e300"#)], [:], "upstreams[0].breaker_failures must be"),
            (["--upstreams-file", try upstreamsFile(#""breaker_open_seconds": 1e308"#)], [:],
             "upstreams[0].breaker_open_seconds must be a number of seconds from 1 to 86400"),
        ]
        let data = folder.appendingPathComponent("data")
        for (arguments, environment, message) in cases {
            let (status, _, output) = try PopiProcess.run(
                ["serve", "--model", "/nonexistent/model.gguf", "--data-dir", data.path, "--port", String(freePort())] + arguments,
                environment: environment)
            #expect(status == 64, "\(arguments) \(environment): \(output)")
            #expect(output.contains(message), "\(arguments) \(environment): \(output)")
        }
        #expect(!FileManager.default.fileExists(atPath: data.path), "nothing was started")
    }

    /// `--dev` needs a loopback `--host`, judged on the address (not on how its text begins),
    /// and a database on this machine unless `--dev-allow-remote-database` says otherwise.
    @Test func devRefusesANonLoopbackHostAndARemoteDatabase() throws {
        try #require(PopiProcess.isBuilt, "build popi first (swift build)")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("popi-dev-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let base = try ["serve", "--dev", "--model", "/nonexistent/model.gguf", "--data-dir", data.path, "--port", String(freePort())]
        let remote = ["DATABASE_URL": "postgresql://popi@db.example.com/popi"]
        let refused: [([String], [String: String], String)] = [
            (["--host", "127.evil.com"], [:], "--dev prints a key at start: it needs a loopback --host"),
            (["--host", "0.0.0.0"], [:], "it needs a loopback --host"),
            ([], remote, "DATABASE_URL names a host that is not this machine (postgresql popi@db.example.com/popi); add --dev-allow-remote-database"),
            ([], ["DATABASE_URL": "host=/tmp,10.1.2.3 dbname=popi"], "add --dev-allow-remote-database"),
        ]
        for (arguments, environment, message) in refused {
            let (status, _, output) = try PopiProcess.run(base + arguments, environment: environment)
            #expect(status == 64, "\(arguments) \(environment): \(output)")
            #expect(output.contains(message), "\(output)")
        }
        // Allowed: the settings pass, and popi stops later, at the missing model (exit 1).
        let allowed: [([String], [String: String])] = [
            (["--dev-allow-remote-database"], remote), (["--host", "127.0.0.2"], [:]), (["--host", "::1"], [:]),
            ([], ["DATABASE_URL": "postgresql://popi@127.0.0.1:5999/popi"]), ([], ["DATABASE_URL": "host=/var/run/postgresql"]),
        ]
        for (arguments, environment) in allowed {
            let (status, _, output) = try PopiProcess.run(base + arguments, environment: environment)
            #expect(status == 1 && output.contains("/nonexistent/model.gguf"), "\(arguments) \(environment): \(output)")
        }
    }

    /// `--dev`'s key reads, writes and generates but cannot administer tenants, and each start
    /// revokes the key the one before printed.
    @Test(.enabled(if: databaseURL != nil, "needs DATABASE_URL (make test provides one)"))
    func theDevKeyIsNotAdminAndTheNextStartRevokesIt() async throws {
        try #require(PopiProcess.isBuilt, "build popi first (swift build)")
        let first = try await DevServer.start(port: freePort())
        let firstKey = try #require(first.key, "\(first.log)")
        #expect(first.announcement.contains(#"development key (tenant "dev", scopes read,write,generate): popi_"#), "\(first.announcement)")
        let asFirst = TestHTTPClient(port: first.port, key: firstKey)
        #expect(try await asFirst.get("/v1/admin/tenants").status == 403)
        #expect(try await asFirst.get("/v1/users/dev-user/feedback").status == 404)
        first.stop()

        let second = try await DevServer.start(port: freePort())
        defer { second.stop() }
        let secondKey = try #require(second.key, "\(second.log)")
        #expect(secondKey != firstKey)
        #expect(try await TestHTTPClient(port: second.port, key: firstKey).get("/v1/users/dev-user/feedback").status == 401)
        #expect(try await TestHTTPClient(port: second.port, key: secondKey).get("/v1/users/dev-user/feedback").status == 404)
    }
}

/// `popi serve --dev` on the test database, its standard output and error in files.
private struct DevServer {
    let process: Process
    let port: Int
    let folder: URL

    var announcement: String { (try? String(contentsOf: folder.appendingPathComponent("out"), encoding: .utf8)) ?? "" }
    var log: String { (try? String(contentsOf: folder.appendingPathComponent("err"), encoding: .utf8)) ?? "" }
    var key: String? {
        announcement.split(separator: "\n").first { $0.hasPrefix("development key") }
            .flatMap { $0.split(separator: " ").last.map(String.init) }
    }

    static func start(port: Int) async throws -> DevServer {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("popi-devserver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = PopiProcess.url
        process.arguments = ["serve", "--dev", "--port", String(port), "--data-dir", folder.appendingPathComponent("data").path,
                             "--workers", "0", "--model", AppTestEnvironment.modelPath]
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("out").path, contents: nil)
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("err").path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: folder.appendingPathComponent("out"))
        process.standardError = try FileHandle(forWritingTo: folder.appendingPathComponent("err"))
        try process.run()
        let server = DevServer(process: process, port: port, folder: folder)
        // Up once /healthz answers; the key is printed before the server starts listening.
        for _ in 0..<300 where process.isRunning {
            if (try? await TestHTTPClient(port: port, key: nil).get("/healthz").status) == 200 { return server }
            try await Task.sleep(for: .milliseconds(100))
        }
        server.stop()
        throw TestHTTPClient.Failure(description: "popi serve --dev did not come up: \(server.log)")
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }
}
