import Foundation
import HTTPServer
import Testing
@testable import App

/// Authentication and scopes on a real socket: 401 for a missing, malformed, unknown or revoked
/// key (with a Bearer challenge), 403 for a key without the route's scope, 429 for an address
/// that keeps failing; and the key cache under a flood of random keys.
@Suite struct KeyAuthenticatorTests {
    @Test func missingMalformedUnknownAndRevokedKeysAre401() async throws {
        try await withService { service in
            let tenant = try await service.tenant()
            let path = "/v1/users/u1/feedback"
            let anonymous = service.client(nil)
            let unknown = try APIKeySecret.generate().full

            let attempts: [(String, String?)] = [
                ("no Authorization header", nil),
                ("not a Bearer scheme", "Basic \(Data("user:pass".utf8).base64EncodedString())"),
                ("Bearer without a key", "Bearer"),
                ("not popi's key shape", "Bearer sk-0123456789"),
                ("popi's shape with a bad character", "Bearer " + tenant.key.dropLast() + "!"),
                ("a well-formed key that was never issued", "Bearer \(unknown)"),
                ("the right prefix with a wrong secret", "Bearer " + tenant.key.dropLast(4) + "AAAA"),
            ]
            for (what, header) in attempts {
                let response = try await anonymous.send("GET", path, authorization: .some(header))
                #expect(response.status == 401, "\(what): \(response)")
                #expect(response.errorCode == "unauthorized", "\(what)")
                #expect(response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true, "\(what)")
            }
            // The key itself works...
            #expect(try await tenant.client.get(path).status == 404)

            // ...until an admin revokes it: refused at once on this replica.
            let admin = service.client(try await service.key(for: tenant.id, scopes: [.admin]))
            let keys = try await admin.get("/v1/admin/tenants/\(tenant.id)/keys").json["keys"]?.array ?? []
            let prefix = String(tenant.key.split(separator: "_")[1])
            let keyID = try #require(keys.first { $0["prefix"]?.string == prefix }?["key_id"]?.string)
            #expect(try await admin.delete("/v1/admin/tenants/\(tenant.id)/keys/\(keyID)").status == 200)
            let revoked = try await tenant.client.get(path)
            #expect(revoked.status == 401 && revoked.errorMessage?.contains("revoked") == true, "\(revoked)")
            // No error body ever echoes a key.
            #expect(!revoked.text.contains(tenant.key))
        }
    }

    /// `Authorization: Bearer <key>` as the key check reads it: the scheme in any case, the key
    /// without the whitespace around it (Foundation's `.whitespaces`: tab and Unicode spaces).
    @Test func theBearerTokenOfAnAuthorizationHeader() {
        let key = "popi_abcdefghijkl_abcdefghijklmnopqrstuvwxyz012345"
        for header in ["Bearer \(key)", "bearer \(key)", "BEARER    \(key)", "Bearer \t\(key)\t ", "  Bearer \(key)",
                       "Bearer \(key)\u{00A0}", "Bearer \u{3000}\(key)"] {
            #expect(KeyAuthenticator.bearerToken(header) == key, "\(header.debugDescription)")
        }
        for header in ["Bearer", "Bearer ", "Bearer \t", "Bearer\t\(key)", "Basic \(key)", "Bearerx \(key)", "Beare \(key)", key, ""] {
            #expect(KeyAuthenticator.bearerToken(header) == nil, "\(header.debugDescription)")
        }
        #expect(KeyAuthenticator.bearerToken("Bearer a b") == "a b", "what follows the scheme is the key's to refuse")
    }

    @Test func aKeyWithoutTheRouteScopeIs403() async throws {
        try await withService { service in
            let tenant = try await service.tenant(scopes: [.read])
            let readOnly = tenant.client
            let writeOnly = service.client(try await service.key(for: tenant.id, scopes: [.write]))

            let needsWrite = try await readOnly.post("/v1/users/u1/feedback", Fixtures.pair(1))
            #expect(needsWrite.status == 403 && needsWrite.errorCode == "forbidden", "\(needsWrite)")
            #expect(needsWrite.errorMessage?.contains("write") == true)
            let needsGenerate = try await readOnly.post("/v1/users/u1/generate", ["prompt": "Hi", "max_tokens": 1])
            #expect(needsGenerate.status == 403, "\(needsGenerate)")
            let needsAdmin = try await readOnly.get("/v1/admin/tenants")
            #expect(needsAdmin.status == 403, "\(needsAdmin)")
            let needsRead = try await writeOnly.get("/v1/users/u1/summary")
            #expect(needsRead.status == 403 && needsRead.errorMessage?.contains("read") == true, "\(needsRead)")

            // Nothing was written by the refused request.
            #expect(try await service.userID(tenant, "u1") == nil)
            // With the scope, the same key passes authentication.
            #expect(try await writeOnly.post("/v1/users/u1/feedback", Fixtures.pair(1)).status == 200)
            #expect(try await readOnly.get("/v1/users/u1/feedback").status == 200)
        }
    }

