import Crypto
import Foundation
import Synchronization
import HTTPServer
import Store

/// Checks `Authorization: Bearer <key>`: finds the key by its prefix (cached briefly), compares
/// SHA-256 digests in constant time, refuses revoked keys and keys without the route's scope.
final class KeyAuthenticator: Sendable {
    private let store: DataStore
    private let cacheSeconds: Double
    private let cache = Mutex<[String: (key: Store.APIKey?, expires: Double)]>([:])
    private let lastUsedWrites = Mutex<[APIKeyID: Double]>([:])

    init(store: DataStore, cacheSeconds: Double) {
        self.store = store
        self.cacheSeconds = cacheSeconds
    }

    func authenticate(_ request: Request, scope: Scope) async throws -> Caller {
        guard let header = request.headers["Authorization"] else {
            throw HTTPError.unauthorized("missing Authorization: Bearer <key>")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer",
              let presented = APIKeySecret(parsing: parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw HTTPError.unauthorized("malformed API key")
        }
        guard let key = try await lookup(prefix: presented.prefix),
              SHA256.digestsEqual(Array(key.secretSHA256), presented.hash), !key.isRevoked else {
            throw HTTPError.unauthorized("invalid or revoked API key")
        }
        let scopes = Set(key.scopes.compactMap(Scope.init(rawValue:)))
        guard scopes.contains(scope) else {
            throw HTTPError.forbidden(missing: scope)
        }
        await noteUse(key.id)
        return Caller(keyID: key.id, tenantID: key.tenantID)
    }

    /// Forgets a key at once (revocation on this replica).
    func invalidate(prefix: String) {
        cache.withLock { $0[prefix] = nil }
    }

    private func lookup(prefix: String) async throws -> Store.APIKey? {
        let now = Date().timeIntervalSinceReferenceDate
        if let hit = cache.withLock({ $0[prefix] }), hit.expires > now { return hit.key }
        let key = try await store.apiKeys.find(prefix: prefix)
        cache.withLock { cache in
            // Bounded: random prefixes (misses are cached too) cannot grow it without limit.
            if cache.count >= 10_000 {
                cache = cache.filter { $0.value.expires > now }
                if cache.count >= 10_000 { cache.removeAll() }
            }
            cache[prefix] = (key, now + cacheSeconds)
        }
        return key
    }

    /// `last_used_at` is written at most once a minute per key, not on every request.
    private func noteUse(_ id: APIKeyID) async {
        let now = Date().timeIntervalSinceReferenceDate
        let due = lastUsedWrites.withLock { writes -> Bool in
            guard now - (writes[id] ?? 0) > 60 else { return false }
            writes[id] = now
            return true
        }
        if due { try? await store.apiKeys.markUsed(id: id) }
    }
}
