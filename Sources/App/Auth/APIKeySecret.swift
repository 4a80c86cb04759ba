import COpenSSL
import Foundation

/// popi's API key format: `popi_<prefix>_<secret>`, where the 12-character prefix is stored in
/// clear to find the key's row and the 32-character secret is stored only as SHA-256 of the
/// whole key. Keys are compared by hash in constant time.
public struct APIKeySecret: Sendable, Equatable {
    public static let prefixLength = 12
    public static let secretLength = 32
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    public let prefix: String
    public let full: String

    /// A new random key (OpenSSL's CSPRNG).
    public static func generate() throws -> APIKeySecret {
        let prefix = try randomString(prefixLength), secret = try randomString(secretLength)
        return APIKeySecret(prefix: prefix, full: "popi_\(prefix)_\(secret)")
    }

    /// Parses a presented key; nil when it does not have popi's shape.
    public init?(parsing text: String) {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "popi",
              parts[1].utf8.count == Self.prefixLength, parts[2].utf8.count == Self.secretLength,
              (Array(parts[1].utf8) + Array(parts[2].utf8)).allSatisfy(Self.alphabet.contains) else { return nil }
        self.init(prefix: String(parts[1]), full: text)
    }

    private init(prefix: String, full: String) {
        self.prefix = prefix
        self.full = full
    }

    /// What the database stores: SHA-256 of the whole key.
    public var hash: [UInt8] { SHA256.digest(Array(full.utf8)) }

    /// Constant-time comparison of two digests (no early exit on the first differing byte).
    public static func digestsEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 }
        }
    }

    private static func randomString(_ length: Int) throws -> String {
        var bytes = [UInt8](repeating: 0, count: length * 2)
        guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else { throw APIKeyError.randomUnavailable }
        // 62 symbols: reject bytes ≥ 248 so every symbol is equally likely.
        var out: [UInt8] = []
        var pool = bytes[...]
        while out.count < length {
            if pool.isEmpty {
                guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else { throw APIKeyError.randomUnavailable }
                pool = bytes[...]
            }
            let byte = pool.removeFirst()
            if byte < 248 { out.append(alphabet[Int(byte) % 62]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

public enum APIKeyError: Error, CustomStringConvertible {
    case randomUnavailable
    public var description: String { "the system random generator is unavailable" }
}
