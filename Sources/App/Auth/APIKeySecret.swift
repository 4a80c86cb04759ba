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

    /// Parses a presented key; nil when it does not have popi's shape.
    init?(parsing text: String) {
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
