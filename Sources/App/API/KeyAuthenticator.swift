import Crypto
import Foundation
import Synchronization
import HTTPServer
import Store

/// Checks `Authorization: Bearer <key>`: finds the key by its prefix (cached briefly), compares
/// SHA-256 digests in constant time, refuses revoked keys and keys without the route's scope.
///
/// Guessing keys costs the guesser, not the database: every failed authentication spends a
/// token of the client address's bucket, and an address with none left is answered 429 without
/// a lookup, except with a key this replica has already seen authenticate. Prefixes that name
/// no key are cached apart from real keys, so a flood of them never evicts a real one.
final class KeyAuthenticator: Sendable {
    /// Entries of each cache (keys found, prefixes without a key); the least recently used go first.
    static let cacheCapacity = 10_000
    /// Client addresses whose failures are counted at once (memory bound of the limiter).
    static let trackedAddresses = 100_000

    private let store: DataStore
    private let cacheSeconds: Double
    private let failures: RateLimiter<String>
    private let metrics: ServiceMetrics
    private struct Cache {
        var found = LRUCache<String, (key: Store.APIKey, expires: Double)>(capacity: KeyAuthenticator.cacheCapacity)
        var missing = LRUCache<String, Double>(capacity: KeyAuthenticator.cacheCapacity)
    }
    private let cache = Mutex(Cache())
    private let lastUsedWrites = Mutex<[APIKeyID: Double]>([:])

    /// What the cache knows of a presented key.
    private enum Cached {
        /// Trusted until it expires: the key found, or nil when the prefix names none.
        case fresh(Store.APIKey?)
        /// An expired entry of this very key (same secret): looked up again without spending.
        case stale
        case unknown
    }

    init(store: DataStore, cacheSeconds: Double, failuresPerSecond: Double, failureBurst: Int, metrics: ServiceMetrics) {
        self.store = store
        self.cacheSeconds = cacheSeconds
        failures = RateLimiter(ratePerSecond: failuresPerSecond, burst: failureBurst, capacity: Self.trackedAddresses)
        self.metrics = metrics
    }

    func authenticate(_ request: Request, scope: Scope) async throws -> Caller {
        // Nil without a peer (the in-process client): nothing to count against. Worked out only
        // where a failure may be counted: a request with a cached key never needs it.
        var client: String? { request.remoteAddress.flatMap(ClientAddress.limitKey) }
        guard let header = request.headers["Authorization"] else {
            throw try failure("missing Authorization: Bearer <key>", client: client)
        }
        guard let token = Self.bearerToken(header), let presented = APIKeySecret(parsing: token) else {
            throw try failure("malformed API key", client: client)
        }
        let hash = presented.hash
        var spent = false
        let key: Store.APIKey?
        switch cached(prefix: presented.prefix, hash: hash) {
        case .fresh(let found):
            key = found
        case .stale:
            key = try await lookup(prefix: presented.prefix)
        case .unknown:
            try spend(client)
            spent = true
            do {
                key = try await lookup(prefix: presented.prefix)
            } catch {
                // The database failed, not the key: the client spent nothing.
                if let client { failures.refund(client) }
                throw error
            }
        }
        guard let key, SHA256.digestsEqual(Array(key.secretSHA256), hash), !key.isRevoked else {
            throw try failure("invalid or revoked API key", client: client, spent: spent)
        }
        if spent, let client { failures.refund(client) }
        guard key.scopes.contains(scope.rawValue) else {
            throw HTTPError.forbidden(missing: scope)
        }
        await noteUse(key.id)
        return Caller(keyID: key.id, tenantID: key.tenantID)
    }

    /// The credentials of `Bearer <token>`: the scheme in any case, then the token without the
    /// whitespace around it (tab and Unicode spaces, as Foundation's `.whitespaces`); nil for
    /// another scheme or no token. Works on the header's scalars, without Foundation.
    static func bearerToken(_ header: String) -> String? {
        let scalars = header.unicodeScalars
        var start = scalars.startIndex
        while start < scalars.endIndex, scalars[start] == " " { start = scalars.index(after: start) }
        guard let space = scalars[start...].firstIndex(of: " "),
              scalars[start..<space].elementsEqual("bearer".unicodeScalars, by: { $0.value | 0x20 == $1.value })
        else { return nil }
        start = space
        var end = scalars.endIndex
        while start < end, isWhitespace(scalars[start]) { start = scalars.index(after: start) }
        while end > start, isWhitespace(scalars[scalars.index(before: end)]) { end = scalars.index(before: end) }
        return start < end ? String(scalars[start..<end]) : nil
    }

    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII ? scalar == " " || scalar == "\t" : scalar.properties.generalCategory == .spaceSeparator
    }

    /// Forgets a key at once (revocation on this replica).
    func invalidate(prefix: String) {
        cache.withLock { cache in
            cache.found.remove(prefix)
            cache.missing.remove(prefix)
        }
    }

    /// A failed authentication: 401, after spending one of the client's tokens (429 if none is left).
    private func failure(_ message: String, client: String?, spent: Bool = false) throws -> HTTPError {
        if !spent { try spend(client) }
        metrics.registry.increment("popi_auth_failures_total")
        return HTTPError.unauthorized(message)
    }

    /// Takes a token of the client's failure budget, or refuses the request when it is spent.
    private func spend(_ client: String?) throws {
        guard let client, let wait = failures.acquire(client) else { return }
        metrics.registry.increment("popi_auth_limited_total")
        throw HTTPError.tooManyFailedAuthentications(retryAfter: wait)
    }

    private func cached(prefix: String, hash: [UInt8]) -> Cached {
        let now = Date().timeIntervalSinceReferenceDate
        return cache.withLock { cache in
            if let entry = cache.found.get(prefix) {
                if entry.expires > now { return .fresh(entry.key) }
                return SHA256.digestsEqual(Array(entry.key.secretSHA256), hash) ? .stale : .unknown
            }
            if let expires = cache.missing.get(prefix), expires > now { return .fresh(nil) }
            return .unknown
        }
    }

    private func lookup(prefix: String) async throws -> Store.APIKey? {
        let key = try await store.apiKeys.find(prefix: prefix)
        let expires = Date().timeIntervalSinceReferenceDate + cacheSeconds
        cache.withLock { cache in
            if let key {
                cache.found.set(prefix, (key, expires))
                cache.missing.remove(prefix)
            } else {
                cache.missing.set(prefix, expires)
                cache.found.remove(prefix)
            }
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
