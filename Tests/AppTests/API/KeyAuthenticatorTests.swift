import Foundation
import Testing
@testable import App

/// Authentication and scopes on a real socket: 401 for a missing, malformed, unknown or revoked
/// key (with a Bearer challenge), 403 for a key without the route's scope.
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
}
