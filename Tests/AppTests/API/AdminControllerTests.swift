import Foundation
import Testing
@testable import App

/// Tenants and keys through the admin API, on a real socket.
@Suite struct AdminControllerTests {
    @Test func tenantsAndKeysAreCreatedListedAndRevoked() async throws {
        try await withService { service in
            let admin = try await service.tenant(scopes: [.admin]).client
            let name = "acme \(UUID().uuidString)"

            let created = try await admin.post("/v1/admin/tenants", ["name": .string(name)])
            #expect(created.status == 201, "\(created)")
            let tenantID = try #require(created.json["tenant_id"]?.string)
            #expect(created.json["name"]?.string == name && created.json["created_at"]?.string != nil)
            let duplicate = try await admin.post("/v1/admin/tenants", ["name": .string(name)])
            #expect(duplicate.status == 409 && duplicate.errorCode == "tenant_exists", "\(duplicate)")
            #expect(try await admin.post("/v1/admin/tenants", ["name": ""]).status == 400)
            let tenants = try await admin.get("/v1/admin/tenants").json["tenants"]?.array ?? []
            #expect(tenants.contains { $0["tenant_id"]?.string == tenantID && $0["name"]?.string == name })

            let issued = try await admin.post("/v1/admin/tenants/\(tenantID)/keys", ["name": "app", "scopes": ["read", "write"]])
            #expect(issued.status == 201 && issued.header("Cache-Control") == "no-store", "\(issued)")
            let secret = try #require(issued.json["key"]?.string)
            let keyID = try #require(issued.json["key_id"]?.string)
            #expect(APIKeySecret(parsing: secret) != nil)
            #expect(Set((issued.json["scopes"]?.array ?? []).compactMap(\.string)) == ["read", "write"] && issued.json["tenant_id"]?.string == tenantID)
            #expect(issued.json["revoked_at"]?.isNull == true && secret.contains(issued.json["prefix"]?.string ?? "?"))
            let defaults = try await admin.post("/v1/admin/tenants/\(tenantID)/keys", [:])
            #expect(Set((defaults.json["scopes"]?.array ?? []).compactMap(\.string)) == ["read", "write", "generate"], "\(defaults)")
            for bad: JSONValue in [["scopes": ["root"]], ["scopes": []], ["scopes": "read"]] {
                #expect(try await admin.post("/v1/admin/tenants/\(tenantID)/keys", bad).status == 400, "\(bad.text)")
            }

            // The new key works, within its tenant and scopes.
            let user = service.client(secret)
            #expect(try await user.post("/v1/users/u/feedback", Fixtures.pair(1)).status == 200)
            #expect(try await user.post("/v1/users/u/generate", ["prompt": "x", "max_tokens": 1]).status == 403)
            #expect(try await user.get("/v1/admin/tenants").status == 403)

            // Listed without its secret.
            let listed = try await admin.get("/v1/admin/tenants/\(tenantID)/keys")
            #expect(listed.status == 200)
            let keys = listed.json["keys"]?.array ?? []
            #expect(Set(keys.compactMap { $0["key_id"]?.string }).contains(keyID) && keys.count == 2)
            #expect(!listed.text.contains(secret) && keys.allSatisfy { $0["key"] == nil })

            let revoked = try await admin.delete("/v1/admin/tenants/\(tenantID)/keys/\(keyID)")
            #expect(revoked.status == 200 && revoked.json["revoked_at"]?.string != nil, "\(revoked)")
            #expect(try await user.get("/v1/users/u/feedback").status == 401)
            let relisted = try await admin.get("/v1/admin/tenants/\(tenantID)/keys").json["keys"]?.array ?? []
            #expect(relisted.first { $0["key_id"]?.string == keyID }?["revoked_at"]?.string != nil)

            // Unknown tenants and keys.
            let nowhere = UUID().uuidString
            #expect(try await admin.get("/v1/admin/tenants/\(nowhere)/keys").errorCode == "tenant_not_found")
            #expect(try await admin.post("/v1/admin/tenants/not-a-uuid/keys", [:]).status == 404)
            #expect(try await admin.delete("/v1/admin/tenants/\(tenantID)/keys/\(nowhere)").errorCode == "key_not_found")
            // A key of one tenant is not found under another.
            let other = try await admin.post("/v1/admin/tenants", ["name": .string("other \(UUID().uuidString)")]).json
            let otherID = try #require(other["tenant_id"]?.string)
            #expect(try await admin.delete("/v1/admin/tenants/\(otherID)/keys/\(defaults.json["key_id"]?.string ?? "")").status == 404)
        }
    }

    /// Two creations of one name at once: the second waits on the first's uncommitted row (forced
    /// here by inserting it in a transaction held open), then meets the unique name: 409.
    @Test func aTenantCreatedTwiceConcurrentlyIs409ForTheSecond() async throws {
        try await withService { service in
            let admin = try await service.tenant(scopes: [.admin]).client
            let name = "twice \(UUID().uuidString)"
            let second = try await LockedInterleaving.run(service.store.pool, lock: ["INSERT INTO tenants (name) VALUES (\(name))"],
                                                          then: []) {
                try await admin.post("/v1/admin/tenants", ["name": .string(name)])
            }
            #expect(second.status == 409 && second.errorCode == "tenant_exists", "\(second)")
            #expect(try await service.store.tenants.find(name: name) != nil)
        }
    }

    /// A key issued for a tenant deleted after the route found it: 404, as after the deletion.
    @Test func aKeyForATenantDeletedMeanwhileIs404() async throws {
        try await withService { service in
            let admin = try await service.tenant(scopes: [.admin]).client
            let tenant = try await service.store.tenants.create(name: "deleted \(UUID().uuidString)")
            let issued = try await LockedInterleaving.run(service.store.pool,
                                                          lock: ["SELECT id FROM tenants WHERE id = \(tenant.id) FOR UPDATE"],
                                                          then: ["DELETE FROM tenants WHERE id = \(tenant.id)"]) {
                try await admin.post("/v1/admin/tenants/\(tenant.id)/keys", [:])
            }
            #expect(issued.status == 404 && issued.errorCode == "tenant_not_found", "\(issued)")
        }
    }
}
