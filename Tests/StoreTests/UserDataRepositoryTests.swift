import Foundation
import Testing
@testable import Store

@Suite struct UserDataRepositoryTests {
    /// Tables that hold no per-user rows. Any other table must be covered by `rowsPerTable`;
    /// a new table fails this test until it is classified (and erased, if it holds user data).
    static let tablesWithoutUserRows: Set<String> = ["tenants", "api_keys", "schema_migrations"]

    /// Gives a user rows in every user table: events, summaries, jobs, usage.
    func populate(_ store: DataStore, tenant: TenantID, user name: String) async throws -> User {
        let result = try await store.feedback.ingest(
            tenant: tenant, externalUserID: name,
            events: [NewFeedbackEvent(idempotencyKey: "1", content: .pair(prompt: "p", chosen: "c", rejected: "r")),
                     NewFeedbackEvent(idempotencyKey: "2", content: .statement(text: "\(name) likes tea")),
                     NewFeedbackEvent(content: .content(text: "essay", prompt: nil))],
            refresh: { .summaryRefresh(for: $0) })
        _ = try await store.summaries.add(user: result.user.id, NewSummaryVersion(text: "summary of \(name)", modelID: "m", promptVersion: "v1"))
        _ = try await store.summaries.add(user: result.user.id, NewSummaryVersion(text: "newer", modelID: "m", promptVersion: "v1"))
        _ = try await store.jobs.enqueue(NewJob(kind: "test-other-\(UUID())", userID: result.user.id))
        try await store.usage.record(user: result.user.id, promptTokens: 3, completionTokens: 4)
        return result.user
    }

    /// Rows for one user in every table of the schema that has a user column.
    func rowsPerTable(_ store: DataStore, _ user: UserID) async throws -> [String: Int] {
        let tables = try await store.pool.query("""
            SELECT table_name::text FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1
            """).map { try $0.decode(0, as: String.self) }
        var counts: [String: Int] = [:]
        for table in tables where !Self.tablesWithoutUserRows.contains(table) {
            let column = table == "users" ? "id" : "user_id"
            // Table names come from the catalog, not from input.
            counts[table] = try await store.pool.query(
                SQL(unsafeRaw: "SELECT count(*) FROM \(table) WHERE \(column) = ") + "\(user)")[0].decode(0, as: Int.self)
        }
        return counts
    }

    @Test func erasureRemovesEveryRowOfTheUserAndNothingElse() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let otherTenant = try await TestDatabase.tenant(store)
        let victim = try await populate(store, tenant: tenant.id, user: "victim")
        let neighbour = try await populate(store, tenant: tenant.id, user: "neighbour")
        // Same external id in another tenant: a different person.
        let namesake = try await populate(store, tenant: otherTenant.id, user: "victim")

        let before = try await rowsPerTable(store, victim.id)
        #expect(before == ["feedback_events": 3, "summary_versions": 2, "jobs": 2, "usage_counters": 1, "users": 1])
        let neighbourBefore = try await rowsPerTable(store, neighbour.id)
        let namesakeBefore = try await rowsPerTable(store, namesake.id)
        let neighbourExport = try await store.userData.export(tenant: tenant.id, externalUserID: "neighbour")

        let report = try #require(try await store.userData.erase(tenant: tenant.id, externalUserID: "victim"))
        #expect(report.feedbackEvents == 3)
        #expect(report.summaryVersions == 2)
        #expect(report.jobs == 2)
        #expect(report.usageCounters == 1)
        #expect(report.users == 1)
        #expect(report.total == 9)

        let after = try await rowsPerTable(store, victim.id)
        for (table, rows) in after.sorted(by: { $0.key < $1.key }) {
            #expect(rows == 0, "\(table) still has \(rows) rows of the erased user")
        }
        #expect(try await rowsPerTable(store, neighbour.id) == neighbourBefore)
        #expect(try await rowsPerTable(store, namesake.id) == namesakeBefore)
        let neighbourAfter = try await store.userData.export(tenant: tenant.id, externalUserID: "neighbour")
        #expect(neighbourAfter?.events == neighbourExport?.events)
        #expect(neighbourAfter?.summaries == neighbourExport?.summaries)
        #expect(neighbourAfter?.jobs == neighbourExport?.jobs)

        #expect(try await store.userData.erase(tenant: tenant.id, externalUserID: "victim") == nil)
        #expect(try await store.userData.export(tenant: tenant.id, externalUserID: "victim") == nil)
    }

    @Test func exportHasEverythingStoredAboutTheUser() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let user = try await populate(store, tenant: tenant.id, user: "exported")
        let export = try #require(try await store.userData.export(tenant: tenant.id, externalUserID: "exported"))
        #expect(export.user.id == user.id)
        #expect(export.events.map(\.content.kind) == [.pair, .statement, .content])
        #expect(export.events.map(\.idempotencyKey) == ["1", "2", nil])
        #expect(export.summaries.map(\.text) == ["summary of exported", "newer"])
        #expect(export.jobs.count == 2 && export.jobs.contains { $0.kind == NewJob.summaryRefreshKind })
        #expect(export.usage?.promptTokens == 3)
        // It matches the per-table row counts exactly.
        let counts = try await rowsPerTable(store, user.id)
        #expect(counts["feedback_events"] == export.events.count)
        #expect(counts["summary_versions"] == export.summaries.count)
        #expect(counts["jobs"] == export.jobs.count)
    }

    @Test func aWorkerHoldingAnErasedUsersJobCannotComplete() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let kind = "test-erase-\(UUID())"
        let user = try await store.users.findOrCreate(tenant: tenant.id, externalID: "busy")
        let job = try await store.jobs.enqueue(NewJob(kind: kind, userID: user.id)).job
        _ = try await store.jobs.claim(owner: "w", kinds: [kind])
        #expect(try await store.userData.erase(tenant: tenant.id, externalUserID: "busy")?.jobs == 1)
        #expect(try await !store.jobs.complete(job.id, owner: "w"))
    }
}
