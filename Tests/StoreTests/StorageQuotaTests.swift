import Foundation
import Testing
@testable import Store

/// Storage counts kept by the 0003 triggers, and quotas checked against them inside the writing
/// transaction (real PostgreSQL).
@Suite struct StorageQuotaTests {
    static func statement(_ key: String?, _ text: String) -> NewFeedbackEvent {
        NewFeedbackEvent(idempotencyKey: key, content: .statement(text: text))
    }

    /// The user's and the tenant's stored events and bytes.
    static func stored(_ store: DataStore, _ user: UserID) async throws -> (user: [Int64], tenant: [Int64]) {
        let row = try await store.pool.query("""
            SELECT u.stored_events, u.stored_bytes, t.stored_events, t.stored_bytes
            FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = \(user)
            """)[0]
        let (a, b, c, d) = try row.decode(Int64.self, Int64.self, Int64.self, Int64.self)
        return ([a, b], [c, d])
    }

    static let unlimited = StorageQuota(userEvents: .max, userBytes: .max, tenantEvents: .max, tenantBytes: .max)

    @Test func countsFollowInsertsDuplicatesDeletesAndErasure() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        // "abc" (3 bytes) + metadata "{}" (2) + key "k1" (2) = 7; "héllo" (6) + "{}" (2) = 8.
        let first = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "ann",
                                                    events: [Self.statement("k1", "abc"), Self.statement(nil, "héllo")])
        let ann = first.user.id
        #expect(try await Self.stored(store, ann) == ([2, 15], [2, 15]))
        // A retried batch stores nothing new and counts nothing.
        _ = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "ann", events: [Self.statement("k1", "abc")])
        #expect(try await Self.stored(store, ann) == ([2, 15], [2, 15]))
        let bob = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "bob", events: [Self.statement(nil, "xyz")]).user.id
        #expect(try await Self.stored(store, bob) == ([1, 5], [3, 20]))

        guard case .inserted(let id) = first.items[0] else { Issue.record("not inserted"); return }
        #expect(try await store.feedback.delete(user: ann, id: id))
        #expect(try await Self.stored(store, ann) == ([1, 8], [2, 13]))
        _ = try await store.userData.erase(tenant: tenant.id, externalUserID: "ann")
        #expect(try await Self.stored(store, bob) == ([1, 5], [1, 5]))
        // A user deleted with its events still attached (cascade) gives them back too.
        _ = try await store.pool.query("DELETE FROM users WHERE id = \(bob)")
        let row = try await store.pool.query("SELECT stored_events, stored_bytes FROM tenants WHERE id = \(tenant.id)")[0]
        let (events, bytes) = try row.decode(Int64.self, Int64.self)
        #expect(events == 0 && bytes == 0)
    }

    @Test func aBatchPastAQuotaStoresNothingAndSaysWhichLimit() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        var quota = Self.unlimited
        quota.userEvents = 3
        let events = (0..<3).map { Self.statement("e\($0)", "text \($0)") }
        let user = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "cy", events: events, quota: quota).user
        // Two new events (e3, e4) pass the user's limit: the whole batch is refused, nothing changes.
        await #expect(throws: StoreError.quotaExceeded(.init(scope: .user, measure: .events, wouldStore: 5, limit: 3))) {
            _ = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "cy",
                                                events: [Self.statement("e2", "text 2"), Self.statement("e3", "x"), Self.statement("e4", "y")],
                                                quota: quota)
        }
        #expect(try await store.feedback.counts(user: user.id) == [.statement: 3])
        #expect(try await store.users.find(tenant: tenant.id, externalID: "cy")?.feedbackRevision == 1)
        // Re-sending what is stored is never refused: duplicates add nothing.
        let again = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "cy", events: events, quota: quota)
        #expect(again.insertedCount == 0)

        // The tenant's bytes are shared by its users: "12345678" with its metadata "{}" is 10 bytes.
        var tenantQuota = Self.unlimited
        tenantQuota.tenantBytes = try await Self.stored(store, user.id).tenant[1] + 10
        _ = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "dee", events: [Self.statement(nil, "12345678")],
                                            quota: tenantQuota)
        await #expect(throws: StoreError.quotaExceeded(.init(scope: .tenant, measure: .bytes,
                                                             wouldStore: tenantQuota.tenantBytes + 3, limit: tenantQuota.tenantBytes))) {
            _ = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "eve", events: [Self.statement(nil, "1")],
                                                quota: tenantQuota)
        }
    }
}