    /// A request as the in-process client makes it: no peer address, so never limited.
    static func request(_ key: String) -> Request {
        Request(method: .GET, target: "/v1/users/u1/feedback", headers: ["Authorization": "Bearer \(key)"])
    }

    /// 20,000 random well-formed keys (each a lookup, each a cached miss) evict no real key: a
    /// key used before the flood is still served from the cache after it, without a lookup, as
    /// shown by revoking it in the database behind the cache's back.
    @Test func aFloodOfRandomKeysEvictsNoRealKey() async throws {
        try await withService(configure: { $0.keyCacheSeconds = 3600 }) { service in
            let tenant = try await service.tenant()
            let authenticator = service.api.authenticator
            let caller = try await authenticator.authenticate(Self.request(tenant.key), scope: .read)
            #expect(try await service.store.apiKeys.revoke(tenant: tenant.id, id: caller.keyID) != nil)

            let refused = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        var refused = 0
                        for _ in 0..<2500 {
                            do {
                                _ = try await authenticator.authenticate(Self.request(try APIKeySecret.generate().full), scope: .read)
                            } catch let error as HTTPError where error.status.code == 401 {
                                refused += 1
                            }
                        }
                        return refused
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(refused == 20_000)
            let again = try await authenticator.authenticate(Self.request(tenant.key), scope: .read)
            #expect(again.keyID == caller.keyID, "the key was still cached")
            // Revocation on this replica reaches the cache at once.
            authenticator.invalidate(prefix: String(tenant.key.split(separator: "_")[1]))
            await #expect(throws: HTTPError.self) { try await authenticator.authenticate(Self.request(tenant.key), scope: .read) }
        }
    }

    /// Past its budget of failures (burst 3, no refill within the test), an address is answered
    /// 429 `too_many_failed_auth` with `Retry-After` for anything that would need a key lookup:
    /// even a valid key never seen here is refused (had it been looked up, it would pass). A key
    /// already seen here keeps working; a caller without an address (in-process) is not limited.
    @Test func anAddressThatKeepsFailingIsRefusedWithoutALookup() async throws {
        try await withService(configure: { $0.authFailureRatePerSecond = 0.001; $0.authFailureBurst = 3 }) { service in
            let tenant = try await service.tenant()
            let unseen = try await service.key(for: tenant.id, scopes: [.read])
            let path = "/v1/users/u1/feedback"
            #expect(try await tenant.client.get(path).status == 404, "the tenant's key, now cached")

            let anonymous = service.client(nil)
            for _ in 0..<3 {
                let response = try await anonymous.send("GET", path, authorization: .some("Bearer \(try APIKeySecret.generate().full)"))
                #expect(response.status == 401, "\(response)")
            }
            for header in ["Bearer \(try APIKeySecret.generate().full)", nil, "Bearer \(unseen)"] {
                let response = try await anonymous.send("GET", path, authorization: .some(header))
                #expect(response.status == 429 && response.errorCode == "too_many_failed_auth", "\(String(describing: header)): \(response)")
                #expect(Int(response.header("Retry-After") ?? "") ?? 0 >= 1, "\(response)")
                #expect(!response.text.contains(unseen))
            }
            #expect(try await tenant.client.get(path).status == 404, "a key seen here still passes")

            for _ in 0..<10 {
                await #expect(throws: HTTPError.unauthorized("invalid or revoked API key")) {
                    try await service.api.authenticator.authenticate(Self.request(try APIKeySecret.generate().full), scope: .read)
                }
            }

            #expect(service.metrics.registry.value("popi_auth_failures_total") == 13)
            #expect(service.metrics.registry.value("popi_auth_limited_total") == 3)
        }
    }
}
