public import Foundation

/// An upstream API key. Its value never appears in `description`, logs or errors.
public struct APIKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let value: String

    public init(_ value: String) throws {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw UpstreamConfigurationError.emptyKey }
        // The key goes into an HTTP header: control characters would split or corrupt it.
        guard trimmed.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw UpstreamConfigurationError.invalidKeyCharacters
        }
        self.value = trimmed
    }

    /// Reads the key from an environment variable.
    public static func fromEnvironment(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> APIKey {
        guard let value = environment[name] else { throw UpstreamConfigurationError.missingKeyVariable(name) }
        return try APIKey(value)
    }

    /// Reads the key from a file (its first line; trailing whitespace ignored).
    public static func fromFile(_ path: String) throws -> APIKey {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw UpstreamConfigurationError.unreadableKeyFile(path)
        }
        return try APIKey(text.split(whereSeparator: \.isNewline).first.map(String.init) ?? "")
    }

    /// Replaces every occurrence of the key in `text` (e.g. an upstream error echoing it back),
    /// also in its JSON-escaped form, as it appears in a raw JSON body.
    func redact(_ text: String) -> String {
        var text = text.replacingOccurrences(of: value, with: "[redacted]")
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "/", with: "\\/")
        if escaped != value { text = text.replacingOccurrences(of: escaped, with: "[redacted]") }
        return text
    }

    public var description: String { "[redacted]" }
    public var debugDescription: String { "[redacted]" }
}
