import Foundation

/// Finds the PostgreSQL server binaries (initdb, pg_ctl, postgres).
enum PostgresBinaries {
    static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        var candidates: [String] = []
        if let explicit = environment["POPI_PG_BINDIR"], !explicit.isEmpty {
            candidates.append(explicit)
        }
        if let result = try? Subprocess.run("/usr/bin/env", ["pg_config", "--bindir"]), result.status == 0 {
            candidates.append(result.output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let debianRoot = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: debianRoot)) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            candidates.append("\(debianRoot)/\(version)/bin")
        }
        for directory in candidates {
            let url = URL(fileURLWithPath: directory, isDirectory: true)
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("initdb").path),
               FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("pg_ctl").path) {
                return url
            }
        }
        throw EmbeddedPostgresError.binariesNotFound
    }
}
