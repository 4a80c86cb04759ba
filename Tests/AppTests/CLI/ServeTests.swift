import ArgumentParser
import Foundation
import Testing
@testable import App

/// `popi serve`'s settings: one registry, resolved flag > variable > default, and the README's
/// configuration table kept equal to it.
@Suite struct ServeTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md")

    /// The rows of the table under "## Configuration": first three cells of each.
    static func readmeRows() throws -> [ServeSettingRow] {
        let text = try String(contentsOf: readme, encoding: .utf8)
        let section = try #require(text.components(separatedBy: "\n## Configuration\n").dropFirst().first)
        return section.components(separatedBy: "\n## ").first!.split(separator: "\n")
            .filter { $0.hasPrefix("| ") && !$0.hasPrefix("| Flag ") }
            .map { line in
                let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst()
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                return ServeSettingRow(flag: cells[0], variable: cells[1], shownDefault: cells[2])
            }
    }

    @Test func theReadmeTableIsTheRegistry() throws {
        let documented = Serve.Setting.documented, written = try Self.readmeRows()
        for (expected, row) in zip(documented, written) {
            #expect(row == expected, "README row \(row) should be \(expected)")
        }
        #expect(written.count == documented.count, "README has \(written.count) rows, the registry \(documented.count)")
    }

    @Test func defaultsComeFromTheOwningConfigurations() throws {
        let (configuration, level) = try Serve.parse([]).resolved(environment: [:])
        #expect(configuration.http.port == 8080 && configuration.http.host == "127.0.0.1" && level == .info)
        #expect(configuration.http.headerTimeout == .seconds(10) && configuration.shutdownGracePeriod == .seconds(10))
        #expect(configuration.api.summary.candidates == 8 && configuration.workers == 1 && configuration.threads == nil)
        #expect(configuration.modelPath.path.hasSuffix(RuntimeOptions.defaultModelPath) && configuration.databaseURL == nil)
        #expect(configuration.api.authFailureRatePerSecond == 1 && configuration.api.authFailureBurst == 20)
        #expect(configuration.refreshLease == RefreshWorkers.defaultLease)
    }

    @Test func aFlagWinsOverItsVariableWhichWinsOverTheDefault() throws {
        let environment = ["POPI_PORT": "9000", "POPI_RATE_LIMIT": "2.5", "POPI_BODY_TIMEOUT": "7", "DATABASE_URL": "",
                           "POPI_SUMMARIZER_ADAPTER": "s.gguf"]
        let (fromVariables, _) = try Serve.parse([]).resolved(environment: environment)
        #expect(fromVariables.http.port == 9000 && fromVariables.api.rateLimitPerSecond == 2.5)
        #expect(fromVariables.http.bodyIdleTimeout == .seconds(7) && fromVariables.databaseURL == nil, "empty counts as unset")
        #expect(fromVariables.summarizerAdapterPath == "s.gguf" && fromVariables.api.summary.candidates == 1,
                "a summarizer adapter needs one candidate")
        let (fromFlags, _) = try Serve.parse(["--port", "9100", "--candidates", "4"]).resolved(environment: environment)
        #expect(fromFlags.http.port == 9100 && fromFlags.api.summary.candidates == 4)
    }

    @Test func theRefreshLeaseIsASetting() throws {
        let (fromVariable, _) = try Serve.parse([]).resolved(environment: ["POPI_REFRESH_LEASE": "12.5"])
        #expect(fromVariable.refreshLease == .milliseconds(12_500))
        let (fromFlag, _) = try Serve.parse(["--refresh-lease", "3600"]).resolved(environment: ["POPI_REFRESH_LEASE": "12.5"])
        #expect(fromFlag.refreshLease == .seconds(3600))
    }

    @Test func theConnectionAndBodyLimitsAreSettings() throws {
        let (defaults, _) = try Serve.parse([]).resolved(environment: [:])
        #expect(defaults.http.maxConnectionsPerAddress == 64 && defaults.http.bodyTotalTimeout == .seconds(60))
        let (set, _) = try Serve.parse(["--body-total-timeout", "5"])
            .resolved(environment: ["POPI_MAX_CONNECTIONS_PER_ADDRESS": "512", "POPI_BODY_TOTAL_TIMEOUT": "9"])
        #expect(set.http.maxConnectionsPerAddress == 512 && set.http.bodyTotalTimeout == .seconds(5))
    }

    @Test func badValuesNameTheSetting() throws {
        for (arguments, environment, message) in [
            ([String](), ["POPI_PORT": "80a"], "POPI_PORT must be an integer"),
            ([], ["POPI_RATE_LIMIT": "fast"], "POPI_RATE_LIMIT must be a number"),
            (["--tls-cert", "c.pem"], [:], "--tls-cert and --tls-key go together"),
            (["--header-timeout", "0"], [:], "--header-timeout must be between 0 and 86400 seconds"),
            (["--max-connections-per-address", "0"], [:], "--max-connections-per-address must be between 1 and 1000000"),
            (["--log-level", "loud"], [:], "--log-level must be"),
            (["--rate-limit", "1e-300"], [:], "--rate-limit must be between 0.001 and 1000000000 requests per second"),
            (["--rate-limit", "inf"], [:], "--rate-limit must be between"),
            (["--auth-failure-burst", "0"], [:], "--auth-failure-burst must be between 1 and 1000000000"),
            (["--prefix-cache-mib", "2000000"], [:], "--prefix-cache-mib must be between 0 and 1048576"),
            ([], ["POPI_PREFIX_CACHE_MIB": "lots"], "POPI_PREFIX_CACHE_MIB"),
            ([], ["POPI_AUTH_FAILURE_RATE": "0"], "--auth-failure-rate must be between"),
            (["--max-connections", "9223372036854775807"], [:], "--max-connections must be between 1 and 1000000"),
            (["--tenant-share", "0"], [:], "--tenant-share must be more than 0 and at most 1"),
            ([], ["POPI_TENANT_SHARE": "nan"], "--tenant-share must be more than 0 and at most 1"),
            (["--max-upstream-calls", "0"], [:], "--max-upstream-calls must be 1-100000"),
            (["--refresh-lease", "4.9"], [:], "--refresh-lease must be 5-3600 seconds"),
            ([], ["POPI_REFRESH_LEASE": "3601"], "--refresh-lease must be 5-3600 seconds"),
            ([], ["POPI_REFRESH_LEASE": "nan"], "--refresh-lease must be 5-3600 seconds"),
            ([], ["POPI_REFRESH_LEASE": "1m"], "POPI_REFRESH_LEASE must be a number"),
            (["--max-tenant-bytes", "0"], [:], "--max-tenant-bytes must be at least 1"),
            (["--upstream", "name=a,base_url=http://x/v1,models=:"], [:], "--upstream: models entry"),
            (["--dev", "--host", "127.evil.com"], [:], "--dev prints a key at start: it needs a loopback --host"),
            (["--dev"], ["DATABASE_URL": "postgresql://u@db.example.com/x"], "add --dev-allow-remote-database"),
        ] {
            #expect {
                try Serve.parse(arguments).resolved(environment: environment)
            } throws: { error in
                "\(error)".contains(message)
            }
        }
    }
}
