import Crypto
import Foundation
import Testing
@testable import HTTPServer

/// HTTPS with a certificate the test makes itself (openssl CLI), checked with curl --cacert.
@Suite struct TLSTests {
    /// A self-signed certificate for localhost / 127.0.0.1 in a fresh folder.
    private func makeCertificate() throws -> (directory: URL, certificate: String, key: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("popi-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let status = try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                                  "-nodes", "-keyout", key, "-out", certificate, "-days", "1",
                                                  "-subj", "/CN=localhost",
                                                  "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]).status
        try #require(status == 0, "openssl could not make a certificate")
        return (directory, certificate, key)
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test func curlWithCACertOverTLS12And13() async throws {
        let files = try makeCertificate()
        defer { try? FileManager.default.removeItem(at: files.directory) }
        var configuration = HTTPServerConfiguration()
        configuration.tls = TLSConfiguration(certificatePath: files.certificate, privateKeyPath: files.key)
        let server = try TestServer(configuration)
        let url = "https://localhost:\(server.port)/hello"
        for version in [["--tlsv1.3"], ["--tlsv1.2", "--tls-max", "1.2"]] {
            let (status, output) = try await offPool {
                try run("/usr/bin/curl", ["-sS", "--cacert", files.certificate] + version
                        + ["-w", " %{http_code} %{num_connects} %{ssl_verify_result}\n", url, url])
            }
            #expect(status == 0, "curl \(version): \(output)")
            #expect(output == "hello 200 1 0\nhello 200 0 0\n", "two requests on one verified TLS connection (\(version))")
        }
        // A streamed body and a POST body over TLS.
        let (_, streamed) = try await offPool {
            try run("/usr/bin/curl", ["-sS", "--cacert", files.certificate, "https://localhost:\(server.port)/stream"])
        }
        #expect(streamed == "one,two,three")
        let (_, echoed) = try await offPool {
            try run("/usr/bin/curl", ["-sS", "--cacert", files.certificate, "--data-binary", String(repeating: "z", count: 100_000),
                                      "https://localhost:\(server.port)/echo"])
        }
        #expect(echoed.count == 100_000)
        // TLS 1.1 and older are refused.
        let (old, _) = try await offPool {
            try run("/usr/bin/curl", ["-sS", "--cacert", files.certificate, "--tlsv1.0", "--tls-max", "1.1", url])
        }
        #expect(old != 0)
        // Plain HTTP to the TLS port is not served.
        let client = try server.client()
        try client.send("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try client.isClosedByServer())
        await server.stop()
    }

    @Test func tlsClientVanishingMidStreamDoesNotKillTheServer() async throws {
        let files = try makeCertificate()
        defer { try? FileManager.default.removeItem(at: files.directory) }
        var configuration = HTTPServerConfiguration()
        configuration.tls = TLSConfiguration(certificatePath: files.certificate, privateKeyPath: files.key)
        let router = TestRoutes.router { router in
            router.get("/endless") { _ in
                .eventStream { events in
                    for i in 0..<3000 {
                        try await events.send(data: String(repeating: "x", count: 4096) + " \(i)")
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
            }
        }
        let server = try TestServer(configuration, router: router)
        // curl gives up mid-stream; the server's next TLS writes hit a closed socket, and it must
        // drop that connection and go on serving.
        _ = try await offPool {
            try run("/usr/bin/curl", ["-sS", "--max-time", "0.5", "--cacert", files.certificate,
                                      "https://localhost:\(server.port)/endless", "-o", "/dev/null"])
        }
        try await Task.sleep(for: .milliseconds(300))
        let (status, output) = try await offPool {
            try run("/usr/bin/curl", ["-sS", "--cacert", files.certificate, "https://localhost:\(server.port)/hello"])
        }
        #expect(status == 0)
        #expect(output == "hello")
        await server.stop()
    }

    @Test func badFilesAreReportedAtStart() throws {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.tls = TLSConfiguration(certificatePath: "/nonexistent/cert.pem", privateKeyPath: "/nonexistent/key.pem")
        let server = HTTPServer(configuration: configuration, router: Router())
        #expect(throws: TLSError.self) { try server.start() }
    }
}
