import Foundation
import Testing
@testable import Store

@Suite struct TenantAndKeyRepositoryTests {
    static func hash(_ n: UInt8) -> Data { Data(repeating: n, count: 32) }

    @Test func tenantsAreUniqueByName() async throws {
        let store = try await TestDatabase.store()
        let name = "acme \(UUID())"
        let tenant = try await store.tenants.create(name: name)
        await #expect(throws: StoreError.conflict("a tenant named \(name) exists already")) {
            try await store.tenants.create(name: name)
        }
        #expect(try await store.tenants.findOrCreate(name: name) == tenant)
        #expect(try await store.tenants.find(name: name) == tenant)
        #expect(try await store.tenants.find(id: tenant.id) == tenant)
        #expect(try await store.tenants.list().contains(tenant))
        let fresh = try await store.tenants.findOrCreate(name: "new \(UUID())")
        #expect(fresh.id != tenant.id)
        await #expect(throws: StoreError.self) { try await store.tenants.create(name: "") }
    }

    @Test func keysAreFoundByPrefixListedAndRevoked() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let prefix = "pk_\(UUID().uuidString.prefix(12))"
        let key = try await store.apiKeys.create(tenant: tenant.id, name: "ci", prefix: prefix, secretSHA256: Self.hash(7),
                                                 scopes: ["read", "write"])
        #expect(key.scopes == ["read", "write"] && !key.isRevoked && key.secretSHA256 == Self.hash(7))
        #expect(try await store.apiKeys.find(prefix: prefix) == key)
        #expect(try await store.apiKeys.find(prefix: "pk_missing\(UUID())") == nil)
        await #expect(throws: StoreError.conflict("an API key with this prefix exists already")) {
            try await store.apiKeys.create(tenant: tenant.id, prefix: prefix, secretSHA256: Self.hash(8), scopes: [])
        }
        await #expect(throws: StoreError.invalidValue("a key's SHA-256 must be 32 bytes")) {
            try await store.apiKeys.create(tenant: tenant.id, prefix: prefix + "x", secretSHA256: Data([1]), scopes: [])
        }
        #expect(try await store.apiKeys.list(tenant: tenant.id).map(\.id) == [key.id])

        // Another tenant cannot revoke it.
        let other = try await TestDatabase.tenant(store)
        #expect(try await store.apiKeys.revoke(tenant: other.id, id: key.id) == nil)
        let revoked = try #require(try await store.apiKeys.revoke(tenant: tenant.id, id: key.id))
        #expect(revoked.isRevoked)
        let again = try await store.apiKeys.revoke(tenant: tenant.id, id: key.id)
        #expect(again?.revokedAt == revoked.revokedAt)
        try await store.apiKeys.markUsed(id: key.id)
        #expect(try await store.apiKeys.find(prefix: prefix)?.lastUsedAt != nil)
    }

    @Test func revokeAllRevokesTheTenantsActiveKeysOfThatNameOnly() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store), other = try await TestDatabase.tenant(store)
        func key(_ tenant: TenantID, _ name: String) async throws -> APIKey {
            try await store.apiKeys.create(tenant: tenant, name: name, prefix: "pk_\(UUID().uuidString.prefix(12))",
                                           secretSHA256: Self.hash(3), scopes: ["read"])
        }
        let old = try await key(tenant.id, "dev"), older = try await key(tenant.id, "dev")
        let kept = try await key(tenant.id, "ci"), elsewhere = try await key(other.id, "dev")
        let firstRevocation = try #require(try await store.apiKeys.revoke(tenant: tenant.id, id: older.id)?.revokedAt)
        #expect(try await store.apiKeys.revokeAll(tenant: tenant.id, named: "dev") == 1, "active keys only")
        #expect(try await store.apiKeys.find(prefix: old.prefix)?.isRevoked == true)
        #expect(try await store.apiKeys.find(prefix: older.prefix)?.revokedAt == firstRevocation)
        #expect(try await store.apiKeys.find(prefix: kept.prefix)?.isRevoked == false)
        #expect(try await store.apiKeys.find(prefix: elsewhere.prefix)?.isRevoked == false)
        #expect(try await store.apiKeys.revokeAll(tenant: tenant.id, named: "dev") == 0)
    }

    @Test func deletingATenantRemovesItsKeysUsersAndData() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let prefix = "pk_\(UUID().uuidString.prefix(12))"
        _ = try await store.apiKeys.create(tenant: tenant.id, prefix: prefix, secretSHA256: Self.hash(1), scopes: ["admin"])
        let result = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "u",
                                                     events: [NewFeedbackEvent(content: .statement(text: "x"))])
        #expect(try await store.tenants.delete(id: tenant.id))
        #expect(try await store.apiKeys.find(prefix: prefix) == nil)
        #expect(try await store.users.find(id: result.user.id) == nil)
        #expect(try await !store.tenants.delete(id: tenant.id))
    }

    @Test func usersAreScopedToTheirTenant() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let other = try await TestDatabase.tenant(store)
        let user = try await store.users.findOrCreate(tenant: tenant.id, externalID: "same-name")
        #expect(try await store.users.findOrCreate(tenant: tenant.id, externalID: "same-name") == user)
        #expect(try await store.users.find(tenant: other.id, externalID: "same-name") == nil)
        let theirs = try await store.users.findOrCreate(tenant: other.id, externalID: "same-name")
        #expect(theirs.id != user.id)
        #expect(try await store.users.find(id: user.id) == user)
        let second = try await store.users.findOrCreate(tenant: tenant.id, externalID: "another")
        #expect(try await store.users.list(tenant: tenant.id).map(\.id) == [user.id, second.id])
        #expect(try await store.users.list(tenant: tenant.id, after: user.id).map(\.id) == [second.id])
        await #expect(throws: StoreError.self) { try await store.users.findOrCreate(tenant: tenant.id, externalID: "") }
    }

    @Test func usageCountersAccumulate() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let user = try await store.users.findOrCreate(tenant: tenant.id, externalID: "counted")
        #expect(try await store.usage.get(user: user.id) == nil)
        try await store.usage.record(user: user.id, promptTokens: 10, completionTokens: 5)
        try await store.usage.record(user: user.id, generations: 2, promptTokens: 1, completionTokens: 1)
        let usage = try #require(try await store.usage.get(user: user.id))
        #expect((usage.generations, usage.promptTokens, usage.completionTokens) == (3, 11, 6))
        await #expect(throws: StoreError.notFound("the user no longer exists")) {
            try await store.usage.record(user: UserID(rawValue: -1), promptTokens: 1, completionTokens: 1)
        }
    }
}
