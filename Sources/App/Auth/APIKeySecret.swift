import Crypto
import Foundation
import Store

/// popi's API key format: `popi_<prefix>_<secret>`, where the 12-character prefix is stored in
/// clear to find the key's row and the 32-character secret is stored only as SHA-256 of the
/// whole key. Keys are compared by hash in constant time.
struct APIKeySecret: Sendable, Equatable {
    static let prefixLength = 12
    static let secretLength = 32
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    let prefix: String
    let full: String

    /// A new random key (OpenSSL's CSPRNG).
    static func generate() throws -> APIKeySecret {
        let prefix = try randomString(prefixLength), secret = try randomString(secretLength)
        return APIKeySecret(prefix: prefix, full: "popi_\(prefix)_\(secret)")
    }

    /// Parses a presented key; nil when it does not have popi's shape. Checked byte by byte: it
    /// runs on every authenticated request.
    init?(parsing text: String) {
        let bytes = text.utf8
        let head = "popi_".utf8
        let prefixStart = head.count, prefixEnd = prefixStart + Self.prefixLength
        guard bytes.count == prefixEnd + 1 + Self.secretLength, bytes.starts(with: head) else { return nil }
        for (offset, byte) in bytes.enumerated().dropFirst(prefixStart) {
            guard offset == prefixEnd ? byte == UInt8(ascii: "_") : Self.isAlphanumeric(byte) else { return nil }
        }
        let start = bytes.index(bytes.startIndex, offsetBy: prefixStart)
        self.init(prefix: String(text[start..<bytes.index(start, offsetBy: Self.prefixLength)]), full: text)
    }

    /// The alphabet's bytes: ASCII letters and digits.
    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: false
        }
    }

    private init(prefix: String, full: String) {
        self.prefix = prefix
        self.full = full
    }

    /// What the database stores: SHA-256 of the whole key.
    var hash: [UInt8] { SHA256.digest(Array(full.utf8)) }

    /// Makes a key; only its prefix and SHA-256 are stored. The secret is returned once.
    static func issue(in keys: APIKeyRepository, tenant: TenantID, name: String,
                      scopes: Set<Scope>) async throws -> (APIKeySecret, Store.APIKey) {
        let secret = try generate()
        let key = try await keys.create(tenant: tenant, name: name, prefix: secret.prefix,
                                        secretSHA256: Data(secret.hash), scopes: scopes.sorted().map(\.rawValue))
        return (secret, key)
    }

    private static func randomString(_ length: Int) throws -> String {
        // 62 symbols: reject bytes ≥ 248 so every symbol is equally likely.
        var out: [UInt8] = []
        var pool: ArraySlice<UInt8> = []
        while out.count < length {
            if pool.isEmpty {
                pool = try SecureRandom.bytes(length * 2)[...]
            }
            let byte = pool.removeFirst()
            if byte < 248 { out.append(alphabet[Int(byte) % 62]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
