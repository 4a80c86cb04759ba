public import Foundation

/// One numbered SQL file from `migrations/`, e.g. `0001_init.sql`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public var fileName: String { String(format: "%04d_%@.sql", version, name) }

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Parses `NNNN_name.sql` (four or more digits, lower-case name of letters, digits, `_`).
    public init(fileName: String, sql: String) throws {
        guard fileName.hasSuffix(".sql"),
              let underscore = fileName.firstIndex(of: "_"),
              let version = Int(fileName[..<underscore]),
              fileName.distance(from: fileName.startIndex, to: underscore) >= 4,
              fileName[..<underscore].allSatisfy(\.isASCII)
        else {
            throw MigrationError.invalidFileName(fileName)
        }
        let name = String(fileName[fileName.index(after: underscore)..<fileName.index(fileName.endIndex, offsetBy: -4)])
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
            throw MigrationError.invalidFileName(fileName)
        }
        self.init(version: version, name: name, sql: sql)
    }

    /// Reads every `*.sql` file of a folder, sorted by version; other files are ignored.
    public static func load(from directory: URL) throws -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw MigrationError.unreadable(directory.path, "\(error.localizedDescription)")
        }
        var migrations: [Migration] = []
        for name in names where name.hasSuffix(".sql") {
            let url = directory.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw MigrationError.unreadable(url.path, "cannot read the file")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw MigrationError.unreadable(url.path, "the file is not UTF-8")
            }
            migrations.append(try Migration(fileName: name, sql: text))
        }
        return try validated(migrations)
    }

    /// Sorts by version and rejects two files with one number.
    public static func validated(_ migrations: [Migration]) throws -> [Migration] {
        let sorted = migrations.sorted { $0.version < $1.version }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.version == next.version {
            throw MigrationError.duplicateVersion(next.version)
        }
        return sorted
    }
}

/// What can go wrong applying migrations; each names the file involved.
public enum MigrationError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidFileName(String)
    case unreadable(String, String)
    case duplicateVersion(Int)
    /// An applied migration's file changed since it was applied.
    case checksumMismatch(version: Int, name: String)
    /// The database has a migration this build of popi does not know (it is older than the schema).
    case unknownApplied(version: Int, name: String)
    /// A migration failed; it was rolled back as a whole, earlier ones stay applied.
    case failed(version: Int, name: String, message: String)

    public var description: String {
        switch self {
        case .invalidFileName(let name):
            return "migration file \(name) is not named NNNN_name.sql (digits, underscore, lower-case name)"
        case .unreadable(let path, let reason):
            return "cannot read migrations from \(path): \(reason)"
        case .duplicateVersion(let version):
            return "two migration files have the number \(String(format: "%04d", version))"
        case .checksumMismatch(let version, let name):
            return "migration \(String(format: "%04d", version))_\(name).sql was changed after it was applied to this database; add a new migration instead of editing an applied one"
        case .unknownApplied(let version, let name):
            return "the database has migration \(String(format: "%04d", version))_\(name) applied, which this popi does not know; it is older than the database schema"
        case .failed(let version, let name, let message):
            return "migration \(String(format: "%04d", version))_\(name).sql failed and was rolled back: \(message)"
        }
    }
}
