import Foundation
import Testing

/// `popi serve` as a process: answers /healthz over a real socket and exits 0 on SIGTERM.
@Suite struct ServeProcessTests {
    static let databaseURL = ProcessInfo.processInfo.environment["DATABASE_URL"]

    /// The popi executable next to the test bundle.
    private var popi: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("popi")
    }

    private func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
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
        let port = freePort()
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
}
